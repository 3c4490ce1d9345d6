"""``spikeview info``: versions, devices, models and paths."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="versions, devices, models found, paths")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spikeview.environment import environment_dict, environment_report

    print(json.dumps(environment_dict(), indent=2) if args.json else environment_report())
    return 0
