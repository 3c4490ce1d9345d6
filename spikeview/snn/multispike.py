"""Multi-spike integer neuron (VLIF-Net's ``mem_update``, a normalised integer LIF).

Instead of a binary spike the neuron emits one of ``levels + 1`` graded values: the
membrane is clamped to ``[0, levels]``, rounded to an integer count and normalised by
``levels`` (so the output is in ``{0, 1/levels, ..., 1}``). Per step, over a sequence of
length L (seed-models §3.1)::

    q(m)  = round(clamp(m, 0, D)) / D              D = levels = 4; round half to even
    m[0]  = x[0]                                   (or v_init·decay + x[0] if a state is carried)
    m[i]  = (m[i-1] − s[i-1])·decay + x[i]         decay = 0.25
    s[i]  = q(m[i])

i.e. a soft reset by the *normalised* spike value (``s`` is detached in the reset) and a
leak of 0.25, no threshold parameter. Backward of ``q`` is straight-through:
``∂q/∂m = 1/D`` for ``0 ≤ m ≤ D`` (both ends included) and 0 outside; the gradient also flows
through ``m[i-1]``.

:func:`multispike_multistep` is the maths as a pure function; :class:`MultiSpike` is the
parameter-free module; :class:`RelaxedMultiSpike` is its ANN counterpart (no rounding, no
time axis), used by ANN twins.
"""

from __future__ import annotations

import torch
from torch import nn

DECAY = 0.25
LEVELS = 4


class _QuantizeSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, m: torch.Tensor, levels: int) -> torch.Tensor:
        ctx.save_for_backward(m)
        ctx.levels = levels
        return torch.round(torch.clamp(m, 0, levels)) / levels

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        (m,) = ctx.saved_tensors
        inside = (m >= 0) & (m <= ctx.levels)
        return torch.where(inside, grad_output, torch.zeros_like(grad_output)) / ctx.levels, None


def quantize_multispike(m: torch.Tensor, levels: int = LEVELS) -> torch.Tensor:
    """``round(clamp(m, 0, levels)) / levels`` (``torch.round``: half to even).

    With autograd the backward is the straight-through ``1/levels`` inside ``[0, levels]``.
    """
    if torch.is_grad_enabled() and m.requires_grad:
        return _QuantizeSTE.apply(m, levels)
    return torch.round(torch.clamp(m, 0, levels)) / levels


def multispike_multistep(
    x_seq: torch.Tensor,
    decay: float = DECAY,
    levels: int = LEVELS,
    v_init: torch.Tensor | None = None,
    return_membrane: bool = False,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Run the multi-spike neuron over the leading axis of ``x_seq`` (``[L, ...]``, real valued).

    Returns ``(spikes [L, ...] in {0, 1/levels, ..., 1}, v_last [...], m_seq [L, ...] or None)``.
    ``v_last = m[L-1] − s[L-1]`` is the membrane after the last soft reset, which is what a
    following call would take as ``v_init``; ``m_seq`` (the membrane before quantisation) is
    returned only if ``return_membrane``. The arithmetic is the official one operation for
    operation, so results are bit-identical with it.
    """
    need_grad = torch.is_grad_enabled() and (x_seq.requires_grad or (v_init is not None and v_init.requires_grad))
    if not need_grad:
        return _multispike_inference(x_seq, decay, levels, v_init, return_membrane)
    spikes = []
    ms = [] if return_membrane else None
    m = s = None
    for i in range(x_seq.shape[0]):
        if m is None:
            m = x_seq[i] if v_init is None else v_init * decay + x_seq[i]
        else:
            m = (m - s.detach()) * decay + x_seq[i]
        s = quantize_multispike(m, levels)
        spikes.append(s)
        if ms is not None:
            ms.append(m)
    m_seq = torch.stack(ms) if ms is not None else None
    return torch.stack(spikes), m - s.detach(), m_seq


def _multispike_inference(
    x_seq: torch.Tensor, decay: float, levels: int, v_init: torch.Tensor | None, return_membrane: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """No-autograd path: preallocated outputs and in-place ops, same arithmetic."""
    spikes = torch.empty(x_seq.shape, dtype=x_seq.dtype, device=x_seq.device)
    m_seq = torch.empty_like(spikes) if return_membrane else None
    m = x_seq[0].clone() if v_init is None else torch.mul(v_init, decay).add_(x_seq[0])
    for i in range(x_seq.shape[0]):
        if i > 0:
            m.sub_(spikes[i - 1]).mul_(decay).add_(x_seq[i])
        if m_seq is not None:
            m_seq[i].copy_(m)
        s = spikes[i]
        torch.clamp(m, 0, levels, out=s)
        s.round_().div_(levels)
    return spikes, m.sub_(spikes[-1]), m_seq


class MultiSpike(nn.Module):
    """Multi-step multi-spike neuron: ``[L, ...]`` real input → ``[L, ...]`` graded spikes.

    Parameter-free (official checkpoints hold no tensors for it). The membrane starts at 0 on
    every call: inside VLIF the sequence is a pseudo-time of sub-pixel positions × time steps,
    rebuilt from scratch for each input.
    """

    def __init__(self, decay: float = DECAY, levels: int = LEVELS) -> None:
        super().__init__()
        self.decay = float(decay)
        self.levels = int(levels)

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        spikes, _, _ = multispike_multistep(x_seq, self.decay, self.levels)
        return spikes

    def extra_repr(self) -> str:
        return f"decay={self.decay}, levels={self.levels}"


class RelaxedMultiSpike(nn.Module):
    """ANN counterpart of :class:`MultiSpike`: ``clamp(x, 0, levels) / levels``, element-wise.

    It is the multi-spike quantiser without the rounding, i.e. the function whose derivative
    is exactly the straight-through gradient the SNN is trained with (``1/levels`` on
    ``[0, levels]``). Leak and reset have no role without a time axis: on a single step the
    neuron is ``s = q(x)``. Unlike a plain ReLU it keeps the spikes' ``[0, 1]`` range, so the
    products with it in VLIF's decomposition blocks (``O ⊙ Ô``) stay on the same scale.
    """

    def __init__(self, levels: int = LEVELS) -> None:
        super().__init__()
        self.levels = int(levels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, 0, self.levels) / self.levels

    def extra_repr(self) -> str:
        return f"levels={self.levels}"
