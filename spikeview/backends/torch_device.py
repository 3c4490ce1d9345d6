"""Torch devices (cpu / cuda / mps) as backends; availability comes from
:func:`spikeview.inference.device.available_devices`."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn

from spikeview.backends.base import (
    Backend,
    BackendError,
    BackendResult,
    BackendStatus,
    Capabilities,
    LayerCount,
    register_backend,
)
from spikeview.inference.device import DEVICE_CHOICES, available_devices


class TorchDeviceBackend(Backend):
    """Runs any registered architecture (SNN or ANN) in float32 on one torch device."""

    kind = "torch"
    capabilities = Capabilities(model_format="torch", layer_types=("any",), max_tile=None, numerics="float32")

    def __init__(self, device: str) -> None:
        self.name = device
        self.description = f"PyTorch on {device}"

    def status(self) -> BackendStatus:
        for info in available_devices():
            if info.name == self.name:
                return BackendStatus(info.available, info.detail)
        return BackendStatus(False, "unknown torch device")

    def run(self, model: Any, tile: np.ndarray) -> BackendResult:
        """Run ``model`` (an ``nn.Module``, moved to this device in eval mode) on ``tile``.

        Counts come from :class:`spikeview.energy.EnergyMeter` (MACs / SOPs per weighted layer)
        and the outputs of every LIF layer (spikes).
        """
        from spikeview.energy import EnergyMeter
        from spikeview.snn.neurons import LIF, reset_states

        if not isinstance(model, nn.Module):
            raise BackendError(f"backend '{self.name}' runs torch models, got {type(model).__name__}")
        status = self.status()
        if not status.available:
            raise BackendError(f"backend '{self.name}' is not available: {status.reason}")
        self.check_tile(tile)
        device = torch.device(self.name)
        model = model.eval().to(device)
        x = torch.as_tensor(np.ascontiguousarray(tile, dtype=np.float32), device=device)
        spikes: dict[str, list[int]] = {}

        def count(name: str):
            def hook(_m: nn.Module, _i: tuple, out: torch.Tensor) -> None:
                entry = spikes.setdefault(name, [0, 0, out.shape[0]])
                entry[0] += int(torch.count_nonzero(out))
                entry[1] = out[0].numel()

            return hook

        handles = [m.register_forward_hook(count(n)) for n, m in model.named_modules() if isinstance(m, LIF)]
        try:
            reset_states(model)
            with EnergyMeter(model) as meter, torch.inference_mode():
                start = time.perf_counter()
                out = model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize()
                seconds = time.perf_counter() - start
        finally:
            for h in handles:
                h.remove()
        timesteps = int(getattr(model, "T", 1)) if getattr(model, "spiking", False) else 1
        layers = [
            LayerCount(name, "LIF", neurons=n, spikes=s, timesteps=t) for name, (s, n, t) in spikes.items()
        ]
        for row in meter.report().layers:
            layers.append(
                LayerCount(
                    row.name,
                    row.module_type,
                    sops=row.ops if row.kind == "AC" else 0.0,
                    macs=int(row.ops) if row.kind == "MAC" else 0,
                    dense_macs=row.dense_macs,
                    timesteps=timesteps,
                )
            )
        return BackendResult(self.name, out.float().cpu().numpy(), layers, seconds=seconds, timesteps=timesteps)


for _device in DEVICE_CHOICES:
    if _device != "auto":
        register_backend(TorchDeviceBackend(_device))
