"""ActivityRecorder / RingBuffer / spiking_layers on real models, checked against a NumPy LIF."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from torch import nn

from spikeview.archs.esdnet import ESDNet
from spikeview.errors import ConfigError
from spikeview.recording import ActivityRecorder, ActivitySnapshot, LayerInfo, RingBuffer, spiking_layers
from spikeview.snn import LIF
from spikeview.snn.neurons import set_carry_state

TAU, VTH = 2.0, 0.15


def numpy_lif(x: np.ndarray, v0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hand-written LIF (decay_input=False, tau=2, hard reset to 0): returns (H, S, V_last)."""
    x = x.astype(np.float64)
    v = np.zeros_like(x[0]) if v0 is None else v0.astype(np.float64)
    hs, ss = [], []
    for t in range(x.shape[0]):
        h = v - v / TAU + x[t]
        s = (h >= VTH).astype(np.float64)
        v = h * (1.0 - s)
        hs.append(h)
        ss.append(s)
    return np.stack(hs), np.stack(ss), v


def tiny_esdnet(spiking: bool = True) -> ESDNet:
    torch.manual_seed(0)
    return ESDNet(dim=16, en_num_blocks=[1, 1, 1, 1], de_num_blocks=[1, 1, 1, 1], spiking=spiking).eval()


def hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def currents(shape, seed=1) -> torch.Tensor:
    # values around the threshold so that some, not all, neurons fire; multiples of 1/64 so
    # float32 and float64 charges are exact and cannot disagree about h >= 0.15
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 26, shape, generator=g) - 3).float() / 64


# -- RingBuffer ----------------------------------------------------------------------------


def test_ring_buffer_keeps_latest_and_is_bounded():
    buf = RingBuffer(3)
    assert buf.latest() is None and len(buf) == 0
    for i in range(10):
        buf.append(i)
    assert len(buf) == 3
    assert buf.snapshot() == [7, 8, 9]
    assert buf.latest() == 9
    assert buf.total_appended == 10
    buf.clear()
    assert buf.snapshot() == [] and buf.latest() is None
    with pytest.raises(ValueError):
        RingBuffer(0)


def test_ring_buffer_concurrent_reader_sees_consistent_windows():
    buf = RingBuffer(5)
    n = 20000
    bad = []

    def writer():
        for i in range(n):
            buf.append(i)

    th = threading.Thread(target=writer)
    th.start()
    while th.is_alive():
        snap = buf.snapshot()
        consecutive = not snap or snap == list(range(snap[0], snap[0] + len(snap)))
        if len(snap) > 5 or not consecutive:
            bad.append(snap)
    th.join()
    assert not bad
    assert buf.snapshot() == list(range(n - 5, n))


# -- hooks lifecycle -----------------------------------------------------------------------


def test_hooks_exist_only_inside_the_context():
    model = tiny_esdnet()
    x = torch.rand(1, 3, 16, 16)
    assert hook_count(model) == 0
    rec = ActivityRecorder(model)
    assert hook_count(model) == 0
    with rec:
        assert rec.attached
        assert hook_count(model) == 2 * len(spiking_layers(model))
        with torch.no_grad():
            model(x)
    assert hook_count(model) == 0 and not rec.attached
    counts = rec.spike_counts()
    with torch.no_grad():
        model(x)  # not recorded any more
    assert rec.spike_counts() == counts
    with pytest.raises(RuntimeError), rec, rec:
        pass
    assert hook_count(model) == 0


def test_hooks_removed_on_exception():
    model = tiny_esdnet()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), ActivityRecorder(model):
        with torch.no_grad():
            model(torch.rand(1, 3, 16, 16))
        raise Boom
    assert hook_count(model) == 0


def test_hooks_removed_when_model_raises():
    model = tiny_esdnet()
    with pytest.raises(RuntimeError), ActivityRecorder(model), torch.no_grad():
        model(torch.rand(1, 5, 16, 16))  # wrong channel count
    assert hook_count(model) == 0


def test_unknown_capture_layer_is_a_user_error():
    with (
        pytest.raises(ConfigError, match="no spiking layer named"),
        ActivityRecorder(tiny_esdnet(), capture_layer="nope"),
    ):
        pass


# -- counts and membrane against a hand-written LIF -------------------------------------------


def test_firing_rates_equal_independent_count_over_several_calls():
    net = nn.Sequential(LIF())
    xs = [currents((4, 2, 3, 8, 8), seed=1), currents((4, 1, 3, 5, 7), seed=2)]
    expected_spikes = 0
    expected_elements = 0
    for x in xs:
        _, s, _ = numpy_lif(x.numpy())
        expected_spikes += int(s.sum())
        expected_elements += s.size
    assert 0 < expected_spikes < expected_elements
    with ActivityRecorder(net) as rec:
        for x in xs:
            net(x)
    assert rec.spike_counts() == {"0": expected_spikes}
    assert rec.element_counts() == {"0": expected_elements}
    assert rec.firing_rates()["0"] == pytest.approx(expected_spikes / expected_elements, abs=0)
    assert rec.call_counts() == {"0": 2}
    assert rec.overall_firing_rate() == pytest.approx(expected_spikes / expected_elements)


def test_membrane_snapshot_equals_hand_computed_charge():
    net = nn.Sequential(LIF())
    x = currents((4, 2, 3, 6, 5), seed=3)
    h, s, _ = numpy_lif(x.numpy())
    with ActivityRecorder(net, capture_channel=1, raster_neurons=10_000) as rec:
        net(x)
    snap = rec.latest()
    assert isinstance(snap, ActivitySnapshot)
    assert snap.layer == "0" and snap.channel == 1 and snap.call_index == 0
    assert snap.layer_shape == (4, 2, 3, 6, 5)
    assert snap.membrane.dtype == np.float32 and snap.membrane.shape == (4, 6, 5)
    np.testing.assert_allclose(snap.membrane, h[:, 0, 1], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(snap.spikes, s[:, 0, 1])
    # all 3*6*5 neurons of batch item 0, in flat order
    assert snap.raster.dtype == bool and snap.raster.shape == (4, 90)
    np.testing.assert_array_equal(snap.raster, s[:, 0].reshape(4, -1).astype(bool))
    assert snap.firing_rate == pytest.approx(s.mean())
    counts, edges = snap.membrane_hist
    assert counts.sum() == h[:, 0].size
    assert edges[0] <= h[:, 0].min() and edges[-1] >= h[:, 0].max() - 1e-6
    assert snap.threshold == VTH and edges[0] <= VTH <= edges[-1]
    ref, _ = np.histogram(h[:, 0].astype(np.float32), bins=len(counts), range=(edges[0], edges[-1]))
    assert np.abs(ref - counts).sum() <= 2  # bin-edge rounding only


def test_membrane_follows_carried_state_in_video_mode():
    net = nn.Sequential(LIF())
    set_carry_state(net, True)
    x1, x2 = currents((2, 1, 2, 4, 4), seed=4), currents((2, 1, 2, 4, 4), seed=5)
    _, _, v1 = numpy_lif(x1.numpy())
    h2, s2, _ = numpy_lif(x2.numpy(), v0=v1)
    with ActivityRecorder(net, capture_channel=1) as rec:
        net(x1)
        net(x2)
    snap = rec.latest()
    assert snap.call_index == 1
    np.testing.assert_allclose(snap.membrane, h2[:, 0, 1], atol=1e-6)
    np.testing.assert_array_equal(snap.spikes, s2[:, 0, 1])
    assert len(rec.frame_rasters) == 2


def test_downsampled_maps_are_block_means():
    net = nn.Sequential(LIF())
    x = currents((2, 1, 1, 16, 12), seed=6)
    h, s, _ = numpy_lif(x.numpy())
    with ActivityRecorder(net, max_side=8) as rec:
        net(x)
    snap = rec.latest()
    assert snap.membrane.shape == (2, 8, 6)
    np.testing.assert_allclose(snap.membrane, h[:, 0, 0].reshape(2, 8, 2, 6, 2).mean(axis=(2, 4)), atol=1e-6)
    np.testing.assert_allclose(snap.spikes, s[:, 0, 0].reshape(2, 8, 2, 6, 2).mean(axis=(2, 4)), atol=1e-6)
    # non-divisible sizes still respect max_side
    with ActivityRecorder(net, max_side=7) as rec:
        net(currents((2, 1, 1, 20, 9), seed=7))
    assert max(rec.latest().membrane.shape[1:]) <= 7
    assert rec.latest().spikes.min() >= 0 and rec.latest().spikes.max() <= 1


def test_raster_sample_is_fixed_and_a_subset():
    net = nn.Sequential(LIF())
    x = currents((4, 1, 8, 8, 8), seed=8)
    _, s, _ = numpy_lif(x.numpy())
    full = s[:, 0].reshape(4, -1).astype(bool)
    rasters = []
    for _ in range(2):
        with ActivityRecorder(net, raster_neurons=16, seed=3) as rec:
            net(x)
        rasters.append(rec.latest().raster)
    assert rasters[0].shape == (4, 16)
    np.testing.assert_array_equal(rasters[0], rasters[1])
    columns = {tuple(col) for col in full.T}
    assert all(tuple(col) in columns for col in rasters[0].T)


def test_snapshot_ring_is_bounded():
    net = nn.Sequential(LIF())
    with ActivityRecorder(net, capacity=3, frame_capacity=5) as rec:
        for i in range(12):
            net(currents((2, 1, 2, 4, 4), seed=i))
    assert len(rec.snapshots) == 3
    assert [snap.call_index for snap in rec.snapshots.snapshot()] == [9, 10, 11]
    assert len(rec.frame_rasters) == 5
    assert rec.call_counts() == {"0": 12}
    rec.clear()
    assert rec.latest() is None and rec.firing_rates() == {}


# -- ESDNet ------------------------------------------------------------------------------


def test_spiking_layers_of_tiny_esdnet():
    model = tiny_esdnet()
    layers = spiking_layers(model)
    assert len(layers) == 17
    assert all(isinstance(info, LayerInfo) and info.kind == "LIF" for info in layers)
    assert [info.index for info in layers] == list(range(17))
    assert layers[0] == LayerInfo("encoder_level1.0.residual.0", "LIF", 16, 0)
    by_name = {info.name: info for info in layers}
    assert by_name["encoder_level3.0.residual.3"].channels == 64
    assert by_name["up2_1.up.0"].channels == 32
    assert by_name["reduce_chan_level2.0"].channels == 64
    with torch.no_grad():
        run = spiking_layers(model, torch.rand(1, 3, 16, 16))
    assert run == layers  # definition order is execution order here, channels agree
    assert hook_count(model) == 0
    assert spiking_layers(tiny_esdnet(spiking=False)) == []


def test_tiny_esdnet_rates_match_independent_hooks():
    model = tiny_esdnet()
    lifs = {name: m for name, m in model.named_modules() if isinstance(m, LIF)}
    outputs: dict[str, list[torch.Tensor]] = {name: [] for name in lifs}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, name=name: outputs[name].append(out.clone()))
        for name, m in lifs.items()
    ]
    tiles = [torch.rand(1, 3, 16, 16), torch.rand(2, 3, 8, 12)]
    try:
        layer = "decoder_level1.0.residual.0"
        with ActivityRecorder(model, capture_layer=layer, capture_channel=5) as rec, torch.inference_mode():
            for tile in tiles:
                model(tile)
    finally:
        for h in handles:
            h.remove()
    rates = rec.firing_rates()
    assert set(rates) == set(lifs)
    for name, outs in outputs.items():
        spikes = sum(int(o.sum()) for o in outs)
        total = sum(o.numel() for o in outs)
        assert rec.spike_counts()[name] == spikes
        assert rates[name] == spikes / total
    assert rates["encoder_level1.0.residual.0"] > 0
    snap = rec.latest()
    assert snap.layer == "decoder_level1.0.residual.0" and snap.channel == 5
    assert snap.membrane.shape == (4, 8, 12) and snap.call_index == 1
    assert len(rec.frame_rasters) == 2


def test_set_capture_while_attached_and_channel_clamp():
    model = tiny_esdnet()
    x = torch.rand(1, 3, 16, 16)
    with ActivityRecorder(model) as rec, torch.no_grad():
        model(x)
        assert rec.latest().layer == "encoder_level1.0.residual.0"
        rec.set_capture("encoder_level2.0.residual.0", channel=999)
        model(x)
    snap = rec.latest()
    assert snap.layer == "encoder_level2.0.residual.0"
    assert snap.channel == 31 and snap.membrane.shape == (4, 8, 8)


def test_ann_twin_records_nothing_but_works():
    model = tiny_esdnet(spiking=False)
    with ActivityRecorder(model) as rec, torch.no_grad():
        assert rec.attached
        model(torch.rand(1, 3, 16, 16))
    assert not rec.attached
    assert rec.latest() is None and rec.firing_rates() == {} and rec.overall_firing_rate() is None


def test_recording_package_ring_buffer_does_not_import_torch():
    code = "import sys, spikeview.recording; assert 'torch' not in sys.modules; spikeview.recording.RingBuffer(2)"
    subprocess.run([sys.executable, "-c", code], check=True)
