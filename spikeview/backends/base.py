"""The one interface every compute backend implements, and the registry that lists them.

A *backend* runs a restoration model on one tile and says what it did. Torch devices
(cpu / cuda / mps) run an ``nn.Module``; neuromorphic backends (our NIR-graph runner, the
Lava Loihi-2 simulator) run a NIR graph. All of them are called the same way::

    backend = get_backend("nir")
    status = backend.status()          # available here? if not, why not
    result = backend.run(model_or_graph, tile)   # BackendResult

Conventions:

* ``tile`` is a float32 numpy array ``[N, C, H, W]`` in [0, 1] (numpy, not torch, so a
  backend living in another process or Python version needs no torch).
* ``result.output`` is the restored tile, float32 ``[N, C, H, W]``, unclamped.
* ``result.layers`` has one :class:`LayerCount` per layer/node the backend itself saw:
  neurons, spikes emitted (summed over T, batch and pixels), synaptic operations and MACs.
  Counts come from the backend's own run, not from a torch re-run.

Registering a backend: a module calls :func:`register_backend` at import time and is listed
in :data:`BACKEND_MODULES` (explicit, because a frozen bundle cannot scan folders). A module
that is missing is skipped; one that fails to import is listed as unavailable with the error.
This file imports neither torch nor Qt.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from spikeview.errors import SpikeViewError

log = logging.getLogger(__name__)

BackendKind = Literal["torch", "neuromorphic"]
#: what a backend consumes: a torch ``nn.Module`` or a NIR graph (``nir.NIRGraph`` or a ``.nir`` path)
ModelFormat = Literal["torch", "nir"]


class BackendError(SpikeViewError):
    """A backend is unavailable here, or cannot run this model/tile (unsupported layer, tile too big)."""


@dataclass(frozen=True)
class Capabilities:
    """What a backend can run.

    ``layer_types``: the layer/node types it accepts (NIR node class names such as ``"Conv2d"``,
    ``"LIF"``, ``"LI"`` for NIR backends; ``("any",)`` for torch devices).
    ``max_tile``: largest tile side in pixels it is practical for (None: no limit).
    ``numerics``: ``"float32"``, ``"fixed-point"`` or both (``"float32|fixed-point"``).
    """

    model_format: ModelFormat
    layer_types: tuple[str, ...] = ("any",)
    max_tile: int | None = None
    numerics: str = "float32"
    notes: str = ""

    def accepts(self, layer_type: str) -> bool:
        return "any" in self.layer_types or layer_type in self.layer_types


@dataclass(frozen=True)
class BackendStatus:
    """Whether a backend can be used on this machine; ``reason`` says why (or what it runs on)."""

    available: bool
    reason: str


@dataclass(frozen=True)
class LayerCount:
    """What one layer/node did during a run (summed over time steps, batch and pixels).

    ``sops``: synaptic operations driven by spikes *into* this layer (spikes × fan-out);
    ``macs``: multiply-accumulates on real-valued input (e.g. the direct-encoded first conv);
    ``dense_macs``: the layer's MACs as if every input were non-zero (0 for neuron layers);
    ``spikes``/``neurons``: for neuron layers, spikes emitted and neuron count (0 otherwise).
    """

    name: str
    layer_type: str
    neurons: int = 0
    spikes: int = 0
    sops: float = 0.0
    macs: int = 0
    timesteps: int = 1
    dense_macs: int = 0

    @property
    def firing_rate(self) -> float | None:
        """Spikes per neuron per time step (None for non-neuron layers)."""
        if self.neurons == 0:
            return None
        return self.spikes / (self.neurons * max(1, self.timesteps))


@dataclass
class BackendResult:
    """Output and counts of one :meth:`Backend.run` call."""

    backend: str
    output: np.ndarray
    layers: list[LayerCount] = field(default_factory=list)
    seconds: float = 0.0
    timesteps: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def spikes(self) -> dict[str, int]:
        """Spikes emitted per neuron layer."""
        return {row.name: row.spikes for row in self.layers if row.neurons}

    @property
    def total_sops(self) -> float:
        return float(sum(row.sops for row in self.layers))

    @property
    def total_macs(self) -> int:
        return int(sum(row.macs for row in self.layers))


class Backend(ABC):
    """A place to run a model: a torch device or a neuromorphic runtime/simulator.

    Subclasses set :attr:`name` (unique, e.g. ``"cpu"``, ``"nir"``, ``"lava"``), :attr:`kind`,
    :attr:`description` and :attr:`capabilities`, and implement :meth:`status` and :meth:`run`.
    """

    name: str = ""
    kind: BackendKind = "torch"
    description: str = ""
    capabilities: Capabilities = Capabilities("torch")

    @abstractmethod
    def status(self) -> BackendStatus:
        """Whether this backend can run here, and why not. Must be cheap and never raise."""

    @abstractmethod
    def run(self, model: Any, tile: np.ndarray) -> BackendResult:
        """Run ``model`` (an ``nn.Module`` or a NIR graph/path, see ``capabilities.model_format``)
        on ``tile`` (float32 ``[N, C, H, W]`` in [0, 1]). Raises :class:`BackendError` if it cannot."""

    def available(self) -> bool:
        return self.status().available

    def check_tile(self, tile: np.ndarray) -> None:
        """Raise :class:`BackendError` unless ``tile`` is ``[N, C, H, W]`` within ``max_tile``."""
        if tile.ndim != 4:
            raise BackendError(f"backend '{self.name}' expects a [N, C, H, W] tile, got shape {tuple(tile.shape)}")
        limit = self.capabilities.max_tile
        if limit is not None and max(tile.shape[2:]) > limit:
            raise BackendError(
                f"backend '{self.name}' runs tiles up to {limit}x{limit} pixels, got {tile.shape[2]}x{tile.shape[3]}"
            )

    def check_layers(self, layers: list[tuple[str, str]]) -> None:
        """Raise :class:`BackendError` naming the first ``(name, type)`` this backend cannot run."""
        for name, layer_type in layers:
            if not self.capabilities.accepts(layer_type):
                accepted = ", ".join(self.capabilities.layer_types)
                raise BackendError(
                    f"backend '{self.name}' cannot run layer '{name}' of type {layer_type} (it runs: {accepted})"
                )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({self.kind})>"


# registry ----------------------------------------------------------------------------------

#: Modules that register backends when imported, in listing order. Torch devices first, then
#: our NIR runner, then the Lava Loihi-2 simulator (spikeview/backends/lava.py calls
#: ``register_backend(...)`` at import time).
BACKEND_MODULES: tuple[str, ...] = (
    "spikeview.backends.torch_device",
    "spikeview.backends.nir_runner",
    "spikeview.backends.lava",
)

_REGISTRY: dict[str, Backend] = {}
_BROKEN: dict[str, str] = {}


def register_backend(backend: Backend) -> Backend:
    """Add (or replace) a backend under ``backend.name``. The hook for backend modules."""
    if not backend.name:
        raise ValueError("a backend needs a name")
    _REGISTRY[backend.name] = backend
    return backend


class _BrokenBackend(Backend):
    """Stands in for a backend module that exists but failed to import (listed, never runs)."""

    kind: BackendKind = "neuromorphic"

    def __init__(self, module: str, error: str) -> None:
        self.name = module.rsplit(".", 1)[-1]
        self.description = f"{module} (failed to load)"
        self._error = error

    def status(self) -> BackendStatus:
        return BackendStatus(False, f"failed to load: {self._error}")

    def run(self, model: Any, tile: np.ndarray) -> BackendResult:
        raise BackendError(f"backend '{self.name}' is not available: {self._error}")


def _load_modules() -> None:
    for module in BACKEND_MODULES:
        if module in _BROKEN:
            continue
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                log.debug("backend module %s is not installed", module)
                _BROKEN[module] = ""
                continue
            _BROKEN[module] = f"{type(exc).__name__}: {exc}"
            log.warning("backend module %s failed to import: %s", module, exc)
        except Exception as exc:  # a broken optional backend must not break `info`
            _BROKEN[module] = f"{type(exc).__name__}: {exc}"
            log.warning("backend module %s failed to import: %s", module, exc)


def available_backends() -> list[Backend]:
    """Every known backend, usable here or not (check :meth:`Backend.status`), in listing order."""
    _load_modules()
    backends = list(_REGISTRY.values())
    names = {b.name for b in backends}
    for module, error in _BROKEN.items():
        if error and module.rsplit(".", 1)[-1] not in names:
            backends.append(_BrokenBackend(module, error))
    return backends


def get_backend(name: str) -> Backend:
    """The backend called ``name``; :class:`BackendError` if unknown (does not check availability)."""
    for backend in available_backends():
        if backend.name == name:
            return backend
    known = ", ".join(b.name for b in available_backends())
    raise BackendError(f"unknown backend '{name}' (known: {known})")

