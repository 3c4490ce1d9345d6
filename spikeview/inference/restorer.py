"""The one engine behind ``spikeview derain`` and the GUI.

``Restorer`` owns a model on a device and turns an RGB image (uint8 or uint16 HWC) into a
restored image of the same size and dtype, padding to the network's multiple, tiling large
images under a memory cap, resetting neuron state per image/tile (or carrying it across
video frames when asked) and returning per-run statistics. Observers (activity recorder,
energy meter) are attached from outside for the duration of one call.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from spikeview.archs import arch_spec
from spikeview.checkpoints import CheckpointInfo, load_checkpoint, load_official
from spikeview.errors import ConfigError
from spikeview.inference.device import resolve_device
from spikeview.inference.ensemble import COPIES, self_ensemble
from spikeview.inference.optimize import fast_inference_copy
from spikeview.inference.tiling import count_tiles, run_tiled
from spikeview.media.convert import float_nchw_to_image, image_to_float_nchw
from spikeview.progress import CancelToken, ProgressCallback
from spikeview.snn.neurons import reset_states, set_carry_state

if TYPE_CHECKING:
    from spikeview.catalog import CatalogEntry

log = logging.getLogger(__name__)

DEFAULT_MEMORY_MB = 3072
DEFAULT_OVERLAP = 32
# Measured peak activation memory in inference is about 4 bytes x T x (2·dim) x 10 per pixel
# (dim=16: 4.8 KB/px at 512², dim=48: 12 KB/px); used to pick a tile size under the cap.
_ACTIVATION_FACTOR = 10


@dataclass
class ModelInfo:
    """What the GUI's model card and ``spikeview info`` show about a loaded model."""

    name: str
    arch: str
    arch_kwargs: dict[str, Any]
    spiking: bool
    timesteps: int
    task: str
    parameters: int
    metrics: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    twin: str | None = None

    @property
    def size_multiple(self) -> int:
        return 4


@dataclass
class RunStats:
    """Statistics of one ``restore`` call."""

    ms: float
    device: str
    tiles: int
    height: int
    width: int
    firing_rates: dict[str, float] = field(default_factory=dict)
    energy: Any = None  # spikeview.energy.EnergyReport when measured

    @property
    def mean_firing_rate(self) -> float | None:
        if not self.firing_rates:
            return None
        return float(np.mean(list(self.firing_rates.values())))


@dataclass
class RestoreResult:
    image: np.ndarray
    stats: RunStats


class Restorer:
    """Restore images with one model on one device.

    ``tile=None`` picks a tile automatically so activations stay under ``max_memory_mb``;
    ``tile=0`` forces a single pass. ``fast`` runs a copy with batch norm folded into the convs
    and channels-last weights (outputs differ from the exact path by ~1e-6, see
    :mod:`spikeview.inference.optimize`); ``compile`` wraps the model in ``torch.compile``
    (slow first call, faster afterwards). ``ensemble`` > 1 averages that many mirrored passes
    (self-ensemble, :mod:`spikeview.inference.ensemble`): better output, as many times the time
    and energy.
    """

    def __init__(
        self,
        model: nn.Module,
        info: ModelInfo,
        device: str = "auto",
        tile: int | None = None,
        overlap: int = DEFAULT_OVERLAP,
        max_memory_mb: int = DEFAULT_MEMORY_MB,
        fast: bool = True,
        compile: bool = False,
        ensemble: int = 1,
    ) -> None:
        self.device = resolve_device(device)
        model = model.eval()
        # observers (recorders, energy meters) attach to self.model: it is the module that runs
        self.model = (fast_inference_copy(model) if fast else model).to(self.device)
        self.fast = fast
        self.info = info
        self.tile = tile
        self.overlap = overlap
        self.max_memory_mb = max_memory_mb
        self._carry_state = False
        self._ensemble = 1
        self.ensemble = ensemble
        self._forward = torch.compile(self.model) if compile else self.model
        self._multiple = int(getattr(model, "size_multiple", 4))

    # construction -------------------------------------------------------------------------
    @classmethod
    def from_model(
        cls, model: nn.Module, arch: str, arch_kwargs: dict[str, Any] | None = None, name: str | None = None, **kw
    ) -> Restorer:
        return cls(model, _model_info(name or arch, arch, arch_kwargs or {}, model), **kw)

    @classmethod
    def from_checkpoint(cls, path: str | Path, name: str | None = None, twin: str | None = None, **kw) -> Restorer:
        model, ckpt = load_checkpoint(path)
        info = _model_info(name or Path(path).stem, ckpt.arch, ckpt.arch_kwargs, model, ckpt, twin)
        return cls(model, info, **kw)

    @classmethod
    def from_official(cls, arch: str, path: str | Path, arch_kwargs: dict[str, Any] | None = None, **kw) -> Restorer:
        model = load_official(arch, path, **(arch_kwargs or {}))
        info = _model_info(Path(path).stem, arch, arch_kwargs or {}, model)
        info.path = Path(path)
        return cls(model, info, **kw)

    @classmethod
    def from_name_or_path(cls, name_or_path: str | Path | None = None, **kw) -> Restorer:
        """A shipped/imported model by name, one of our checkpoint files, or the default (``None``)."""
        from spikeview.catalog import resolve_model

        path, entry = resolve_model(name_or_path)
        return cls.from_entry(entry, **kw) if entry else cls.from_checkpoint(path, **kw)

    @classmethod
    def from_entry(cls, entry: CatalogEntry, **kw) -> Restorer:
        return cls.from_checkpoint(entry.path, name=entry.name, twin=entry.twin, **kw)

    # state ---------------------------------------------------------------------------------
    @property
    def carry_state(self) -> bool:
        """Carry LIF membrane state across consecutive calls (temporal video mode); off by default."""
        return self._carry_state

    @carry_state.setter
    def carry_state(self, value: bool) -> None:
        if value and self._ensemble > 1:
            raise ConfigError("carrying neuron state across frames needs one pass per frame: turn self-ensemble off")
        self._carry_state = bool(value)
        set_carry_state(self.model, self._carry_state)

    @property
    def ensemble(self) -> int:
        """Number of mirrored passes averaged per image (1 = off)."""
        return self._ensemble

    @ensemble.setter
    def ensemble(self, copies: int) -> None:
        if copies not in COPIES:
            raise ConfigError(f"self-ensemble takes {', '.join(map(str, COPIES))} copies, not {copies}")
        if copies > 1 and self._carry_state:
            raise ConfigError("self-ensemble needs neuron state reset per pass: turn carrying state off")
        self._ensemble = copies

    def reset_state(self) -> None:
        reset_states(self.model)

    # inference -------------------------------------------------------------------------------
    def auto_tile(self, height: int, width: int) -> int | None:
        """Largest square tile (multiple of the network stride) whose activations fit the cap."""
        if self.tile is not None:
            return self.tile or None
        bytes_per_px = 4 * max(1, self.info.timesteps) * 2 * int(self.info.arch_kwargs.get("dim", 48))
        bytes_per_px *= _ACTIVATION_FACTOR
        max_pixels = self.max_memory_mb * 2**20 / bytes_per_px
        if height * width <= max_pixels:
            return None
        side = int(math.sqrt(max_pixels))
        return max(64, side - side % self._multiple)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        return self_ensemble(self._run_once, x, self._ensemble)

    def _run_once(self, x: torch.Tensor) -> torch.Tensor:
        if not self._carry_state:
            reset_states(self.model)
        return self._forward(x)

    def restore_tensor(
        self,
        x: torch.Tensor,
        *,
        tile: int | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> torch.Tensor:
        """Float ``[N, 3, H, W]`` in [0, 1] → restored float tensor of the same size (unclamped)."""
        with torch.inference_mode():
            x = x.to(self.device, torch.float32)
            return run_tiled(self._run, x, tile, self.overlap, self._multiple, progress=progress, cancel=cancel)

    def restore(
        self,
        image: np.ndarray,
        *,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        recorder: Any = None,
        energy: bool = False,
        energy_costs: Any = None,
    ) -> RestoreResult:
        """Restore an RGB HWC uint8/uint16 image; the result has the same shape and dtype.

        ``recorder`` (a :class:`spikeview.recording.ActivityRecorder` on this model) and
        ``energy=True`` attach observers for this call only.
        """
        height, width = image.shape[:2]
        tile = self.auto_tile(height, width)
        if tile and self._carry_state:
            log.info("carrying neuron state needs one pass per frame; tiles reset it")
        x = torch.from_numpy(image_to_float_nchw(image))
        meter = None
        with contextlib.ExitStack() as stack:
            if recorder is not None:
                stack.enter_context(recorder)
            if energy:
                from spikeview.energy import EnergyMeter

                meter = stack.enter_context(EnergyMeter(self.model))
            start = time.perf_counter()
            out = self.restore_tensor(x, tile=tile, progress=progress, cancel=cancel)
            elapsed = (time.perf_counter() - start) * 1000.0
        restored = float_nchw_to_image(out.clamp(0, 1).cpu().numpy(), dtype=image.dtype)
        stats = RunStats(
            ms=elapsed,
            device=str(self.device),
            tiles=count_tiles(height, width, tile, self.overlap),
            height=height,
            width=width,
        )
        if recorder is not None:
            stats.firing_rates = dict(recorder.firing_rates())
        if meter is not None:
            from spikeview.energy import DEFAULT_COSTS

            stats.energy = meter.report(energy_costs or DEFAULT_COSTS)
        return RestoreResult(restored, stats)


def _model_info(
    name: str,
    arch: str,
    arch_kwargs: dict[str, Any],
    model: nn.Module,
    ckpt: CheckpointInfo | None = None,
    twin: str | None = None,
) -> ModelInfo:
    spec = arch_spec(arch)
    merged = {**spec.official_kwargs, **arch_kwargs}
    return ModelInfo(
        name=name,
        arch=arch,
        arch_kwargs=merged,
        spiking=spec.spiking,
        timesteps=int(getattr(model, "T", merged.get("T", 1))) if spec.spiking else 1,
        task=ckpt.task if ckpt else "derain",
        parameters=sum(p.numel() for p in model.parameters()),
        metrics=dict(ckpt.metrics) if ckpt else {},
        metadata=dict(ckpt.metadata) if ckpt else {},
        path=ckpt.path if ckpt else None,
        twin=twin,
    )
