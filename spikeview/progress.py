"""Progress reporting and cancellation for long jobs, shared by CLI, GUI and training.

Long loops (tiles, batch files, video frames, training steps) take an optional
``progress(done, total, message)`` callback and an optional :class:`CancelToken`; they
call ``token.raise_if_cancelled()`` between units of work, so a cancel takes effect within
one tile / file / frame / step. Nothing here knows about Qt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

ProgressCallback = Callable[[int, int, str], None]


class Cancelled(Exception):
    """Raised inside a job when its :class:`CancelToken` was cancelled."""


class CancelToken:
    """Thread-safe cancel flag."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()


def check_cancel(token: CancelToken | None) -> None:
    if token is not None:
        token.raise_if_cancelled()


def report(progress: ProgressCallback | None, done: int, total: int, message: str = "") -> None:
    if progress is not None:
        progress(done, total, message)
