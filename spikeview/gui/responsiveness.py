"""Does the window stay responsive while the worker restores? (``spikeview bench --gui``)

:func:`measure_event_loop_stalls` runs a real batch through the real worker thread (with the
main window, its activity dock repainting, when ``with_window``) while a 10 ms ``QTimer``
ticks on the GUI thread. Any tick that arrives late means the event loop was blocked; the
longest lateness is the worst freeze a user would have felt.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def _ensure_app() -> Any:
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "spikeview"])
    pg.setConfigOptions(imageAxisOrder="row-major")
    return app


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure_event_loop_stalls(
    duration_s: float = 10.0,
    *,
    model: str | None = None,
    device: str = "auto",
    images: int = 6,
    size: tuple[int, int] = (256, 256),
    inputs: list[str | Path] | None = None,
    with_window: bool = True,
    interval_ms: int = 10,
    load_timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Measure the GUI thread's longest event-loop stall while a batch runs in the worker.

    ``inputs`` (files/folders) default to ``images`` synthetic rainy images of ``size``
    (height, width). The batch is restarted into a fresh output folder until ``duration_s``
    has passed, then cancelled. Returns ``max_stall_ms`` (largest gap between timer ticks
    minus the interval), ``p99_stall_ms``, ``mean_gap_ms``, ``ticks``, ``files_done``,
    ``batch_runs``, ``model``, ``device`` and the parameters used.
    """
    from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer

    from spikeview.gui.controller import Controller
    from spikeview.gui.selftest import synthetic_rainy

    app = _ensure_app()
    work = Path(tempfile.mkdtemp(prefix="spikeview-stall-"))
    window = None
    controller = None
    try:
        if inputs is None:
            from spikeview.media.images import write_image

            src = work / "in"
            src.mkdir()
            for i in range(images):
                write_image(src / f"img{i:03d}.png", synthetic_rainy(size[0], size[1], seed=i))
            inputs = [src]
        if with_window:
            from spikeview.gui.main_window import MainWindow
            from spikeview.gui.settings import Settings

            settings = Settings(work / "settings.ini")
            settings.update(model=model or "", device=device, auto_run=False)
            window = MainWindow(settings)
            window.show()
            controller = window.controller
        else:
            controller = Controller()
            controller.start()
            controller.load_models(model, None, device)

        state: dict[str, Any] = {"loaded": None, "error": None, "batch_done": False, "files": 0, "runs": 0}
        controller.modelsLoaded.connect(lambda m: state.__setitem__("loaded", m))
        controller.failed.connect(lambda k, msg: state.__setitem__("error", f"{k}: {msg}"))
        controller.batchFile.connect(lambda r: state.__setitem__("files", state["files"] + (r.status == "done")))
        controller.batchFinished.connect(lambda s: state.__setitem__("batch_done", True))

        deadline = time.perf_counter() + load_timeout_s
        while state["loaded"] is None and controller.loaded is None:
            if state["error"] or time.perf_counter() > deadline:
                raise RuntimeError(f"model did not load: {state['error'] or 'timeout'}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.005)
        loaded = state["loaded"] or controller.loaded

        gaps: list[float] = []
        clock = QElapsedTimer()
        last = [0.0]

        def tick() -> None:
            now = clock.nsecsElapsed() / 1e6
            gaps.append(now - last[0])
            last[0] = now

        def start_batch() -> None:
            state["batch_done"] = False
            state["runs"] += 1
            controller.run_batch(list(inputs), work / f"out{state['runs']}")

        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(interval_ms)
        timer.timeout.connect(tick)
        loop = QEventLoop()
        clock.start()
        timer.start()
        start_batch()
        end = time.perf_counter() + duration_s

        def check() -> None:
            if time.perf_counter() >= end:
                loop.quit()
            elif state["batch_done"] and not controller.busy:
                start_batch()

        watcher = QTimer()
        watcher.setInterval(50)
        watcher.timeout.connect(check)
        watcher.start()
        loop.exec()
        watcher.stop()
        controller.cancel()
        while controller.busy:
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        timer.stop()
        gaps = gaps[1:]  # the first gap includes start-up of the timer
        return {
            "duration_s": duration_s,
            "interval_ms": interval_ms,
            "ticks": len(gaps),
            "max_stall_ms": round(max((g - interval_ms for g in gaps), default=0.0), 2),
            "p99_stall_ms": round(max(0.0, _percentile(gaps, 99) - interval_ms), 2),
            "mean_gap_ms": round(sum(gaps) / len(gaps), 3) if gaps else 0.0,
            "files_done": state["files"],
            "batch_runs": state["runs"],
            "model": loaded.snn.name,
            "device": loaded.device,
            "with_window": with_window,
            "image_size": list(size) if inputs and str(inputs[0]).startswith(str(work)) else None,
        }
    finally:
        if window is not None:
            window.close()
        elif controller is not None:
            controller.shutdown()
        shutil.rmtree(work, ignore_errors=True)
