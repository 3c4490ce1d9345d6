"""Observe a model from outside: spiking activity recorders and a thread-safe ring buffer.

Public API: :class:`RingBuffer`, :class:`ActivityRecorder`, :class:`ActivitySnapshot`,
:class:`LayerInfo`, :func:`spiking_layers`. Only :class:`RingBuffer` is importable without
torch; the others are loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spikeview.recording.ring_buffer import RingBuffer

if TYPE_CHECKING:
    from spikeview.recording.recorders import ActivityRecorder, ActivitySnapshot, LayerInfo, spiking_layers

__all__ = ["ActivityRecorder", "ActivitySnapshot", "LayerInfo", "RingBuffer", "spiking_layers"]

_LAZY = {"ActivityRecorder", "ActivitySnapshot", "LayerInfo", "spiking_layers"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from spikeview.recording import recorders

        return getattr(recorders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
