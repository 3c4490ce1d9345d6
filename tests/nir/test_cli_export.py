"""``spikeview export --format nir`` on real checkpoint files."""

from __future__ import annotations

import pytest
import torch

nir = pytest.importorskip("nir")

from spikeview.archs import build_arch  # noqa: E402
from spikeview.checkpoints import save_checkpoint  # noqa: E402
from spikeview.cli import main  # noqa: E402

KWARGS = {"dim": 8, "dilations": [1, 2], "T": 2}


def test_export_writes_a_verified_graph(tmp_path, capsys):
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "snn.pt", build_arch("spikenir", **KWARGS), "spikenir", KWARGS)
    out = tmp_path / "out" / "model.nir"
    code = main(["export", "--format", "nir", "--model", str(ckpt), "--tile", "16x24", "-o", str(out), "--verify"])
    text = capsys.readouterr().out
    assert code == 0, text
    graph = nir.read(out)
    assert list(graph.metadata["tile"]) == [16, 24] and int(graph.metadata["timesteps"]) == 2
    assert graph.metadata["source_arch"] == "spikenir"
    assert tuple(int(v) for v in graph.nodes["stem"].input_shape) == (16, 24)
    assert "100.0000 % of" in text and "spikes equal" in text


def test_export_names_the_layer_nir_cannot_express(tmp_path, capsys, tiny_kwargs):
    ckpt = save_checkpoint(tmp_path / "esd.pt", build_arch("esdnet", **tiny_kwargs), "esdnet", tiny_kwargs)
    out = tmp_path / "esd.nir"
    code = main(["export", "--model", str(ckpt), "--tile", "32x32", "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "layer 'up3_2' (UpSampling)" in err and "\n" not in err.strip()
    assert not out.exists()


def test_energy_counted_by_the_nir_backend_matches_the_torch_hooks(tmp_path, capsys):
    import json

    torch.manual_seed(1)
    model = build_arch("spikenir", **KWARGS)
    with torch.no_grad():  # random weights barely reach the threshold: make the neurons fire
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() == 4:
                p.mul_(8.0)
    ckpt = save_checkpoint(tmp_path / "snn.pt", model, "spikenir", KWARGS)
    assert main(["energy", "--checkpoint", str(ckpt), "--size", "24x32", "--json", "--backend", "nir"]) == 0
    on_backend = json.loads(capsys.readouterr().out)
    assert on_backend["backend"] == "nir" and on_backend["size"] == [24, 32]
    assert sum(on_backend["spikes"].values()) > 0
    assert main(["energy", "--checkpoint", str(ckpt), "--size", "24x32", "--json"]) == 0
    hooks = json.loads(capsys.readouterr().out)["snn"]
    # the backend counts its own spikes; torch hooks measure firing rates: same work either way
    assert on_backend["snn"]["macs"] == hooks["macs"]
    assert on_backend["snn"]["sops"] == pytest.approx(hooks["sops"], rel=1e-6)
    assert on_backend["snn"]["energy_uj"] == pytest.approx(hooks["energy_uj"], rel=1e-6)

    assert main(["energy", "--checkpoint", str(ckpt), "--backend", "no-such"]) == 2
    assert "unknown backend 'no-such'" in capsys.readouterr().err
