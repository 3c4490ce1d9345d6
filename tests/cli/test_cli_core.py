"""The CLI as a user runs it: subprocesses, real files, exit codes, one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from spikeview.media.images import read_image, write_image


def spikeview(*args, env_models=None, cwd=None, env_resources=None):
    env = dict(os.environ)
    if env_models is not None:
        env["SPIKEVIEW_MODELS"] = str(env_models)
    if env_resources is not None:
        env["SPIKEVIEW_RESOURCES"] = str(env_resources)
    return subprocess.run(
        [sys.executable, "-m", "spikeview", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_help_lists_commands_and_imports_neither_torch_nor_qt():
    out = spikeview("--help")
    assert out.returncode == 0
    for command in ("derain", "eval", "energy", "bench", "info", "demo"):
        assert command in out.stdout
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from spikeview.cli import build_parser; build_parser();"
            "print(sorted(m for m in ('torch', 'PySide6', 'cv2', 'pyqtgraph') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "[]"


def test_no_option_hides_the_command_name():
    """Errors print "spikeview <command>: ..." from args.command; an option whose value lands
    there (publish --command did) would print the option's value instead."""
    import argparse

    from spikeview.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in commands.choices.items():
        assert all(action.dest != "command" for action in sub._actions), name
    args = parser.parse_args(["publish", "run", "--name", "x", "--command", "spikeview train r.yaml"])
    assert args.command == "publish" and args.train_command == "spikeview train r.yaml"


def test_derain_folder_keeps_tree_and_never_touches_inputs(tiny_models_dir, tmp_path):
    src = tmp_path / "photos"
    rng = np.random.default_rng(0)
    write_image(src / "a.png", rng.integers(0, 255, (40, 52, 3), dtype=np.uint8))
    write_image(src / "trip" / "b.png", rng.integers(0, 65535, (36, 36, 3), dtype=np.uint16))
    before = {p: p.read_bytes() for p in src.rglob("*.png")}
    out = spikeview("derain", src, "-o", tmp_path / "out", "--energy", env_models=tiny_models_dir)
    assert out.returncode == 0, out.stderr
    assert "mean firing rate" in out.stdout and "µJ" in out.stdout
    restored = read_image(tmp_path / "out" / "trip" / "b.png")
    assert restored.shape == (36, 36, 3) and restored.dtype == np.uint16
    assert {p: p.read_bytes() for p in src.rglob("*.png")} == before
    again = spikeview("derain", src, "-o", tmp_path / "out", env_models=tiny_models_dir)
    assert "skipped (already there) 2" in again.stdout


@pytest.mark.parametrize(
    "case,needle",
    [
        ("missing", "no such file"),
        ("corrupt", "Cannot read image"),
        ("checkpoint", "not a PyTorch file"),
        ("model", "no model named"),
        ("into_input", "overwrite an input"),
    ],
)
def test_bad_input_gives_one_line_error_without_traceback(tiny_models_dir, tmp_path, case, needle):
    good = tmp_path / "good.png"
    write_image(good, np.zeros((16, 16, 3), np.uint8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    junk = tmp_path / "junk.pt"
    junk.write_text("hello")
    args = {
        "missing": ["derain", tmp_path / "nope.png", "-o", tmp_path / "o"],
        "corrupt": ["derain", bad, "-o", tmp_path / "o"],
        "checkpoint": ["derain", good, "-o", tmp_path / "o", "--checkpoint", junk],
        "model": ["derain", good, "-o", tmp_path / "o", "--model", "no-such-model"],
        "into_input": ["derain", tmp_path, "-o", tmp_path],
    }[case]
    out = spikeview(*args, env_models=tiny_models_dir)
    assert out.returncode != 0
    assert "Traceback" not in out.stderr + out.stdout
    assert needle in out.stderr + out.stdout


def small_copy(src, dst, count=2, pattern="*.png"):
    """The first ``count`` files of each sub-folder of ``src`` (keeps tests quick)."""
    import shutil

    for folder in [src, *[d for d in src.iterdir() if d.is_dir()]]:
        rel = folder.relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for path in sorted(folder.glob(pattern))[:count]:
            shutil.copy(path, dst / rel / path.name)
    return dst


def test_eval_json_has_the_documented_shape(tiny_models_dir, tmp_path):
    from spikeview.paths import resource_dir

    heldout = small_copy(resource_dir() / "heldout" / "light", tmp_path / "heldout")
    out = spikeview(
        "eval",
        "--input",
        heldout / "input",
        "--target",
        heldout / "target",
        "--json",
        "--csv",
        tmp_path / "r.csv",
        env_models=tiny_models_dir,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report["mean"]) >= {"psnr", "ssim", "psnr_y", "ssim_y"}
    assert len(report["images"]) == len(list((heldout / "input").glob("*.png")))
    assert report["images"][0]["name"].endswith(".png")
    assert (tmp_path / "r.csv").read_text().count("\n") == len(report["images"]) + 2


def test_energy_and_info_and_bench(tiny_models_dir):
    energy = spikeview("energy", "--size", "64x64", "--json", env_models=tiny_models_dir)
    assert energy.returncode == 0, energy.stderr
    data = json.loads(energy.stdout)
    assert data["snn"]["sops"] > 0 and data["ann"]["sops"] == 0 and data["comparison"]["ratio"] > 0
    info = spikeview("info", "--json", env_models=tiny_models_dir)
    env = json.loads(info.stdout)
    assert env["default_model"] == "tiny-snn" and any(d["name"] == "cpu" and d["available"] for d in env["devices"])
    bench = spikeview("bench", "--size", "32x32", "--repeat", "1", "--json", env_models=tiny_models_dir)
    assert bench.returncode == 0, bench.stderr
    rows = json.loads(bench.stdout)["images"]
    assert {"model/snn-exact", "model/snn-fast", "model/ann-fast"} <= set(rows)
    assert rows["model/snn-fast"]["max_abs_diff_vs_exact"] < 1e-4


def test_demo_writes_side_by_side_images(tiny_models_dir, tmp_path):
    from spikeview.paths import resource_dir

    resources = tmp_path / "resources"
    small_copy(resource_dir() / "samples", resources / "samples", count=2, pattern="chelsea_*.png")
    out = spikeview("demo", "-o", tmp_path / "demo", env_models=tiny_models_dir, env_resources=resources)
    assert out.returncode == 0, out.stderr
    images = sorted((tmp_path / "demo").glob("*_compare.png"))
    assert [p.name for p in images] == ["chelsea_rain_compare.png"] and "PSNR input" in out.stdout
    first = read_image(images[0])
    assert first.shape[1] % 3 == 0  # input | ANN | SNN


def test_gui_without_a_display_runs_the_headless_demo(tiny_models_dir, tmp_path):
    from spikeview.paths import resource_dir

    resources = tmp_path / "resources"
    small_copy(resource_dir() / "samples", resources / "samples", count=2, pattern="chelsea_*.png")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(SPIKEVIEW_MODELS=str(tiny_models_dir), SPIKEVIEW_RESOURCES=str(resources))
    out = subprocess.run(
        [sys.executable, "-m", "spikeview", "gui"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300
    )
    assert out.returncode == 0, out.stderr
    assert "headless demo" in out.stderr
    assert (tmp_path / "spikeview-demo" / "chelsea_rain_compare.png").is_file()


def test_compare_scores_each_model_on_each_set(tiny_models_dir, tmp_path):
    from spikeview.paths import resource_dir

    light = small_copy(resource_dir() / "heldout" / "light", tmp_path / "light", count=2)
    heavy = small_copy(resource_dir() / "heldout" / "heavy", tmp_path / "heavy", count=1)
    out = spikeview("compare", "--model", "tiny-snn", "--model", "tiny-ann", "--set", f"light={light}",
                    "--set", f"heavy={heavy}", "--json-out", tmp_path / "rows.json", "--markdown", tmp_path / "t.md",
                    env_models=tiny_models_dir)
    assert out.returncode == 0, out.stderr
    rows = json.loads((tmp_path / "rows.json").read_text())
    assert [(r["model"], r["set"], r["images"]) for r in rows] == [
        ("tiny-snn", "light", 2), ("tiny-snn", "heavy", 1), ("tiny-ann", "light", 2), ("tiny-ann", "heavy", 1)]
    assert all(r["gain_db"] == pytest.approx(r["psnr"] - r["input_psnr"]) and r["energy_uj"] > 0 for r in rows)
    snn, ann = rows[0], rows[2]
    assert snn["timesteps"] > 1 and ann["timesteps"] == 1 and snn["parameters"] > 0
    table = (tmp_path / "t.md").read_text()
    assert table == out.stdout and table.count("\n") == 2 + len(rows)

    bad = spikeview("compare", "--model", "tiny-snn", "--set", f"x={tmp_path}", env_models=tiny_models_dir)
    assert bad.returncode == 2 and "input/ and target/" in bad.stderr and "Traceback" not in bad.stderr


def test_derain_self_ensemble_option(tiny_models_dir, tmp_path):
    src = tmp_path / "a.png"
    write_image(src, np.full((24, 24, 3), 90, np.uint8))
    out = spikeview("derain", src, "-o", tmp_path / "o", "--ensemble", "4", env_models=tiny_models_dir)
    assert out.returncode == 0, out.stderr
    assert read_image(tmp_path / "o" / "a.png").shape == (24, 24, 3)
    bad = spikeview("derain", src, "-o", tmp_path / "p", "--ensemble", "8", env_models=tiny_models_dir)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr and not (tmp_path / "p").exists()
