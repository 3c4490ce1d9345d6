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


def retime_time_attention(
    first: torch.Tensor, second: torch.Tensor, steps: int, hidden: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The time attention's MLP weights for ``steps`` time steps from those trained for fewer.

    ``first`` is ``sharedMLP.0.weight`` ``[h, T, 1, 1, 1]``, ``second`` is ``sharedMLP.2.weight``
    ``[T, h, 1, 1, 1]``; ``steps`` must be a multiple of ``T`` and ``hidden >= h``. Each old step
    becomes ``steps / T`` consecutive steps: on an input whose pooled values repeat that way the
    new MLP gives the old weights, each repeated. Extra hidden units copy old ones and share their
    output weight, plus noise of 1e-3 (from ``seed``) so that the copies can part.
    """
    h, old_steps = first.shape[:2]
    if steps % old_steps or hidden < h:
        raise ValueError(
            f"cannot map time attention from T={old_steps} (hidden {h}) to T={steps} (hidden {hidden}): "
            "T must grow by a whole factor and the hidden width must not shrink"
        )
    factor = steps // old_steps
    # spreading a weight over `factor` copies of its input keeps the sum the same
    w1 = first.repeat_interleave(factor, dim=1) / factor
    w2 = second.repeat_interleave(factor, dim=0)
    source = [k % h for k in range(hidden)]
    copies = torch.bincount(torch.tensor(source), minlength=h).to(w2.dtype)
    w1 = w1[source]
    w2 = w2[:, source] / copies[source].view(1, -1, 1, 1, 1)
    if hidden > h:
        gen = torch.Generator().manual_seed(seed)
        w1 = w1 + 1e-3 * torch.randn(w1.shape, generator=gen, dtype=w1.dtype)
        w2 = w2 + 1e-3 * torch.randn(w2.shape, generator=gen, dtype=w2.dtype)
    return w1.contiguous(), w2.contiguous()
