"""Training and evaluation datasets: paired folders and on-the-fly synthetic degradations.

Every dataset item is ``(input, target)``: two float32 torch tensors, layout CHW (3, H, W),
range [0, 1]. Randomness (crop position, flips, rain parameters, noise) comes from
``numpy.random.default_rng((seed, epoch, index))``, so an item is the same whatever the
worker or the order it is fetched in; call :meth:`set_epoch` to get new crops/rain in
the next epoch (with DataLoader workers, before creating the iterator).

:func:`find_pairs` understands the layouts of the public deraining benchmarks:

- ``input/`` + ``target/`` with identical names (Rain13K, MPRNet/Restormer test sets
  Rain100L/H, Test1200, Test2800, Rain1200 as redistributed) and the variants
  ``rain/``+``norain/``, ``rainy/``+``gt/``, ``data/``+``gt/``, ``inp/``+``tar/``,
  ``rainy_image/``+``ground_truth/`` (Rain1400, ``1_3.jpg`` -> ``1.jpg``);
- Rain100L/H and Rain200L/H as released by JORDER: ``rain/X2/norain-12x2.png`` ->
  ``norain/norain-12.png``;
- PReNet's copies: ``rainy/rain-12.png`` -> ``norain-12.png`` one level up, and
  ``rain-12.png`` + ``norain-12.png`` in one folder (RainTrainL/H);
- Rain12-style ``12_in.png`` + ``12_GT.png`` and ``12_rain.png`` + ``12_clean.png``.

The side-by-side ``[rainy | clean]`` JPEGs of the original DID-MDN (Rain1200) release
are not split here; use a copy with separate folders.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from spikeview.errors import ConfigError
from spikeview.media.convert import image_to_float_hwc
from spikeview.media.images import IMAGE_EXTENSIONS, read_image
from spikeview.training.rain import PRESET_NAMES, add_gaussian_noise, render_rain, sample_params

__all__ = [
    "PairedImageDataset",
    "SyntheticNoiseDataset",
    "SyntheticRainDataset",
    "find_pairs",
    "load_clean_image",
]

log = logging.getLogger(__name__)

# Folder names (lower case) that mark degraded inputs / clean targets.
_INPUT_DIRS = frozenset(
    {"rain", "rainy", "input", "inputs", "inp", "data", "in", "lq", "low", "rainy_image", "rain_image",
     "rain_images", "rainy_images", "noisy", "degraded"}
)
_TARGET_DIRS = frozenset(
    {"norain", "gt", "target", "targets", "tar", "clean", "groundtruth", "ground_truth", "gt_image", "label",
     "labels", "hq", "high", "norain_image", "clean_images"}
)
# File-name tokens (lower case) that mark inputs / targets when no folder says so.
_INPUT_TOKENS = frozenset({"rain", "rainy", "in", "input", "inp", "lq", "noisy", "degraded"})
_TARGET_TOKENS = frozenset({"norain", "clean", "gt", "target", "tar", "groundtruth", "label", "hq"})
_ROLE_TOKENS = _INPUT_TOKENS | _TARGET_TOKENS
_SCALE_TOKEN = re.compile(r"^(.*\d)x\d$")  # "12x2" (JORDER's Rain100/200 inputs) -> "12"
_SPLIT = re.compile(r"[-_. ]+")


def _tokens(stem: str) -> list[str]:
    return [t for t in _SPLIT.split(stem.lower()) if t]


def _key(stem: str) -> tuple[str, ...]:
    """Name key shared by an input and its target: role words and ``x2`` dropped, numbers unpadded."""
    out = []
    for tok in _tokens(stem):
        if tok in _ROLE_TOKENS:
            continue
        m = _SCALE_TOKEN.match(tok)
        if m:
            tok = m.group(1)
        out.append(str(int(tok)) if tok.isdigit() else tok)
    return tuple(out)


def _role(rel: Path) -> tuple[str | None, tuple[str, ...]]:
    """(``"input"``/``"target"``/None, group) of a file path relative to the root.

    The deepest folder with a role name decides, and the group is the folders above it
    (so ``train/rain/X2/a.png`` and ``train/norain/a.png`` share the group ``train``).
    Without such a folder the file name's tokens decide and the group is its folder.
    """
    parts = [p.lower() for p in rel.parts[:-1]]
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] in _INPUT_DIRS:
            return "input", tuple(parts[:i])
        if parts[i] in _TARGET_DIRS:
            return "target", tuple(parts[:i])
    toks = set(_tokens(rel.stem))
    # "norain" must win over "rain"-like tokens; a name with both kinds is ambiguous.
    is_target = bool(toks & _TARGET_TOKENS)
    is_input = bool(toks & _INPUT_TOKENS)
    if is_target and not is_input:
        return "target", tuple(parts)
    if is_input and not is_target:
        return "input", tuple(parts)
    return None, tuple(parts)


def _natural(path: Path) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(path).lower())]


def _walk_images(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath, name))
    return found


def find_pairs(root: str | os.PathLike[str]) -> list[tuple[Path, Path]]:
    """All (degraded input, clean target) image pairs under ``root``, in natural name order.

    Several inputs may share one target (Rain1400 has 14 rainy versions of each photo);
    targets without an input are ignored.

    Raises:
        ConfigError: ``root`` is not a folder, no pairs are found, some inputs have no
            target, or one input matches several targets.
    """
    root_path = Path(root)
    if not root_path.is_dir():
        what = "is not a folder" if root_path.exists() else "does not exist"
        raise ConfigError(f"Cannot find image pairs in {root_path}: it {what}")
    inputs: list[tuple[tuple[str, ...], tuple[str, ...], Path]] = []
    targets: dict[tuple[tuple[str, ...], tuple[str, ...]], list[Path]] = {}
    for path in _walk_images(root_path):
        rel = path.relative_to(root_path)
        role, group = _role(rel)
        if role == "input":
            inputs.append((group, _key(path.stem), path))
        elif role == "target":
            targets.setdefault((group, _key(path.stem)), []).append(path)
    layouts = "rain/+norain/, input/+target/, rainy/+gt/, data/+gt/, inp/+tar/ or rain-N/norain-N names"
    if not inputs:
        raise ConfigError(f"No input images found in {root_path} (expected {layouts})")
    if not targets:
        raise ConfigError(f"No target (clean) images found in {root_path} (expected {layouts})")

    pairs: list[tuple[Path, Path]] = []
    missing: list[Path] = []
    for group, key, path in inputs:
        found = targets.get((group, key))
        if found is None and len(key) > 1 and key[-1].isdigit():
            # Rain1400/Rain14000: "12_3" is the 3rd rainy version of "12".
            found = targets.get((group, key[:-1]))
        if found is None:
            missing.append(path)
        elif len(found) > 1:
            names = ", ".join(str(p.relative_to(root_path)) for p in sorted(found, key=_natural)[:3])
            raise ConfigError(f"Input {path.relative_to(root_path)} matches several targets: {names}")
        else:
            pairs.append((path, found[0]))
    if missing:
        missing.sort(key=_natural)
        examples = ", ".join(str(p.relative_to(root_path)) for p in missing[:3])
        if not pairs:
            raise ConfigError(
                f"No input image in {root_path} has a matching target (e.g. {examples}; expected {layouts})"
            )
        raise ConfigError(
            f"{len(missing)} of {len(inputs)} input images in {root_path} have no target, e.g. {examples}"
        )
    pairs.sort(key=lambda pair: _natural(pair[0]))
    return pairs


# --------------------------------------------------------------------------- image helpers


def load_clean_image(path: str | os.PathLike[str], max_side: int | None = None) -> np.ndarray:
    """Read ``path`` as float32 HWC RGB in [0, 1], shrunk (area filter) so no side exceeds ``max_side``."""
    img = image_to_float_hwc(read_image(path))
    return _limit_side(img, max_side)


def _limit_side(img: np.ndarray, max_side: int | None) -> np.ndarray:
    h, w = img.shape[:2]
    if max_side is None or max(h, w) <= max_side:
        return img
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _pad_to(img: np.ndarray, size: int) -> np.ndarray:
    """Reflect-pad HWC ``img`` so both sides are at least ``size``."""
    h, w = img.shape[:2]
    ph, pw = max(0, size - h), max(0, size - w)
    if ph == 0 and pw == 0:
        return img
    mode = "reflect" if min(h, w) > 1 else "edge"
    return np.pad(img, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)), mode=mode)


def _crop_box(h: int, w: int, size: int, rng: np.random.Generator) -> tuple[int, int]:
    return int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))


def _augment(arrays: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Same random flip / rot90 on every HWC array (rot90 only when square, to keep shapes)."""
    hflip, vflip = bool(rng.integers(2)), bool(rng.integers(2))
    k = int(rng.integers(4))
    out = []
    for a in arrays:
        if hflip:
            a = a[:, ::-1]
        if vflip:
            a = a[::-1]
        if k and a.shape[0] == a.shape[1]:
            a = np.rot90(a, k)
        out.append(a)
    return out


def _to_tensor(img: np.ndarray) -> torch.Tensor:
    """float HWC in [0, 1] -> contiguous float32 CHW tensor."""
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32))


class _SeededDataset(Dataset):
    """Per-item random generator seeded by (seed, epoch, index)."""

    seed: int
    epoch: int

    def set_epoch(self, epoch: int) -> None:
        """Use new random crops / degradations from now on (deterministic per epoch)."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng((int(self.seed) & 0xFFFFFFFF, self.epoch, int(index)))


# --------------------------------------------------------------------------- paired folders


class PairedImageDataset(_SeededDataset):
    """(input, target) pairs from files, e.g. the output of :func:`find_pairs`.

    ``patch_size``: random aligned crops of that size (images smaller than it are
    reflect-padded); ``None`` returns whole images (different sizes: use batch size 1).
    ``augment``: random flips and, for square crops, 90° rotations, the same on both.
    If the two files differ in size by a few pixels they are cropped to the common size.
    ``cache=True`` keeps decoded images in memory (only for small sets).
    """

    def __init__(
        self,
        pairs: Sequence[tuple[str | os.PathLike[str], str | os.PathLike[str]]],
        patch_size: int | None = None,
        augment: bool = False,
        seed: int = 0,
        *,
        cache: bool = False,
    ) -> None:
        if not pairs:
            raise ConfigError("PairedImageDataset needs at least one (input, target) pair")
        if patch_size is not None and patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}")
        self.pairs = [(Path(a), Path(b)) for a, b in pairs]
        self.patch_size = patch_size
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.cache = cache
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.pairs)

    def _load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index in self._cache:
            return self._cache[index]
        inp_path, tgt_path = self.pairs[index]
        inp = image_to_float_hwc(read_image(inp_path))
        tgt = image_to_float_hwc(read_image(tgt_path))
        if inp.shape != tgt.shape:
            h = min(inp.shape[0], tgt.shape[0])
            w = min(inp.shape[1], tgt.shape[1])
            if abs(inp.shape[0] - tgt.shape[0]) > 8 or abs(inp.shape[1] - tgt.shape[1]) > 8:
                raise ConfigError(
                    f"{inp_path.name} ({inp.shape[1]}x{inp.shape[0]}) and its target {tgt_path.name} "
                    f"({tgt.shape[1]}x{tgt.shape[0]}) differ in size"
                )
            inp, tgt = inp[:h, :w], tgt[:h, :w]
        if self.cache:
            self._cache[index] = (inp, tgt)
        return inp, tgt

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < len(self.pairs):
            raise IndexError(index)
        inp, tgt = self._load(index)
        rng = self._rng(index)
        if self.patch_size is not None:
            inp, tgt = _pad_to(inp, self.patch_size), _pad_to(tgt, self.patch_size)
            y, x = _crop_box(inp.shape[0], inp.shape[1], self.patch_size, rng)
            inp = inp[y : y + self.patch_size, x : x + self.patch_size]
            tgt = tgt[y : y + self.patch_size, x : x + self.patch_size]
        if self.augment:
            inp, tgt = _augment((inp, tgt), rng)
        return _to_tensor(inp), _to_tensor(tgt)


# --------------------------------------------------------------------------- synthetic


class _SyntheticDataset(_SeededDataset):
    """Random crops of a few clean photos (decoded once, kept in memory) + a degradation."""

    def __init__(
        self,
        clean_paths: Sequence[str | os.PathLike[str]],
        patch_size: int | None,
        length: int | None,
        seed: int,
        max_side: int | None,
        augment: bool,
        render_size: int | None = None,
    ) -> None:
        if not clean_paths:
            raise ConfigError("No clean images given for the synthetic dataset")
        if patch_size is not None and patch_size < 1:
            raise ValueError(f"patch_size must be positive, got {patch_size}")
        if render_size is not None and (patch_size is None or render_size < patch_size):
            raise ValueError(f"render_size ({render_size}) needs a patch_size no larger than it, got {patch_size}")
        self.clean_paths = [Path(p) for p in clean_paths]
        self.patch_size = patch_size
        self.length = int(length) if length is not None else 100 * len(self.clean_paths)
        if self.length < 1:
            raise ValueError(f"length must be positive, got {length}")
        self.seed = seed
        self.epoch = 0
        self.max_side = max_side
        self.augment = augment
        # Degradations whose structure spans the whole frame (the heavy preset's veil follows a
        # depth map of the rendered area) look different on a 64² crop than on a 512-px photo;
        # rendering on a larger crop and cutting the patch out of it keeps their scale.
        self.render_size = render_size
        self._images: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.length

    def _clean(self, i: int) -> np.ndarray:
        img = self._images.get(i)
        if img is None:
            img = load_clean_image(self.clean_paths[i], self.max_side)
            self._images[i] = img
        return img

    def _clean_crop(self, index: int, rng: np.random.Generator) -> np.ndarray:
        # Cycle through the photos so each one is used equally often.
        img = self._clean(index % len(self.clean_paths))
        size = self.render_size or self.patch_size
        if size is not None:
            img = _pad_to(img, size)
            y, x = _crop_box(img.shape[0], img.shape[1], size, rng)
            img = img[y : y + size, x : x + size]
        if self.augment:
            (img,) = _augment((img,), rng)
        return np.ascontiguousarray(img)

    def _degrade(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(index)
        rng = self._rng(index)
        clean = self._clean_crop(index, rng)
        degraded = self._degrade(clean, rng)
        if self.render_size is not None and self.patch_size is not None and self.render_size > self.patch_size:
            y, x = _crop_box(self.render_size, self.render_size, self.patch_size, rng)
            box = (slice(y, y + self.patch_size), slice(x, x + self.patch_size))
            clean, degraded = clean[box], degraded[box]
        return _to_tensor(degraded), _to_tensor(clean)


class SyntheticRainDataset(_SyntheticDataset):
    """Clean photo crops with rain rendered on the fly (crop first, then render: cheap).

    Each item picks a preset from ``presets`` and random :class:`~spikeview.training.rain.RainParams`
    within it. ``length`` defaults to 100 items per photo; photos are shrunk to
    ``max_side`` when loaded. With ``render_size`` the rain is rendered on a crop that large and
    the patch cut out of it, so the veil keeps the scale it has on whole photos. Deterministic
    per (seed, epoch, index).
    """

    def __init__(
        self,
        clean_paths: Sequence[str | os.PathLike[str]],
        presets: Sequence[str] = ("light", "heavy"),
        patch_size: int | None = 64,
        length: int | None = None,
        seed: int = 0,
        *,
        max_side: int | None = 1024,
        augment: bool = True,
        render_size: int | None = None,
    ) -> None:
        super().__init__(clean_paths, patch_size, length, seed, max_side, augment, render_size)
        self.presets = tuple(presets)
        if not self.presets:
            raise ConfigError("SyntheticRainDataset needs at least one rain preset")
        unknown = [p for p in self.presets if p not in PRESET_NAMES]
        if unknown:
            raise ConfigError(f"Unknown rain preset {unknown[0]!r} (choose from {', '.join(PRESET_NAMES)})")

    def _degrade(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        preset = self.presets[int(rng.integers(len(self.presets)))]
        params = sample_params(preset, rng)
        return render_rain(clean, params, seed=int(rng.integers(2**63)))


class SyntheticNoiseDataset(_SyntheticDataset):
    """Clean photo crops plus white Gaussian noise; sigma (0-255 scale) drawn from ``sigmas``.

    The noisy input is clipped to [0, 1] like a saved image. Deterministic per
    (seed, epoch, index).
    """

    def __init__(
        self,
        clean_paths: Sequence[str | os.PathLike[str]],
        sigmas: Sequence[float] = (15, 25, 50),
        patch_size: int | None = 64,
        length: int | None = None,
        seed: int = 0,
        *,
        max_side: int | None = 1024,
        augment: bool = True,
        render_size: int | None = None,
    ) -> None:
        super().__init__(clean_paths, patch_size, length, seed, max_side, augment, render_size)
        self.sigmas = tuple(float(s) for s in sigmas)
        if not self.sigmas or min(self.sigmas) < 0:
            raise ConfigError(f"Noise sigmas must be a non-empty list of non-negative numbers, got {list(sigmas)}")

    def _degrade(self, clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        sigma = self.sigmas[int(rng.integers(len(self.sigmas)))]
        return add_gaussian_noise(clean, sigma, seed=int(rng.integers(2**63)))
