"""Forward hooks that exist only inside a ``with`` block.

Observers (activity recorder, energy meter) watch a model from outside: they register hooks
on entry and must remove every one on exit, even when attaching or the model itself fails,
so a model is never left watched. :class:`HookSession` is that lifecycle once.
"""

from __future__ import annotations

import torch


class HookSession:
    """Base of the observers. Subclasses register hooks in :meth:`_attach` through
    :meth:`_keep` and undo their own per-session state in :meth:`_on_detach`."""

    def __init__(self) -> None:
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._attached = False

    @property
    def attached(self) -> bool:
        return self._attached

    def _attach(self) -> None:
        raise NotImplementedError

    def _on_detach(self) -> None:
        """Forget per-session state; the hooks are already gone."""

    def _keep(self, handle: torch.utils.hooks.RemovableHandle) -> None:
        self._handles.append(handle)

    def __enter__(self):
        if self._attached:
            raise RuntimeError(f"this {type(self).__name__} is already attached")
        try:
            self._attach()
        except BaseException:
            self._detach()
            raise
        self._attached = True
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._detach()
        return False

    def _detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._on_detach()
        self._attached = False
