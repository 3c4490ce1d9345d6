"""``spikeview backend``: the list, a run on the NIR backend, and clear refusals."""

import json

import pytest
import torch

pytest.importorskip("nir")

from spikeview.archs import build_arch
from spikeview.checkpoints import save_checkpoint
from spikeview.cli import main


def test_lists_every_backend_with_a_reason(capsys):
    assert main(["backend", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["cpu"]["available"] and rows["nir"]["available"]
    assert {"lava", "lava-fixed"} <= set(rows)
    assert all(r["available"] or r["reason"] for r in rows.values())


def test_runs_a_spikenir_checkpoint_on_the_nir_backend(tmp_path, capsys):
    kw = {"dim": 8, "dilations": [1, 2], "T": 2}
    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path / "n.pt", build_arch("spikenir", **kw), "spikenir", kw)
    assert main(["backend", "--run", "nir", "--checkpoint", str(ckpt), "--size", "16x24", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["backend"] == "nir" and out["tile"] == [16, 24]
    assert out["energy"]["macs"] > 0 and out["seconds"] > 0


def test_refuses_an_unknown_backend_and_a_model_nir_cannot_express(tmp_path, capsys, tiny_kwargs):
    assert main(["backend", "--run", "loihi9"]) == 2
    assert "unknown backend 'loihi9'" in capsys.readouterr().err
    ckpt = save_checkpoint(tmp_path / "e.pt", build_arch("esdnet", **tiny_kwargs), "esdnet", tiny_kwargs)
    assert main(["backend", "--run", "nir", "--checkpoint", str(ckpt), "--size", "16x16"]) == 2
    err = capsys.readouterr().err
    assert "UpSampling" in err and "Traceback" not in err
