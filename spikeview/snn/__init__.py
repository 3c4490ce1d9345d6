"""Spiking primitives (torch only): surrogate spike functions, LIF neurons, time-folded
layers and the multi-dimensional attention used by ESDNet-family networks.

Layout convention: SNN tensors are ``[T, N, C, H, W]``; stateless layers fold T into the
batch, neurons loop over T.
"""

from spikeview.snn.attention import MultiDimensionalAttention, retime_time_attention
from spikeview.snn.layers import MultiStepConv2d, TDBatchNorm2d, repeat_over_time
from spikeview.snn.neurons import LIF, LIFParams, lif_multistep, reset_states
from spikeview.snn.surrogate import SigmoidSurrogate

__all__ = [
    "LIF",
    "LIFParams",
    "MultiDimensionalAttention",
    "MultiStepConv2d",
    "SigmoidSurrogate",
    "TDBatchNorm2d",
    "lif_multistep",
    "repeat_over_time",
    "reset_states",
    "retime_time_attention",
]
