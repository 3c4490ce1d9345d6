"""NIR export → file → our runner, against the torch model on the same tile."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

nir = pytest.importorskip("nir")

from spikeview.archs import build_arch  # noqa: E402
from spikeview.backends.nir_export import (  # noqa: E402
    NIR_DT,
    NIRExportError,
    export_nir,
    li_to_nir,
    lif_from_nir,
    lif_to_nir,
    read_nir,
    write_nir,
)
from spikeview.backends.nir_runner import NIRGraphRunner  # noqa: E402
from spikeview.snn import LIF, LIFParams, MultiStepConv2d, lif_multistep, repeat_over_time  # noqa: E402

SMALL = {"dim": 8, "dilations": [1, 2], "T": 3}
TILE = (20, 28)  # not square: H and W must not be swapped


def _randomized(seed: int) -> nn.Module:
    """Random weights and random BN statistics, so every LIF layer fires at a useful rate."""
    torch.manual_seed(seed)
    model = build_arch("spikenir", **SMALL)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.05, 0.5)
                m.weight.uniform_(0.1, 0.6)
                m.bias.uniform_(-0.05, 0.2)
        model.out_conv.weight.normal_(0, 0.2)
    return model.eval()


def _trained(seed: int) -> nn.Module:
    """A few Adam steps on a toy denoising task: BN running statistics are learned, not defaults."""
    torch.manual_seed(seed)
    model = build_arch("spikenir", **SMALL).train()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = 0.5  # running statistics converge within the few steps
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(4):
        clean = torch.rand(2, 3, 24, 24)
        noisy = clean + 0.1 * torch.randn_like(clean)
        loss = (model(noisy) - clean).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval()


def _torch_spikes(model: nn.Module, x: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    spikes: dict[str, torch.Tensor] = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, n=n: spikes.__setitem__(n, out.clone()))
        for n, m in model.named_modules()
        if isinstance(m, LIF)
    ]
    with torch.no_grad():
        out = model(x)
    for h in handles:
        h.remove()
    return spikes, out


def _folded_reference(model: nn.Module, graph) -> nn.Module:
    """The torch model with the graph's folded conv weights and no batch norm."""
    ref = copy.deepcopy(model)
    modules = dict(ref.named_modules())
    for name, node in graph.nodes.items():
        if isinstance(node, nir.Conv2d):
            conv = modules[name]
            conv.weight = nn.Parameter(torch.from_numpy(np.array(node.weight)))
            conv.bias = nn.Parameter(torch.from_numpy(np.array(node.bias)))
    for name, m in list(ref.named_modules()):
        if isinstance(m, nn.BatchNorm2d):
            parent, _, attr = name.rpartition(".")
            setattr(modules[parent] if parent else ref, attr, nn.Identity())
    return ref.eval()


@pytest.mark.parametrize("make", [_randomized, _trained], ids=["random", "trained"])
def test_round_trip_file_same_spikes_and_output(make, tmp_path):
    model = make(3)
    x = torch.rand(1, 3, *TILE, generator=torch.Generator().manual_seed(7))
    path = write_nir(export_nir(model, TILE), tmp_path / "model.nir")
    assert path.is_file() and path.stat().st_size > 0
    graph = read_nir(path)
    assert float(graph.metadata["dt"]) == NIR_DT and int(graph.metadata["timesteps"]) == SMALL["T"]
    assert list(graph.metadata["tile"]) == list(TILE) and graph.metadata["readout"] == "last step"
    assert not any(isinstance(n, nir.ir.NIRNode) and type(n).__name__ == "BatchNorm" for n in graph.nodes.values())

    result = NIRGraphRunner(graph).run(x.numpy(), record=True)
    traces = result.extra["traces"]

    # the graph's semantics are exact: identical to the torch model carrying the folded weights
    ref_spikes, ref_out = _torch_spikes(_folded_reference(model, graph), x)
    assert set(ref_spikes) == {n for n, node in graph.nodes.items() if isinstance(node, nir.LIF)}
    for name, spikes in ref_spikes.items():
        assert torch.equal(traces[name], spikes), name
        assert 0 < int(spikes.sum()) < spikes.numel(), f"{name} is silent or saturated: the comparison is vacuous"
    rate = sum(float(s.sum()) for s in ref_spikes.values()) / sum(s.numel() for s in ref_spikes.values())
    assert 0.005 < rate < 0.5
    # torch runs the T steps as one batched conv, the runner step by step: last-bit rounding only
    np.testing.assert_allclose(result.output, ref_out.numpy(), rtol=0, atol=1e-6)

    # against the original (unfolded BN) model only float rounding of the folding can differ
    spikes, out = _torch_spikes(model, x)
    equal = sum(int((traces[n] == s).sum()) for n, s in spikes.items())
    total = sum(s.numel() for s in spikes.values())
    assert equal / total > 0.999
    np.testing.assert_allclose(result.output, out.numpy(), atol=1e-3)


def test_runner_counts_spikes_and_sops_like_the_energy_meter():
    from spikeview.energy import EnergyMeter

    model = _randomized(5)
    x = torch.rand(1, 3, *TILE)
    result = NIRGraphRunner(export_nir(model, TILE)).run(x.numpy())
    spikes, _ = _torch_spikes(model, x)
    assert result.spikes == {n: int(s.sum()) for n, s in spikes.items()}
    with EnergyMeter(model) as meter, torch.no_grad():
        model(x)
    report = meter.report()
    by_name = {row.name: row for row in result.layers}
    for row in report.layers:
        counted = by_name[row.name]
        if row.kind == "AC":
            assert counted.sops == pytest.approx(row.ops, rel=1e-9), row.name
        else:
            assert counted.macs == row.dense_macs, row.name
    assert result.total_sops > 0 and result.total_macs > 0


def test_lif_mapping_reproduces_our_update():
    p = LIFParams(tau=2.0, v_threshold=0.15, v_reset=0.0, decay_input=True)
    q = lif_to_nir(p, dt=1e-4)
    assert (q.tau, q.r, q.v_leak, q.v_threshold, q.v_reset) == (pytest.approx(2e-4), 1.0, 0.0, 0.15, 0.0)
    assert lif_from_nir(q.tau, q.r, q.v_leak, q.v_threshold, q.v_reset, 1e-4) == p
    without = lif_to_nir(LIFParams(tau=2.0, decay_input=False))
    assert without.r == 2.0
    assert lif_from_nir(without.tau, without.r, without.v_leak, 0.15, 0.0, NIR_DT).decay_input is False
    li = li_to_nir(2.0)
    assert (li.tau, li.r, li.v_leak) == (pytest.approx(2e-4), 1.0, 0.0)
    with pytest.raises(NIRExportError):
        lif_from_nir(2e-4, 0.5, 0.0, 0.15, 0.0, NIR_DT)

    # a bare Input -> LIF -> Output graph run by the runner equals lif_multistep, both forms
    x = torch.rand(2, 4, 6, 5) * 0.4
    for params in (p, LIFParams(tau=2.0, decay_input=False)):
        m = lif_to_nir(params)
        shape = (4, 6, 5)
        graph = nir.NIRGraph(
            nodes={
                "input": nir.Input(input_type={"input": np.array(shape)}),
                "lif": nir.LIF(**{k: np.full(shape, v, dtype=np.float32) for k, v in vars(m).items()}),
                "output": nir.Output(output_type={"output": np.array(shape)}),
            },
            edges=[("input", "lif"), ("lif", "output")],
            metadata={"dt": NIR_DT, "timesteps": 6},
        )
        traces = NIRGraphRunner(graph).run(x.numpy(), record=True).extra["traces"]["lif"]
        ours, _, _ = lif_multistep(repeat_over_time(x, 6).contiguous(), params)
        assert ours.sum() > 0
        if params.decay_input:
            assert torch.equal(traces, ours)  # v + 0.5·(0 − v + x) is (x − v)/2 + v bit for bit
        else:
            assert (traces == ours).float().mean() > 0.999


class _PoolNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = MultiStepConv2d(3, 4, 3, padding=1)
        self.lif = LIF()
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.lif(self.conv(repeat_over_time(x, 2))))


class _CatBlock(nn.Module):
    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return torch.cat([a, a], dim=2)


class _CatNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = MultiStepConv2d(3, 4, 3, padding=1)
        self.merge = _CatBlock()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.merge(self.conv(repeat_over_time(x, 2)))


def test_unsupported_layers_are_named():
    from conftest import TINY

    with pytest.raises(NIRExportError, match=r"layer 'up3_2' \(UpSampling\)"):
        export_nir(build_arch("esdnet", **TINY), (32, 32))
    with pytest.raises(NIRExportError, match=r"layer 'pool' \(MaxPool2d\) has no NIR equivalent"):
        export_nir(_PoolNet(), (16, 16))
    with pytest.raises(NIRExportError, match=r"layer 'merge' \(_CatBlock\) uses cat\(\)"):
        export_nir(_CatNet(), (16, 16))
    with pytest.raises(NIRExportError, match=r"layer 'blocks.0.lif1' \(ReLU\)"):
        export_nir(build_arch("spikenir_ann", **SMALL), (16, 16))


def test_ann_twin_matches_parameter_names_and_runs():
    snn, ann = build_arch("spikenir"), build_arch("spikenir_ann")
    assert list(snn.state_dict()) == list(ann.state_dict())
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        assert snn.eval()(x).shape == ann.eval()(x).shape == x.shape
