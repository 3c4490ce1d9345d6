"""Multi-dimensional attention against the formula of seed-models §1.4 written out independently."""

import pytest
import torch

from spikeview.snn import MultiDimensionalAttention, retime_time_attention


def reference_mda(x, mod):
    wt1 = mod.ta.sharedMLP[0].weight.flatten(1)  # [T/4, T]
    wt2 = mod.ta.sharedMLP[2].weight.flatten(1)  # [T, T/4]
    wc1 = mod.ca.sharedMLP[0].weight.flatten(1)
    wc2 = mod.ca.sharedMLP[2].weight.flatten(1)
    y = x.permute(1, 0, 2, 3, 4).double()  # B T C H W

    def mlp(z, w1, w2):
        return torch.relu(z @ w1.double().T) @ w2.double().T

    avg_t, max_t = y.mean(dim=(2, 3, 4)), y.amax(dim=(2, 3, 4))  # B T
    a_t = torch.sigmoid(mlp(avg_t, wt1, wt2) + mlp(max_t, wt1, wt2))
    y1 = y * a_t[:, :, None, None, None]
    avg_c, max_c = y1.mean(dim=(1, 3, 4)), y1.amax(dim=(1, 3, 4))  # B C
    a_c = torch.sigmoid(mlp(avg_c, wc1, wc2) + mlp(max_c, wc1, wc2))
    y2 = y1 * a_c[:, None, :, None, None]
    flat = y2.flatten(1, 2)
    pooled = torch.stack([flat.mean(1), flat.amax(1)], dim=1)
    a_s = torch.sigmoid(torch.nn.functional.conv2d(pooled, mod.sa.conv.weight.double(), padding=1))
    out = torch.relu(y2 * a_s[:, None])
    return out.permute(1, 0, 2, 3, 4)


def test_mda_matches_formula_and_official_names():
    torch.manual_seed(0)
    mod = MultiDimensionalAttention(T=4, C=32)
    names = {k: tuple(v.shape) for k, v in mod.state_dict().items()}
    assert names == {
        "ta.sharedMLP.0.weight": (1, 4, 1, 1, 1),
        "ta.sharedMLP.2.weight": (4, 1, 1, 1, 1),
        "ca.sharedMLP.0.weight": (2, 32, 1, 1, 1),
        "ca.sharedMLP.2.weight": (32, 2, 1, 1, 1),
        "sa.conv.weight": (1, 2, 3, 3),
    }
    x = torch.randn(4, 2, 32, 9, 11)
    out = mod(x)
    assert out.shape == x.shape
    assert torch.allclose(out.double(), reference_mda(x, mod), atol=1e-5)
    assert (out >= 0).all()  # the final ReLU is part of the module


def test_spatial_max_sends_the_gradient_of_a_tie_to_one_element():
    torch.manual_seed(0)
    mod = MultiDimensionalAttention(T=4, C=16)
    y = torch.ones(1, 4, 16, 3, 3, requires_grad=True)  # [B, T, C, H, W]: all (t, c) tie everywhere
    mod.sa(y).sum().backward()
    grads = y.grad[0, :, :, 1, 1].flatten()  # the 64 tied elements of the centre pixel
    # the mean branch gives all of them the same share; the max branch adds to exactly one
    assert (grads > grads.min() + 1e-9).sum() == 1


def _mlp(first: torch.Tensor, second: torch.Tensor, pooled: torch.Tensor) -> torch.Tensor:
    """Time-attention weights for pooled values ``[T]`` when mean and max pool agree."""
    hidden = torch.relu(first.flatten(1) @ pooled)
    return torch.sigmoid(2 * (second.flatten(1) @ hidden))


def test_retime_time_attention_repeats_each_step_on_repeated_input() -> None:
    g = torch.Generator().manual_seed(0)
    first, second = torch.randn(2, 4, 1, 1, 1, generator=g), torch.randn(4, 2, 1, 1, 1, generator=g)
    pooled = torch.rand(4, generator=g)
    old = _mlp(first, second, pooled)
    w1, w2 = retime_time_attention(first, second, steps=8, hidden=2)
    assert w1.shape == (2, 8, 1, 1, 1) and w2.shape == (8, 2, 1, 1, 1)
    new = _mlp(w1, w2, pooled.repeat_interleave(2))
    assert torch.allclose(new, old.repeat_interleave(2), atol=1e-6)
    # wider hidden layer: copies share the output weight (the function holds up to the 1e-3 noise)
    w1, w2 = retime_time_attention(first, second, steps=12, hidden=3, seed=5)
    assert w1.shape == (3, 12, 1, 1, 1) and w2.shape == (12, 3, 1, 1, 1)
    new = _mlp(w1, w2, pooled.repeat_interleave(3))
    assert torch.allclose(new, old.repeat_interleave(3), atol=1e-2) and not torch.equal(w1[0], w1[2])
    assert torch.equal(w1, retime_time_attention(first, second, steps=12, hidden=3, seed=5)[0])
    with pytest.raises(ValueError, match="whole factor"):
        retime_time_attention(first, second, steps=6, hidden=2)
    with pytest.raises(ValueError, match="must not shrink"):
        retime_time_attention(first, second, steps=8, hidden=1)
