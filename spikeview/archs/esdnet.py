"""ESDNet (Song et al., IJCAI 2024) and its ANN twin.

A 3-level U-Net of spiking residual blocks on ``[T, N, C, H, W]`` sequences; the image is
direct-encoded (repeated over T), the last decoder features are averaged over T and an ANN
head (feature refinement block + conv) predicts the rain-free residual. Attribute names and
``nn.Sequential`` indices follow the official code so its checkpoints load strictly
(seed-models §2). ``en_num_blocks[3]`` / ``de_num_blocks[3]`` exist in the official
signature but are unused there too, and as there ``bias`` only reaches the 1×1 channel
reduction: every other spiking conv is bias-free.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spikeview.archs.blocks import (
    V_THRESHOLD,
    DownSampling,
    FeatureRefinementBlock,
    SpikingResidualBlock,
    UpSampling,
    conv1x1,
    conv3x3,
)
from spikeview.snn import LIF, TDBatchNorm2d, repeat_over_time


class _PatchEmbed(nn.Module):
    def __init__(self, c_in: int, dim: int) -> None:
        super().__init__()
        self.proj = conv3x3(c_in, dim)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.proj(x_seq)


class ESDNet(nn.Module):
    """ESDNet; ``spiking=False`` builds the ANN twin (ReLU instead of LIF, T = 1, no time attention).

    ``shortcut`` is ``"conv"`` in the official model; SpikeView's own small models use
    ``"identity"`` so that the convs inside blocks are spike-driven (see
    :class:`~spikeview.archs.blocks.SpikingResidualBlock`).

    Input ``[N, C, H, W]`` in [0, 1] with H, W multiples of :attr:`size_multiple`; output is the
    raw (unclamped) restored image.
    """

    size_multiple = 4

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 48,
        en_num_blocks: Sequence[int] = (4, 4, 8, 8),
        de_num_blocks: Sequence[int] = (2, 2, 2, 2),
        bias: bool = False,
        T: int = 4,
        spiking: bool = True,
        shortcut: str = "conv",
    ) -> None:
        super().__init__()
        self.spiking = spiking
        self.T = T if spiking else 1
        neuron = LIF if spiking else nn.ReLU
        steps = self.T

        def blocks(width: int, count: int) -> nn.Sequential:
            return nn.Sequential(
                *[
                    SpikingResidualBlock(width, steps, neuron, time_attention=spiking, shortcut=shortcut)
                    for _ in range(count)
                ]
            )

        self.patch_embed = _PatchEmbed(inp_channels, dim)
        self.encoder_level1 = blocks(dim, en_num_blocks[0])
        self.down1_2 = DownSampling(dim, neuron)
        self.encoder_level2 = blocks(dim * 2, en_num_blocks[1])
        self.down2_3 = DownSampling(dim * 2, neuron)
        self.encoder_level3 = blocks(dim * 4, en_num_blocks[2])
        self.decoder_level3 = blocks(dim * 4, de_num_blocks[2])
        self.up3_2 = UpSampling(dim * 4, neuron)
        self.reduce_chan_level2 = nn.Sequential(
            neuron(), conv1x1(dim * 4, dim * 2, bias=bias), TDBatchNorm2d(dim * 2, V_THRESHOLD)
        )
        self.decoder_level2 = blocks(dim * 2, de_num_blocks[1])
        self.up2_1 = UpSampling(dim * 2, neuron)
        self.decoder_level1 = blocks(dim * 2, de_num_blocks[0])
        self.refinement = FeatureRefinementBlock(dim * 2, reduction=8)
        self.output = nn.Sequential(nn.Conv2d(dim * 2, out_channels, 3, padding=1, bias=True))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(repeat_over_time(inp, self.T))
        enc1 = self.encoder_level1(x)
        enc2 = self.encoder_level2(self.down1_2(enc1))
        enc3 = self.encoder_level3(self.down2_3(enc2))
        dec3 = self.decoder_level3(enc3)
        dec2 = torch.cat([self.up3_2(dec3), enc2], dim=2)
        dec2 = self.decoder_level2(self.reduce_chan_level2(dec2))
        dec1 = torch.cat([self.up2_1(dec2), enc1], dim=2)
        dec1 = self.decoder_level1(dec1)
        features = dec1.mean(dim=0)
        return self.output(self.refinement(features)) + inp
