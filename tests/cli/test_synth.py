"""``spikeview synth`` end to end in a subprocess, on real image files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from spikeview.media.images import read_image, write_image
from spikeview.training.datasets import find_pairs


def _synth(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spikeview", "synth", *args], capture_output=True, text=True, timeout=120
    )


def _photos(folder: Path) -> list[Path]:
    yy, xx = np.mgrid[0:120, 0:160]
    a = np.dstack([xx, yy, (xx + yy) // 2]).astype(np.uint8)
    b = np.full((90, 70, 3), 100, np.uint8)
    return [write_image(folder / "a.png", a), write_image(folder / "sub" / "b.jpg", b)]


def test_synth_writes_pairs(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    sources = _photos(clean)
    before = [p.read_bytes() for p in sources]
    out = tmp_path / "out"
    res = _synth(str(clean), "-o", str(out), "--preset", "heavy", "--seed", "3", "--max-side", "100")
    assert res.returncode == 0, res.stderr
    assert "synth 2/2" in res.stderr  # progress on stderr
    assert "wrote 2 heavy pair(s)" in res.stdout
    assert sorted(p.name for p in (out / "input").iterdir()) == ["a.png", "b.png"]
    assert sorted(p.name for p in (out / "target").iterdir()) == ["a.png", "b.png"]
    rainy, target = read_image(out / "input" / "a.png"), read_image(out / "target" / "a.png")
    assert rainy.shape == target.shape == (75, 100, 3)  # 120x160 shrunk to a 100 px long side
    assert not np.array_equal(rainy, target)
    assert [p.read_bytes() for p in sources] == before  # inputs untouched
    assert [(a.name, b.name) for a, b in find_pairs(out)] == [("a.png", "a.png"), ("b.png", "b.png")]

    # Same command, same bytes.
    again = tmp_path / "again"
    assert _synth(str(clean), "-o", str(again), "--preset", "heavy", "--seed", "3", "--max-side", "100").returncode == 0
    assert (again / "input" / "a.png").read_bytes() == (out / "input" / "a.png").read_bytes()


def test_synth_noise_crop_count_and_output_inside_source(tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    _photos(clean)
    out = clean / "pairs"  # inside the source folder: its files must not become sources
    res = _synth(str(clean), "-o", str(out), "--preset", "noise25", "--crop", "64", "--count", "3")
    assert res.returncode == 0, res.stderr
    names = sorted(p.name for p in (out / "input").iterdir())
    assert names == ["a.png", "a_v2.png", "b.png"]
    assert read_image(out / "input" / "a_v2.png").shape == (64, 64, 3)
    res = _synth(str(clean), "-o", str(out), "--preset", "light")
    assert res.returncode == 0, res.stderr
    assert "from 2 photo(s)" in res.stdout


def test_synth_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _synth(str(empty), "-o", str(tmp_path / "out"), "--preset", "light")
    assert res.returncode == 2 and "No images found" in res.stderr
    res = _synth(str(tmp_path / "missing"), "-o", str(tmp_path / "out"), "--preset", "light")
    assert res.returncode == 2 and "error" in res.stderr
    res = _synth(str(empty), "-o", str(tmp_path / "out"), "--preset", "drizzle")
    assert res.returncode == 2 and "invalid choice" in res.stderr
