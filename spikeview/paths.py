"""Where SpikeView finds its bundled files and keeps user files.

In a source checkout ``resources/`` and ``models/`` sit next to the ``spikeview``
package; in a PyInstaller bundle they sit under ``sys._MEIPASS``. Environment variables
``SPIKEVIEW_RESOURCES`` and ``SPIKEVIEW_MODELS`` override both (used by tests and by
users who keep weights elsewhere).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "SpikeView"
APP_AUTHOR = "SpikeView"


def _install_root() -> Path:
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    return Path(__file__).resolve().parent.parent


def resource_dir() -> Path:
    """Folder of bundled assets (samples, icons, style sheets, example configs)."""
    override = os.environ.get("SPIKEVIEW_RESOURCES")
    return Path(override) if override else _install_root() / "resources"


def models_dir() -> Path:
    """Folder of shipped weights (``*.pt`` self-describing checkpoints + cards)."""
    override = os.environ.get("SPIKEVIEW_MODELS")
    return Path(override) if override else _install_root() / "models"


def samples_dir() -> Path:
    """Bundled rainy/clean sample pairs used by the demo and the GUI's first start."""
    return resource_dir() / "samples"


def user_config_dir() -> Path:
    from platformdirs import user_config_dir as _dir

    return Path(_dir(APP_NAME, APP_AUTHOR))


def user_log_dir() -> Path:
    from platformdirs import user_log_dir as _dir

    return Path(_dir(APP_NAME, APP_AUTHOR))


def user_models_dir() -> Path:
    """Where checkpoints a user imports in the GUI are copied to."""
    from platformdirs import user_data_dir as _dir

    return Path(_dir(APP_NAME, APP_AUTHOR)) / "models"
