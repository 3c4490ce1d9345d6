"""SpikerIR (Su, Wu, Zheng, arXiv 2504.01755, "Bridge the Gap between SNN and ANN for Image
Restoration") and its ANN twin.

No code or weights of SpikerIR are public (seed-models §5), so this is a re-implementation from
the paper text; there are no official state-dict names to match.

What the paper states (and is implemented as stated):

* a 4-level encoder-decoder ("4-layer encoder-decoder structure") with **2 Spiking Blocks per
  level** and channels **{48, 96, 192, 384}** from level 1 to level 4;
* the Spiking Block = **Spike Convolution Unit + Multi-dimensional Attention** (Fig. 2);
* **direct encoding**: the degraded image is copied to every one of **T = 4** time steps;
* H-KD hooks the outputs of the **decoder levels** (Table 6 numbers the stages 1 → 7 as
  encoder 1-3, level 4, decoder 3-1 and calls stages 4 → 7 "the decoder"), so
  :data:`DECODER_FEATURES` is ``latent, decoder_level3, decoder_level2, decoder_level1``;
* training (not here): L1 + 0.1·FFT-L1 + 0.12·MSE(decoder features), AdamW, 64² patches, batch 8.

Where the paper is silent, ESDNet's choices (the SNN the paper cites and whose SCU/MDA names it
uses) are taken, and the layout follows Restormer (which the paper says SpikerIR resembles):

* the Spiking Block is ESDNet's spiking residual block
  (:class:`~spikeview.archs.blocks.SpikingResidualBlock`: ``attn(SCU(SCU(x)) + shortcut(x)) + x``,
  SCU = LIF → conv3×3 → TDBN, MDA with reductions 4 (time) / 16 (channels));
* neuron: ESDNet's LIF (τ = 2, V_th = 0.15, hard reset, sigmoid surrogate α = 4) — the paper
  names no neuron model, threshold or surrogate;
* down-sampling LIF → conv3×3 stride 2 → TDBN; up-sampling bilinear ×2 → LIF → conv3×3 → TDBN
  (ESDNet); skips concatenate, with a LIF → conv1×1 → TDBN channel reduction at levels 3 and 2
  and none at level 1, so the level-1 decoder runs at ``2·dim`` (Restormer/ESDNet);
* the number of blocks per level is used for encoder and decoder alike; ``num_blocks[3]`` is
  the level-4 (latent) stage;
* read-out: mean over T, ESDNet's feature refinement block (ANN, optional), conv3×3 with bias,
  plus the input (global residual);
* ``shortcut="conv"`` is ESDNet's analog conv shortcut; ``"identity"`` makes every conv inside a
  block spike-driven (see :class:`~spikeview.archs.blocks.SpikingResidualBlock`).

The paper's "0.07 M / 0.03 M parameters" cannot hold for 384-channel 3×3 convs; the default
configuration here has 15.58 M (1.74 M at ``dim=16``).
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

#: modules whose outputs H-KD aligns with the teacher's, coarse to fine
DECODER_FEATURES = ("latent", "decoder_level3", "decoder_level2", "decoder_level1")


class _PatchEmbed(nn.Module):
    def __init__(self, c_in: int, dim: int) -> None:
        super().__init__()
        self.proj = conv3x3(c_in, dim)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.proj(x_seq)


class SpikerIR(nn.Module):
    """SpikerIR; ``spiking=False`` builds the ANN twin (ReLU instead of LIF, T = 1, no time attention).

    Input ``[N, C, H, W]`` in [0, 1] with H, W multiples of :attr:`size_multiple` (three
    stride-2 down-samplings; the engine pads other sizes); output is the raw (unclamped)
    restored image. Inside, the SNN works on ``[T, N, C, H, W]``; the twin on ``[1, N, C, H, W]``
    (the same code with a time axis of one step).
    """

    size_multiple = 8

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 48,
        num_blocks: Sequence[int] = (2, 2, 2, 2),
        T: int = 4,
        spiking: bool = True,
        shortcut: str = "conv",
        refinement: bool = True,
    ) -> None:
        super().__init__()
        if len(num_blocks) != 4:
            raise ValueError(f"num_blocks needs one count per level (4), got {list(num_blocks)}")
        if T < 1:
            raise ValueError(f"T must be >= 1, got {T}")
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

        def reduce(c_in: int, c_out: int) -> nn.Sequential:
            return nn.Sequential(neuron(), conv1x1(c_in, c_out), TDBatchNorm2d(c_out, V_THRESHOLD))

        self.patch_embed = _PatchEmbed(inp_channels, dim)
        self.encoder_level1 = blocks(dim, num_blocks[0])
        self.down1_2 = DownSampling(dim, neuron)
        self.encoder_level2 = blocks(dim * 2, num_blocks[1])
        self.down2_3 = DownSampling(dim * 2, neuron)
        self.encoder_level3 = blocks(dim * 4, num_blocks[2])
        self.down3_4 = DownSampling(dim * 4, neuron)
        self.latent = blocks(dim * 8, num_blocks[3])
        self.up4_3 = UpSampling(dim * 8, neuron)
        self.reduce_chan_level3 = reduce(dim * 8, dim * 4)
        self.decoder_level3 = blocks(dim * 4, num_blocks[2])
        self.up3_2 = UpSampling(dim * 4, neuron)
        self.reduce_chan_level2 = reduce(dim * 4, dim * 2)
        self.decoder_level2 = blocks(dim * 2, num_blocks[1])
        self.up2_1 = UpSampling(dim * 2, neuron)
        self.decoder_level1 = blocks(dim * 2, num_blocks[0])
        self.refinement = FeatureRefinementBlock(dim * 2, reduction=8) if refinement else nn.Identity()
        self.output = nn.Sequential(nn.Conv2d(dim * 2, out_channels, 3, padding=1, bias=True))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(repeat_over_time(inp, self.T))
        enc1 = self.encoder_level1(x)
        enc2 = self.encoder_level2(self.down1_2(enc1))
        enc3 = self.encoder_level3(self.down2_3(enc2))
        lat = self.latent(self.down3_4(enc3))
        dec3 = self.decoder_level3(self.reduce_chan_level3(torch.cat([self.up4_3(lat), enc3], dim=2)))
        dec2 = self.decoder_level2(self.reduce_chan_level2(torch.cat([self.up3_2(dec3), enc2], dim=2)))
        dec1 = self.decoder_level1(torch.cat([self.up2_1(dec2), enc1], dim=2))
        return self.output(self.refinement(dec1.mean(dim=0))) + inp
