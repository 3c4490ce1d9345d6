"""EnergyMeter / EnergyReport against hand counts and independent formulas."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys

import pytest
import torch
from torch import nn

from spikeview.archs.esdnet import ESDNet
from spikeview.energy import (
    CAVEAT,
    DEFAULT_COSTS,
    PRESETS,
    EnergyCosts,
    EnergyMeter,
    EnergyReport,
    compare,
    get_costs,
)
from spikeview.errors import ConfigError
from spikeview.snn import LIF, MultiStepConv2d, repeat_over_time

T = 2


class HandNet(nn.Module):
    """conv(3→4, 3×3) on a direct-encoded image over T=2 → LIF → conv(4→2, 3×3)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = MultiStepConv2d(3, 4, 3, padding=1, bias=False)
        self.lif = LIF()
        self.conv2 = MultiStepConv2d(4, 2, 3, padding=1, bias=False)
        with torch.no_grad():
            # only the centre tap of input channel 0: the current of channel c is w_c · x0
            self.conv1.weight.zero_()
            self.conv1.weight[0, 0, 1, 1] = 1.0  # H = 1, 1: spikes at t = 0 and t = 1
            self.conv1.weight[1, 0, 1, 1] = 0.25  # H = 0.25 → spike, reset; H = 0.25 → spike
            self.conv1.weight[2, 0, 1, 1] = 0.125  # H = 0.125; 0.0625 + 0.125 = 0.1875 → one spike (t = 1)
            self.conv1.weight[3, 0, 1, 1] = -1.0  # never
            self.conv2.weight.normal_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.lif(self.conv1(repeat_over_time(x, T))))


def hand_input() -> torch.Tensor:
    x = torch.zeros(1, 3, 4, 4)
    x[:, 0, :, :2] = 1.0  # 8 lit pixels in channel 0
    x[:, 1:] = 0.5  # ignored by conv1's weights, keeps the input real-valued
    return x


# hand count: 8 lit pixels × (2 + 2 + 1 + 0) spikes = 40 spikes of T·C·H·W = 2·4·4·4 = 128
SPIKES = 40
CONV1_MACS = (T * 4 * 4 * 4) * 3 * 9  # output elements × C_in × 3×3 = 3456
CONV2_DENSE = (T * 2 * 4 * 4) * 4 * 9  # = 2304
CONV2_SOPS = SPIKES / 128 * CONV2_DENSE  # = 720 = 40 spikes × fan-out (2 × 9)


def test_hand_count_small_net():
    net = HandNet().eval()
    assert CONV2_SOPS == SPIKES * 2 * 9 == 720
    with torch.no_grad():
        spikes = net.lif(net.conv1(repeat_over_time(hand_input(), T)))
    assert int(spikes.sum()) == SPIKES  # the weights do what the comments say

    with EnergyMeter(net) as meter, torch.no_grad():
        net(hand_input())
    report = meter.report()
    rows = {row.name: row for row in report.layers}
    assert set(rows) == {"conv1", "conv2"}

    c1, c2 = rows["conv1"], rows["conv2"]
    assert (c1.kind, c1.dense_macs, c1.ops, c1.input_firing_rate) == ("MAC", CONV1_MACS, CONV1_MACS, None)
    assert c1.time_constant_input  # computed once by SpikeView, counted ×T
    assert (c2.kind, c2.dense_macs) == ("AC", CONV2_DENSE)
    assert c2.input_firing_rate == pytest.approx(SPIKES / 128)
    assert c2.ops == pytest.approx(CONV2_SOPS)
    assert not c2.time_constant_input

    assert report.macs == CONV1_MACS and report.sops == pytest.approx(CONV2_SOPS)
    assert report.totals == {
        "macs": report.macs,
        "sops": report.sops,
        "energy_pj": report.energy_pj,
        "energy_uj": report.energy_uj,
    }
    assert report.dense_macs == CONV1_MACS + CONV2_DENSE
    assert report.calls == 1 and report.pixels == 16
    expected = {"45nm-fp32": (4.6, 0.9), "45nm-fp16": (1.5, 0.4), "45nm-int8": (0.23, 0.03)}
    assert set(PRESETS) == set(expected)
    for name, (e_mac, e_ac) in expected.items():
        priced = meter.report(costs=name)
        energy = CONV1_MACS * e_mac + CONV2_SOPS * e_ac
        assert priced.energy_pj == pytest.approx(energy)
        assert priced.energy_uj == pytest.approx(energy / 1e6)
        assert priced.mac_energy_pj == pytest.approx(CONV1_MACS * e_mac)
        assert priced.ac_energy_pj == pytest.approx(CONV2_SOPS * e_ac)
        assert {r.name: r.energy_pj for r in priced.layers} == pytest.approx(
            {"conv1": CONV1_MACS * e_mac, "conv2": CONV2_SOPS * e_ac}
        )
        assert priced.costs == name
        assert priced.with_costs(DEFAULT_COSTS).energy_pj == pytest.approx(report.energy_pj)
        assert report.with_costs(name) == priced
    # the fp32 numbers written out: 3456 × 4.6 + 720 × 0.9
    assert report.energy_pj == pytest.approx(15897.6 + 648.0)
    assert report.caveat == CAVEAT == "compute-only estimate (45 nm, no memory traffic)"
    text = " ".join(report.assumptions)
    for needle in ("folded", "state updates", "Memory traffic", "×T", "conv1", "Horowitz"):
        assert needle in text
    assert "conv2" not in text.split("computes it once:")[1].split(".")[0]


def test_counts_accumulate_over_calls_and_clear():
    net = HandNet().eval()
    with EnergyMeter(net) as meter, torch.no_grad():
        net(hand_input())
        net(hand_input())
    report = meter.report()
    assert report.calls == 2 and report.pixels == 32
    assert report.macs == 2 * CONV1_MACS and report.sops == pytest.approx(2 * CONV2_SOPS)
    assert {r.name: r.calls for r in report.layers} == {"conv1": 2, "conv2": 2}
    meter.clear()
    assert meter.report().layers == [] and meter.report().energy_pj == 0


def test_hooks_only_inside_context_and_removed_on_exception():
    net = HandNet()

    def hooks() -> int:
        return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in net.modules())

    assert hooks() == 0
    with pytest.raises(ZeroDivisionError), EnergyMeter(net) as meter:
        assert meter.attached and hooks() == 4  # model pre-hook, 2 convs, 1 spike source
        net(hand_input())
        _ = 1 / 0
    assert hooks() == 0 and not meter.attached
    net(hand_input())  # not counted
    assert meter.report().calls == 1


def test_spike_detection_rules():
    lin = nn.Linear(10, 3)
    x_spikes = torch.tensor([[1.0, 0, 0, 1, 0, 0, 0, 0, 0, 0]])
    with EnergyMeter(lin) as meter:
        lin(x_spikes)
        lin(x_spikes * 0.5)  # real-valued
        lin(torch.zeros(1, 10))  # all zero, not from a neuron: a real input
    rows = {r.kind: r for r in meter.report().layers}
    assert rows["AC"].dense_macs == 30 and rows["AC"].ops == pytest.approx(6.0)
    assert rows["MAC"].dense_macs == 60 and rows["MAC"].calls == 2
    # a silent spiking layer (all-zero spikes from a LIF) costs nothing
    silent = nn.Sequential(LIF(), nn.Linear(10, 3))
    with EnergyMeter(silent) as meter:
        silent(torch.zeros(2, 1, 10))
    (row,) = meter.report().layers
    assert (row.kind, row.ops, row.dense_macs, row.input_firing_rate) == ("AC", 0.0, 60, 0.0)
    # forcing spike detection off counts everything as MACs
    with EnergyMeter(lin, spike_driven=False) as meter:
        lin(x_spikes)
    assert [r.kind for r in meter.report().layers] == ["MAC"]


def test_grouped_strided_and_transposed_convs():
    net = nn.Sequential(
        nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), nn.ConvTranspose2d(6, 2, 2, stride=2), nn.Conv1d(2, 1, 1)
    )

    class Flatten(nn.Module):
        def forward(self, x):
            return x.flatten(2)

    net.insert(2, Flatten())
    with EnergyMeter(net) as meter:
        net(torch.rand(1, 4, 8, 8) + 0.1)
    rows = {r.name: r.dense_macs for r in meter.report().layers}
    assert rows == {"0": (6 * 4 * 4) * 2 * 9, "1": (6 * 4 * 4) * 2 * 4, "3": 64 * 2}


# -- ESDNet --------------------------------------------------------------------------------


def esdnet_macs(d: int, h: int, w: int, steps: int, time_attention: bool) -> int:
    """Independent count of ESDNet's MACs (batch 1, blocks [1,1,1]) incl. gating multiplies."""

    def srb(c: int, hh: int, ww: int) -> int:
        convs = 3 * hh * ww * c * c * 9 * steps
        hidden_c = max(1, c // 16)
        ca = 2 * (hidden_c * c + c * hidden_c)  # shared MLP on avg and on max
        hidden_t = max(1, steps // 4)
        ta = 2 * (hidden_t * steps + steps * hidden_t) if time_attention else 0
        sa = hh * ww * 2 * 9  # one map per image, shared by all steps
        gates = (3 if time_attention else 2) * steps * c * hh * ww
        return convs + ca + ta + sa + gates

    h2, w2, h4, w4 = h // 2, w // 2, h // 4, w // 4
    body = (
        h * w * d * 3 * 9 * steps  # patch embed (direct-encoded: ×T)
        + srb(d, h, w)
        + h2 * w2 * 2 * d * d * 9 * steps  # down1_2
        + srb(2 * d, h2, w2)
        + h4 * w4 * 4 * d * 2 * d * 9 * steps  # down2_3
        + srb(4 * d, h4, w4)  # encoder_level3
        + srb(4 * d, h4, w4)  # decoder_level3
        + h2 * w2 * 2 * d * 4 * d * 9 * steps  # up3_2
        + h2 * w2 * 2 * d * 4 * d * steps  # reduce_chan_level2 (1×1)
        + srb(2 * d, h2, w2)
        + h * w * d * 2 * d * 9 * steps  # up2_1
        + srb(2 * d, h, w)
    )
    c, hid = 2 * d, (2 * d) // 8
    refinement = 2 * c * hid + h * w * 9 * (c * c + hid * c + c * hid) + 2 * c * h * w
    output = h * w * 3 * c * 9
    return body + refinement + output


def tiny(spiking: bool) -> ESDNet:
    torch.manual_seed(0)
    return ESDNet(dim=16, en_num_blocks=[1, 1, 1, 1], de_num_blocks=[1, 1, 1, 1], spiking=spiking).eval()


def test_ann_twin_is_all_mac_and_matches_formula():
    ann = tiny(spiking=False)
    with EnergyMeter(ann) as meter, torch.inference_mode():
        ann(torch.rand(1, 3, 32, 24))
    report = meter.report()
    assert {r.kind for r in report.layers} == {"MAC"}
    assert report.sops == 0
    assert report.macs == report.dense_macs == esdnet_macs(16, 32, 24, steps=1, time_attention=False)
    assert report.energy_pj == pytest.approx(report.macs * 4.6)
    assert "ANN" in " ".join(report.assumptions)


def test_snn_esdnet_has_sops_and_dense_count_matches_formula():
    snn = tiny(spiking=True)
    x = torch.rand(1, 3, 32, 24)
    with EnergyMeter(snn) as meter, torch.inference_mode():
        snn(x)
    report = meter.report()
    assert report.sops > 0 and report.macs > 0
    assert report.dense_macs == esdnet_macs(16, 32, 24, steps=4, time_attention=True)
    rows = {(r.name, r.kind): r for r in report.layers}
    assert rows[("patch_embed.proj", "MAC")].time_constant_input
    assert rows[("encoder_level1.0.residual.1", "AC")].input_firing_rate > 0
    assert rows[("encoder_level1.0.shortcut.0", "MAC")].dense_macs == 4 * 32 * 24 * 16 * 16 * 9
    assert report.energy_pj == pytest.approx(report.macs * 4.6 + report.sops * 0.9)

    ann = tiny(spiking=False)
    with EnergyMeter(ann) as ann_meter, torch.inference_mode():
        ann(x)
    cmp = compare(report, ann_meter.report())
    assert cmp["same_input"] is True
    assert cmp["ratio"] == pytest.approx(cmp["ann_energy_uj"] / cmp["snn_energy_uj"])
    assert cmp["snn_sops"] == report.sops and cmp["ann_sops"] == 0
    # the ANN report is re-priced when costs differ
    cmp8 = compare(report.with_costs("45nm-int8"), ann_meter.report())
    assert cmp8["costs"] == "45nm-int8"
    assert cmp8["ann_energy_uj"] == pytest.approx(ann_meter.report("45nm-int8").energy_uj)


def test_report_serialisation(tmp_path):
    net = HandNet().eval()
    with EnergyMeter(net) as meter, torch.no_grad():
        net(hand_input())
    report = meter.report("45nm-fp16")
    d = report.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["layers"][1]["kind"] == "AC" and d["costs"] == "45nm-fp16"
    path = report.to_csv(tmp_path / "energy.csv")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["name"] for r in rows] == ["conv1", "conv2", "TOTAL"]
    assert int(rows[0]["dense_macs"]) == CONV1_MACS and rows[0]["input_firing_rate"] == ""
    assert float(rows[1]["ops"]) == pytest.approx(CONV2_SOPS)
    assert float(rows[2]["energy_pj"]) == pytest.approx(CONV1_MACS * 1.5 + CONV2_SOPS * 0.4)
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    loaded = json.loads(report.to_json(tmp_path / "energy.json").read_text())
    assert loaded["energy_pj"] == pytest.approx(report.energy_pj)
    assert isinstance(EnergyReport.build(report.layers, "45nm-fp32"), EnergyReport)


def test_costs_presets_and_errors():
    assert DEFAULT_COSTS is PRESETS["45nm-fp32"]
    assert get_costs("45nm-int8").e_mac_pj == 0.23
    custom = EnergyCosts("custom", 2.0, 0.5, "made up")
    assert get_costs(custom) is custom
    with pytest.raises(ConfigError, match="unknown energy cost preset"):
        get_costs("7nm")
    with pytest.raises(AttributeError):
        DEFAULT_COSTS.e_mac_pj = 1.0  # frozen
    assert all("ISSCC 2014" in c.citation for c in PRESETS.values())


def test_compare_edge_cases():
    empty = EnergyReport.build([], DEFAULT_COSTS)
    assert math.isnan(compare(empty, empty)["ratio"])


def test_energy_package_costs_and_report_do_not_import_torch():
    code = (
        "import sys, spikeview.energy as e; assert 'torch' not in sys.modules; "
        "e.EnergyReport.build([], e.DEFAULT_COSTS); assert 'torch' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_meter_and_recorder_together_agree_on_firing_rates():
    from spikeview.recording import ActivityRecorder

    snn = tiny(spiking=True)
    with ActivityRecorder(snn) as rec, EnergyMeter(snn) as meter, torch.inference_mode():
        snn(torch.rand(1, 3, 16, 16))
        snn(torch.rand(1, 3, 16, 16))
    rows = {(r.name, r.kind): r for r in meter.report().layers}
    rates = rec.firing_rates()
    # every LIF feeds exactly the conv that follows it in its Sequential
    for lif_name in rates:
        prefix, _, index = lif_name.rpartition(".")
        conv = rows[(f"{prefix}.{int(index) + 1}", "AC")]
        assert conv.input_firing_rate == pytest.approx(rates[lif_name], rel=1e-12)


def test_exact_sops_count_borders_by_hand():
    # spikes fill columns 0-1 of 4×4 maps in 5 (channel, step) planes. A 3×3 'same' conv
    # reaches 2/3/3/2 output rows from rows 0..3 (10) and 2/3 output columns from columns 0/1
    # (5): 50 output positions per plane, × 2 output channels, × 5 planes = 500 (rate
    # convention: 720).
    net = HandNet().eval()
    with EnergyMeter(net, exact_sops=True) as meter, torch.no_grad():
        net(hand_input())
    report = meter.report()
    conv2 = next(r for r in report.layers if r.name == "conv2")
    assert conv2.ops == 500
    assert conv2.input_firing_rate == pytest.approx(SPIKES / 128)  # still the measured rate
    assert report.sops == 500 and "exactly" in " ".join(report.assumptions)

    # stride 2 and groups: compare with a brute-force loop over outputs
    conv = nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2, bias=False)
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(2, 4, 7, 9, generator=g) < 0.3).float()
    brute = 0
    xp = nn.functional.pad(x, (1, 1, 1, 1))
    for n in range(2):
        for o in range(6):
            grp = o // 3
            for i in range(4):
                for j in range(5):
                    brute += int(xp[n, 2 * grp : 2 * grp + 2, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3].sum())
    with EnergyMeter(conv, exact_sops=True) as meter:
        conv(x)
    (row,) = meter.report().layers
    assert row.kind == "AC" and row.ops == brute
    assert row.dense_macs == 2 * 6 * 4 * 5 * 2 * 9
