"""Stateless layers for ``[T, N, C, H, W]`` sequences.

They fold T into the batch, run the ordinary 2-D op once and unfold (spikingjelly's
multi-step mode). A sequence that is the same at every step (the direct-encoded image, made
by :func:`repeat_over_time`) is an ``expand``-ed view with time stride 0; conv and eval-mode
batch norm compute such an input once and hand back another view, so work that is identical
across time steps is done once. State-dict names are those of ``nn.Conv2d`` /
``nn.BatchNorm2d``.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def repeat_over_time(x: torch.Tensor, steps: int) -> torch.Tensor:
    """Direct encoding: ``[N, ...]`` → ``[T, N, ...]`` as a view (no copy)."""
    return x.unsqueeze(0).expand(steps, *x.shape)


def is_time_constant(x: torch.Tensor) -> bool:
    """True for a view made by :func:`repeat_over_time` (all time steps share memory)."""
    return x.dim() >= 2 and x.shape[0] > 1 and x.stride(0) == 0


def fold_time(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(x.shape[0] * x.shape[1], *x.shape[2:])


def unfold_time(y: torch.Tensor, steps: int) -> torch.Tensor:
    return y.reshape(steps, y.shape[0] // steps, *y.shape[1:])


class MultiStepConv2d(nn.Conv2d):
    """``nn.Conv2d`` applied to every time step of a ``[T, N, C, H, W]`` sequence.

    If the weight is channels-last (inference fast path) the input is made channels-last
    too, so oneDNN does not re-order it on every call.
    """

    def _conv(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight.is_contiguous(memory_format=torch.channels_last) and not self.weight.is_contiguous():
            x = x.contiguous(memory_format=torch.channels_last)
        return super().forward(x)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if x_seq.dim() == 4:
            return self._conv(x_seq)
        if is_time_constant(x_seq):
            return repeat_over_time(self._conv(x_seq[0]), x_seq.shape[0])
        steps = x_seq.shape[0]
        return unfold_time(self._conv(fold_time(x_seq)), steps)


class TDBatchNorm2d(nn.BatchNorm2d):
    """Threshold-dependent batch norm (Zheng et al. 2021), multi-step.

    An ordinary ``BatchNorm2d`` over the folded ``T·N`` batch whose weight starts at
    ``alpha · v_threshold`` (alpha = 1/√2) instead of 1, so pre-activations start on the
    scale of the firing threshold.
    """

    def __init__(
        self,
        num_features: int,
        v_threshold: float = 0.15,
        alpha: float = 1.0 / math.sqrt(2.0),
        eps: float = 1e-5,
        momentum: float = 0.1,
    ) -> None:
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.v_threshold = v_threshold
        self.alpha = alpha
        with torch.no_grad():
            self.weight.fill_(alpha * v_threshold)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        if x_seq.dim() == 4:
            return super().forward(x_seq)
        if not self.training and is_time_constant(x_seq):
            return repeat_over_time(super().forward(x_seq[0]), x_seq.shape[0])
        steps = x_seq.shape[0]
        return unfold_time(super().forward(fold_time(x_seq)), steps)


def upsample_bilinear_x2(x_seq: torch.Tensor) -> torch.Tensor:
    """Bilinear ×2 (align_corners=False) of every time step of ``[T, N, C, H, W]``."""
    steps = x_seq.shape[0]
    y = nn.functional.interpolate(fold_time(x_seq), scale_factor=2, mode="bilinear", align_corners=False)
    return unfold_time(y, steps)
