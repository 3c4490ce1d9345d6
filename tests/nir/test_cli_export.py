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
