"""Persistent UI settings: a QSettings (INI) file with one ``DEFAULTS`` dict.

Every key the app stores is listed in :data:`DEFAULTS`, whose value also fixes the type a
read returns. The file lives in the user config folder; ``SPIKEVIEW_SETTINGS`` or the
``path`` argument override it (tests point it into ``tmp_path``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

log = logging.getLogger(__name__)

DEFAULTS: dict[str, Any] = {
    "theme": "dark",  # dark | light
    "model": "",  # catalog name; "" = the shipped default
    "twin": "",  # "" = the model's own twin, "(none)" = no ANN twin
    "device": "auto",
    "tile": -1,  # -1 = automatic, 0 = whole image, else tile side in px
    "ensemble": 1,  # self-ensemble copies per image: 1 (off), 2 or 4
    "view_mode": "side",  # side | split | diff
    "energy_preset": "45nm-fp32",
    "auto_run": True,  # restore an image as soon as it is selected
    "last_open_dir": "",
    "last_folder_dir": "",
    "last_output_dir": "",
    "recent_files": [],
    "geometry": QByteArray(),
    "window_state": QByteArray(),
}
MAX_RECENT = 10


def default_path() -> Path:
    override = os.environ.get("SPIKEVIEW_SETTINGS")
    if override:
        return Path(override)
    from spikeview.paths import user_config_dir

    return user_config_dir() / "spikeview-gui.ini"


class Settings:
    """Typed get/set over one INI file; unknown keys are an error (typos fail loudly)."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path else default_path()
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def get(self, key: str) -> Any:
        default = DEFAULTS[key]
        raw = self._qs.value(key, default)
        try:
            if isinstance(default, bool):
                return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes")
            if isinstance(default, int):
                return int(raw)
            if isinstance(default, list):
                if raw is None or raw == "":
                    return []
                return [str(v) for v in raw] if isinstance(raw, (list, tuple)) else [str(raw)]
            if isinstance(default, QByteArray):
                return raw if isinstance(raw, QByteArray) else QByteArray()
            return str(raw)
        except (TypeError, ValueError):
            log.warning("settings: bad value %r for %s, using the default", raw, key)
            return default

    def set(self, key: str, value: Any) -> None:
        if key not in DEFAULTS:
            raise KeyError(f"unknown setting {key!r}")
        self._qs.setValue(key, value)

    def update(self, **values: Any) -> None:
        for key, value in values.items():
            self.set(key, value)

    def add_recent(self, path: str | os.PathLike) -> list[str]:
        entry = str(Path(path))
        recent = [p for p in self.get("recent_files") if p != entry]
        recent.insert(0, entry)
        recent = recent[:MAX_RECENT]
        self.set("recent_files", recent)
        return recent

    def reset(self) -> None:
        self._qs.clear()

    def sync(self) -> None:
        self._qs.sync()
