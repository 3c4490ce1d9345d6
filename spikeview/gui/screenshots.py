"""Regenerate ``docs/screenshots``: ``python -m spikeview.gui.screenshots [OUTDIR] [--image FILE]``.

Drives the real window offscreen (real worker, real models from the catalog), so the
pictures show what users see. Each PNG is scaled down until it is under ``MAX_BYTES``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

MAX_BYTES = 300_000


def _save(widget_or_pixmap, path: Path, width: int = 1400) -> Path:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage

    pix = widget_or_pixmap if hasattr(widget_or_pixmap, "scaledToWidth") else widget_or_pixmap.grab()
    while True:
        scaled = pix.scaledToWidth(min(width, pix.width()), Qt.TransformationMode.SmoothTransformation).toImage()
        # full colour if it fits, else a dithered 256-colour palette, else a smaller picture
        indexed = scaled.convertToFormat(QImage.Format.Format_Indexed8, Qt.ImageConversionFlag.DiffuseDither)
        for image in (scaled, indexed):
            data = QByteArray()
            buf = QBuffer(data)
            buf.open(QIODevice.OpenModeFlag.WriteOnly)
            image.save(buf, "PNG", 9)
            if data.size() <= MAX_BYTES:
                break
        if data.size() <= MAX_BYTES or width < 400:
            break
        width = int(width * 0.9)
    path.write_bytes(bytes(data))
    sys.stdout.write(f"{path}  {scaled.width()}x{scaled.height()}  {data.size() // 1024} KB\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("outdir", nargs="?", default="docs/screenshots")
    parser.add_argument("--image", help="image to show (default: the first bundled sample)")
    parser.add_argument("--theme", default="dark", choices=("dark", "light"))
    args = parser.parse_args(argv)
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)

    import pyqtgraph as pg
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from spikeview.gui.main_window import MainWindow
    from spikeview.gui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    work = Path(tempfile.mkdtemp(prefix="spikeview-shots-"))
    settings = Settings(work / "settings.ini")
    settings.update(auto_run=False, theme=args.theme)
    window = MainWindow(settings)
    window.resize(1500, 940)
    window.show()

    def pump(cond, timeout=600.0) -> None:
        end = time.perf_counter() + timeout
        while not cond():
            if time.perf_counter() > end:
                raise TimeoutError("screenshot run timed out")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.01)

    pump(lambda: window._loaded is not None)
    if args.image:
        window.open_paths([args.image])
    else:
        window.open_samples()
    results: list = []
    window.resultShown.connect(results.append)
    window.run()
    pump(lambda: bool(results) and not window.controller.busy)
    window.activity.channel_spin.setValue(1)  # re-runs once to record the chosen channel
    pump(lambda: len(results) > 1 and not window.controller.busy)
    for _ in range(10):
        app.processEvents()
        time.sleep(0.02)

    window.set_view_mode("side")
    _save(window, out / "window.png", 1400)
    _save(window.panes, out / "panes-side-by-side.png", 1200)
    window.set_view_mode("split")
    window.panes.set_split_fraction(0.45)
    app.processEvents()
    _save(window.panes, out / "split-slider.png", 1200)
    window.set_view_mode("diff")
    app.processEvents()
    _save(window.panes, out / "difference.png", 1200)
    window.set_view_mode("side")
    window.docks["activity"].raise_()
    app.processEvents()
    _save(window.docks["activity"], out / "activity-dock.png", 1300)
    _save(window.docks["energy"], out / "energy-dock.png", 500)
    _save(window.docks["model"], out / "model-dock.png", 500)

    inputs = window.batch.inputs() or [Path(args.image).parent]
    done: list = []
    window.controller.batchFinished.connect(done.append)
    window.run_batch(inputs, work / "batch-out", "_derained")
    pump(lambda: bool(done))
    app.processEvents()
    _save(window.docks["batch"], out / "batch-list.png", 1300)
    window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
