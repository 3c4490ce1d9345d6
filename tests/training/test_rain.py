"""Rain and noise synthesis: determinism, dtypes, where the rain goes, light vs heavy."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from spikeview.training.rain import (
    PRESET_NAMES,
    RainParams,
    add_gaussian_noise,
    preset_params,
    render_rain,
    sample_params,
)


def _photo(h: int = 160, w: int = 200) -> np.ndarray:
    """Smooth mid-grey test scene with some structure (uint8 RGB)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r = 90 + 40 * np.sin(xx / 17.0)
    g = 100 + 30 * np.cos(yy / 23.0)
    b = 80 + 0.2 * xx
    return np.clip(np.dstack([r, g, b]), 0, 255).astype(np.uint8)


def _lowpass_grey(img: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.GaussianBlur(grey, (0, 0), 6).ravel()


def _contrast_gain(rainy: np.ndarray, clean: np.ndarray) -> float:
    """How much of the scene's contrast survives: regression slope of blurred rainy on blurred clean.

    The blur removes the streak texture; a veil ``I = J t + A (1 - t)`` scales the slope by ~t.
    """
    x, y = _lowpass_grey(clean), _lowpass_grey(rainy)
    return float(np.cov(x, y)[0, 1] / x.var(ddof=1))


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_same_seed_same_bytes_different_seed_different(preset: str) -> None:
    img = _photo()
    params = preset_params(preset)
    a = render_rain(img, params, seed=3)
    b = render_rain(img.copy(), params, seed=3)
    c = render_rain(img, params, seed=4)
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_sample_params_is_seeded_and_varies() -> None:
    assert sample_params("heavy", 5) == sample_params("heavy", np.random.default_rng(5))
    drawn = {sample_params("light", s).angle for s in range(5)}
    assert len(drawn) == 5
    for s in range(20):
        light, heavy = sample_params("light", s), sample_params("heavy", s)
        assert light.layers == 1 and light.haze == 0
        assert heavy.layers >= 2 and heavy.haze > 0
        assert heavy.length > light.length and heavy.width > light.width


def test_unknown_preset_and_bad_params_raise() -> None:
    with pytest.raises(ValueError, match="unknown rain preset"):
        sample_params("drizzle", 0)
    with pytest.raises(ValueError):
        RainParams(layers=0)
    with pytest.raises(ValueError):
        RainParams(haze=1.0)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_dtype_and_shape_preserved(dtype: type) -> None:
    base = _photo(64, 96)
    if dtype == np.uint16:
        img = base.astype(np.uint16) * 257
    elif dtype in (np.float32, np.float64):
        img = base.astype(dtype) / 255.0
    else:
        img = base
    out = render_rain(img, preset_params("heavy"), seed=0)
    assert out.dtype == img.dtype and out.shape == img.shape
    if np.issubdtype(out.dtype, np.floating):
        assert out.min() >= 0.0 and out.max() <= 1.0
    grey = render_rain(base[:, :, 0], preset_params("light"), seed=0)
    assert grey.shape == base.shape[:2] and grey.dtype == np.uint8


def test_uint8_and_float_inputs_agree() -> None:
    img = _photo()
    params = preset_params("light")
    from_u8 = render_rain(img, params, seed=9).astype(np.float32) / 255.0
    from_float = render_rain(img.astype(np.float32) / 255.0, params, seed=9)
    assert np.abs(from_u8 - from_float).max() <= 1.0 / 255.0 + 1e-6


def test_light_rain_brightens_sparse_streaks_only() -> None:
    img = _photo()
    out = render_rain(img, preset_params("light"), seed=1)
    diff = out.astype(np.int16) - img.astype(np.int16)
    # Screen-composited streaks only ever add light ...
    assert diff.min() >= 0
    changed = diff.max(axis=2) > 8
    # ... on a minority of pixels (streaks, not a global wash) ...
    assert 0.005 < changed.mean() < 0.35
    # ... and the brightening is concentrated there: streak pixels gain far more than the rest.
    assert diff[changed].mean() > 5 * max(float(diff[~changed].mean()), 0.1)
    # Streaks are semi-transparent: the scene shows through (never saturated to white).
    assert out[changed].max() < 255 or (out[changed] == 255).mean() < 0.01


def test_streaks_follow_the_fall_angle() -> None:
    flat = np.full((200, 200, 3), 60, np.uint8)
    params = RainParams(density=6, length=40, angle=0.0, angle_jitter=0.0, width=1.2, brightness=0.6)
    rain = render_rain(flat, params, seed=2).astype(np.float32).mean(axis=2) - 60
    # Vertical streaks: neighbours above/below are correlated, left/right much less.
    vert = np.corrcoef(rain[1:, :].ravel(), rain[:-1, :].ravel())[0, 1]
    horiz = np.corrcoef(rain[:, 1:].ravel(), rain[:, :-1].ravel())[0, 1]
    assert vert > 0.9 and vert > horiz + 0.1


def test_heavy_is_hazier_and_denser_than_light() -> None:
    img = _photo(192, 256)
    light_c, heavy_c, light_cov, heavy_cov = [], [], [], []
    for seed in range(3):
        light = render_rain(img, sample_params("light", seed), seed=seed)
        heavy = render_rain(img, sample_params("heavy", seed), seed=seed)
        light_c.append(_contrast_gain(light, img))
        heavy_c.append(_contrast_gain(heavy, img))
        light_cov.append(float(((light.astype(int) - img).max(axis=2) > 8).mean()))
        heavy_cov.append(float(((heavy.astype(int) - img).max(axis=2) > 8).mean()))
    # The veil (I = J t + A (1 - t)) and dense streaks flatten the scene's contrast.
    assert np.mean(heavy_c) < 0.85 * np.mean(light_c)
    assert np.mean(light_c) > 0.9
    # Heavy rain covers much more of the image.
    assert np.mean(heavy_cov) > 2 * np.mean(light_cov)


def test_gaussian_noise() -> None:
    img = np.full((128, 128, 3), 128, np.uint8)
    a = add_gaussian_noise(img, 25, seed=1)
    assert a.dtype == np.uint8 and a.shape == img.shape
    assert a.tobytes() == add_gaussian_noise(img, 25, seed=1).tobytes()
    assert a.tobytes() != add_gaussian_noise(img, 25, seed=2).tobytes()
    assert abs(float(a.astype(np.float32).std()) - 25) < 1.5
    f = add_gaussian_noise(img.astype(np.float32) / 255, 50, seed=1, clip=False)
    assert f.dtype == np.float32 and abs(float(f.std()) * 255 - 50) < 2.5
    clipped = add_gaussian_noise(np.zeros((32, 32, 3), np.float32), 50, seed=1)
    assert clipped.min() >= 0.0
    with pytest.raises(ValueError):
        add_gaussian_noise(img, -1)


@pytest.mark.parametrize("shape", [(1, 1, 3), (2, 5, 3), (7, 3, 3)])
def test_tiny_images(shape: tuple[int, ...]) -> None:
    for preset in PRESET_NAMES:
        out = render_rain(np.full(shape, 100, np.uint8), sample_params(preset, 0), seed=0)
        assert out.shape == shape
