"""EnergyMeter on graded (multi-spike) inputs and VLIF's own multiplications, by hand."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikeview.archs import build_arch
from spikeview.energy import EnergyMeter
from spikeview.snn import MultiStepConv2d
from spikeview.snn.multispike import MultiSpike


class GradedNet(nn.Module):
    """multi-spike neuron → conv(2 → 3) over a [L=2, N=1, C=2, H=1, W=2] current sequence."""

    def __init__(self, kernel: int = 1, copy: bool = False) -> None:
        super().__init__()
        self.neuron = MultiSpike()
        self.conv = MultiStepConv2d(2, 3, kernel, padding=kernel // 2, bias=False)
        self.copy = copy

    def forward(self, x_seq: torch.Tensor) -> torch.Tensor:
        s = self.neuron(x_seq)
        return self.conv(s * 1.0 if self.copy else s)


def hand_currents() -> torch.Tensor:
    # step 0: m = x → s = round(clip(m, 0, 4))/4 = [1, .5 | .25, 0]      → 4 + 2 + 1 + 0 = 7 unit spikes
    # step 1 (x = 0): m = (m − s)·0.25 = [.75, .375 | .1875, 0] → s = [.25, 0 | 0, 0] → 1 unit spike
    x = torch.zeros(2, 1, 2, 1, 2)
    x[0, 0, 0, 0] = torch.tensor([4.0, 2.0])
    x[0, 0, 1, 0] = torch.tensor([1.0, 0.0])
    return x


UNITS = 8  # unit spikes sent by the neuron over both steps
VALUES = 2.0  # Σ s = 1 + .5 + .25 + .25
ELEMENTS = 8  # L·N·C·H·W


def test_hand_count_graded_spikes_are_unit_spikes_times_fan_out():
    net = GradedNet().eval()
    x = hand_currents()
    with torch.no_grad():
        spikes = net.neuron(x)
    assert float(spikes.sum()) == VALUES and round(float((spikes * 4).sum())) == UNITS
    with EnergyMeter(net) as meter, torch.no_grad():
        net(x)
    report = meter.report()
    (row,) = report.layers
    dense = (2 * 1 * 3 * 1 * 2) * 2 * 1  # output elements × C_in × 1×1 = 24
    assert row.kind == "AC" and row.dense_macs == dense
    # 8 unit spikes × fan-out 3 = 24 accumulates (a 0/1 reading would count 4 spikes × 3 = 12)
    assert row.ops == UNITS * 3 == 24
    assert row.input_firing_rate == pytest.approx(VALUES / ELEMENTS)  # the mean spike value, 0.25
    assert report.sops == 24 and report.macs == 0
    assert report.energy_pj == pytest.approx(24 * 0.9)
    assert any("Graded spikes" in line and "conv" in line for line in report.assumptions)


def test_exact_count_of_graded_spikes_with_borders():
    # 3×3 'same' conv on a 1×2 map: every input pixel reaches both output pixels of row 0,
    # so 8 unit spikes × 2 positions × 3 output channels = 48 (rate convention: 4·0.25·216 = 216)
    net = GradedNet(kernel=3).eval()
    with EnergyMeter(net, exact_sops=True) as meter, torch.no_grad():
        net(hand_currents())
    (row,) = meter.report().layers
    assert row.kind == "AC" and row.ops == UNITS * 2 * 3
    with EnergyMeter(net) as meter, torch.no_grad():
        net(hand_currents())
    (row,) = meter.report().layers
    assert row.dense_macs == 12 * 2 * 9 and row.ops == pytest.approx(4 * 0.25 * 216)


def test_all_full_graded_spikes_are_not_read_as_binary():
    net = GradedNet().eval()
    x = torch.full((2, 1, 2, 1, 2), 4.0)  # m ≥ 4 at both steps → every spike is 1 (= 4 unit spikes)
    with EnergyMeter(net) as meter, torch.no_grad():
        net(x)
    (row,) = meter.report().layers
    assert row.kind == "AC" and row.ops == 4 * row.dense_macs


def test_a_copied_or_ann_input_is_a_mac_input():
    x = hand_currents()
    net = GradedNet(copy=True).eval()  # s * 1.0: no longer the neuron's own output
    with EnergyMeter(net) as meter, torch.no_grad():
        net(x)
    (row,) = meter.report().layers
    assert row.kind == "MAC" and row.ops == row.dense_macs == 24
    net = GradedNet().eval()
    with EnergyMeter(net, spike_driven=False) as meter, torch.no_grad():
        net(x)
    (row,) = meter.report().layers
    assert row.kind == "MAC" and not any("Graded" in line for line in meter.report().assumptions)


def test_vlif_counts_its_decomposition_and_sub_pixel_attention_multiplies():
    torch.manual_seed(0)
    tiny = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4}
    snn = build_arch("vlif", **tiny).eval()
    with EnergyMeter(snn) as meter, torch.inference_mode():
        snn(torch.rand(1, 3, 16, 16))
    rows = {(r.name, r.kind): r for r in meter.report().layers}
    elements = 4 * 1 * 16 * 16 * 16  # [T, N, C, H, W] at level 1
    assert rows[("encoder_level1.initial_residual", "MAC")].ops == 6 * elements
    assert rows[("encoder_level1", "MAC")].ops == elements  # the SMU's time attention
    # in VLIF graded spikes are resized (Visual LIF) or attended (SMU) before any conv sees
    # them, so those convs stay MAC rows
    assert rows[("encoder_level1.initial_residual.lif_2.channel_adjust", "MAC")].dense_macs > 0
    assert ("encoder_level1.temporal_compress.0", "AC") not in rows
    ann = build_arch("vlif_ann", **tiny).eval()
    with EnergyMeter(ann) as meter, torch.inference_mode():
        ann(torch.rand(1, 3, 16, 16))
    rows = {(r.name, r.kind): r for r in meter.report().layers}
    assert rows[("encoder_level1.initial_residual", "MAC")].ops == 6 * 16 * 16 * 16
    assert ("encoder_level1", "MAC") not in rows or rows[("encoder_level1", "MAC")].ops == 0
