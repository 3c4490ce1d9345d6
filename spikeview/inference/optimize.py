"""Inference-only speed-ups applied to a copy of a model.

* Batch norm in eval mode is an affine map, so a conv followed by a BN becomes one conv
  with rescaled weights and a bias (one memory pass less per layer).
* Channels-last weights let oneDNN run 3×3 convs without re-ordering (measured 1.8× on a
  96-channel 256² conv on this CPU).

Both change float rounding (≈1e-7 relative), so results are close to but not bit-identical
with the exact path; ``spikeview bench`` reports the difference. ``load_official`` models
stay exact unless a caller opts in.
"""

from __future__ import annotations

import copy
import itertools

import torch
from torch import nn

from spikeview.snn.layers import MultiStepConv2d


def _fold_bn_into_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> MultiStepConv2d:
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    fused = MultiStepConv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
    )
    with torch.no_grad():
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        fused.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
    return fused


def fold_batch_norms(model: nn.Module) -> int:
    """Fold every ``conv → BN`` pair inside ``nn.Sequential`` containers; returns how many."""
    folded = 0
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        keys = list(module._modules)
        for a, b in itertools.pairwise(keys):
            conv, bn = module._modules[a], module._modules[b]
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and not bn.training:
                module._modules[a] = _fold_bn_into_conv(conv, bn)
                module._modules[b] = nn.Identity()
                folded += 1
    return folded


def use_channels_last(model: nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)


def fast_inference_copy(model: nn.Module, fold_bn: bool = True, channels_last: bool = True) -> nn.Module:
    """A deep copy in eval mode with BN folded and channels-last conv weights."""
    fast = copy.deepcopy(model).eval()
    if fold_bn:
        fold_batch_norms(fast)
    if channels_last:
        use_channels_last(fast)
    return fast
