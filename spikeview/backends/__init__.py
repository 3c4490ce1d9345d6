"""Compute backends behind one call: torch devices and neuromorphic runtimes (NIR, Lava).

Public API (no torch, no Qt at import): :class:`Backend`, :class:`Capabilities`,
:class:`BackendStatus`, :class:`BackendResult`, :class:`LayerCount`, :class:`BackendError`,
:func:`available_backends`, :func:`get_backend`, :func:`register_backend`.
"""

from spikeview.backends.base import (
    Backend,
    BackendError,
    BackendResult,
    BackendStatus,
    Capabilities,
    LayerCount,
    available_backends,
    get_backend,
    register_backend,
)

__all__ = [
    "Backend",
    "BackendError",
    "BackendResult",
    "BackendStatus",
    "Capabilities",
    "LayerCount",
    "available_backends",
    "get_backend",
    "register_backend",
]
