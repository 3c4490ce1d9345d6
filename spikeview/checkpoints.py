"""Saving and loading weights safely.

* Loading never executes code: ``torch.load(..., weights_only=True, map_location="cpu")``.
* Keys are matched strictly; a mismatch names the missing, unexpected and mis-shaped keys.
* Our checkpoints describe themselves (architecture, its kwargs, T, task, metrics) and load
  with no extra arguments; official ESDNet/VLIF state_dicts load through
  :func:`load_official` given the architecture name.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from spikeview.archs import arch_spec, build_arch
from spikeview.errors import CheckpointError
from spikeview.fileio import atomic_path

log = logging.getLogger(__name__)

FORMAT = "spikeview-checkpoint"
FORMAT_VERSION = 1
_WRAPPER_KEYS = ("state_dict", "params", "params_ema", "model", "net")


@dataclass
class CheckpointInfo:
    """What a self-describing checkpoint says about itself."""

    arch: str
    arch_kwargs: dict[str, Any]
    task: str = "derain"
    metrics: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def timesteps(self) -> int:
        spec = arch_spec(self.arch)
        return int(self.arch_kwargs.get("T", spec.official_kwargs.get("T", 1))) if spec.spiking else 1

    @property
    def spiking(self) -> bool:
        return arch_spec(self.arch).spiking


def _torch_load(source: str | os.PathLike | bytes) -> Any:
    path = None if isinstance(source, bytes) else Path(source)
    if path is not None:
        if not path.exists():
            raise CheckpointError(f"checkpoint not found: {path}")
        if path.is_dir():
            raise CheckpointError(f"checkpoint path is a folder: {path}")
    where = str(path) if path is not None else "<bytes>"
    head = source[:4] if path is None else path.open("rb").read(4)
    # torch.save writes a zip archive; the legacy format is a bare pickle (protocol byte 0x80)
    if not (head.startswith(b"PK") or head[:1] == b"\x80"):
        raise CheckpointError(f"cannot read checkpoint {where}: not a PyTorch file")
    try:
        f = io.BytesIO(source) if path is None else path
        return torch.load(f, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"refusing to load {where}: it holds Python objects other than tensors and plain data, "
            "and loading them could run code"
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read checkpoint {where}: corrupt or truncated ({reason})") from None


def _unwrap_state_dict(obj: Any) -> dict[str, torch.Tensor]:
    """Accept a bare state_dict or a ``{'state_dict'|'params'|...: sd}`` wrapper; strip ``module.``."""
    if isinstance(obj, Mapping) and obj.get("format") == FORMAT:
        obj = obj["state_dict"]
    elif isinstance(obj, Mapping) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise CheckpointError("checkpoint holds no state_dict (expected a mapping of tensors)")
    state = {}
    for key, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise CheckpointError(f"checkpoint entry '{key}' is not a tensor")
        name = key[len("module.") :] if key.startswith("module.") else key
        state[name] = value
    return state


def _load_strict(model: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mis_shaped = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or mis_shaped:

        def listed(items: list[str]) -> str:
            head = ", ".join(items[:5])
            return head + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")

        parts = []
        if missing:
            parts.append(f"{len(missing)} missing: {listed(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected: {listed(unexpected)}")
        if mis_shaped:
            parts.append(f"{len(mis_shaped)} with other shapes: {listed(mis_shaped)}")
        raise CheckpointError(f"checkpoint does not match {what}: " + "; ".join(parts))
    model.load_state_dict(state, strict=True)


def load_official(name: str, path_or_state_dict: Any, **arch_kwargs: Any) -> nn.Module:
    """Load an official checkpoint (or state_dict) into the registered architecture ``name``.

    ``arch_kwargs`` use the official constructor names (``dim``, ``en_num_blocks``, ``T``...);
    missing ones take the official configuration. Returns the model in eval mode.
    """
    if isinstance(path_or_state_dict, (str, os.PathLike, bytes)):
        obj = _torch_load(path_or_state_dict)
    else:
        obj = path_or_state_dict
    state = _unwrap_state_dict(obj)
    model = build_arch(name, **arch_kwargs)
    _load_strict(model, state, f"architecture '{name}' {arch_kwargs or '(official configuration)'}")
    return model.eval()


def save_checkpoint(
    path: str | os.PathLike,
    model: nn.Module,
    arch: str,
    arch_kwargs: Mapping[str, Any],
    *,
    task: str = "derain",
    metrics: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write a self-describing checkpoint atomically (temp file + ``os.replace``).

    ``extra`` holds training state (optimizer, epoch...) for resuming; inference ignores it.
    """
    arch_spec(arch)  # fail early on an unknown name
    payload: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs),
        "task": task,
        "metrics": dict(metrics or {}),
        "metadata": dict(metadata or {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    if extra:
        payload["extra"] = dict(extra)
    target = Path(path)
    with atomic_path(target) as tmp:
        torch.save(payload, tmp)
    return target


def read_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and validate the raw dict of one of our checkpoints (weights-only)."""
    obj = _torch_load(path)
    if not isinstance(obj, Mapping) or obj.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a SpikeView checkpoint; for an official ESDNet/VLIF file use "
            "--arch NAME (load_official) so the architecture is known"
        )
    version = obj.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version}; this SpikeView reads up to {FORMAT_VERSION}"
        )
    for key in ("arch", "arch_kwargs", "state_dict"):
        if key not in obj:
            raise CheckpointError(f"{path} lacks '{key}'")
    return dict(obj)


def load_checkpoint(path: str | os.PathLike) -> tuple[nn.Module, CheckpointInfo]:
    """Build and load one of our self-describing checkpoints; returns ``(model in eval mode, info)``."""
    raw = read_checkpoint(path)
    info = CheckpointInfo(
        arch=str(raw["arch"]),
        arch_kwargs=dict(raw["arch_kwargs"]),
        task=str(raw.get("task", "derain")),
        metrics=dict(raw.get("metrics", {})),
        metadata=dict(raw.get("metadata", {})),
        path=Path(path),
    )
    model = build_arch(info.arch, **info.arch_kwargs)
    _load_strict(model, _unwrap_state_dict(raw), f"its own description ({info.arch})")
    return model.eval(), info
