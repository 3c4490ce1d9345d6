"""``spikeview info`` groups the catalog's models by task (text and JSON)."""

import json
import os
import subprocess
import sys


def _info(models_dir, tmp_path, *args):
    env = dict(os.environ, SPIKEVIEW_MODELS=str(models_dir), XDG_DATA_HOME=str(tmp_path / "data"))
    out = subprocess.run(
        [sys.executable, "-m", "spikeview", "info", *args], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_info_lists_models_by_task(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    manifest = {
        "default": "snn-noise",
        "models": {
            "snn-rain": {"file": "a.pt", "twin": "ann-rain", "task": "derain"},
            "ann-rain": {"file": "b.pt", "twin": "snn-rain", "task": "derain"},
            "snn-noise": {"file": "c.pt", "task": "denoise"},
            "old": {"file": "d.pt"},  # no task in the manifest: deraining, the catalog's default
            "snn-heavy": {"file": "e.pt", "task": "derain", "rain": ["heavy"]},  # a specialist
        },
    }
    (models / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    text = _info(models, tmp_path)
    section = text[text.index("models by task:") :].splitlines()
    assert section[1].split() == ["denoise", "snn-noise", "(default)"]  # the default model's task first
    assert section[2].split() == ["derain", "snn-rain,", "ann-rain,", "old,", "snn-heavy", "(heavy", "rain", "only)"]
    env = json.loads(_info(models, tmp_path, "--json"))
    assert env["models_by_task"] == {"denoise": ["snn-noise"], "derain": ["snn-rain", "ann-rain", "old", "snn-heavy"]}
    rain = {m["name"]: m["rain"] for m in env["models"]}
    assert rain["snn-heavy"] == ["heavy"] and rain["snn-rain"] == []
