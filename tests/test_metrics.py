"""PSNR / SSIM against scikit-image on real images."""

from __future__ import annotations

import math

import numpy as np
import pytest

from spikeview.media.convert import rgb_to_y
from spikeview.metrics import image_quality, psnr, ssim

skimage_data = pytest.importorskip("skimage.data")
skimage_metrics = pytest.importorskip("skimage.metrics")


def _sk_ssim(a: np.ndarray, b: np.ndarray, data_range: float) -> float:
    return float(
        skimage_metrics.structural_similarity(
            a,
            b,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=data_range,
            channel_axis=-1 if a.ndim == 3 else None,
        )
    )


def _noisy(img: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    top = np.iinfo(img.dtype).max
    noise = np.random.default_rng(seed).normal(0.0, sigma * top, img.shape)
    return np.clip(np.rint(img + noise), 0, top).astype(img.dtype)


def _pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    astronaut = skimage_data.astronaut()  # 512x512
    coffee = skimage_data.coffee()  # 400x600
    coffee16 = coffee.astype(np.uint16) * 257 + np.random.default_rng(7).integers(0, 257, coffee.shape, np.uint16)
    return [
        ("astronaut-u8", astronaut, _noisy(astronaut, 0.05, 0)),
        ("coffee-u8", coffee, _noisy(coffee, 0.02, 1)),
        ("coffee-u16", coffee16, _noisy(coffee16, 0.03, 2)),
        ("astronaut-float", astronaut / 255.0, _noisy(astronaut, 0.08, 3) / 255.0),
    ]


PAIRS = _pairs()
IDS = [p[0] for p in PAIRS]
RANGES = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


@pytest.mark.parametrize(("name", "a", "b"), PAIRS, ids=IDS)
@pytest.mark.parametrize("crop", [0, 4])
def test_rgb_metrics_match_skimage(name: str, a: np.ndarray, b: np.ndarray, crop: int) -> None:
    rng = RANGES.get(a.dtype, 1.0)
    ca, cb = (a[crop:-crop, crop:-crop], b[crop:-crop, crop:-crop]) if crop else (a, b)
    ref_psnr = skimage_metrics.peak_signal_noise_ratio(ca, cb, data_range=rng)
    ref_ssim = _sk_ssim(ca, cb, rng)
    assert 10 < ref_psnr < 40 and 0.2 < ref_ssim < 0.99  # a meaningful, non-trivial pair
    assert psnr(a, b, crop_border=crop) == pytest.approx(ref_psnr, abs=1e-3)
    assert ssim(a, b, crop_border=crop) == pytest.approx(ref_ssim, abs=1e-4)


@pytest.mark.parametrize(("name", "a", "b"), PAIRS, ids=IDS)
@pytest.mark.parametrize("crop", [0, 4])
def test_y_metrics_match_skimage_on_y(name: str, a: np.ndarray, b: np.ndarray, crop: int) -> None:
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    if crop:
        ya, yb = ya[crop:-crop, crop:-crop], yb[crop:-crop, crop:-crop]
    ref_psnr = skimage_metrics.peak_signal_noise_ratio(ya, yb, data_range=255)
    ref_ssim = _sk_ssim(ya, yb, 255)
    assert psnr(a, b, crop_border=crop, y_channel=True) == pytest.approx(ref_psnr, abs=1e-3)
    assert ssim(a, b, crop_border=crop, y_channel=True) == pytest.approx(ref_ssim, abs=1e-4)


def test_psnr_known_value() -> None:
    a = np.zeros((16, 16, 3), np.uint8)
    b = a.copy()
    b[..., 0] = 3  # MSE = 9 / 3 = 3
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 / 3), abs=1e-12)
    assert psnr(a.astype(np.float32), b / 255.0) == pytest.approx(10 * math.log10(255**2 / 3), abs=1e-4)


def test_identical_images() -> None:
    a = skimage_data.astronaut()[:64, :64]
    assert psnr(a, a) == math.inf
    assert psnr(a, a.copy(), y_channel=True) == math.inf
    assert ssim(a, a) == pytest.approx(1.0, abs=1e-12)
    q = image_quality(a, a.copy())
    assert q["psnr"] == math.inf and q["psnr_y"] == math.inf
    assert q["ssim"] == pytest.approx(1.0) and q["ssim_y"] == pytest.approx(1.0)


def test_ssim_is_symmetric_and_drops_with_noise() -> None:
    a = skimage_data.coffee()[:128, :128]
    light, heavy = _noisy(a, 0.02, 0), _noisy(a, 0.1, 0)
    assert ssim(a, light) == pytest.approx(ssim(light, a), abs=1e-12)
    assert 1.0 > ssim(a, light) > ssim(a, heavy) > 0.0
    assert psnr(a, light) > psnr(a, heavy)


def test_image_quality_keys_and_values() -> None:
    a = skimage_data.astronaut()[100:228, 100:260]
    b = _noisy(a, 0.04, 5)
    q = image_quality(b, a, crop_border=2)
    assert set(q) == {"psnr", "ssim", "psnr_y", "ssim_y"}
    assert all(isinstance(v, float) for v in q.values())
    assert q["psnr"] == psnr(b, a, crop_border=2)
    assert q["ssim"] == ssim(b, a, crop_border=2)
    assert q["psnr_y"] == psnr(b, a, crop_border=2, y_channel=True)
    assert q["ssim_y"] == ssim(b, a, crop_border=2, y_channel=True)
    assert q["psnr_y"] > q["psnr"]  # Y averages independent channel noise and spans 219 of 255


def test_y_metrics_do_not_depend_on_dtype() -> None:
    a = skimage_data.coffee()[:64, :64]
    b = _noisy(a, 0.05, 9)
    a16, b16 = a.astype(np.uint16) * 257, b.astype(np.uint16) * 257
    assert psnr(a16, b16, y_channel=True) == pytest.approx(psnr(a, b, y_channel=True), abs=1e-9)
    assert ssim(a / 255.0, b / 255.0, y_channel=True) == pytest.approx(ssim(a, b, y_channel=True), abs=1e-9)


def test_grayscale_hw_inputs() -> None:
    a = skimage_data.camera()[:96, :96]
    b = _noisy(a, 0.05, 4)
    assert ssim(a, b) == pytest.approx(_sk_ssim(a, b, 255), abs=1e-4)
    with pytest.raises(ValueError):
        psnr(a, b, y_channel=True)


def test_explicit_data_range() -> None:
    a = skimage_data.astronaut()[:64, :64]
    b = _noisy(a, 0.05, 1)
    assert psnr(a, b, data_range=510) == pytest.approx(psnr(a, b) + 20 * math.log10(2), abs=1e-9)
    # Different ranges: each scaled to [0, 1] by its own dtype range.
    assert psnr(a, b / 255.0) == pytest.approx(psnr(a, b), abs=1e-9)
    b16 = b.astype(np.uint16) * 257
    assert psnr(b16, a) == pytest.approx(psnr(b, a), abs=1e-9)
    assert ssim(a, b16) == pytest.approx(ssim(a, b), abs=1e-9)
    assert image_quality(b16, a)["ssim_y"] == pytest.approx(image_quality(b, a)["ssim_y"], abs=1e-9)
    assert psnr(a, b / 255.0 * 255.0, data_range=255) == pytest.approx(psnr(a, b), abs=1e-9)
    with pytest.raises(ValueError):
        psnr(a, b, data_range=1.0, y_channel=True)


def test_errors() -> None:
    a = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="shape"):
        psnr(a, np.zeros((32, 31, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        ssim(a, np.zeros((31, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="shape"):
        image_quality(a, np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError):
        psnr(a, a, crop_border=16)
    with pytest.raises(ValueError):
        psnr(a, a, crop_border=-1)
    with pytest.raises(ValueError, match="11x11"):
        ssim(a, a, crop_border=11)  # leaves 10x10
    with pytest.raises(TypeError):
        psnr(a.astype(np.int32), a.astype(np.int32))


def test_1080p_runs() -> None:
    # No timing assertion (see CONTRIBUTING); this just exercises full-HD sizes.
    a = np.tile(skimage_data.astronaut(), (3, 4, 1))[:1080, :1920]
    b = _noisy(a, 0.03, 0)
    q = image_quality(b, a)
    assert 25 < q["psnr"] < 35 and 0.5 < q["ssim"] < 1.0
