"""``spikeview gui --self-test OUT.json``: prove the real app works on this machine.

Opens the main window (offscreen), waits for the default model and its twin, derains a
bundled sample (or a synthetic rainy image when no samples are installed) through the real
worker thread, renders every view and dock once, saves a screenshot next to ``OUT.json``
and writes timings there. Exit code 0 only if everything worked.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEventLoop, qVersion
from PySide6.QtWidgets import QApplication

log = logging.getLogger(__name__)

TIMEOUT_S = float(os.environ.get("SPIKEVIEW_SELFTEST_TIMEOUT", "300"))


def synthetic_rainy(height: int = 192, width: int = 256, seed: int = 0) -> np.ndarray:
    """A smooth colour scene with bright diagonal streaks (RGB uint8), when no sample exists."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([120 + 80 * np.sin(x / 37), 100 + 60 * np.cos(y / 29), 90 + 50 * np.sin((x + y) / 53)], -1)
    for _ in range(120):
        x0, y0, length = rng.integers(0, width), rng.integers(0, height), rng.integers(8, 24)
        for t in range(length):
            yy, xx = y0 + t, x0 + t // 3
            if 0 <= yy < height and 0 <= xx < width:
                img[yy, xx] = np.minimum(img[yy, xx] + 90, 255)
    return img.clip(0, 255).astype(np.uint8)


def seconds_since_process_start() -> float | None:
    """Wall time since this process started (Linux /proc), else None."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
        return time.time() - (boot + start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, StopIteration, AttributeError):
        return None


def _wait(app: QApplication, done: Callable[[], bool], timeout_s: float, what: str, errors: list[str]) -> None:
    deadline = time.perf_counter() + timeout_s
    while not done():
        if errors:
            raise RuntimeError(f"{what}: {errors[0]}")
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what}: no answer within {timeout_s:.0f} s")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.005)


def run_self_test(app: QApplication, window, out_json: Path, t0: float, failures: list[BaseException]) -> int:
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    shot = out_json.with_suffix(".png")
    report: dict = {"ok": False, "frozen": bool(getattr(sys, "frozen", False)), "python": sys.version.split()[0],
                    "platform": platform.platform(), "qt": qVersion(), "qpa": QApplication.platformName()}
    errors: list[str] = []
    window.controller.failed.connect(lambda kind, msg: errors.append(f"{kind}: {msg}"))
    results: list = []
    window.resultShown.connect(results.append)
    try:
        window.auto_run_action.setChecked(False)
        window.show()
        app.processEvents()
        report["startup_to_window_s"] = round(time.perf_counter() - t0, 3)
        since_start = seconds_since_process_start()
        report["process_start_to_window_s"] = round(since_start, 3) if since_start is not None else None

        t_load = time.perf_counter()
        def no_models() -> bool:
            return window._catalog_seen and window.picker.model_combo.count() == 0

        _wait(app, lambda: window._loaded is not None or no_models(), TIMEOUT_S, "loading the default model", errors)
        if window._loaded is None:
            from spikeview.gui.widgets.model_picker import NO_MODEL_TEXT

            raise RuntimeError(NO_MODEL_TEXT)
        loaded = window._loaded
        report["model_load_s"] = round(time.perf_counter() - t_load, 3)
        report["model"] = loaded.snn.name
        report["twin"] = loaded.ann.name if loaded.ann else None
        report["device"] = loaded.device
        if loaded.ann is None:
            raise RuntimeError(f"model {loaded.snn.name} has no ANN twin loaded")

        t_run = time.perf_counter()
        if window.open_samples() and window.current_path() is not None:
            report["sample"] = str(window.current_path())
            window.run()
        else:
            report["sample"] = "synthetic"
            window.controller.restore(image=synthetic_rainy())
        _wait(app, lambda: bool(results), TIMEOUT_S, "restoring the sample", errors)
        outcome = results[-1]
        report["restore_wall_s"] = round(time.perf_counter() - t_run, 3)
        report["snn_ms"] = round(outcome.snn_ms, 1)
        report["ann_ms"] = round(outcome.ann_ms, 1)
        report["inference_ms"] = round(outcome.snn_ms + outcome.ann_ms, 1)
        report["image_size"] = list(outcome.image.shape)
        report["quality"] = outcome.quality
        if outcome.snn_energy is not None and outcome.ann_energy is not None:
            report["energy_uj"] = {"snn": outcome.snn_energy.energy_uj, "ann": outcome.ann_energy.energy_uj}
        if outcome.ann is None or outcome.snn.shape != outcome.image.shape:
            raise RuntimeError("the SNN/ANN outputs are missing or have the wrong size")

        # render every view and dock once
        rendered = {}
        for mode in ("split", "diff", "side"):
            window.set_view_mode(mode, save=False)
            app.processEvents()
            rendered[f"view-{mode}"] = not window.panes.grab().isNull()
        for key, dock in window.docks.items():
            dock.show()
            dock.raise_()
            app.processEvents()
            rendered[f"dock-{key}"] = not dock.widget().grab().isNull()
        window.docks["activity"].raise_()
        window.activity.repaint_latest()
        app.processEvents()
        report["rendered"] = rendered
        report["activity_repaints"] = window.activity.repaints
        if not all(rendered.values()):
            raise RuntimeError(f"could not render: {[k for k, v in rendered.items() if not v]}")
        window.grab().scaled(1280, 800, aspectMode=_keep_aspect()).save(str(shot))
        report["screenshot"] = str(shot)
        if failures:
            raise RuntimeError(f"uncaught exception: {failures[0]!r}")
        report["ok"] = True
    except Exception as exc:
        log.exception("self-test failed")
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        report["total_s"] = round(time.perf_counter() - t0, 3)
        window.close()
        app.processEvents()
        out_json.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return 0 if report["ok"] else 1


def _keep_aspect():
    from PySide6.QtCore import Qt

    return Qt.AspectRatioMode.KeepAspectRatio
