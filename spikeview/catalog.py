"""Which trained models exist: the shipped ones in ``models/`` and those a user imported.

Shipped models are listed in ``models/MANIFEST.json`` (written by hand when weights are
exported; no folder scanning of code). Each entry names its checkpoint, model card and
ANN twin::

    {"default": "esdnet-s-rain",
     "models": {"esdnet-s-rain": {"file": "esdnet_s_rain.pt", "card": "esdnet_s_rain.md",
                                  "twin": "esdnet-s-ann-rain", "task": "derain"}, ...}}

A derainer trained on some rain presets only carries ``"rain": ["heavy"]`` (a specialist: the
heavy-rain model smooths light-rain photos below their input quality); no ``rain`` key means
it was made for any rain.

User-imported checkpoints are copied to the user data folder and listed by file name.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from spikeview.errors import ModelNotFoundError
from spikeview.paths import models_dir, user_models_dir

log = logging.getLogger(__name__)

MANIFEST_NAME = "MANIFEST.json"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    path: Path
    task: str
    twin: str | None
    card: Path | None
    shipped: bool
    rain: tuple[str, ...] = ()  # rain presets a specialist derainer is for; () = any


def _read_manifest(folder: Path) -> dict:
    manifest = folder / MANIFEST_NAME
    if not manifest.is_file():
        return {}
    try:
        return json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("ignoring unreadable %s: %s", manifest, exc)
        return {}


def list_models(include_user: bool = True) -> list[CatalogEntry]:
    """The default model first, the other shipped models in manifest order, then imported ones
    (pickers that start on their first entry thus start on the default)."""
    folder = models_dir()
    manifest = _read_manifest(folder)
    shipped = manifest.get("models", {})
    default = manifest.get("default")
    order = ([default] if default in shipped else []) + [n for n in shipped if n != default]
    entries = []
    for name in order:
        meta = shipped[name]
        card = meta.get("card")
        entries.append(
            CatalogEntry(
                name=name,
                path=folder / meta["file"],
                task=meta.get("task", "derain"),
                twin=meta.get("twin"),
                card=folder / card if card else None,
                shipped=True,
                rain=tuple(meta.get("rain", ())),
            )
        )
    if include_user:
        user_dir = user_models_dir()
        if user_dir.is_dir():
            for path in sorted(user_dir.glob("*.pt")) + sorted(user_dir.glob("*.pth")):
                entries.append(CatalogEntry(path.stem, path, "derain", None, None, shipped=False))
    return entries


def default_model_name() -> str | None:
    return _read_manifest(models_dir()).get("default")


def find_model(name: str) -> CatalogEntry:
    for entry in list_models():
        if entry.name == name:
            return entry
    known = ", ".join(e.name for e in list_models()) or "none shipped"
    raise ModelNotFoundError(f"no model named '{name}' (known: {known}); pass a checkpoint file with --checkpoint")


def resolve_model(name_or_path: str | Path | None) -> tuple[Path, CatalogEntry | None]:
    """A checkpoint path for a catalog name, an existing file, or the default model (``None``)."""
    if name_or_path is None:
        name = default_model_name()
        if name is None:
            raise ModelNotFoundError(
                f"no default model: {models_dir() / MANIFEST_NAME} is missing; pass --checkpoint FILE"
            )
        entry = find_model(name)
        return entry.path, entry
    candidate = Path(name_or_path)
    if candidate.suffix in (".pt", ".pth", ".ckpt") or candidate.exists():
        return candidate, None
    entry = find_model(str(name_or_path))
    return entry.path, entry
