"""The backend registry, torch devices and the NIR backend behind one call."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

from spikeview.archs import build_arch
from spikeview.backends import (
    Backend,
    BackendError,
    BackendResult,
    BackendStatus,
    Capabilities,
    LayerCount,
    available_backends,
    base,
    get_backend,
    register_backend,
)

KWARGS = {"dim": 8, "dilations": [1, 2], "T": 3}


def _active_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = build_arch("spikenir", **KWARGS)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.05, 0.3)
                m.weight.uniform_(0.2, 0.5)
    return model.eval()


def test_lists_torch_devices_and_nir_with_reasons():
    backends = {b.name: b for b in available_backends()}
    assert {"cpu", "cuda", "mps"} <= set(backends)
    assert backends["cpu"].status().available and backends["cpu"].kind == "torch"
    assert backends["cuda"].status().available == torch.cuda.is_available()
    for b in backends.values():
        assert b.status().reason, b.name
    pytest.importorskip("nir")
    nir_backend = backends["nir"]
    assert nir_backend.kind == "neuromorphic" and nir_backend.status().available
    assert nir_backend.capabilities.model_format == "nir" and "LIF" in nir_backend.capabilities.layer_types


class _Echo(Backend):
    name = "echo-test"
    kind = "neuromorphic"
    capabilities = Capabilities("nir", layer_types=("Conv2d",), max_tile=8, numerics="fixed-point")

    def status(self) -> BackendStatus:
        return BackendStatus(False, "no echo chip attached")

    def run(self, model, tile: np.ndarray) -> BackendResult:
        self.check_tile(tile)
        return BackendResult(self.name, tile.copy(), [LayerCount("x", "LIF", neurons=4, spikes=2, timesteps=2)])


def test_register_hook_and_capability_checks(monkeypatch):
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    register_backend(_Echo())
    echo = get_backend("echo-test")
    assert not echo.available() and echo.status().reason == "no echo chip attached"
    assert any(b.name == "echo-test" for b in available_backends())
    with pytest.raises(BackendError, match="up to 8x8"):
        echo.run(None, np.zeros((1, 3, 16, 8), np.float32))
    with pytest.raises(BackendError, match=r"layer 'a\.b' of type LIF"):
        echo.check_layers([("conv", "Conv2d"), ("a.b", "LIF")])
    result = echo.run(None, np.ones((1, 3, 8, 8), np.float32))
    assert result.spikes == {"x": 2} and result.layers[0].firing_rate == 0.25
    with pytest.raises(BackendError, match="unknown backend 'nope'"):
        get_backend("nope")


def test_a_backend_module_that_fails_to_import_is_listed_with_its_error(monkeypatch, tmp_path):
    (tmp_path / "sv_broken_backend.py").write_text("raise RuntimeError('needs Python 3.10 sidecar')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(base, "BACKEND_MODULES", (*base.BACKEND_MODULES, "sv_broken_backend", "sv_absent_backend"))
    monkeypatch.setattr(base, "_BROKEN", {})
    listed = {b.name: b for b in available_backends()}
    assert "sv_absent_backend" not in listed  # not installed: silently skipped
    broken = listed["sv_broken_backend"]
    assert not broken.available() and "needs Python 3.10 sidecar" in broken.status().reason
    with pytest.raises(BackendError):
        broken.run(None, np.zeros((1, 3, 8, 8), np.float32))
    sys.modules.pop("sv_broken_backend", None)


def test_cpu_and_nir_backends_agree_and_count_the_same_work():
    pytest.importorskip("nir")
    from spikeview.backends.energy import backend_energy_report
    from spikeview.energy import EnergyMeter

    model = _active_model()
    tile = np.random.default_rng(1).random((1, 3, 24, 20), dtype=np.float32)
    cpu = get_backend("cpu").run(model, tile)
    nir_result = get_backend("nir").run(model, tile)  # exported for this tile on the fly
    assert nir_result.backend == "nir" and nir_result.seconds > 0
    np.testing.assert_allclose(nir_result.output, cpu.output, atol=1e-5)
    assert nir_result.spikes == cpu.spikes and sum(cpu.spikes.values()) > 0

    report = backend_energy_report(nir_result)
    with EnergyMeter(model) as meter, torch.no_grad():
        model(torch.from_numpy(tile))
    reference = meter.report()
    assert report.sops == pytest.approx(reference.sops) and report.macs == reference.macs
    assert report.energy_uj == pytest.approx(reference.energy_uj)
    assert report.sops > 0 and report.macs > 0
    assert any("Estimate" in line for line in report.assumptions) and "estimate" in report.caveat
    assert backend_energy_report(cpu).energy_uj == pytest.approx(reference.energy_uj)


def test_nir_backend_refuses_what_it_cannot_run(tmp_path):
    nir = pytest.importorskip("nir")
    shape = np.array([3, 8, 8])
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": shape}),
            "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
            "output": nir.Output(output_type={"output": np.array([3, 4, 4])}),
        },
        edges=[("input", "pool"), ("pool", "output")],
        metadata={"dt": 1e-4, "timesteps": 2},
        type_check=False,
    )
    with pytest.raises(BackendError, match="NIR node 'pool' of type SumPool2d"):
        get_backend("nir").run(graph, np.zeros((1, 3, 8, 8), np.float32))
    with pytest.raises(BackendError, match="not found"):
        get_backend("nir").run(tmp_path / "missing.nir", np.zeros((1, 3, 8, 8), np.float32))


def test_info_lists_backends(capsys):
    from spikeview.cli import main

    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends" in out
    for b in available_backends():
        assert b.status().reason in out
