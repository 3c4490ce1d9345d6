"""Helpers shared by CLI commands: model options, loading, a progress line on stderr."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from spikeview.inference.ensemble import COPIES


def add_model_options(parser: argparse.ArgumentParser, *, device: bool = True, tiling: bool = True) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--model", metavar="NAME", help="shipped or imported model name (default: the shipped default)")
    group.add_argument("--checkpoint", metavar="FILE", help="a SpikeView checkpoint file (.pt)")
    parser.add_argument(
        "--official",
        metavar="ARCH",
        help="treat --checkpoint as an official state_dict of this architecture (e.g. esdnet)",
    )
    if device:
        parser.add_argument("--device", default="auto", help="auto | cpu | cuda | mps (default: auto)")
    if tiling:
        parser.add_argument(
            "--tile",
            type=int,
            default=None,
            help="tile size in pixels (default: automatic under the memory cap; 0 = whole image)",
        )
        parser.add_argument("--tile-overlap", type=int, default=32, help="tile overlap in pixels (default: 32)")
        parser.add_argument("--max-memory", type=int, default=3072, help="activation memory cap in MB (default: 3072)")
        parser.add_argument(
            "--ensemble",
            type=int,
            default=1,
            choices=COPIES,
            help="self-ensemble: average N mirrored passes (2: left-right, 4: and upside down); "
            "N times the time and energy; measured with the default model: 2 gives +0.6 dB on light and +0.3 dB "
            "on heavy rain, 4 gives +0.7 dB on light rain only (default: 1, off)",
        )


def load_restorer(args: argparse.Namespace, **overrides: Any):
    """Build the Restorer the options ask for."""
    from spikeview.errors import SpikeViewError
    from spikeview.inference.restorer import Restorer

    kwargs: dict[str, Any] = {"device": getattr(args, "device", "auto")}
    if hasattr(args, "tile"):
        kwargs.update(tile=args.tile, overlap=args.tile_overlap, max_memory_mb=args.max_memory, ensemble=args.ensemble)
    kwargs.update(overrides)
    if getattr(args, "official", None):
        if not args.checkpoint:
            raise SpikeViewError("--official needs --checkpoint FILE")
        return Restorer.from_official(args.official, args.checkpoint, **kwargs)
    return Restorer.from_name_or_path(args.checkpoint or args.model, **kwargs)


class ProgressLine:
    """``done/total`` with rate and ETA on one stderr line (plain lines when not a TTY)."""

    def __init__(self, label: str, stream=None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.tty = self.stream.isatty()
        self._last_len = 0

    def __call__(self, done: int, total: int, message: str = "") -> None:
        elapsed = time.perf_counter() - self.start
        eta = elapsed / done * (total - done) if done else 0.0
        text = f"{self.label} {done}/{total} [{elapsed:5.1f}s elapsed, ETA {eta:5.1f}s] {message}"
        if self.tty:
            pad = max(0, self._last_len - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._last_len = len(text)
            if done >= total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def parse_size(text: str) -> tuple[int, int]:
    """``"256"`` or ``"240x320"`` (height x width) → (height, width)."""
    from spikeview.errors import ConfigError

    parts = text.lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"bad size '{text}': use HxW, e.g. 256x256") from None
    if len(values) == 1:
        values *= 2
    if len(values) != 2 or min(values) < 8:
        raise ConfigError(f"bad size '{text}': use HxW with sides of at least 8 pixels")
    return values[0], values[1]


def twin_restorer(restorer, *, untrained_ok: bool, **kwargs: Any):
    """The ANN twin of ``restorer``'s model: its shipped twin weights if the catalog names one,
    else (when ``untrained_ok``, for operation counts and timing only) the twin architecture
    with random weights. Returns ``(twin, trained)`` or ``(None, False)``."""
    from spikeview.archs import build_arch, twin_of
    from spikeview.inference.restorer import Restorer

    info = restorer.info
    kwargs.setdefault("device", str(restorer.device))
    if info.twin:
        return Restorer.from_name_or_path(info.twin, **kwargs), True
    twin_arch = twin_of(info.arch)
    if twin_arch is None or not untrained_ok:
        return None, False
    model = build_arch(twin_arch, **info.arch_kwargs)
    return Restorer.from_model(model, twin_arch, info.arch_kwargs, name=f"{twin_arch} (untrained)", **kwargs), False


def sample_image(size: tuple[int, int] | None = None, path: str | None = None):
    """An RGB image to measure on: ``path``, else the first bundled rainy sample; resized to ``size``."""
    import cv2

    from spikeview.errors import ImageReadError
    from spikeview.media.images import list_images, read_image
    from spikeview.paths import samples_dir

    if path is None:
        candidates = [p for p in list_images(samples_dir()) if "rain" in p.stem] if samples_dir().is_dir() else []
        if not candidates:
            raise ImageReadError(f"no bundled samples in {samples_dir()}; pass --input IMAGE")
        path = str(candidates[0])
    image = read_image(path)
    if size is not None and image.shape[:2] != size:
        image = cv2.resize(image, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    return image
