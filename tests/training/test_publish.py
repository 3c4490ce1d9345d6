"""Publishing a run: checkpoint without optimizer state, measured card, manifest entry, loadable by name."""

import json

import pytest
import torch

from spikeview.archs import build_arch
from spikeview.checkpoints import read_checkpoint, save_checkpoint
from spikeview.errors import ConfigError
from spikeview.paths import resource_dir
from spikeview.training.publish import PublishSpec, _rain_cell, _specialised_rain, _stage_history, _stage_lines, publish

KW = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4, "shortcut": "identity"}


def test_publish_writes_checkpoint_card_and_manifest(tmp_path, monkeypatch):
    run = tmp_path / "run"
    torch.manual_seed(0)
    model = build_arch("esdnet", **KW)
    # a second stage: started from stage 1's weights, distilled from a teacher
    stage1 = save_checkpoint(tmp_path / "stage1" / "best.pt", model, "esdnet", KW,
                             metadata={"trained_steps": 7, "config": {"seed": 5, "lr": 0.002,
                                                                       "output_dir": "runs/s1"}})
    extra = {"optimizer": {"state": {}, "param_groups": []}, "step": 10}
    save_checkpoint(
        run / "best.pt",
        model,
        "esdnet",
        KW,
        metrics={"val_psnr": 20.5},
        metadata={"trained_steps": 10, "config": {"seed": 1, "init_from": str(stage1), "teacher": "t.pt",
                                                  "distill_weight": 0.12, "freeze_bn": True, "ema_decay": 0.998,
                                                  "val_count": 48, "val_patch_size": 256, "val_seed": 2027,
                                                  "val_clean_dir": "v"}},
        extra=extra,
    )
    (run / "log.csv").write_text(
        "step,lr,loss,l1,fft,grad_norm,val_psnr,val_ssim,seconds\n10,0.001,0.1,0.1,0.0,1.0,20.5,0.7,12.5\n"
    )
    import shutil

    light = tmp_path / "light"
    for sub in ("input", "target"):
        (light / sub).mkdir(parents=True)
        for name in sorted(p.name for p in (resource_dir() / "heldout" / "light" / sub).glob("*.png"))[:2]:
            shutil.copy(resource_dir() / "heldout" / "light" / sub / name, light / sub / name)
    heldout = {"light": light}
    out = tmp_path / "models"
    target = publish(
        PublishSpec(
            run,
            "tiny-rain",
            None,
            heldout,
            out,
            command="spikeview train x.yaml",
            default=True,
            speed_size=(32, 48),
            speed_repeat=1,
            bundle=False,
        )
    )
    raw = read_checkpoint(target)
    assert "extra" not in raw  # no optimizer state shipped
    m = raw["metrics"]
    assert m["light"]["images"] == 2 and m["light"]["psnr"] > 0 and m["energy_uj_per_256"] > 0
    assert 0 < m["mean_firing_rate"] < 1 and m["ms_per_frame"] > 0 and m["speed_size"] == [32, 48]
    card = (out / "tiny_rain.md").read_text()
    assert "spikeview train x.yaml" in card and "| light | 2 |" in card and "µJ" in card
    assert "- Stage 1: 7 steps" in card and "seed 5" in card and "AdamW lr 0.002" in card
    assert "- Stage 2: 10 steps, starting from" in card and "H-KD from the ANN teacher `t.pt` (γ = 0.12" in card
    assert "In all 17 optimizer steps" in card
    assert "running statistics frozen; weights averaged (EMA, decay 0.998)" in card
    assert "Validation (48 synthetic 256² crops of `v`, seed 2027): val_psnr 20.5" in card
    assert card.count("frozen") == 1  # stage 1 did neither
    manifest = json.loads((out / "MANIFEST.json").read_text())
    assert manifest["default"] == "tiny-rain" and manifest["models"]["tiny-rain"]["file"] == "tiny_rain.pt"
    assert manifest["models"]["tiny-rain"]["bundle"] is False  # kept out of the desktop bundle
    assert "rain" not in manifest["models"]["tiny-rain"]  # trained on every preset: not a specialist
    assert raw["metadata"]["rain"] == []  # the shipped file says so too
    assert "| rain | any (trained on every preset) |" in card
    monkeypatch.setenv("SPIKEVIEW_MODELS", str(out))
    from spikeview.inference.restorer import Restorer

    assert Restorer.from_name_or_path(None).info.name == "tiny-rain"

    # the published file carries its whole history: a later stage that starts from it still
    # lists stages 1 and 2 after their run folders are gone
    assert [st["trained_steps"] for st in raw["metadata"]["stages"]] == [7, 10]
    shutil.rmtree(tmp_path / "stage1")
    shutil.rmtree(run)
    lines = _stage_lines(_later_stage({"seed": 3, "init_from": str(target)}), "best.pt")
    assert lines[0].startswith("- Stage 1: 7 steps") and "seed 5" in lines[0]
    assert lines[1].startswith("- Stage 2: 10 steps") and "seed 1" in lines[1]
    assert lines[2].startswith("- Stage 3: 5 steps, starting from") and lines[3].startswith("- In all 22 optimizer")

    # a source that is gone is named, and the total says it is incomplete
    lines = _stage_lines(_later_stage({"init_from": str(tmp_path / "gone.pt")}), "best.pt")
    assert "gone.pt` (not on this machine" in lines[0] and "counted here (plus the stage(s)" in lines[-1]


def test_stage_of_another_network_is_named():
    """An SNN started from its ANN twin: the twin's stage says which network it trained."""
    twin = {"config": {"arch": "esdnet_ann", "seed": 4, "output_dir": "runs/ann"}, "trained_steps": 6,
            "wall_seconds": 60.0}
    cfg = {"arch": "esdnet", "seed": 3, "init_from": "models/ann.pt"}
    lines = _stage_lines({"config": cfg, "trained_steps": 5, "run_steps": 5,
                          "stages": [twin, {"config": cfg, "trained_steps": 5, "wall_seconds": None}]}, "best.pt")
    assert lines[0].startswith("- Stage 1 (as `esdnet_ann`): 6 steps") and "seed 4" in lines[0]
    assert lines[1].startswith("- Stage 2: 5 steps, starting from `models/ann.pt`")
    assert "(checkpoint `best.pt` from step 5, best validation PSNR)" in lines[1]


def test_checkpoint_choice_is_described():
    cfg = {"seed": 3}
    for checkpoint, steps, why in [("last.pt", 5, "the end of the schedule"), ("last.pt", 4, "chosen by hand")]:
        meta = {"config": cfg, "trained_steps": steps, "run_steps": 5, "stages": _stage_history(cfg, steps, None)}
        assert f"(checkpoint `{checkpoint}` from step {steps}, {why})" in _stage_lines(meta, checkpoint)[0]


def _later_stage(cfg: dict) -> dict:
    """Metadata of a 5-step run with this config, as publish() builds it."""
    return {"config": cfg, "trained_steps": 5, "run_steps": 5, "stages": _stage_history(cfg, 5, None)}


def test_manifest_updates_from_parallel_publishers_all_land(tmp_path):
    """Eight processes adding entries at once: none is lost (read-modify-write under a lock)."""
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from spikeview.training.publish import _add_to_manifest;"
            "_add_to_manifest(Path(sys.argv[1]), sys.argv[2], {'file': sys.argv[2] + '.pt'}, False)")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "MANIFEST.json"), f"m{i}"])
             for i in range(8)]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert sorted(manifest["models"]) == [f"m{i}" for i in range(8)] and manifest["default"] in manifest["models"]


def test_publishing_again_over_the_starting_file_is_refused(tmp_path):
    """A run started from models/x.pt and published as x: a second publish must not read the
    history of the weights it wrote itself as that of its starting point."""
    path = tmp_path / "x.pt"
    cfg = {"seed": 3, "init_from": str(path)}
    first = {"config": {"seed": 1}, "trained_steps": 4, "wall_seconds": None}
    save_checkpoint(path, build_arch("esdnet", **KW), "esdnet", KW,
                    metadata={"stages": [first, {"config": cfg, "trained_steps": 5, "wall_seconds": None}]})
    with pytest.raises(ConfigError, match="own published weights"):
        _stage_history(cfg, 5, None)
    assert _stage_history({"seed": 4, "init_from": str(path)}, 2, None)[0] == first  # another run may start there


def test_specialists_are_marked_by_the_rain_they_trained_on():
    """Only a derainer limited to some synthetic presets is a specialist; the order of first use is kept."""
    assert _specialised_rain({"task": "derain", "train_presets": ["heavy", "heavy"]}) == ["heavy"]
    assert _specialised_rain({"task": "derain", "train_presets": ["light"]}) == ["light"]
    assert _specialised_rain({"task": "derain", "train_presets": ["light", "heavy", "heavy"]}) == []
    assert _specialised_rain({"task": "derain", "train_presets": ["heavy"], "train_paired_root": "r"}) == []
    assert _specialised_rain({"task": "denoise", "train_presets": ["light"]}) == []
    assert _rain_cell(["heavy"]).startswith("heavy only: a specialist")
