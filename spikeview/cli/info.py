"""``spikeview info``: versions, devices, models and paths."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("info", help="versions, devices, models found, paths")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def models_by_task(env: dict[str, Any]) -> dict[str, list[str]]:
    """``{task: [model names]}`` in catalog order (default model first)."""
    tasks: dict[str, list[str]] = {}
    for m in env["models"]:
        tasks.setdefault(m["task"], []).append(m["name"])
    return tasks


def _task_lines(env: dict[str, Any]) -> list[str]:
    lines = ["models by task:"]
    tasks = models_by_task(env)
    if not tasks:
        lines.append("  none found")
    rain = {m["name"]: m.get("rain") for m in env["models"]}
    for task, names in tasks.items():
        shown = [_label(n, n == env["default_model"], rain.get(n)) for n in names]
        lines.append(f"  {task:<10} {', '.join(shown)}")
    return lines


def _label(name: str, default: bool, rain: list[str] | None) -> str:
    notes = (["default"] if default else []) + ([f"{'/'.join(rain)} rain only"] if rain else [])
    return f"{name} ({', '.join(notes)})" if notes else name


def run(args: argparse.Namespace) -> int:
    from spikeview.environment import environment_dict, environment_report

    if args.json:
        env = environment_dict()
        print(json.dumps({**env, "models_by_task": models_by_task(env)}, indent=2))
    else:
        print(environment_report())
        print("\n".join(_task_lines(environment_dict())))
    return 0
