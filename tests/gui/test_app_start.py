"""The app starts as a user starts it: a subprocess running ``python -m spikeview gui --self-test``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / var.lower())
    return env


def test_self_test_subprocess_exits_0_with_timings(tmp_path):
    out = tmp_path / "self test" / "out.json"  # a space in the path, as on Windows
    proc = subprocess.run(
        [sys.executable, "-m", "spikeview", "gui", "--self-test", str(out)],
        env=_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["ok"] is True
    for key in ("startup_to_window_s", "model_load_s", "snn_ms", "ann_ms", "inference_ms", "total_s"):
        assert isinstance(report[key], (int, float)) and report[key] > 0, key
    assert report["model"] == "tiny-snn" and report["twin"] == "tiny-ann"
    assert report["sample"].endswith("scene_rain.png")
    assert set(report["quality"]) == {"input", "ann", "snn"}
    assert all(report["rendered"].values()) and len(report["rendered"]) == 8
    assert Path(report["screenshot"]).stat().st_size > 10_000
    assert "Traceback" not in proc.stderr


def test_self_test_fails_cleanly_without_models(tmp_path):
    out = tmp_path / "out.json"
    env = _env(tmp_path)
    env["SPIKEVIEW_MODELS"] = str(tmp_path / "nothing-here")
    env["SPIKEVIEW_SELFTEST_TIMEOUT"] = "60"
    proc = subprocess.run([sys.executable, "-m", "spikeview", "gui", "--self-test", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["ok"] is False and "no shipped model found" in report["error"].lower()


def test_main_opens_files_given_on_the_command_line(tmp_path, gui_samples):
    """``spikeview-gui FILE`` with ``QApplication.exec`` patched to return at once (mnelab style)."""
    code = (
        "import sys, spikeview.gui\n"
        "from PySide6.QtWidgets import QApplication\n"
        "QApplication.exec = lambda self=None: 0\n"
        "from spikeview.gui import app\n"
        "from spikeview.gui.main_window import MainWindow\n"
        "opened = []\n"
        "orig = MainWindow.open_paths\n"
        "MainWindow.open_paths = lambda self, p: (opened.extend(p), orig(self, p))\n"
        f"rc = app.main([{str(gui_samples / 'samples' / 'street_rain.png')!r}, '--settings-path', "
        f"{str(tmp_path / 's.ini')!r}])\n"
        "w = [x for x in QApplication.topLevelWidgets() if isinstance(x, MainWindow)][0]\n"
        "print('RC', rc, 'OPENED', len(opened), 'FILES', len(w.file_list.paths()))\n"
        "w.close()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), capture_output=True, text=True,
                          timeout=120)
    assert "RC 0 OPENED 1 FILES 1" in proc.stdout, proc.stderr[-3000:]
