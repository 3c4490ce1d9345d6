"""Shared fixtures: tiny real models and checkpoints, an isolated models folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TINY = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4}


@pytest.fixture
def tiny_kwargs() -> dict:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in TINY.items()}


@pytest.fixture
def tiny_models_dir(tmp_path_factory, monkeypatch) -> Path:
    """A models folder with a tiny random-weight SNN and its ANN twin, set as SPIKEVIEW_MODELS."""
    import torch

    from spikeview.archs import build_arch
    from spikeview.checkpoints import save_checkpoint

    folder = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    save_checkpoint(folder / "tiny_snn.pt", build_arch("esdnet", **TINY), "esdnet", TINY, metrics={"note": "random"})
    save_checkpoint(folder / "tiny_ann.pt", build_arch("esdnet_ann", **TINY), "esdnet_ann", TINY)
    manifest = {
        "default": "tiny-snn",
        "models": {
            "tiny-snn": {"file": "tiny_snn.pt", "twin": "tiny-ann", "task": "derain"},
            "tiny-ann": {"file": "tiny_ann.pt", "twin": "tiny-snn", "task": "derain"},
        },
    }
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("SPIKEVIEW_MODELS", str(folder))
    return folder
