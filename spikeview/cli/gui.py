"""``spikeview gui [FILES...] [--self-test OUT.json]``: start the desktop app.

Qt is imported only when the command runs (inside :mod:`spikeview.gui`), so the CLI and
``spikeview --help`` stay Qt-free.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "gui",
        help="open the desktop app (input | ANN | SNN panes, neuron activity, energy)",
        description="Open the SpikeView desktop app. Files and folders given are opened; without any, the "
        "bundled samples are shown with the default model. --self-test runs the real app offscreen on a "
        "sample and writes timings to a JSON file (exit 0 on success).",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="images or folders to open")
    p.add_argument("--self-test", metavar="OUT.json", help="offscreen smoke test; writes timings and a screenshot")
    p.add_argument("--theme", choices=("dark", "light"), help="colour theme (remembered)")
    p.add_argument("--settings-path", metavar="FILE", help="use this settings file instead of the user one")
    p.add_argument("--reset-settings", action="store_true", help="forget all saved settings first")
    p.set_defaults(func=run)


def _no_display() -> bool:
    """Linux/BSD without X11 or Wayland and no explicit Qt platform: a window cannot open."""
    import os
    import sys

    if sys.platform.startswith(("win", "darwin")) or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args: argparse.Namespace) -> int:
    if not args.self_test and _no_display():
        import sys

        from spikeview.cli import demo

        print(
            "spikeview gui: no display (DISPLAY / WAYLAND_DISPLAY unset); running the headless demo instead",
            file=sys.stderr,
        )
        return demo.run(argparse.Namespace(output="spikeview-demo", model=None, device="auto"))
    try:
        from spikeview.gui.app import run_app
    except ImportError as exc:  # the GUI extra is not installed
        from spikeview.errors import SpikeViewError

        msg = f"the desktop app needs PySide6 and pyqtgraph: pip install 'spikeview[gui]' ({exc})"
        raise SpikeViewError(msg) from exc
    return run_app(args)
