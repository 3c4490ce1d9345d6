"""find_pairs on the benchmark layouts, paired and synthetic datasets (real PNG files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spikeview.errors import ConfigError, SpikeViewError
from spikeview.media.images import write_image
from spikeview.training.datasets import (
    PairedImageDataset,
    SyntheticNoiseDataset,
    SyntheticRainDataset,
    find_pairs,
)


def _png(path: Path, h: int = 24, w: int = 32, value: int | None = None, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    img = np.full((h, w, 3), value, np.uint8) if value is not None else rng.integers(0, 256, (h, w, 3), np.uint8)
    return write_image(path, img)


def _rel(pairs: list[tuple[Path, Path]], root: Path) -> list[tuple[str, str]]:
    return [(a.relative_to(root).as_posix(), b.relative_to(root).as_posix()) for a, b in pairs]


LAYOUTS = {
    # MPRNet/Restormer Rain13K and test sets (Rain100L/H, Test1200...): identical names
    "input_target": (["input/1.png", "input/2.png"], ["target/1.png", "target/2.png"]),
    "rain_norain_same_name": (["rain/a.png"], ["norain/a.png"]),
    "rainy_gt": (["test/rainy/5.jpg"], ["test/gt/5.jpg"]),
    "data_gt": (["data/im_01.png"], ["gt/im_01.png"]),
    "inp_tar": (["inp/x.png"], ["tar/x.png"]),
    # JORDER Rain100L/H, Rain200L/H: rain/X2/norain-12x2.png -> norain/norain-12.png
    "rain200": (
        ["train/rain/X2/norain-1x2.png", "train/rain/X2/norain-12x2.png"],
        ["train/norain/norain-1.png", "train/norain/norain-12.png"],
    ),
    # PReNet's Rain100L: rainy/rain-001.png -> norain-001.png one level up
    "prenet_rain100": (["Rain100L/rainy/rain-001.png"], ["Rain100L/norain-001.png"]),
    # RainTrainL/H: rain-12.png + norain-12.png in one folder
    "rain_train": (["rain-12.png", "rain-3.png"], ["norain-12.png", "norain-3.png"]),
    # Rain12 and friends
    "rain12": (["01_in.png"], ["01_GT.png"]),
    "rain_clean_suffix": (["12_rain.png"], ["12_clean.png"]),
    # Rain1400: 1_3.jpg is the 3rd rainy version of 1.jpg
    "rain1400": (["rainy_image/1_1.jpg", "rainy_image/1_2.jpg"], ["ground_truth/1.jpg"]),
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_find_pairs_layouts(tmp_path: Path, layout: str) -> None:
    inputs, targets = LAYOUTS[layout]
    for i, rel in enumerate(inputs + targets):
        _png(tmp_path / rel, seed=i)
    pairs = find_pairs(tmp_path)
    got = _rel(pairs, tmp_path)
    assert sorted(a for a, _ in got) == sorted(inputs)
    for inp, tgt in got:
        assert inp in inputs and tgt in targets
    if layout == "rain1400":
        assert {t for _, t in got} == {"ground_truth/1.jpg"}
    else:
        assert len({t for _, t in got}) == len(got)


def test_find_pairs_matches_by_name_not_order(tmp_path: Path) -> None:
    for name in ("norain-1x2", "norain-2x2", "norain-10x2"):
        _png(tmp_path / "rain" / "X2" / f"{name}.png")
    for name in ("norain-10", "norain-1", "norain-2", "norain-3"):  # an extra target is fine
        _png(tmp_path / "norain" / f"{name}.png")
    got = _rel(find_pairs(tmp_path), tmp_path)
    assert got == [
        ("rain/X2/norain-1x2.png", "norain/norain-1.png"),
        ("rain/X2/norain-2x2.png", "norain/norain-2.png"),
        ("rain/X2/norain-10x2.png", "norain/norain-10.png"),
    ]


def test_find_pairs_keeps_splits_apart(tmp_path: Path) -> None:
    for split in ("train", "test"):
        _png(tmp_path / split / "input" / "1.png")
        _png(tmp_path / split / "target" / "1.png")
    got = _rel(find_pairs(tmp_path), tmp_path)
    assert got == [("test/input/1.png", "test/target/1.png"), ("train/input/1.png", "train/target/1.png")]


def test_find_pairs_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        find_pairs(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match="No input images"):
        find_pairs(empty)

    only_inputs = tmp_path / "only_inputs"
    _png(only_inputs / "input" / "1.png")
    with pytest.raises(ConfigError, match="No target"):
        find_pairs(only_inputs)

    unmatched = tmp_path / "unmatched"
    _png(unmatched / "input" / "a.png")
    _png(unmatched / "target" / "b.png")
    with pytest.raises(ConfigError, match="has a matching target"):
        find_pairs(unmatched)

    partial = tmp_path / "partial"
    for name in ("1", "2", "3"):
        _png(partial / "input" / f"{name}.png")
    _png(partial / "target" / "1.png")
    with pytest.raises(SpikeViewError, match=r"2 of 3 input images .* have no target"):
        find_pairs(partial)

    ambiguous = tmp_path / "ambiguous"
    _png(ambiguous / "input" / "1.png")
    _png(ambiguous / "target" / "1.png")
    _png(ambiguous / "target" / "01.png")
    with pytest.raises(ConfigError, match="several targets"):
        find_pairs(ambiguous)


def test_paired_dataset_values_crops_and_augment(tmp_path: Path) -> None:
    inp = write_image(tmp_path / "input" / "a.png", np.full((20, 30, 3), 51, np.uint8))
    tgt = write_image(tmp_path / "target" / "a.png", np.full((20, 30, 3), 204, np.uint8))
    full = PairedImageDataset([(inp, tgt)])
    x, y = full[0]
    assert x.dtype == torch.float32 and x.shape == (3, 20, 30) and y.shape == (3, 20, 30)
    assert torch.allclose(x, torch.full_like(x, 0.2)) and torch.allclose(y, torch.full_like(y, 0.8))

    # Larger than the image: reflect-padded to the patch size.
    padded = PairedImageDataset([(inp, tgt)], patch_size=48, augment=True)
    x, y = padded[0]
    assert x.shape == y.shape == (3, 48, 48)

    # Input and target crops/flips stay aligned: use a gradient image as both.
    grad = (np.arange(40 * 40 * 3).reshape(40, 40, 3) % 251).astype(np.uint8)
    a = write_image(tmp_path / "input" / "g.png", grad)
    b = write_image(tmp_path / "target" / "g.png", grad)
    ds = PairedImageDataset([(a, b)], patch_size=16, augment=True, seed=1)
    outs = []
    for epoch in range(4):
        ds.set_epoch(epoch)
        x, y = ds[0]
        assert x.shape == (3, 16, 16) and torch.equal(x, y)
        outs.append(x)
    assert any(not torch.equal(outs[0], o) for o in outs[1:])
    ds.set_epoch(0)
    assert torch.equal(ds[0][0], outs[0])  # deterministic per (seed, epoch, index)
    with pytest.raises(IndexError):
        ds[1]


def test_paired_dataset_size_mismatch(tmp_path: Path) -> None:
    a = _png(tmp_path / "input" / "a.png", 20, 30)
    b = _png(tmp_path / "target" / "a.png", 21, 30)  # off by one: cropped to the common size
    x, y = PairedImageDataset([(a, b)])[0]
    assert x.shape == y.shape == (3, 20, 30)
    c = _png(tmp_path / "target" / "c.png", 60, 30)
    with pytest.raises(ConfigError, match="differ in size"):
        PairedImageDataset([(a, c)])[0]
    with pytest.raises(ConfigError):
        PairedImageDataset([])


@pytest.fixture
def clean_dir(tmp_path: Path) -> list[Path]:
    yy, xx = np.mgrid[0:90, 0:120]
    photo = np.dstack([xx * 2, yy * 2, (xx + yy)]).astype(np.uint8)
    return [write_image(tmp_path / "clean" / "a.png", photo), _png(tmp_path / "clean" / "b.png", 50, 40, seed=3)]


def test_synthetic_rain_dataset_is_deterministic(clean_dir: list[Path]) -> None:
    ds = SyntheticRainDataset(clean_dir, presets=("light", "heavy"), patch_size=32, length=6, seed=5)
    again = SyntheticRainDataset(clean_dir, presets=("light", "heavy"), patch_size=32, length=6, seed=5)
    assert len(ds) == 6
    for i in (0, 3, 5):
        x, y = ds[i]
        assert x.shape == y.shape == (3, 32, 32) and x.dtype == torch.float32
        assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
        assert not torch.equal(x, y)  # rain was added
        x2, y2 = again[i]
        assert torch.equal(x, x2) and torch.equal(y, y2)
    assert not torch.equal(ds[0][0], ds[2][0])
    first = ds[1][0].clone()
    ds.set_epoch(1)
    assert not torch.equal(ds[1][0], first)
    other_seed = SyntheticRainDataset(clean_dir, patch_size=32, length=6, seed=6)
    assert not torch.equal(other_seed[1][0], first)
    with pytest.raises(IndexError):
        ds[6]
    with pytest.raises(ConfigError, match="Unknown rain preset"):
        SyntheticRainDataset(clean_dir, presets=("drizzle",))
    with pytest.raises(ConfigError):
        SyntheticNoiseDataset(clean_dir, sigmas=())


def _veil_slope(ds: SyntheticRainDataset) -> float:
    """Mean of (top rows − bottom rows) of input − target: how fast the veil thins down the patch."""
    diffs = [x - y for x, y in (ds[i] for i in range(len(ds)))]
    return float(np.mean([float(d[:, :4].mean() - d[:, -4:].mean()) for d in diffs]))


def test_render_size_renders_on_a_larger_crop_and_cuts_the_patch(clean_dir: list[Path]) -> None:
    common = {"presets": ("heavy",), "patch_size": 16, "length": 40, "seed": 9, "augment": False}
    on_patch = SyntheticRainDataset(clean_dir, **common)
    on_crop = SyntheticRainDataset(clean_dir, render_size=80, **common)
    x, y = on_crop[0]
    assert x.shape == y.shape == (3, 16, 16)
    assert torch.equal(on_crop[3][0], SyntheticRainDataset(clean_dir, render_size=80, **common)[3][0])
    # the target is a patch of the photo itself (photo a is a smooth ramp: 2x, 2y, x + y)
    r, g, b = (y[k] * 255 for k in range(3))
    assert torch.allclose(b, (r + g) / 2, atol=1.0)
    # the veil's depth ramp spans the rendered crop: 5x larger, so its slope across a patch is smaller
    steep, shallow = _veil_slope(on_patch), _veil_slope(on_crop)
    assert steep > 0.03 and shallow < 0.5 * steep
    # render_size == patch_size is the plain dataset
    same = SyntheticRainDataset(clean_dir, render_size=16, **common)
    assert torch.equal(same[5][0], on_patch[5][0])
    with pytest.raises(ValueError, match="render_size"):
        SyntheticRainDataset(clean_dir, presets=("heavy",), patch_size=32, render_size=16)


def test_synthetic_datasets_max_side_and_whole_images(clean_dir: list[Path]) -> None:
    ds = SyntheticRainDataset(clean_dir, presets=("light",), patch_size=None, length=2, max_side=60, augment=False)
    x, y = ds[0]
    assert x.shape == y.shape == (3, 45, 60)  # 90x120 shrunk to a 60 px long side
    assert len(SyntheticRainDataset(clean_dir)) == 200  # default: 100 items per photo


def test_synthetic_noise_dataset(clean_dir: list[Path]) -> None:
    ds = SyntheticNoiseDataset(clean_dir, sigmas=(25,), patch_size=40, length=4, seed=0)
    x, y = ds[0]
    assert x.shape == y.shape == (3, 40, 40)
    noise = (x - y).flatten()
    assert 0.05 < float(noise.std()) < 0.15  # ~25/255 minus some clipping
    assert torch.equal(ds[0][0], SyntheticNoiseDataset(clean_dir, sigmas=(25,), patch_size=40, length=4)[0][0])
    # Small photo (50x40) padded up to the patch size.
    assert ds[1][0].shape == (3, 40, 40)
