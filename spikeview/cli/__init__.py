"""Command-line interface: ``spikeview <command> ...``.

Every GUI job has a twin here. Each command is a module of this package with
``add_parser(subparsers)`` and ``run(args) -> int``; they import torch/OpenCV inside
``run`` so that ``spikeview --help`` stays fast. Errors caused by input
(:class:`~spikeview.errors.SpikeViewError`) print one line and exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from spikeview import __version__

# Explicit list (no filesystem scanning: a frozen bundle has no files to scan).
COMMAND_MODULES = (
    "spikeview.cli.train",
    "spikeview.cli.publish",
    "spikeview.cli.derain",
    "spikeview.cli.demo",
    "spikeview.cli.eval",
    "spikeview.cli.compare",
    "spikeview.cli.backend",
    "spikeview.cli.energy",
    "spikeview.cli.export",
    "spikeview.cli.bench",
    "spikeview.cli.info",
    "spikeview.cli.synth",
    "spikeview.cli.video",
    "spikeview.cli.webcam",
    "spikeview.cli.gui",
)

EXIT_OK = 0
EXIT_INPUT_ERROR = 2
EXIT_CANCELLED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spikeview",
        description="Image restoration with spiking neural networks and their ANN twins.",
    )
    parser.add_argument("--version", action="version", version=f"spikeview {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_OK
    from spikeview.errors import SpikeViewError
    from spikeview.progress import Cancelled

    try:
        return int(args.func(args) or EXIT_OK)
    except SpikeViewError as exc:
        print(f"spikeview {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except (Cancelled, KeyboardInterrupt):
        print(f"spikeview {args.command}: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
