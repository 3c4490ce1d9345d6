"""What this installation runs on, for ``spikeview info``, bug reports and Help > About."""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from typing import Any

from spikeview import __version__

_PACKAGES = ("torch", "numpy", "opencv-python-headless", "PySide6-Essentials", "pyqtgraph", "platformdirs", "nir")


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _backends() -> list[dict[str, Any]]:
    from spikeview.backends import available_backends

    rows = []
    for b in available_backends():
        status = b.status()
        caps = b.capabilities
        rows.append(
            {
                "name": b.name,
                "kind": b.kind,
                "available": status.available,
                "reason": status.reason,
                "model_format": caps.model_format,
                "layer_types": list(caps.layer_types),
                "max_tile": caps.max_tile,
                "numerics": caps.numerics,
            }
        )
    return rows


def environment_dict() -> dict[str, Any]:
    from spikeview.catalog import default_model_name, list_models
    from spikeview.inference.device import available_devices
    from spikeview.paths import models_dir, resource_dir, user_config_dir, user_log_dir, user_models_dir

    return {
        "spikeview": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "packages": {name: _version(name) for name in _PACKAGES},
        "devices": [{"name": d.name, "available": d.available, "detail": d.detail} for d in available_devices()],
        "backends": _backends(),
        "models": [
            {
                "name": e.name,
                "task": e.task,
                "twin": e.twin,
                "rain": list(e.rain),
                "shipped": e.shipped,
                "path": str(e.path),
                "exists": e.path.is_file(),
            }
            for e in list_models()
        ],
        "default_model": default_model_name(),
        "paths": {
            "resources": str(resource_dir()),
            "models": str(models_dir()),
            "user_models": str(user_models_dir()),
            "config": str(user_config_dir()),
            "logs": str(user_log_dir()),
        },
    }


def environment_report() -> str:
    env = environment_dict()
    lines = [f"SpikeView {env['spikeview']} on Python {env['python']} ({env['platform']})"]
    if env["frozen"]:
        lines.append("running from a frozen bundle")
    lines.append("packages: " + ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v))
    missing = [k for k, v in env["packages"].items() if not v]
    if missing:
        lines.append("not installed: " + ", ".join(missing))
    lines.append("devices:")
    for d in env["devices"]:
        lines.append(f"  {d['name']:<5} {'yes' if d['available'] else 'no ':<3}  {d['detail']}")
    lines.append("backends (what runs a model; why not, if unavailable):")
    for b in env["backends"]:
        runs = f"runs {b['model_format']}, {b['numerics']}" + (f", tiles <= {b['max_tile']}" if b["max_tile"] else "")
        lines.append(f"  {b['name']:<5} {'yes' if b['available'] else 'no ':<3}  {b['reason']} [{b['kind']}; {runs}]")
    lines.append(f"models (default: {env['default_model'] or 'none'}):")
    if not env["models"]:
        lines.append("  none found")
    for m in env["models"]:
        where = "shipped" if m["shipped"] else "imported"
        flag = "" if m["exists"] else "  [file missing]"
        twin = f", twin {m['twin']}" if m["twin"] else ""
        lines.append(f"  {m['name']:<24} {m['task']}, {where}{twin}{flag}")
    lines.append("paths:")
    for key, value in env["paths"].items():
        lines.append(f"  {key:<12} {value}")
    return "\n".join(lines)
