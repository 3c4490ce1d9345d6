"""SpikeNIR: a small spiking restoration network that NIR can express end to end, and its ANN twin.

Why it is built this way: NIR (the field's interchange format, read by Loihi/Lava,
SpiNNaker2, Speck, snnTorch, Norse...) has convolutions, LIF/LI neurons and *sums of edges*,
but no upsampling, concatenation, max-pool, attention or batch norm. So the network

* stays at **full resolution** (no down/upsampling) and grows its receptive field with
  **dilated 3×3 convs** (dilation 1, 2, 4, ...: radius 1 + Σ 2·d + 1 pixels);
* uses only **additive skips on the membrane current** (MS-ResNet style ``u ← u + f(u)``),
  which NIR expresses as several edges into one node;
* keeps TDBN for training; it is folded into the convs at export;
* reads out with a **non-spiking leaky integrator** (LI) and adds the input:
  ``y[t] = x + LI(conv(LIF(u)))[t]``; the restored image is ``y`` at the last step.

Input encoding is direct: the image is repeated over T steps. Layout ``[T, N, C, H, W]``.

Topology (``dilations=(1, 2, 4, 8)``, 10 convs, receptive field 65×65)::

    u = TDBN(conv(x))                                    # analog stem, computed once
    for d in dilations:   u = u + TDBN(conv_d(LIF(TDBN(conv_d(LIF(u))))))
    y = x + LI(conv(LIF(u)))

The ANN twin has the same parameter names: ReLU instead of LIF, identity instead of LI,
no time axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from spikeview.snn import LIF, MultiStepConv2d, TDBatchNorm2d, repeat_over_time
from spikeview.snn.integrator import LeakyIntegrator


class DilatedResidualBlock(nn.Module):
    """``u + TDBN(conv_d(neuron(TDBN(conv_d(neuron(u))))))`` on the membrane current ``u``."""

    def __init__(self, dim: int, dilation: int, neuron: nn.Module, neuron2: nn.Module, bn_threshold: float) -> None:
        super().__init__()
        self.lif1 = neuron
        self.conv1 = MultiStepConv2d(dim, dim, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = TDBatchNorm2d(dim, bn_threshold)
        self.lif2 = neuron2
        self.conv2 = MultiStepConv2d(dim, dim, 3, padding=dilation, dilation=dilation, bias=False)
        # the residual branch starts small so the stack starts close to its shortcut
        self.bn2 = TDBatchNorm2d(dim, bn_threshold * 0.2)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        return u + self.bn2(self.conv2(self.lif2(self.bn1(self.conv1(self.lif1(u))))))


class SpikeNIRNet(nn.Module):
    """Full-resolution dilated-conv SNN with an LI readout; ``spiking=False`` builds the ANN twin.

    Input ``[N, C, H, W]`` in [0, 1] (any H, W); output the raw (unclamped) restored image.
    LIF neurons: ``tau``, ``v_threshold``, hard reset to 0, ``decay_input``
    (``V ← V + (X − V)/tau``). With ``decay_input`` the input is scaled by 1/tau, so TDBN
    normalises to ``v_threshold·tau`` (the threshold in input units).
    """

    size_multiple = 1

    def __init__(
        self,
        inp_channels: int = 3,
        out_channels: int = 3,
        dim: int = 16,
        dilations: Sequence[int] = (1, 2, 4, 8),
        T: int = 4,
        tau: float = 2.0,
        v_threshold: float = 0.15,
        decay_input: bool = True,
        spiking: bool = True,
    ) -> None:
        super().__init__()
        if inp_channels != out_channels:
            raise ValueError("the global residual needs inp_channels == out_channels")
        self.spiking = spiking
        self.T = int(T) if spiking else 1
        bn_threshold = v_threshold * (tau if decay_input else 1.0)

        def neuron() -> nn.Module:
            if spiking:
                return LIF(tau=tau, v_threshold=v_threshold, v_reset=0.0, decay_input=decay_input)
            return nn.ReLU()

        self.stem = MultiStepConv2d(inp_channels, dim, 3, padding=1, bias=False)
        self.stem_bn = TDBatchNorm2d(dim, bn_threshold)
        self.blocks = nn.Sequential(
            *[DilatedResidualBlock(dim, int(d), neuron(), neuron(), bn_threshold) for d in dilations]
        )
        self.out_lif = neuron()
        self.out_conv = MultiStepConv2d(dim, out_channels, 3, padding=1, bias=True)
        self.readout = LeakyIntegrator(tau) if spiking else nn.Identity()
        with torch.no_grad():
            # start near the identity restoration (output ≈ input)
            self.out_conv.weight.mul_(0.1)
            self.out_conv.bias.zero_()

    def forward(self, inp: torch.Tensor) -> torch.Tensor:
        x = repeat_over_time(inp, self.T) if self.spiking else inp
        u = self.blocks(self.stem_bn(self.stem(x)))
        y = self.readout(self.out_conv(self.out_lif(u))) + x
        return y[-1] if self.spiking else y
