"""ActivityRecorder on VLIF's multi-spike neurons, checked against a NumPy multi-spike neuron."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from spikeview.archs import build_arch
from spikeview.archs.vlif import VisualLIF, patches_to_time
from spikeview.recording import ActivityRecorder, LayerInfo, spiking_layers
from spikeview.snn import LIF
from spikeview.snn.multispike import MultiSpike

LEVELS, DECAY = 4, 0.25
VLIF_TINY = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4}


def numpy_multispike(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hand-written multi-spike neuron: m0 = x0, s = round(clip(m, 0, 4))/4, m = (m − s)·0.25 + x."""
    x = x.astype(np.float64)
    ms, ss = [], []
    m = s = None
    for i in range(x.shape[0]):
        m = x[i] if m is None else (m - s) * DECAY + x[i]
        s = np.round(np.clip(m, 0, LEVELS)) / LEVELS  # np.round: half to even, as torch.round
        ms.append(m)
        ss.append(s)
    return np.stack(ms), np.stack(ss)


def currents(shape, seed=1) -> torch.Tensor:
    # multiples of 1/64 in [-0.5, 4.5]: every level is reached and float32 is exact
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(-32, 289, shape, generator=g)).float() / 64


def test_graded_spikes_membrane_and_unit_spike_counts_by_hand():
    net = nn.Sequential(MultiSpike())
    x = currents((5, 2, 3, 4, 6), seed=3)
    m, s = numpy_multispike(x.numpy())
    assert set(np.unique(s)) == {0.0, 0.25, 0.5, 0.75, 1.0}  # the case covers every level
    with ActivityRecorder(net, capture_channel=2, raster_neurons=10_000) as rec:
        net(x)
    snap = rec.latest()
    assert snap.layer == "0" and snap.channel == 2 and snap.spike_levels == LEVELS and snap.subpixel == 1
    assert snap.layer_shape == (5, 2, 3, 4, 6)
    np.testing.assert_allclose(snap.membrane, m[:, 0, 2], rtol=0, atol=1e-6)  # before quantisation
    np.testing.assert_array_equal(snap.spikes, s[:, 0, 2])  # graded values, not 0/1
    np.testing.assert_array_equal(snap.raster, s[:, 0].reshape(5, -1) != 0)
    assert snap.threshold == 0.5
    units = round(s.sum() * LEVELS)
    assert rec.spike_counts() == {"0": units}
    assert rec.spike_levels() == {"0": LEVELS}
    assert rec.element_counts() == {"0": s.size}
    assert rec.firing_rates()["0"] == pytest.approx(s.mean())  # mean spike value, in [0, 1]
    assert snap.firing_rate == pytest.approx(s.mean())
    counts, edges = snap.membrane_hist
    assert counts.sum() == m[:, 0].size and edges[0] <= m[:, 0].min() and edges[-1] >= m[:, 0].max() - 1e-6


def test_overall_rate_weighs_binary_and_graded_layers_by_their_levels():
    net = nn.Sequential(LIF(), MultiSpike())
    x = currents((4, 1, 2, 3, 3), seed=5)
    with ActivityRecorder(net) as rec, torch.no_grad():
        net(x)
    lif_out = LIF()(x)
    _, graded = numpy_multispike(lif_out.numpy())
    assert rec.spike_counts() == {"0": int(lif_out.sum()), "1": round(graded.sum() * LEVELS)}
    expected = (lif_out.sum().item() + graded.sum()) / (2 * x.numel())
    assert rec.overall_firing_rate() == pytest.approx(expected)


def test_visual_lif_snapshot_is_regrouped_to_time_steps_at_full_resolution():
    torch.manual_seed(0)
    steps, channels, height, width = 2, 3, 4, 6
    block = nn.Sequential(VisualLIF(channels))
    x = currents((steps, 1, channels, height, width), seed=7)
    with ActivityRecorder(block, capture_channel=1, raster_neurons=10_000) as rec, torch.no_grad():
        block(x)
    snap = rec.latest()
    assert snap.layer == "0.lif_node" and snap.subpixel == 2
    assert snap.layer_shape == (steps * 4, 1, channels, height // 2, width // 2)  # what the neuron saw
    m, s = numpy_multispike(patches_to_time(x).numpy())  # [T·4, 1, C, H/2, W/2]
    assert snap.membrane.shape == (steps, height, width)
    for t in range(steps):
        for y in range(height):
            for xx in range(width):
                pseudo = t * 4 + 2 * (y % 2) + (xx % 2)  # sub-pixel position p = 2·dy + dx
                assert snap.membrane[t, y, xx] == pytest.approx(m[pseudo, 0, 1, y // 2, xx // 2], abs=1e-6)
                assert snap.spikes[t, y, xx] == s[pseudo, 0, 1, y // 2, xx // 2]
    assert snap.raster.shape == (steps, channels * height * width)
    assert snap.raster.sum() == (s[:, 0] != 0).sum()  # a bijection of neuron events


def test_spiking_layers_and_rates_of_tiny_vlif():
    torch.manual_seed(0)
    model = build_arch("vlif", **VLIF_TINY).eval()
    layers = spiking_layers(model)
    kinds = {info.name: info.kind for info in layers}
    graded = [name for name, kind in kinds.items() if kind == "MultiSpike"]
    assert graded and all(name.endswith("lif_node") for name in graded)
    assert "encoder_level1.lif_node" in graded  # the multi-scale unit's own neuron
    assert "encoder_level1.initial_residual.lif_2.lif_node" in graded  # a Visual LIF
    assert any(kind == "LIF" for kind in kinds.values())
    by_name = {info.name: info for info in layers}
    assert by_name["encoder_level1.initial_residual.lif_2.lif_node"] == LayerInfo(
        "encoder_level1.initial_residual.lif_2.lif_node", "MultiSpike", 16, by_name[
            "encoder_level1.initial_residual.lif_2.lif_node"].index
    )
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        run = {info.name: info.channels for info in spiking_layers(model, x)}
    for name in graded:  # guessed channels (from channel_adjust) agree with the probed ones
        if by_name[name].channels is not None:
            assert by_name[name].channels == run[name]

    neurons = {name: m for name, m in model.named_modules() if isinstance(m, MultiSpike)}
    outs: dict[str, list[torch.Tensor]] = {name: [] for name in neurons}
    handles = [m.register_forward_hook(lambda _m, _i, o, name=name: outs[name].append(o.clone()))
               for name, m in neurons.items()]
    try:
        capture = "decoder_level1.initial_residual.lif_2.lif_node"
        with ActivityRecorder(model, capture_layer=capture) as rec, torch.inference_mode():
            model(x)
    finally:
        for h in handles:
            h.remove()
    for name, seen in outs.items():
        units = round(sum(float(o.double().sum()) for o in seen) * LEVELS)
        assert rec.spike_counts()[name] == units
        assert rec.firing_rates()[name] == pytest.approx(units / (LEVELS * sum(o.numel() for o in seen)))
    snap = rec.latest()
    assert snap.layer == capture and snap.subpixel == 2 and snap.membrane.shape == (4, 16, 16)
    assert set(np.unique(snap.spikes)) <= {0.0, 0.25, 0.5, 0.75, 1.0}


def test_vlif_ann_twin_has_no_neuron_layers():
    model = build_arch("vlif_ann", **VLIF_TINY).eval()
    assert spiking_layers(model) == []
    with ActivityRecorder(model) as rec, torch.no_grad():
        model(torch.rand(1, 3, 16, 16))
    assert rec.firing_rates() == {}
