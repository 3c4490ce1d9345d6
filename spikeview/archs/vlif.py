"""VLIF-Net (Chen et al., AAAI 2026, "Exploring the Potentials of Spiking Neural Networks for
Image Deraining") and its ANN twin.

ESDNet's U-Net skeleton with three changes (seed-models §3): residual blocks become spiking
decomposition & enhancement modules (:class:`SDEM`, official ``Spiking_Residual_Block``)
built around a standard LIF and a *Visual LIF* (:class:`VisualLIF`, official
``PixelShuffleLIFBlock``: sub-pixel positions become extra time steps of a multi-spike
neuron); level 1 of encoder and decoder is a spiking multi-scale unit (:class:`SMU`,
official ``SUNet_Level1_Block``); the level-1 decoder works at ``dim`` channels and there is
no feature refinement block before the output conv.

Attribute names, registration order and ``nn.Sequential`` indices follow the official code
so its checkpoints load strictly; every operation is done in the official order, so results
are bit-identical with it. ``en_num_blocks[0]``, ``[3]`` and ``de_num_blocks[0]``, ``[3]``
are unused (as in the official code: level 1 is always one SMU). Where ``refinement_blocks``
(``use_refinement=True``, the Rain200L model) runs is not in the published ``model.py``; its
keys sit between ``additional_sunet_level1`` and ``output`` and it is applied there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from spikeview.archs.blocks import RESIDUAL_OUT_SCALE, V_THRESHOLD, NeuronFactory, conv1x1, conv3x3
from spikeview.snn import LIF, MultiDimensionalAttention, TDBatchNorm2d, repeat_over_time
from spikeview.snn.attention import _SharedMLPAttention
from spikeview.snn.layers import unfold_time, upsample_bilinear_x2
from spikeview.snn.multispike import MultiSpike, RelaxedMultiSpike

# VLIF's pixel-unshuffle factor: r² = 4 sub-pixel positions per time step.
PATCH = 2


def patches_to_time(x_seq: torch.Tensor, r: int = PATCH) -> torch.Tensor:
    """``[T, B, C, H, W]`` → ``[T·r², B, C, H/r, W/r]``: sub-pixel positions become time steps.

    Pixel-unshuffle puts position ``p = r·dy + dx`` of channel ``c`` at channel ``c·r² + p``;
    the new sequence index is ``t·r² + p``, so the neuron walks the r² positions of step 0,
    then those of step 1, and so on.
    """
    steps, batch, channels, height, width = x_seq.shape
    u = F.pixel_unshuffle(x_seq.reshape(steps * batch, channels, height, width), r)
    u = u.reshape(steps, batch, channels, r * r, height // r, width // r)
    return u.permute(0, 3, 1, 2, 4, 5).reshape(steps * r * r, batch, channels, height // r, width // r)


def time_to_patches(s_seq: torch.Tensor, steps: int, r: int = PATCH) -> torch.Tensor:
    """Inverse regrouping of :func:`patches_to_time`: ``[T·r², B, C, h, w]`` → ``[T, B, C·r², h, w]``.

    The channel order is pixel-unshuffle's (``c·r² + p``); the sub-pixels are *not* put back
    in place (VLIF resizes this low-resolution map bilinearly instead).
    """
    _, batch, channels, height, width = s_seq.shape
    s = s_seq.reshape(steps, r * r, batch, channels, height, width).permute(0, 2, 3, 1, 4, 5)
    return s.reshape(steps, batch, channels * r * r, height, width)


def time_to_patches_folded(s_seq: torch.Tensor, steps: int, r: int = PATCH) -> torch.Tensor:
    """:func:`time_to_patches` with T folded into the batch, ``[T·B, C·r², h, w]``, laid out channels-last.

    One copy straight from the neuron's output order; PyTorch's CPU bilinear resize works
    channels-last internally, so a contiguous input would cost three more copies for the
    same values.
    """
    _, batch, channels, height, width = s_seq.shape
    s = s_seq.reshape(steps, r * r, batch, channels, height, width).permute(0, 2, 4, 5, 3, 1).contiguous()
    return s.reshape(steps * batch, height, width, channels * r * r).permute(0, 3, 1, 2)


class VisualLIF(nn.Module):
    """Visual LIF (official ``PixelShuffleLIFBlock(C, 2)``): ``[T, B, C, H, W]`` → same shape.

    Pixel-unshuffle (r = 2) → regroup to 4T pseudo-steps (:func:`patches_to_time`) →
    multi-spike neuron → inverse regroup → bilinear resize to (H, W) (align_corners=False)
    → ``channel_adjust`` 1×1 conv 4C → C without bias. The output is real valued.
    """

    def __init__(self, channels: int, neuron: NeuronFactory = MultiSpike, r: int = PATCH) -> None:
        super().__init__()
        self.r = r
        self.lif_node = neuron()
        self.channel_adjust = conv1x1(channels * r * r, channels)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        steps, _, _, height, width = x_seq.shape
        s = time_to_patches_folded(self.lif_node(patches_to_time(x_seq, self.r)), steps, self.r)
        up = F.interpolate(s, size=(height, width), mode="bilinear", align_corners=False)
        if self.channel_adjust.weight.is_contiguous():
            # the exact path convolves a contiguous input, as upstream: oneDNN's rounding depends on layout
            up = up.contiguous()
        return unfold_time(self.channel_adjust(up), steps)


class SDEM(nn.Module):
    """Spiking decomposition & enhancement module (official ``Spiking_Residual_Block(dim)``).

    With ``X̂ = lif_1(X)`` (LIF spikes) and learnable scalars ``hs``, ``ls`` (init 1)::

        Z1 = hs1·X̂ + ls1·(X − X̂) + X⊙X̂ ;  O = bn1(conv1(Z1))
        Ô  = lif_2(O)   (Visual LIF)     ;  Z2 = hs2·Ô + ls2·(O − Ô) + O⊙Ô ;  P = bn2(conv2(Z2))
        Y  = attn(P + shortcut(X)) + X

    ``shortcut`` = conv3×3 → TDBN; ``attn`` = multi-dimensional attention. All convs bias-free.
    """

    def __init__(
        self,
        dim: int,
        T: int,
        neuron: NeuronFactory = LIF,
        multispike: NeuronFactory = MultiSpike,
        time_attention: bool = True,
    ) -> None:
        super().__init__()
        self.high_freq_scale_1 = nn.Parameter(torch.ones(1))
        self.low_freq_scale_1 = nn.Parameter(torch.ones(1))
        self.high_freq_scale_2 = nn.Parameter(torch.ones(1))
        self.low_freq_scale_2 = nn.Parameter(torch.ones(1))
        self.lif_1 = neuron()
        self.conv1 = conv3x3(dim, dim)
        self.bn1 = TDBatchNorm2d(dim, V_THRESHOLD)
        self.lif_2 = VisualLIF(dim, multispike)
        self.conv2 = conv3x3(dim, dim)
        self.bn2 = TDBatchNorm2d(dim, V_THRESHOLD * RESIDUAL_OUT_SCALE)
        self.shortcut = nn.Sequential(conv3x3(dim, dim), TDBatchNorm2d(dim, V_THRESHOLD))
        self.attn = MultiDimensionalAttention(T, dim, time_attention=time_attention)

    @staticmethod
    def _decompose(x: torch.Tensor, x_high: torch.Tensor, hs: torch.Tensor, ls: torch.Tensor) -> torch.Tensor:
        # high part, low part (x − high) and enhancement x⊙high, summed left to right as upstream
        return hs * x_high + ls * (x - x_high) + x * x_high

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        z1 = self._decompose(x_seq, self.lif_1(x_seq), self.high_freq_scale_1, self.low_freq_scale_1)
        out = self.bn1(self.conv1(z1))
        z2 = self._decompose(out, self.lif_2(out), self.high_freq_scale_2, self.low_freq_scale_2)
        out = self.bn2(self.conv2(z2))
        out = out + self.shortcut(x_seq)
        return self.attn(out) + x_seq


class SMU(nn.Module):
    """Spiking multi-scale unit (official ``SUNet_Level1_Block(dim)``): ``[T, B, C, H, W]`` → same.

    ``R = initial_residual(X)`` (an SDEM); the Visual-LIF front end without ``channel_adjust``
    turns R into 4T multi-spike steps at half resolution; ``time_attention`` weighs the 4T
    steps (``σ(MLP(avg) + MLP(max))`` over C, h, w); ``temporal_compress`` (Conv3d with kernel
    and stride (4, 1, 1), then ReLU) merges the 4 sub-positions of each time step back to T
    steps; two LIF → conv3×3 → TDBN → attention stages; bilinear ×2; ``final_attn(up + R)``.

    The ANN twin (``time_attention=False``) drops the time-step attention (its weights are
    T-specific) and the time branch of every attention module.
    """

    def __init__(
        self,
        dim: int,
        T: int,
        neuron: NeuronFactory = LIF,
        multispike: NeuronFactory = MultiSpike,
        time_attention: bool = True,
    ) -> None:
        super().__init__()
        self.r = PATCH
        positions = PATCH * PATCH
        self.initial_residual = SDEM(dim, T, neuron, multispike, time_attention)
        self.lif_node = multispike()
        # official: TimeAttention(in_planes=16, ratio=4) for T = 4
        self.time_attention = _SharedMLPAttention(T * positions, 4) if time_attention else None
        self.temporal_compress = nn.Sequential(
            nn.Conv3d(dim, dim, kernel_size=(positions, 1, 1), stride=(positions, 1, 1), bias=False),
            nn.ReLU(inplace=True),
        )
        self.lif_1 = neuron()
        self.conv_1 = conv3x3(dim, dim)
        self.bn_1 = TDBatchNorm2d(dim, V_THRESHOLD)
        self.attn_1 = MultiDimensionalAttention(T, dim, time_attention=time_attention)
        self.lif_2 = neuron()
        self.conv_2 = conv3x3(dim, dim)
        self.bn_2 = TDBatchNorm2d(dim, V_THRESHOLD)
        self.attn_2 = MultiDimensionalAttention(T, dim, time_attention=time_attention)
        self.final_attn = MultiDimensionalAttention(T, dim, time_attention=time_attention)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        residual = self.initial_residual(x_seq)
        u = self.lif_node(patches_to_time(residual, self.r))  # [4T, B, C, h, w]
        y = u.transpose(0, 1)  # [B, 4T, C, h, w]
        if self.time_attention is not None:
            y = y * self.time_attention(y)
        out = self.temporal_compress(y.permute(0, 2, 1, 3, 4)).permute(2, 0, 1, 3, 4)  # [T, B, C, h, w]
        out = self.attn_1(self.bn_1(self.conv_1(self.lif_1(out))))
        out = self.attn_2(self.bn_2(self.conv_2(self.lif_2(out))))
        return self.final_attn(upsample_bilinear_x2(out) + residual)


class _PatchEmbed(nn.Module):
    def __init__(self, c_in: int, dim: int) -> None:
        super().__init__()
        self.proj = conv3x3(c_in, dim)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.proj(x_seq)


class _DownSampling(nn.Module):
    """lif → conv3×3 stride 2 (C → 2C) → bn."""

    def __init__(self, dim: int, neuron: NeuronFactory) -> None:
        super().__init__()
        self.lif = neuron()
        self.conv = conv3x3(dim, dim * 2, stride=2)
        self.bn = TDBatchNorm2d(dim * 2, V_THRESHOLD)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.lif(x_seq)))


class _UpSampling(nn.Module):
    """Bilinear ×2 per time step, then lif → conv3×3 (C → C/2) → bn."""

    def __init__(self, dim: int, neuron: NeuronFactory) -> None:
        super().__init__()
        self.lif = neuron()
        self.conv = conv3x3(dim, dim // 2)
        self.bn = TDBatchNorm2d(dim // 2, V_THRESHOLD)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(self.lif(upsample_bilinear_x2(x_seq))))


class VLIFNet(nn.Module):
    """VLIF-Net; ``spiking=False`` builds the ANN twin.

    The twin has the same modules and parameter names: ReLU instead of LIF,
    :class:`~spikeview.snn.multispike.RelaxedMultiSpike` (``clamp(x, 0, 4)/4``) instead of the
    multi-spike neuron, T = 1, and none of the T-specific weights (the time branch of the
    attention modules, the SMUs' ``time_attention``).

    Input ``[N, C, H, W]`` in [0, 1] with H, W multiples of :attr:`size_multiple` (the Visual
    LIF pixel-unshuffles the level-3 features); output is the raw (unclamped) restored image.
    """

    size_multiple = 8

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 48,
        en_num_blocks: Sequence[int] = (4, 4, 8, 8),
        de_num_blocks: Sequence[int] = (2, 2, 2, 2),
        bias: bool = False,
        T: int = 4,
        use_refinement: bool = False,
        spiking: bool = True,
    ) -> None:
        super().__init__()
        self.spiking = spiking
        self.T = T if spiking else 1
        self.use_refinement = use_refinement
        neuron: NeuronFactory = LIF if spiking else nn.ReLU
        multispike: Callable[[], nn.Module] = MultiSpike if spiking else RelaxedMultiSpike
        steps = self.T

        def sdems(width: int, count: int) -> nn.Sequential:
            return nn.Sequential(*[SDEM(width, steps, neuron, multispike, spiking) for _ in range(count)])

        def smu(width: int) -> SMU:
            return SMU(width, steps, neuron, multispike, spiking)

        self.patch_embed = _PatchEmbed(inp_channels, dim)
        self.encoder_level1 = smu(dim)
        self.down1_2 = _DownSampling(dim, neuron)
        self.encoder_level2 = sdems(dim * 2, en_num_blocks[1])
        self.down2_3 = _DownSampling(dim * 2, neuron)
        self.encoder_level3 = sdems(dim * 4, en_num_blocks[2])
        self.decoder_level3 = sdems(dim * 4, de_num_blocks[2])
        self.up3_2 = _UpSampling(dim * 4, neuron)
        self.lif_level2 = neuron()
        self.reduce_conv_level2 = conv1x1(dim * 4, dim * 2, bias=bias)
        self.reduce_bn_level2 = TDBatchNorm2d(dim * 2, V_THRESHOLD)
        self.decoder_level2 = sdems(dim * 2, de_num_blocks[1])
        self.up2_1 = _UpSampling(dim * 2, neuron)
        self.lif_level1 = neuron()
        self.reduce_conv_level1 = conv1x1(dim * 2, dim, bias=bias)
        self.reduce_bn_level1 = TDBatchNorm2d(dim, V_THRESHOLD)
        self.decoder_level1 = smu(dim)
        self.additional_sunet_level1 = smu(dim)
        if use_refinement:
            self.refinement_blocks = sdems(dim, 4)
        self.output = nn.Sequential(nn.Conv2d(dim, out_channels, 3, padding=1, bias=True))

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(repeat_over_time(inp, self.T))
        enc1 = self.encoder_level1(x)
        enc2 = self.encoder_level2(self.down1_2(enc1))
        enc3 = self.encoder_level3(self.down2_3(enc2))
        dec3 = self.decoder_level3(enc3)
        dec2 = torch.cat([self.up3_2(dec3), enc2], dim=2)
        dec2 = self.reduce_bn_level2(self.reduce_conv_level2(self.lif_level2(dec2)))
        dec2 = self.decoder_level2(dec2)
        dec1 = torch.cat([self.up2_1(dec2), enc1], dim=2)
        dec1 = self.reduce_bn_level1(self.reduce_conv_level1(self.lif_level1(dec1)))
        dec1 = self.additional_sunet_level1(self.decoder_level1(dec1))
        if self.use_refinement:
            dec1 = self.refinement_blocks(dec1)
        return self.output(dec1.mean(dim=0)) + inp
