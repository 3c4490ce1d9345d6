"""Training configuration: a flat dataclass read from YAML, with ``--set key=value`` overrides.

* Unknown keys raise :class:`~spikeview.errors.ConfigError` (a typo must not be silently ignored).
* Values are parsed with ``yaml.safe_load`` (never ``eval``) and coerced to the field's type,
  so ``lr: 1e-3`` (a string for YAML 1.1) is accepted as a float.
* Dotted overrides reach into dict fields: ``--set arch_kwargs.dim=32 --set loss_weights.ssim=0.2``.
* Relative paths are relative to the working directory the run is started from.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spikeview.errors import ConfigError
from spikeview.fileio import write_text_atomic


def _default_arch_kwargs() -> dict[str, Any]:
    return {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4}


@dataclass
class TrainConfig:
    """Everything a training run needs. Images are RGB float32 in [0, 1]."""

    # model
    arch: str = "esdnet"
    arch_kwargs: dict[str, Any] = field(default_factory=_default_arch_kwargs)
    task: str = "derain"
    # training data: either synthetic degradations of clean photos, or a paired folder
    # (``<root>/{input,target}/``)
    train_clean_dir: str | None = None
    train_presets: list[str] = field(default_factory=lambda: ["light", "heavy"])
    train_paired_root: str | None = None
    augment: bool = True  # random flips / 90° rotations of training crops
    max_side: int | None = 1024  # clean photos are shrunk (area filter) to this longest side when loaded
    noise_sigmas: list[float] = field(default_factory=lambda: [15.0, 25.0, 50.0])  # task "denoise" (0-255 scale)
    # validation data: fixed synthetic crops of clean photos, or a paired folder
    val_clean_dir: str | None = None
    val_presets: list[str] = field(default_factory=lambda: ["light", "heavy"])
    val_count: int = 8
    val_patch_size: int = 128
    val_paired_root: str | None = None
    val_seed: int = 12345
    # optimisation
    patch_size: int = 64
    # synthetic data: render the degradation on a crop this large, then cut the patch out of it
    # (None = render on the patch itself); whole-frame structure such as the heavy-rain veil then
    # has the scale it has on photos
    render_size: int | None = None
    batch_size: int = 8
    steps: int = 1000
    lr: float = 1e-3
    weight_decay: float = 0.01
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    warmup_steps: int = 30
    min_lr: float = 1e-6
    grad_clip: float = 1.0
    loss_weights: dict[str, float] = field(default_factory=lambda: {"l1": 1.0, "fft": 0.1})
    # bookkeeping
    val_every: int = 100
    ckpt_every: int = 100
    seed: int = 1234
    num_threads: int = 1
    output_dir: str = "runs/train"
    # start from these weights (a SpikeView checkpoint whose state_dict fits this arch exactly,
    # e.g. a shorter run of the same model, or the ANN twin's weights for the SNN)
    init_from: str | None = None
    # H-KD distillation: an ANN teacher checkpoint whose decoder features guide ours (distill.py)
    teacher: str | None = None
    distill_weight: float = 0.12
    # batch-norm layers train in eval mode (use and keep their running statistics; their affine
    # weights still learn), so a fine-tune optimises exactly the function inference runs
    freeze_bn: bool = False
    # exponential moving average of the weights (BasicSR's ema_decay; 0 = off): validation,
    # best.pt and the state_dict of last.pt hold the averaged weights, which training noise moves less
    ema_decay: float = 0.0

    def validate(self) -> None:
        """Raise :class:`ConfigError` on inconsistent values."""
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if bool(self.train_clean_dir) == bool(self.train_paired_root):
            raise ConfigError("set exactly one of train_clean_dir (synthetic degradations) and train_paired_root")
        if self.val_clean_dir and self.val_paired_root:
            raise ConfigError("set at most one of val_clean_dir and val_paired_root")
        positive = ("patch_size", "batch_size", "steps", "val_every", "ckpt_every", "num_threads",
                    "val_count", "val_patch_size")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.render_size is not None and self.render_size < self.patch_size:
            raise ConfigError(f"render_size must be >= patch_size ({self.patch_size}), got {self.render_size}")
        if self.patch_size % 4 or self.val_patch_size % 4:
            raise ConfigError("patch_size and val_patch_size must be multiples of 4 (the U-Net downsamples twice)")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ConfigError(f"lr must be a positive number, got {self.lr}")
        if self.min_lr < 0 or self.min_lr > self.lr:
            raise ConfigError(f"min_lr must be in [0, lr], got {self.min_lr}")
        if self.warmup_steps < 0 or self.warmup_steps >= self.steps:
            raise ConfigError(f"warmup_steps must be in [0, steps), got {self.warmup_steps}")
        if self.grad_clip < 0:
            raise ConfigError("grad_clip must be >= 0 (0 disables clipping)")
        for name in ("init_from", "teacher"):
            path = getattr(self, name)
            if path and not Path(path).is_file():
                raise ConfigError(f"{name}: checkpoint not found: {path}")
        if self.distill_weight < 0:
            raise ConfigError("distill_weight must be >= 0")
        if len(self.betas) != 2:
            raise ConfigError("betas must be two numbers")
        from spikeview.archs import arch_spec
        from spikeview.training.losses import LOSS_TERMS

        try:
            arch_spec(self.arch)
        except Exception as exc:  # ModelNotFoundError → ConfigError with the same message
            raise ConfigError(str(exc)) from None
        unknown = sorted(set(self.loss_weights) - set(LOSS_TERMS))
        if unknown:
            raise ConfigError(f"unknown loss term(s) {', '.join(unknown)} (known: {', '.join(LOSS_TERMS)})")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}


def _coerce(name: str, value: Any, default: Any) -> Any:
    """Coerce a YAML value to the type of the field's default (``None`` passes for optional fields)."""
    declared = str(_FIELDS[name].type)
    if value is None:
        if "None" in declared:
            return None
        raise ConfigError(f"{name} cannot be empty")
    ftype = declared.replace(" | None", "")
    try:
        if ftype == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError
        if ftype == "int":
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                return int(float(value)) if float(value).is_integer() else int(value)
            if isinstance(value, int):
                return value
            raise ValueError
        if ftype == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if ftype.startswith("str"):
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
        if ftype.startswith("list"):
            if not isinstance(value, (list, tuple)):
                raise ValueError
            if name in ("betas", "noise_sigmas"):
                return [float(v) for v in value]
            return [str(v) for v in value]
        if ftype.startswith("dict"):
            if not isinstance(value, dict):
                raise ValueError
            if name == "loss_weights":
                return {str(k): float(v) for k, v in value.items()}
            return dict(value)
    except (TypeError, ValueError):
        raise ConfigError(f"bad value for {name}: {value!r} (expected {ftype})") from None
    return value


def config_from_dict(data: dict[str, Any], overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Build and validate a config from a mapping plus ``key=value`` overrides."""
    if not isinstance(data, dict):
        raise ConfigError("a training config must be a YAML mapping of key: value")
    merged: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _FIELDS:
            raise ConfigError(f"unknown config key '{key}' (known: {', '.join(_FIELDS)})")
        merged[key] = value
    defaults = TrainConfig()
    for item in overrides:
        key, value = parse_override(item)
        top, _, sub = key.partition(".")
        if top not in _FIELDS:
            raise ConfigError(f"unknown config key '{top}' in --set {item}")
        if sub:
            if not str(_FIELDS[top].type).startswith("dict"):
                raise ConfigError(f"--set {item}: '{top}' is not a mapping")
            current = dict(merged.get(top, getattr(defaults, top)) or {})
            current[sub] = value
            merged[top] = current
        else:
            merged[top] = value
    kwargs = {k: _coerce(k, v, getattr(defaults, k)) for k, v in merged.items()}
    cfg = TrainConfig(**kwargs)
    cfg.validate()
    return cfg


def parse_override(item: str) -> tuple[str, Any]:
    """``"key=value"`` → ``(key, yaml.safe_load(value))``."""
    import yaml

    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects key=value, got {item!r}")
    try:
        return key, yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"--set {item}: not a YAML value ({str(exc).splitlines()[0]})") from None


def load_config(path: str | os.PathLike, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    """Read a YAML training config (unknown keys are errors) and apply ``key=value`` overrides.

    ``base: other.yaml`` (relative to the recipe's folder) starts from another recipe's keys;
    the recipe's own keys replace them whole (a mapping such as ``arch_kwargs`` is not merged).
    """
    return config_from_dict(_read_recipe(Path(path), ()), overrides)


def _read_recipe(p: Path, chain: tuple[Path, ...]) -> dict[str, Any]:
    import yaml

    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {str(exc).splitlines()[0]}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: a training config must be a YAML mapping of key: value")
    base = data.pop("base", None)
    if base is None:
        return data
    here = p.resolve()
    base_path = (p.parent / str(base)).resolve()
    if base_path in (*chain, here):
        raise ConfigError(f"{p}: its base {base} leads back to itself")
    return {**_read_recipe(base_path, (*chain, here)), **data}


def save_config(cfg: TrainConfig, path: str | os.PathLike) -> Path:
    """Write the resolved config as YAML, atomically."""
    import yaml

    return write_text_atomic(path, yaml.safe_dump(cfg.to_dict(), sort_keys=False))
