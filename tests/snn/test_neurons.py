"""LIF recurrence against a hand-computed sequence; surrogate gradient against its derivative."""

import math

import pytest
import torch

from spikeview.snn import LIF, LIFParams, SigmoidSurrogate, lif_multistep
from spikeview.snn.neurons import reset_states, set_carry_state


def hand_lif(xs, tau=2.0, v_th=0.15):
    """The seed-models §1.2 equations, step by step in float32."""
    v = torch.tensor(0.0)
    spikes, charged = [], []
    for x in xs:
        h = v - v / tau + torch.tensor(x, dtype=torch.float32)
        s = 1.0 if h >= torch.tensor(v_th, dtype=torch.float32) else 0.0
        v = h * (1 - s)
        spikes.append(s)
        charged.append(float(h))
    return spikes, charged


def test_forward_matches_hand_computed_sequence():
    xs = [0.15, 0.1, 0.1, 0.1, 0.2, -0.3, 0.05]
    # step 0 sits exactly on the threshold and must spike (>=); step 2 reaches 0.05+0.1
    expected_spikes, expected_h = hand_lif(xs)
    assert expected_spikes[:5] == [1.0, 0.0, 1.0, 0.0, 1.0]
    x = torch.tensor(xs).reshape(-1, 1)
    spikes, v_last, h = lif_multistep(x, return_membrane=True)
    assert spikes.flatten().tolist() == expected_spikes
    assert h.flatten().tolist() == pytest.approx(expected_h, abs=1e-7)
    # the fast inference path gives the same spikes and final membrane
    fast_spikes, fast_v, _ = lif_multistep(x)
    assert torch.equal(fast_spikes, spikes)
    assert torch.equal(fast_v, v_last)


def test_fast_path_equals_reference_loop_on_random_input():
    torch.manual_seed(1)
    x = torch.randn(4, 2, 8, 16, 16) * 0.2
    fast, v_fast, _ = lif_multistep(x)
    slow, v_slow, _ = lif_multistep(x, return_membrane=True)
    assert torch.equal(fast, slow) and torch.equal(v_fast, v_slow)
    assert 0.05 < fast.mean().item() < 0.5


@pytest.mark.parametrize("layout", ["channels_last", "time_constant"])
def test_fast_path_with_carried_state_equals_reference_and_keeps_the_state(layout):
    torch.manual_seed(2)
    x = torch.randn(4, 2, 8, 16, 16) * 0.2
    if layout == "channels_last":
        x = x.reshape(8, 8, 16, 16).contiguous(memory_format=torch.channels_last).reshape(x.shape)
    else:
        x = x[:1].expand_as(x)
    v_init = torch.rand(2, 8, 16, 16) * 0.15
    kept = v_init.clone()
    fast, v_fast, _ = lif_multistep(x, v_init=v_init)
    slow, v_slow, _ = lif_multistep(x, v_init=v_init, return_membrane=True)
    assert torch.equal(fast, slow) and torch.equal(v_fast, v_slow)
    assert torch.equal(v_init, kept)  # in-place updates work on a copy
    assert fast.stride() == x.stride() or layout == "time_constant"


def test_surrogate_forward_is_heaviside_and_backward_is_sigmoid_derivative():
    alpha = 4.0
    sur = SigmoidSurrogate(alpha)
    u = torch.linspace(-2, 2, 401, dtype=torch.float64, requires_grad=True)
    out = sur(u)
    assert torch.equal(out.detach(), (u.detach() >= 0).double())
    out.sum().backward()
    sig = torch.sigmoid(alpha * u.detach())
    assert torch.allclose(u.grad, alpha * sig * (1 - sig), atol=1e-12)
    # and equals the finite difference of the primitive σ(αu)
    eps = 1e-6
    fd = (sur.primitive(u.detach() + eps) - sur.primitive(u.detach() - eps)) / (2 * eps)
    assert torch.allclose(u.grad, fd, atol=1e-8)
    assert u.grad[200].item() == pytest.approx(alpha / 4)


def test_gradient_flows_through_reset_unless_detached():
    x = torch.tensor([[0.3], [0.1]], requires_grad=True)
    grads = {}
    for detach in (False, True):
        xi = x.detach().clone().requires_grad_(True)
        _, v_last, _ = lif_multistep(xi, LIFParams(detach_reset=detach), SigmoidSurrogate(4.0))
        v_last.sum().backward()
        grads[detach] = xi.grad.clone()

    # V1 = H1·(1−S1) with H1 = V0/2 + x1, V0 = H0·(1−S0), H0 = x0. Step 0 spikes (0.3 >= 0.15),
    # step 1 does not (H1 = 0.1). With the reset in the graph dV/dH = 1 − S − H·S'(H).
    def d_spike(h):
        sig = 1 / (1 + math.exp(-4 * (h - 0.15)))
        return 4 * sig * (1 - sig)

    dv1_dh1 = 1 - 0.0 - 0.1 * d_spike(0.1)
    dv0_dh0 = 1 - 1.0 - 0.3 * d_spike(0.3)
    assert grads[False][0].item() == pytest.approx(dv1_dh1 * 0.5 * dv0_dh0, rel=1e-5)
    assert grads[False][1].item() == pytest.approx(dv1_dh1, rel=1e-5)
    # detached: the reset is a constant, dV0/dH0 = 1 − S0 = 0 and dV1/dH1 = 1 − S1 = 1
    assert grads[True][0].item() == 0.0
    assert grads[True][1].item() == pytest.approx(1.0)


def test_lif_module_resets_per_call_and_can_carry_state():
    lif = LIF()
    # H: 0.085, 0.1275 (no spike); carried into the next call: 0.14875, 0.159375 (spike)
    x = torch.full((2, 1, 3), 0.085)
    first = lif(x)
    assert torch.equal(lif(x), first)  # state reset between calls
    set_carry_state(lif, True)
    a = lif(x)
    b = lif(x)
    assert a.flatten(1).tolist() == [[0, 0, 0], [0, 0, 0]]
    assert b.flatten(1).tolist() == [[0, 0, 0], [1, 1, 1]]
    reset_states(torch.nn.Sequential(lif))
    assert torch.equal(lif(x), a)
    assert lif.state_dict() == {}


@pytest.mark.parametrize(
    "params",
    [
        LIFParams(),
        LIFParams(detach_reset=True),
        LIFParams(v_reset=-0.05, v_threshold=0.2, tau=3.0),
        LIFParams(decay_input=True),
        LIFParams(decay_input=True, v_reset=0.02, detach_reset=True),
    ],
    ids=["esdnet", "detach_reset", "v_reset", "decay_input", "all"],
)
@pytest.mark.parametrize("uses_v_last", [False, True])
def test_fused_training_path_has_the_reference_loops_outputs_and_gradients(params, uses_v_last):
    # the fused path (no membrane returned) against the autograd loop (membrane returned), in
    # float64 so that only the order of additions can differ
    torch.manual_seed(3)
    x = (torch.randn(5, 2, 3, 6, 6, dtype=torch.float64) * 0.3).requires_grad_(True)
    v_init = (torch.rand(2, 3, 6, 6, dtype=torch.float64) * 0.1).requires_grad_(True)
    weight_s = torch.randn(5, 2, 3, 6, 6, dtype=torch.float64)
    weight_v = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    results = []
    for return_membrane in (False, True):
        x.grad = v_init.grad = None
        spikes, v_last, h = lif_multistep(x, params, SigmoidSurrogate(4.0), v_init, return_membrane=return_membrane)
        assert (h is not None) == return_membrane
        loss = (spikes * weight_s).sum() + ((v_last * weight_v).sum() if uses_v_last else 0.0)
        loss.backward()
        results.append((spikes.detach(), v_last.detach(), x.grad.clone(), v_init.grad.clone()))
    (fs, fv, fgx, fgv), (rs, rv, rgx, rgv) = results
    assert torch.equal(fs, rs) and torch.equal(fv, rv)
    assert 0.05 < fs.mean().item() < 0.6  # both spiking and silent steps are exercised
    assert fgx.abs().sum() > 0 and fgv.abs().sum() > 0
    assert torch.allclose(fgx, rgx, rtol=1e-12, atol=1e-14)
    assert torch.allclose(fgv, rgv, rtol=1e-12, atol=1e-14)


def test_fused_training_path_in_a_network_matches_the_reference_loop_in_float32():
    # same forward bit for bit, same gradients up to float32 rounding, on a conv + LIF stack
    torch.manual_seed(4)
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    x = torch.randn(4, 2, 3, 16, 16)
    runs = []  # (spikes, conv weight gradient): fused path first, then the reference loop
    for return_membrane in (False, True):
        conv.zero_grad()
        current = conv(x.flatten(0, 1)).unflatten(0, (4, 2))
        spikes, _, _ = lif_multistep(current, LIFParams(), SigmoidSurrogate(4.0), return_membrane=return_membrane)
        (spikes.mean(dim=0) ** 2).sum().backward()
        runs.append((spikes.detach(), conv.weight.grad.clone()))
    (fused_spikes, fused_grad), (loop_spikes, loop_grad) = runs
    assert torch.equal(fused_spikes, loop_spikes)
    assert torch.allclose(fused_grad, loop_grad, rtol=1e-5, atol=1e-6)
