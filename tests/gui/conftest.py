"""GUI fixtures: offscreen Qt, isolated user folders, tiny real models, small sample images.

Every test gets its own settings file and user folders (XDG_*), so nothing touches the
developer's real settings, logs or imported models.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"

import spikeview.gui  # noqa: F401  (applies the PySide6 refcount guard before Qt is used)

TINY = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4}


def _scene(h: int, w: int, seed: int, rain: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([120 + 80 * np.sin(x / 9 + seed), 100 + 60 * np.cos(y / 7), 90 + 50 * np.sin((x + y) / 13)], -1)
    if rain:
        for _ in range(h * w // 60):
            yy, xx = rng.integers(0, h), rng.integers(0, w)
            img[yy : yy + 4, xx] += 80
    return img.clip(0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def gui_models(tmp_path_factory) -> Path:
    """Two tiny random-weight SNNs (one with a twin and a card) and an ANN twin."""
    import torch

    from spikeview.archs import build_arch
    from spikeview.checkpoints import save_checkpoint

    folder = tmp_path_factory.mktemp("gui-models")
    torch.manual_seed(0)
    save_checkpoint(folder / "snn_a.pt", build_arch("esdnet", **TINY), "esdnet", TINY,
                    metrics={"psnr": 31.5, "ssim": 0.91})
    save_checkpoint(folder / "snn_b.pt", build_arch("esdnet", **{**TINY, "T": 2}), "esdnet", {**TINY, "T": 2})
    save_checkpoint(folder / "ann.pt", build_arch("esdnet_ann", **TINY), "esdnet_ann", TINY)
    (folder / "snn_a.md").write_text("# Tiny SNN A\n\nRandom weights, for tests only.\n", encoding="utf-8")
    manifest = {
        "default": "tiny-snn",
        "models": {
            "tiny-snn": {"file": "snn_a.pt", "card": "snn_a.md", "twin": "tiny-ann", "task": "derain"},
            "tiny-snn-t2": {"file": "snn_b.pt", "twin": "tiny-ann", "task": "derain"},
            "tiny-ann": {"file": "ann.pt", "task": "derain"},
        },
    }
    (folder / "MANIFEST.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def gui_samples(tmp_path_factory) -> Path:
    """resources/samples stand-in: a rain/clean pair and one unpaired rainy image."""
    from spikeview.media.images import write_image

    root = tmp_path_factory.mktemp("gui-resources")
    samples = root / "samples"
    samples.mkdir()
    write_image(samples / "scene_rain.png", _scene(48, 64, 1, rain=True))
    write_image(samples / "scene_clean.png", _scene(48, 64, 1, rain=False))
    write_image(samples / "street_rain.png", _scene(40, 56, 2, rain=True))
    return root


@pytest.fixture
def image_folder(tmp_path) -> Path:
    """A folder tree of small rainy images for batch tests."""
    from spikeview.media.images import write_image

    folder = tmp_path / "batch-in"
    (folder / "sub").mkdir(parents=True)
    for i in range(10):
        write_image((folder / "sub" if i % 2 else folder) / f"img{i:02d}.png", _scene(64, 64, i, rain=True))
    return folder


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch, gui_models, gui_samples):
    monkeypatch.setenv("SPIKEVIEW_MODELS", str(gui_models))
    monkeypatch.setenv("SPIKEVIEW_RESOURCES", str(gui_samples))
    monkeypatch.setenv("SPIKEVIEW_SETTINGS", str(tmp_path / "settings.ini"))
    for var in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major")


@pytest.fixture
def make_window(qtbot, tmp_path):
    """``make_window(settings_path=None, wait_loaded=True)`` → a shown MainWindow (closed at teardown)."""
    from spikeview.gui.main_window import MainWindow
    from spikeview.gui.settings import Settings

    windows = []

    def make(settings_path: Path | None = None, wait_loaded: bool = True, auto_run: bool = False):
        settings = Settings(settings_path or tmp_path / "settings.ini")
        if settings_path is None:
            settings.set("auto_run", auto_run)
        window = MainWindow(settings)
        qtbot.addWidget(window)
        windows.append(window)
        window.show()
        if wait_loaded:
            with qtbot.waitSignal(window.controller.modelsLoaded, timeout=60_000):
                pass
        return window

    yield make
    for w in windows:
        if w.isVisible():
            w.close()
        w.controller.shutdown()


@pytest.fixture
def write_test_video():
    """``write_test_video(path, frames, size)``: a tiny real MP4 (mp4v) of rainy frames."""
    return _write_test_video


def _write_test_video(path: Path, frames: int = 6, size: tuple[int, int] = (64, 48)) -> Path:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(cv2.cvtColor(_scene(size[1], size[0], i, rain=True), cv2.COLOR_RGB2BGR))
    writer.release()
    return path
