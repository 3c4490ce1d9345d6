"""Start the desktop app: ``spikeview-gui [FILES...]`` or ``spikeview gui [FILES...]``.

``main()`` is defensive because it is also the entry point of the windowed (no console)
PyInstaller build: ``sys.stdout``/``stderr`` may be ``None`` there, multiprocessing needs
``freeze_support()``, and an uncaught exception must end up in the log file and a dialog
instead of silently killing the app.
"""

from __future__ import annotations

import argparse
import io
import logging
import logging.handlers
import multiprocessing
import os
import signal
import sys
import time
import traceback
from pathlib import Path

log = logging.getLogger(__name__)

LOG_NAME = "spikeview-gui.log"


def _guard_std_streams() -> None:
    # windowed frozen builds have no console: printing/flushing to None would raise
    if sys.stdout is None:
        sys.stdout = io.StringIO()
    if sys.stderr is None:
        sys.stderr = io.StringIO()


def setup_logging(verbose: bool = False) -> Path | None:
    """Rotating log file in the user log folder (+ warnings on stderr). Returns the file path."""
    from spikeview.paths import user_log_dir

    root = logging.getLogger()
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s")
    path: Path | None = None
    try:
        folder = user_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(fmt)
        root.addHandler(handler)
    except OSError as exc:  # read-only home etc.: keep going without a file
        path = None
        sys.stderr.write(f"spikeview: cannot write the log file: {exc}\n")
    for h in root.handlers:  # the CLI's console handler: keep the terminal to warnings
        if type(h) is logging.StreamHandler and not verbose:
            h.setLevel(logging.WARNING)
    if not any(type(h) is logging.StreamHandler for h in root.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.DEBUG if verbose else logging.WARNING)
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root.addHandler(console)
    return path


def install_excepthook(log_file: Path | None, interactive: bool = True, on_error=None) -> None:
    """Uncaught exceptions → log (with traceback) + a dialog pointing at the log, never a crash."""
    state = {"showing": False}

    def hook(exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.critical("uncaught exception\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        if on_error is not None:
            on_error(exc)
        if not interactive or state["showing"]:
            return
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is None:
            return
        state["showing"] = True
        try:
            where = f"\n\nDetails are in the log file:\n{log_file}" if log_file else ""
            QMessageBox.critical(None, "SpikeView — unexpected error",
                                 f"{exc_type.__name__}: {exc}{where}\n\nThe app keeps running.")
        finally:
            state["showing"] = False

    sys.excepthook = hook


def build_arg_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="spikeview-gui", description="SpikeView desktop app")
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="FILE", help="images or folders to open (default: the bundled samples)")
    p.add_argument("--self-test", metavar="OUT.json",
                   help="open the window offscreen, derain a sample, write timings, exit")
    p.add_argument("--theme", choices=("dark", "light"), help="colour theme (remembered)")
    p.add_argument("--settings-path", metavar="FILE", help="settings file to use instead of the user one")
    p.add_argument("--reset-settings", action="store_true", help="forget all saved settings first")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``spikeview-gui``; returns the exit code."""
    _guard_std_streams()
    multiprocessing.freeze_support()
    args = build_arg_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return run_app(args)


def run_app(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    _guard_std_streams()
    log_file = setup_logging(getattr(args, "verbose", False))
    self_test = getattr(args, "self_test", None)
    if self_test:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the self-test must run without a display

    import pyqtgraph as pg
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from spikeview import __version__
    from spikeview.gui.main_window import MainWindow
    from spikeview.gui.settings import Settings
    from spikeview.paths import APP_AUTHOR, APP_NAME

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(APP_AUTHOR)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)
    settings_path = getattr(args, "settings_path", None)
    if self_test and not settings_path:
        import tempfile

        # a self-test must not change the user's settings
        settings_path = Path(tempfile.mkdtemp(prefix="spikeview-selftest-")) / "settings.ini"
    settings = Settings(settings_path)
    if getattr(args, "reset_settings", False):
        settings.reset()
    if getattr(args, "theme", None):
        settings.set("theme", args.theme)
    failures: list[BaseException] = []
    install_excepthook(log_file, interactive=not self_test, on_error=failures.append)
    log.info("SpikeView %s GUI starting (log: %s)", __version__, log_file)

    window = MainWindow(settings)
    app.aboutToQuit.connect(window.controller.shutdown)
    if self_test:
        try:
            from spikeview.gui.selftest import run_self_test

            return run_self_test(app, window, Path(self_test), t0, failures)
        finally:
            window.controller.shutdown()

    window.show()
    files = list(getattr(args, "files", []) or [])
    if files:
        window.open_paths(files)
    else:
        window.open_samples()
    # Ctrl+C in the terminal quits; the timer lets Python run its signal handler
    signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer(window)
    tick.timeout.connect(lambda: None)
    tick.start(200)
    return int(app.exec())


if __name__ == "__main__":
    raise SystemExit(main())
