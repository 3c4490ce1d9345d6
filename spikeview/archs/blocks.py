"""Building blocks shared by the ESDNet-family networks.

Every block takes a ``neuron`` factory: :class:`~spikeview.snn.LIF` for the SNN, ``nn.ReLU``
for its ANN twin, so the twin has exactly the same topology and parameter names.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spikeview.snn import MultiDimensionalAttention, MultiStepConv2d, TDBatchNorm2d
from spikeview.snn.layers import upsample_bilinear_x2

NeuronFactory = Callable[[], nn.Module]

V_THRESHOLD = 0.15
# The last batch norm of a residual branch starts 5x smaller (seed-models §1.3).
RESIDUAL_OUT_SCALE = 0.2


def conv3x3(c_in: int, c_out: int, stride: int = 1, bias: bool = False) -> MultiStepConv2d:
    return MultiStepConv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias)


def conv1x1(c_in: int, c_out: int, bias: bool = False) -> MultiStepConv2d:
    return MultiStepConv2d(c_in, c_out, 1, bias=bias)


class SpikingResidualBlock(nn.Module):
    """ESDNet's SRB: ``attn(SCU(SCU(x)) + shortcut(x)) + x``.

    ``residual`` = neuron → conv3×3 → TDBN → neuron → conv3×3 → TDBN(small init);
    ``attn`` = multi-dimensional attention. ``shortcut="conv"`` (official) is conv3×3 → TDBN on
    the analog input; since that input changes every time step, it costs a full MAC conv per
    step and makes the SNN dearer than its ANN twin. ``shortcut="identity"`` (membrane
    shortcut, as in MS-ResNet) passes the analog input unchanged, so every conv inside the
    block is driven by spikes.
    """

    def __init__(
        self,
        dim: int,
        T: int,
        neuron: NeuronFactory,
        bias: bool = False,
        time_attention: bool = True,
        shortcut: str = "conv",
    ) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            neuron(),
            conv3x3(dim, dim, bias=bias),
            TDBatchNorm2d(dim, V_THRESHOLD),
            neuron(),
            conv3x3(dim, dim, bias=bias),
            TDBatchNorm2d(dim, V_THRESHOLD * RESIDUAL_OUT_SCALE),
        )
        if shortcut == "conv":
            self.shortcut = nn.Sequential(conv3x3(dim, dim, bias=bias), TDBatchNorm2d(dim, V_THRESHOLD))
        elif shortcut == "identity":
            self.shortcut = nn.Identity()
        else:
            raise ValueError(f"shortcut must be 'conv' or 'identity', not {shortcut!r}")
        self.attn = MultiDimensionalAttention(T, dim, time_attention=time_attention)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.attn(self.residual(x_seq) + self.shortcut(x_seq)) + x_seq


class DownSampling(nn.Module):
    """neuron → conv3×3 stride 2 (C → 2C) → TDBN."""

    def __init__(self, dim: int, neuron: NeuronFactory, bias: bool = False) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(
            neuron(), conv3x3(dim, dim * 2, stride=2, bias=bias), TDBatchNorm2d(dim * 2, V_THRESHOLD)
        )

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.maxpool_conv(x_seq)


class UpSampling(nn.Module):
    """Bilinear ×2 per time step, then neuron → conv3×3 (C → C/2) → TDBN."""

    def __init__(self, dim: int, neuron: NeuronFactory, bias: bool = False) -> None:
        super().__init__()
        self.up = nn.Sequential(neuron(), conv3x3(dim, dim // 2, bias=bias), TDBatchNorm2d(dim // 2, V_THRESHOLD))

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.up(upsample_bilinear_x2(x_seq))


class FeatureRefinementBlock(nn.Module):
    """ESDNet's ANN head block: ``(1 − t)·a + t·z`` with channel vector ``a`` and spatial map ``t``."""

    def __init__(self, channel: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = channel // reduction
        self.ca = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(channel, hidden, 1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channel, 1, bias=True),
            nn.Sigmoid(),
        )
        self.sa = nn.Sequential(
            nn.Conv2d(channel, channel, 3, padding=1, bias=True),
            nn.Conv2d(channel, hidden, 3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, channel, 3, padding=1, bias=True),
            nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        a = self.ca(z)
        t = self.sa(z)
        return (1 - t) * a + t * z
