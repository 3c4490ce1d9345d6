"""The real weights in models/: intact, strictly loadable, and they restore the bundled held-out crops.

A smoke check of what users get, on the small synthetic sets in resources/heldout (never used in
training); the full held-out numbers are in each model card.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from spikeview.evaluation import evaluate, pair_by_name
from spikeview.inference.restorer import Restorer
from spikeview.metrics import image_quality
from spikeview.paths import resource_dir

MODELS = Path(__file__).resolve().parents[1] / "models"
MANIFEST = json.loads((MODELS / "MANIFEST.json").read_text())
ENTRIES = sorted(MANIFEST["models"].items())


@pytest.fixture(autouse=True)
def shipped_models(monkeypatch):
    monkeypatch.setenv("SPIKEVIEW_MODELS", str(MODELS))


def test_manifest_is_consistent():
    assert MANIFEST["default"] in MANIFEST["models"]
    assert MANIFEST["models"][MANIFEST["default"]]["task"] == "derain"
    for name, entry in ENTRIES:
        path = MODELS / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], name
        assert path.stat().st_size < 20 * 2**20 and (MODELS / entry["card"]).is_file()
        twin = entry.get("twin")
        assert twin is None or twin in MANIFEST["models"], (name, twin)


@pytest.mark.parametrize("name", [n for n, e in ENTRIES if e["task"] == "derain"])
def test_derainers_improve_the_bundled_heldout_crops(name):
    restorer = Restorer.from_name_or_path(name, device="cpu", tile=0)
    assert restorer.info.task == "derain"
    # a specialist is held to the rain it is for (the heavy-rain one smooths light rain away)
    for preset in MANIFEST["models"][name].get("rain", ("light", "heavy")):
        folder = resource_dir() / "heldout" / preset
        mean = evaluate(restorer, pair_by_name(folder / "input", folder / "target")).mean
        gain = mean["psnr"] - mean["input_psnr"]
        # measured on these 6+6 crops: default SNN +6.9 / +6.6 dB; weakest (VLIF-S, 400 steps) +1.3 / +1.6
        floor = 5.0 if name == MANIFEST["default"] else 1.0
        assert gain > floor, (name, preset, gain)


@pytest.mark.parametrize("name", [n for n, e in ENTRIES if e["task"] == "denoise"])
def test_denoisers_improve_a_noisy_sample(name):
    from spikeview.media.images import read_image

    clean = read_image(resource_dir() / "heldout" / "light" / "target" / sorted(
        p.name for p in (resource_dir() / "heldout" / "light" / "target").glob("*.png"))[0])
    rng = np.random.default_rng(25)
    noisy = np.clip(clean + rng.normal(0, 25, clean.shape), 0, 255).round().astype(np.uint8)
    restored = Restorer.from_name_or_path(name, device="cpu", tile=0).restore(noisy).image
    gain = image_quality(restored, clean)["psnr"] - image_quality(noisy, clean)["psnr"]
    assert gain > 3.0, gain
