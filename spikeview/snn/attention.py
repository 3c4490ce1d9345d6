"""Multi-dimensional attention (MA-SNN, Yao et al. 2023) as used by ESDNet and VLIF-Net.

Attention over time, then channels, then space, applied to the real-valued current that
feeds the next neurons, ending in a ReLU (seed-models §1.4). Sub-module names and weight
shapes match spikingjelly's ``layer.MultiDimensionalAttention`` so official checkpoints load
strictly. ``time_attention=False`` drops the time branch: the ANN twin has no time axis.
"""

from __future__ import annotations

import torch
from torch import nn


class _SharedMLPAttention(nn.Module):
    """``σ(MLP(avg) + MLP(max))`` where MLP is two bias-free 1×1×1 Conv3d with a ReLU.

    The input is 5-D ``[B, K, D1, D2, D3]``; pooling is over the last three axes and the
    MLP mixes the K axis.
    """

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        # the pooling modules are the ones MA-SNN uses, so the float rounding matches it too
        self.avg_pool = nn.AdaptiveAvgPool3d(1)
        self.max_pool = nn.AdaptiveMaxPool3d(1)
        self.sharedMLP = nn.Sequential(
            nn.Conv3d(channels, hidden, 1, bias=False),
            nn.ReLU(),
            nn.Conv3d(hidden, channels, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.from_pools(self.avg_pool(x), self.max_pool(x))

    def from_pools(self, avg: torch.Tensor, peak: torch.Tensor) -> torch.Tensor:
        """The weights ``[B, K, 1, 1, 1]`` from already pooled ``[B, K, 1, 1, 1]`` mean and max."""
        return torch.sigmoid(self.sharedMLP(avg) + self.sharedMLP(peak))


class _SpatialAttention(nn.Module):
    def __init__(self, kernel_size: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        # y: [B, T, C, H, W] → pool over the joint (T·C) axis
        flat = y.flatten(1, 2)
        # max(...).values (not amax): on ties it sends the gradient to one element, as MA-SNN does
        pooled = torch.cat([flat.mean(dim=1, keepdim=True), flat.max(dim=1, keepdim=True).values], dim=1)
        return self.from_pools(pooled).unsqueeze(1)

    def from_pools(self, pooled: torch.Tensor) -> torch.Tensor:
        """The map ``[B, 1, H, W]`` from the already pooled ``[B, 2, H, W]`` (mean, max)."""
        return torch.sigmoid(self.conv(pooled))


class MultiDimensionalAttention(nn.Module):
    """``[T, B, C, H, W]`` → ``[T, B, C, H, W]``; see the module docstring."""

    def __init__(
        self,
        T: int,
        C: int,
        reduction_t: int = 4,
        reduction_c: int = 16,
        kernel_size: int = 3,
        time_attention: bool = True,
    ) -> None:
        super().__init__()
        if C < reduction_c:
            raise ValueError(f"attention needs C >= reduction_c ({C} < {reduction_c})")
        self.ta = _SharedMLPAttention(T, reduction_t) if time_attention else None
        self.ca = _SharedMLPAttention(C, reduction_c)
        self.sa = _SpatialAttention(kernel_size)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        y = x_seq.transpose(0, 1)  # [B, T, C, H, W]
        if self.ta is not None:
            y = self.ta(y) * y
        y = self.ca(y.transpose(1, 2)).transpose(1, 2) * y
        y = self.sa(y) * y
        return torch.relu(y).transpose(0, 1)
