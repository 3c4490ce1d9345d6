"""Write paired (degraded, clean) image folders from a folder of clean photos.

Backs ``spikeview synth`` and the data recipe in ``resources/configs/DATA.md``. Output:
``OUT/input/NAME.png`` (rainy or noisy) and ``OUT/target/NAME.png`` (clean), same names,
which :func:`spikeview.training.datasets.find_pairs` reads back.

Each output's randomness is seeded by ``(seed, crc32(relative source path), variant)``,
so adding or removing photos does not change the other pairs. numpy/OpenCV only.
"""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from spikeview.errors import ConfigError
from spikeview.media.images import list_images, read_image, write_image
from spikeview.progress import CancelToken, ProgressCallback, check_cancel, report
from spikeview.training.rain import PRESET_NAMES, add_gaussian_noise, render_rain, sample_params

__all__ = ["SYNTH_PRESETS", "SynthResult", "degrade", "synthesize_folder"]

log = logging.getLogger(__name__)

NOISE_PRESETS: dict[str, float] = {"noise15": 15.0, "noise25": 25.0, "noise50": 50.0}
#: Names accepted by :func:`degrade` / ``spikeview synth --preset``.
SYNTH_PRESETS: tuple[str, ...] = (*PRESET_NAMES, *NOISE_PRESETS)


@dataclass(frozen=True)
class SynthResult:
    pairs: list[tuple[Path, Path]]
    """(input, target) paths written."""
    sources: int
    """Clean images found."""


def degrade(clean: np.ndarray, preset: str, rng: np.random.Generator) -> np.ndarray:
    """Apply ``preset`` (a rain preset or ``noiseNN``) to an HWC image; same dtype and shape."""
    if preset in NOISE_PRESETS:
        return add_gaussian_noise(clean, NOISE_PRESETS[preset], seed=int(rng.integers(2**63)))
    if preset in PRESET_NAMES:
        params = sample_params(preset, rng)
        return render_rain(clean, params, seed=int(rng.integers(2**63)))
    raise ConfigError(f"Unknown synthesis preset {preset!r} (choose from {', '.join(SYNTH_PRESETS)})")


def _resize_max_side(img: np.ndarray, max_side: int | None) -> np.ndarray:
    h, w = img.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return img
    scale = max_side / max(h, w)
    return cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def _crop(img: np.ndarray, size: int | None, rng: np.random.Generator) -> np.ndarray:
    if not size:
        return img
    h, w = img.shape[:2]
    if min(h, w) < size:
        # Shrink so the short side fits, rather than padding with invented content.
        scale = size / min(h, w)
        img = cv2.resize(img, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=cv2.INTER_CUBIC)
        h, w = img.shape[:2]
    y = int(rng.integers(0, h - size + 1))
    x = int(rng.integers(0, w - size + 1))
    return np.ascontiguousarray(img[y : y + size, x : x + size])


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def synthesize_folder(
    clean_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    preset: str,
    *,
    seed: int = 0,
    max_side: int | None = None,
    crop: int | None = None,
    count: int | None = None,
    recursive: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> SynthResult:
    """Degrade every clean image of ``clean_dir`` into ``out_dir/{input,target}/NAME.png``.

    ``max_side`` shrinks each photo (area filter) first; ``crop`` then takes a seeded random
    square crop of that size. ``count`` is the number of pairs: fewer than the photos takes
    the first ones in name order, more cycles through them with new rain (``NAME_v2.png``...).
    Images in ``out_dir`` are never read as sources nor overwritten if they are sources.

    Raises:
        ConfigError: unknown preset, no images, bad sizes/count.
        ImageReadError / ImageWriteError: unreadable source, unwritable output.
    """
    if preset not in SYNTH_PRESETS:
        raise ConfigError(f"Unknown synthesis preset {preset!r} (choose from {', '.join(SYNTH_PRESETS)})")
    for name, value in (("max side", max_side), ("crop", crop), ("count", count)):
        if value is not None and value < 1:
            raise ConfigError(f"The {name} must be a positive number, got {value}")
    src_root = Path(clean_dir)
    out_root = Path(out_dir)
    sources = [p for p in list_images(src_root, recursive=recursive) if not _is_inside(p, out_root)]
    if not sources:
        raise ConfigError(f"No images found in {src_root}")
    total = count if count is not None else len(sources)

    names: dict[Path, str] = {}
    used: set[str] = set()
    for p in sources:
        stem = p.stem
        name, n = stem, 1
        while name.lower() in used:
            n += 1
            name = f"{stem}_{n}"
        used.add(name.lower())
        names[p] = name

    pairs: list[tuple[Path, Path]] = []
    for i in range(total):
        check_cancel(cancel)
        src = sources[i % len(sources)]
        variant = i // len(sources)
        name = names[src] if variant == 0 else f"{names[src]}_v{variant + 1}"
        rel = src.relative_to(src_root).as_posix()
        rng = np.random.default_rng((seed & 0xFFFFFFFF, zlib.crc32(rel.encode("utf-8")), variant))
        report(progress, i, total, name)
        clean = _crop(_resize_max_side(read_image(src), max_side), crop, rng)
        degraded = degrade(clean, preset, rng)
        inp = write_image(out_root / "input" / f"{name}.png", degraded, protected=sources)
        tgt = write_image(out_root / "target" / f"{name}.png", clean, protected=sources)
        pairs.append((inp, tgt))
    report(progress, total, total, "done")
    log.info("wrote %d %s pairs to %s", len(pairs), preset, out_root)
    return SynthResult(pairs=pairs, sources=len(sources))
