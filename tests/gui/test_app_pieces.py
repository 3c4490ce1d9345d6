"""Pieces of app start-up that need no window: excepthook, logging, settings, pairing."""

from __future__ import annotations

import logging
import sys

import pytest

pytestmark = pytest.mark.gui


def test_excepthook_logs_the_traceback_and_keeps_running(tmp_path):
    from spikeview.gui.app import install_excepthook

    log_file = tmp_path / "gui.log"
    handler = logging.FileHandler(log_file, encoding="utf-8")
    logging.getLogger().addHandler(handler)
    seen = []
    old = sys.excepthook
    try:
        install_excepthook(log_file, interactive=False, on_error=seen.append)
        try:
            raise RuntimeError("boom in a slot")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = old
        logging.getLogger().removeHandler(handler)
        handler.close()
    text = log_file.read_text(encoding="utf-8")
    assert "uncaught exception" in text and "RuntimeError: boom in a slot" in text and "Traceback" in text
    assert len(seen) == 1


def test_settings_defaults_types_and_unknown_keys(tmp_path):
    from spikeview.gui.settings import DEFAULTS, MAX_RECENT, Settings

    s = Settings(tmp_path / "s.ini")
    assert s.get("tile") == -1 and s.get("auto_run") is True and s.get("recent_files") == []
    s.update(tile=256, auto_run=False, theme="light")
    for i in range(MAX_RECENT + 3):
        s.add_recent(tmp_path / f"f{i}.png")
    s.sync()
    again = Settings(tmp_path / "s.ini")
    assert again.get("tile") == 256 and again.get("auto_run") is False and again.get("theme") == "light"
    recent = again.get("recent_files")
    assert len(recent) == MAX_RECENT and recent[0].endswith(f"f{MAX_RECENT + 2}.png")
    with pytest.raises(KeyError):
        again.set("no_such_key", 1)
    assert set(DEFAULTS) >= {"model", "device", "geometry", "window_state", "theme", "last_folder_dir"}


def test_ground_truth_pairing(tmp_path):
    from spikeview.gui.pairing import find_ground_truth, hide_ground_truths, is_ground_truth

    (tmp_path / "a_rain.png").write_bytes(b"x")
    (tmp_path / "a_clean.jpg").write_bytes(b"x")
    (tmp_path / "b_rain.png").write_bytes(b"x")
    rain = tmp_path / "set" / "rain"
    rain.mkdir(parents=True)
    (tmp_path / "set" / "norain").mkdir()
    (rain / "1.png").write_bytes(b"x")
    (tmp_path / "set" / "norain" / "1.png").write_bytes(b"x")
    assert find_ground_truth(tmp_path / "a_rain.png") == tmp_path / "a_clean.jpg"
    assert find_ground_truth(tmp_path / "b_rain.png") is None
    assert find_ground_truth(rain / "1.png") == tmp_path / "set" / "norain" / "1.png"
    assert is_ground_truth("x_clean.png") and not is_ground_truth("x_rain.png")
    files = [tmp_path / "a_rain.png", tmp_path / "a_clean.jpg", tmp_path / "b_clean.png", tmp_path / "c.png"]
    assert hide_ground_truths(files) == [files[0], files[2], files[3]]  # b_clean has no rainy partner


def test_event_loop_stall_probe_runs_a_real_batch(qtbot):
    """``measure_event_loop_stalls`` (used by ``spikeview bench --gui``) returns its numbers."""
    from spikeview.gui.responsiveness import measure_event_loop_stalls

    result = measure_event_loop_stalls(2.0, images=3, size=(64, 64), load_timeout_s=120)
    for key in ("max_stall_ms", "p99_stall_ms", "mean_gap_ms", "ticks", "files_done", "batch_runs", "model", "device"):
        assert key in result
    assert result["ticks"] > 10 and result["batch_runs"] >= 1 and result["model"] == "tiny-snn"
    assert result["max_stall_ms"] >= result["p99_stall_ms"] >= 0
