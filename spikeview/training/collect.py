"""Build clean-photo folders for training/evaluation from wallpaper packages and the like.

Used by the recipe in ``resources/configs/DATA.md``. The choice of *which* files are
photos is an explicit list in that recipe (checked by eye: colour-count or flatness
heuristics mistake soft abstract wallpapers for photos and vice versa); this module only
does the mechanical part: pick the largest rendition of a KDE-style wallpaper, refuse
vector/tiny files, drop near-duplicates (perceptual hash), shrink to a maximum side and
write PNGs, and split off a validation subset. numpy/OpenCV only.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from spikeview.errors import ConfigError, ImageReadError
from spikeview.media.images import IMAGE_EXTENSIONS, read_image, write_image

__all__ = ["collect_photos", "difference_hash", "largest_rendition", "split_holdout"]

log = logging.getLogger(__name__)

_RESOLUTION_STEM = re.compile(r"^\d+x\d+$")


def largest_rendition(wallpaper_dir: str | os.PathLike[str]) -> Path:
    """The largest image of a KDE-style wallpaper folder (``NAME/contents/images/WxH.jpg``)."""
    folder = Path(wallpaper_dir)
    images = folder / "contents" / "images"
    candidates = [p for p in images.glob("*") if p.suffix.lower() in IMAGE_EXTENSIONS] if images.is_dir() else []
    sized = []
    for p in candidates:
        m = re.match(r"^(\d+)x(\d+)$", p.stem)
        if m:
            sized.append((int(m.group(1)) * int(m.group(2)), p.name, p))
    if not sized:
        raise ConfigError(f"No WxH images in {images}")
    return max(sized)[2]


def difference_hash(rgb: np.ndarray, size: int = 8) -> int:
    """64-bit perceptual hash (horizontal gradient signs of an 9×8 grey thumbnail)."""
    grey = cv2.cvtColor(rgb if rgb.dtype == np.uint8 else (rgb >> 8).astype(np.uint8), cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (size + 1, size), interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).flatten()
    return int(sum(1 << i for i, b in enumerate(bits) if b))


def _output_name(path: Path) -> str:
    stem = path.stem
    if _RESOLUTION_STEM.match(stem) and path.parent.name == "images" and path.parent.parent.name == "contents":
        stem = path.parent.parent.parent.name  # KDE wallpaper: use the wallpaper's name
    return re.sub(r"[^A-Za-z0-9_-]+", "_", stem).strip("_").lower() or "image"


def _shrink(img: np.ndarray, max_side: int | None) -> np.ndarray:
    h, w = img.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return img
    scale = max_side / max(h, w)
    return cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)


def collect_photos(
    sources: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str],
    *,
    max_side: int | None = 1024,
    min_side: int = 480,
    max_hash_distance: int = 6,
    prefix: str = "",
) -> list[Path]:
    """Copy photos into ``out_dir`` as ``PREFIXNAME.png``, shrunk to ``max_side``, as 8-bit RGB.

    Skipped (and logged): non-raster files (SVG, XML...), unreadable files, images whose
    short side is below ``min_side``, and near-duplicates of an image already kept
    (difference hash within ``max_hash_distance`` bits: the same picture at another size
    or a light/dark variant). Sources are processed in the given order, so put the
    preferred (largest) rendition first. Returns the files written.
    """
    out = Path(out_dir)
    kept_hashes: list[int] = []
    written: list[Path] = []
    used: set[str] = {p.stem for p in out.glob("*.png")} if out.is_dir() else set()
    for src in map(Path, sources):
        if src.suffix.lower() not in IMAGE_EXTENSIONS:
            log.info("skip %s: not a raster image", src)
            continue
        try:
            img = read_image(src)
        except ImageReadError as exc:
            log.info("skip %s: %s", src, exc)
            continue
        if min(img.shape[:2]) < min_side:
            log.info("skip %s: too small (%dx%d)", src, img.shape[1], img.shape[0])
            continue
        if img.dtype != np.uint8:
            img = np.rint(img.astype(np.float32) / 257.0).astype(np.uint8)
        h = difference_hash(img)
        if any(bin(h ^ k).count("1") <= max_hash_distance for k in kept_hashes):
            log.info("skip %s: near-duplicate of an image already collected", src)
            continue
        name = prefix + _output_name(src)
        base, n = name, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        written.append(write_image(out / f"{name}.png", _shrink(img, max_side), protected=[src]))
        kept_hashes.append(h)
    return written


def split_holdout(
    folder: str | os.PathLike[str],
    holdout_dir: str | os.PathLike[str],
    fraction: float = 0.1,
    seed: int = 0,
) -> list[Path]:
    """Move a seeded random ``fraction`` (at least one file) of ``folder``'s PNGs to ``holdout_dir``."""
    src = Path(folder)
    files = sorted(src.glob("*.png"))
    if len(files) < 2:
        raise ConfigError(f"Need at least two images in {src} to hold some out")
    n = max(1, round(len(files) * fraction))
    rng = np.random.default_rng(seed)
    chosen = sorted(files[i] for i in rng.choice(len(files), size=n, replace=False))
    dest = Path(holdout_dir)
    dest.mkdir(parents=True, exist_ok=True)
    moved = []
    for p in chosen:
        target = dest / p.name
        if target.exists():
            raise ConfigError(f"{target} already exists")
        shutil.move(str(p), target)
        moved.append(target)
    return moved
