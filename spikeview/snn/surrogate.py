"""Surrogate-gradient spike functions.

Forward is the Heaviside step ``Θ(u) = 1 if u >= 0 else 0`` (note ``>=``: a membrane
exactly at threshold spikes, as in spikingjelly). Backward replaces the Dirac delta by
the derivative of a smooth primitive.
"""

from __future__ import annotations

import torch
from torch import nn


class _SigmoidSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(u)
        ctx.alpha = alpha
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (u,) = ctx.saved_tensors
        return grad_output * sigmoid_derivative(u, ctx.alpha), None


def sigmoid_derivative(u: torch.Tensor, alpha: float) -> torch.Tensor:
    """``α·σ(αu)·(1−σ(αu))``: the surrogate's gradient at ``u``."""
    sig = torch.sigmoid(alpha * u)
    return alpha * sig * (1.0 - sig)


class SigmoidSurrogate(nn.Module):
    """Heaviside forward, ``α·σ(αu)·(1−σ(αu))`` backward (spikingjelly ``surrogate.Sigmoid``).

    ``primitive(u) = σ(αu)`` is the smooth curve whose derivative is the backward pass.
    """

    def __init__(self, alpha: float = 4.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and u.requires_grad:
            return _SigmoidSpike.apply(u, self.alpha)
        return (u >= 0).to(u.dtype)

    def derivative(self, u: torch.Tensor) -> torch.Tensor:
        """The backward pass's gradient at ``u`` (used by the fused LIF backward)."""
        return sigmoid_derivative(u, self.alpha)

    def primitive(self, u: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.alpha * u)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"
