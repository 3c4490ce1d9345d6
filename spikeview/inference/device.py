"""Choosing the compute device and reporting which ones exist."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from spikeview.errors import DeviceError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


@dataclass(frozen=True)
class DeviceInfo:
    name: str
    available: bool
    detail: str


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[DeviceInfo]:
    """Every torch device kind with whether it can be used here and why (for info and the GUI)."""
    import os

    threads = torch.get_num_threads()
    devices = [DeviceInfo("cpu", True, f"{os.cpu_count()} logical cores, torch uses {threads} threads")]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        devices.append(DeviceInfo("cuda", True, names))
    else:
        reason = "torch built without CUDA" if torch.version.cuda is None else "no CUDA device visible"
        devices.append(DeviceInfo("cuda", False, reason))
    devices.append(
        DeviceInfo("mps", _mps_available(), "Apple Metal" if _mps_available() else "not an Apple-silicon Mac")
    )
    return devices


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit unavailable device is an error."""
    name = (name or "auto").lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    kind = name.split(":")[0]
    if kind not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device '{name}' (choose from {', '.join(DEVICE_CHOICES)})")
    for info in available_devices():
        if info.name == kind and not info.available:
            raise DeviceError(f"device '{name}' is not available here: {info.detail}")
    return torch.device(name)
