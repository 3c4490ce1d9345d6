"""Plain data passed from the controller to widgets (no Qt, no torch).

Widgets receive numpy arrays (RGB ``uint8`` HWC for display) and these dataclasses, never
tensors or modules, so they can be built and tested with made-up data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model picker (from the catalog, before anything is loaded)."""

    name: str
    path: Path
    task: str
    twin: str | None
    card: Path | None
    shipped: bool
    rain: tuple[str, ...] = ()  # a specialist derainer's rain presets; () = any rain


@dataclass(frozen=True)
class DeviceChoice:
    name: str
    available: bool
    detail: str
    kind: str = "torch"  # "neuromorphic": listed with its status, not selectable for the live view


@dataclass(frozen=True)
class ModelCard:
    """What the model card shows about a loaded model."""

    name: str
    arch: str
    spiking: bool
    timesteps: int
    task: str
    parameters: int
    metrics: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    card_markdown: str = ""


@dataclass(frozen=True)
class LayerChoice:
    name: str
    channels: int | None


@dataclass(frozen=True)
class LoadedModels:
    """The result of loading an SNN and (optionally) its ANN twin on a device."""

    snn: ModelCard
    ann: ModelCard | None
    device: str
    layers: tuple[LayerChoice, ...] = ()
    tile: int | None = None
    ensemble: int = 1  # mirrored passes averaged per image


@dataclass
class RestoreOutcome:
    """One image restored by the SNN and its twin. Images are display-ready RGB uint8 HWC.

    ``quality`` maps ``"input"``/``"ann"``/``"snn"`` to ``image_quality`` dicts when a ground
    truth was paired; ``snn_energy``/``ann_energy`` are ``spikeview.energy.EnergyReport`` s.
    """

    source: Path | None
    image: np.ndarray
    snn: np.ndarray
    ann: np.ndarray | None = None
    target: np.ndarray | None = None
    snn_ms: float = 0.0
    ann_ms: float = 0.0
    device: str = ""
    tiles: int = 1
    quality: dict[str, dict[str, float]] = field(default_factory=dict)
    snn_energy: Any = None
    ann_energy: Any = None
    firing_rates: dict[str, float] = field(default_factory=dict)
    snn_name: str = ""
    ann_name: str = ""
    timesteps: int = 1
    frame_index: int | None = None  # video/webcam frame number, None for still images
    fps: float | None = None  # processed frames per second (video)


@dataclass(frozen=True)
class BatchRow:
    """One finished file of a batch, for the batch result list."""

    input: Path
    output: Path | None
    status: str  # done | skipped | failed | cancelled
    error: str | None
    ms: float


@dataclass(frozen=True)
class BatchSummary:
    out_dir: Path
    total: int
    done: int
    skipped: int
    failed: int
    cancelled: bool
    seconds: float
