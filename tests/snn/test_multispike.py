"""Multi-spike neuron (VLIF's ``mem_update``) against hand-computed sequences; Visual LIF regrouping."""

import pytest
import torch
from torch.nn import functional as F

from spikeview.archs.vlif import VisualLIF, patches_to_time, time_to_patches, time_to_patches_folded
from spikeview.snn.multispike import (
    MultiSpike,
    RelaxedMultiSpike,
    multispike_multistep,
    quantize_multispike,
)


def run(xs, **kwargs):
    return multispike_multistep(torch.tensor(xs, dtype=torch.float32).reshape(-1, 1), **kwargs)


def test_hand_computed_sequence_with_leak_and_soft_reset():
    # m0 = 1.3 → round 1 → 0.25;  m1 = (1.3 − 0.25)·0.25 + 0.9 = 1.1625 → 1 → 0.25
    # m2 = (1.1625 − 0.25)·0.25 + 2.6 = 2.828125 → 3 → 0.75;  m3 = (2.828125 − 0.75)·0.25 − 1 < 0 → 0
    # m4 = (−0.48046875 − 0)·0.25 + 0.5 = 0.3798828125 → 0
    spikes, v_last, m = run([1.3, 0.9, 2.6, -1.0, 0.5], return_membrane=True)
    assert spikes.flatten().tolist() == [0.25, 0.25, 0.75, 0.0, 0.0]
    assert m.flatten().tolist() == pytest.approx([1.3, 1.1625, 2.828125, -0.48046875, 0.3798828125], abs=1e-6)
    assert v_last.item() == pytest.approx(0.3798828125, abs=1e-6)  # nothing to reset at the last step


def test_round_half_to_even_single_step_and_clamp():
    # one step per element: 0.5 → 0, 1.5 → 2, 2.5 → 2, 3.5 → 4, negative → 0, above 4 → 4
    x = torch.tensor([[0.5, 1.5, 2.5, 3.5, -0.5, 4.5, 9.0]])
    spikes, _, _ = multispike_multistep(x)
    assert spikes.flatten().tolist() == [0.0, 0.5, 0.5, 1.0, 0.0, 1.0, 1.0]


def test_round_half_to_even_reached_through_the_leak():
    # exact binary fractions: m = 2.5 → 2 (s 0.5); m = (2.5−0.5)·0.25 + 0 = 0.5 → 0 (s 0);
    # m = 0.5·0.25 + 1.375 = 1.5 → 2 (s 0.5); m = (1.5−0.5)·0.25 + 3.25 = 3.5 → 4 (s 1)
    # (rounding half away from zero would give 0.75, 0.25, ...)
    spikes, v_last, m = run([2.5, 0.0, 1.375, 3.25], return_membrane=True)
    assert spikes.flatten().tolist() == [0.5, 0.0, 0.5, 1.0]
    assert m.flatten().tolist() == [2.5, 0.5, 1.5, 3.5]
    assert v_last.item() == 2.5


def test_v_init_continues_a_sequence():
    xs = torch.tensor([2.5, 0.0, 1.375, 3.25]).reshape(-1, 1)
    whole, _, _ = multispike_multistep(xs)
    first, v_mid, _ = multispike_multistep(xs[:2])
    second, _, _ = multispike_multistep(xs[2:], v_init=v_mid)
    assert torch.equal(torch.cat([first, second]), whole)


def test_inference_path_equals_autograd_path_bit_for_bit():
    torch.manual_seed(0)
    x = torch.randn(16, 2, 3, 5, 5) * 3
    fast, fast_v, fast_m = multispike_multistep(x, return_membrane=True)
    slow, slow_v, slow_m = multispike_multistep(x.clone().requires_grad_(), return_membrane=True)
    assert torch.equal(fast, slow.detach()) and torch.equal(fast_v, slow_v.detach())
    assert torch.equal(fast_m, slow_m.detach())
    assert set(fast.unique().tolist()) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_straight_through_gradient():
    # two steps, loss = s0 + s1: ∂s0/∂x0 = 1/4, ∂s1/∂x1 = 1/4, ∂s1/∂x0 = 1/4 · decay (the reset is detached)
    x = torch.tensor([[1.3], [0.9]], requires_grad=True)
    spikes, _, _ = multispike_multistep(x)
    spikes.sum().backward()
    assert x.grad.flatten().tolist() == [0.3125, 0.25]
    # m0 = 5 is outside [0, 4]: no gradient from s0; m1 = (5 − 1)·0.25 + 0.5 = 1.5 is inside
    x = torch.tensor([[5.0], [0.5]], requires_grad=True)
    multispike_multistep(x)[0].sum().backward()
    assert x.grad.flatten().tolist() == [0.0625, 0.25]
    # both ends of [0, 4] pass the gradient, just outside does not
    m = torch.tensor([0.0, 4.0, -1e-3, 4.001, 2.2], requires_grad=True)
    quantize_multispike(m).sum().backward()
    assert m.grad.tolist() == [0.25, 0.25, 0.0, 0.0, 0.25]


def test_modules_are_parameter_free_and_relaxed_neuron_is_clamp():
    neuron = MultiSpike()
    assert list(neuron.state_dict()) == []
    x = torch.tensor([[2.5], [0.0], [1.375], [3.25]])
    assert neuron(x).flatten().tolist() == [0.5, 0.0, 0.5, 1.0]
    relaxed = RelaxedMultiSpike()
    assert list(relaxed.state_dict()) == []
    assert relaxed(torch.tensor([-1.0, 0.0, 1.0, 2.5, 4.0, 7.0])).tolist() == [0.0, 0.0, 0.25, 0.625, 1.0, 1.0]
    # its slope is the SNN's straight-through gradient
    m = torch.tensor([-1.0, 0.0, 2.2, 4.0, 5.0], requires_grad=True)
    relaxed(m).sum().backward()
    assert m.grad.tolist() == [0.0, 0.25, 0.25, 0.25, 0.0]


def labelled(steps=2, channels=2):
    """x[t, 0, c, y, x] = 1000·c + 100·t + 10·y + x on 2×2 pixels."""
    t = torch.arange(steps).reshape(-1, 1, 1, 1, 1) * 100
    c = torch.arange(channels).reshape(1, 1, -1, 1, 1) * 1000
    y = torch.arange(2).reshape(1, 1, 1, -1, 1) * 10
    x = torch.arange(2).reshape(1, 1, 1, 1, -1)
    return (t + c + y + x).float()


def test_patches_to_time_order_is_t_times_4_plus_position():
    seq = patches_to_time(labelled())  # [2·4, 1, 2, 1, 1]
    assert seq.shape == (8, 1, 2, 1, 1)
    # position p = 2·dy + dx of step t lands at index t·4 + p; channels stay apart
    assert seq[:, 0, 0, 0, 0].tolist() == [0, 1, 10, 11, 100, 101, 110, 111]
    assert seq[:, 0, 1, 0, 0].tolist() == [1000, 1001, 1010, 1011, 1100, 1101, 1110, 1111]


def test_time_to_patches_gives_pixel_unshuffle_channel_order():
    x = labelled()
    back = time_to_patches(patches_to_time(x), steps=2)
    expected = torch.stack([F.pixel_unshuffle(x[t], 2) for t in range(2)])
    assert torch.equal(back, expected)
    assert back[1, 0, :, 0, 0].tolist() == [100, 101, 110, 111, 1100, 1101, 1110, 1111]  # c·4 + p
    seq = patches_to_time(torch.randn(3, 2, 5, 4, 6))
    folded = time_to_patches_folded(seq, steps=3)  # the channels-last layout VisualLIF resizes
    assert folded.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(folded, time_to_patches(seq, steps=3).flatten(0, 1))


def test_visual_lif_walks_sub_pixels_with_one_membrane():
    block = VisualLIF(1)
    with torch.no_grad():
        block.channel_adjust.weight.copy_(torch.tensor([1.0, 10.0, 100.0, 1000.0]).reshape(1, 4, 1, 1))
    # the four pixels in raster order are the sequence of the hand-computed leak case above
    x = torch.tensor([[2.5, 0.0], [1.375, 3.25]]).reshape(1, 1, 1, 2, 2)
    with torch.no_grad():
        y = block(x)
    # spikes 0.5, 0, 0.5, 1 weighted 1, 10, 100, 1000; the 1×1 map resizes bilinearly to a constant 2×2
    assert y.shape == (1, 1, 1, 2, 2)
    assert y.flatten().tolist() == [1050.5] * 4
