"""Find the ground truth that belongs to a rainy image (no Qt, no torch).

Conventions recognised, first match wins:

- same folder, ``<name>_rain.<ext>`` ↔ ``<name>_clean.<any image ext>`` (bundled samples;
  also ``-rain``/``-clean`` and ``_rainy``);
- dataset layout ``.../rain/<file>`` ↔ ``.../norain|clean|gt|target/<file>`` (Rain100L/H style).
"""

from __future__ import annotations

from pathlib import Path

from spikeview.media.images import IMAGE_EXTENSIONS

_RAIN_SUFFIXES = ("_rain", "-rain", "_rainy", "-rainy")
_CLEAN_SUFFIXES = ("_clean", "-clean", "_gt", "_norain")
_CLEAN_FOLDERS = ("norain", "clean", "gt", "target", "groundtruth")


def _with_any_ext(stem_path: Path) -> Path | None:
    for ext in (stem_path.suffix, *IMAGE_EXTENSIONS):
        candidate = stem_path.with_suffix(ext) if ext else stem_path
        if candidate.is_file():
            return candidate
    return None


def find_ground_truth(path: str | Path) -> Path | None:
    """The clean counterpart of ``path`` if one exists next to it, else None."""
    source = Path(path)
    stem = source.stem
    for rain in _RAIN_SUFFIXES:
        if stem.lower().endswith(rain):
            base = stem[: -len(rain)]
            for clean in _CLEAN_SUFFIXES:
                found = _with_any_ext(source.with_name(base + clean + source.suffix))
                if found is not None and found != source:
                    return found
    parent = source.parent
    if parent.name.lower() in ("rain", "rainy", "input", "data"):
        for folder in _CLEAN_FOLDERS:
            found = _with_any_ext(parent.parent / folder / source.name)
            if found is not None:
                return found
    return None


def hide_ground_truths(files: list[Path]) -> list[Path]:
    """``files`` without the clean halves of rain/clean pairs that are both in the list.

    Works on names only (no file-system calls), so it stays fast for big folders.
    """
    by_stem: dict[tuple[Path, str], Path] = {(f.parent, f.stem.lower()): f for f in files}
    shown = []
    for f in files:
        stem = f.stem.lower()
        clean = next((c for c in _CLEAN_SUFFIXES if stem.endswith(c)), None)
        if clean is not None:
            base = stem[: -len(clean)]
            if any((f.parent, base + rain) in by_stem for rain in _RAIN_SUFFIXES):
                continue
        shown.append(f)
    return shown


def is_ground_truth(path: str | Path) -> bool:
    """True for files that look like the clean half of a pair (hidden from the sample list)."""
    stem = Path(path).stem.lower()
    return any(stem.endswith(s) for s in _CLEAN_SUFFIXES)
