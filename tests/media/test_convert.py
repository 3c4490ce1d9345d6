"""Named converters between image arrays and float arrays."""

from __future__ import annotations

import numpy as np
import pytest

from spikeview.media.convert import (
    float_hwc_to_image,
    float_nchw_to_image,
    image_to_float_hwc,
    image_to_float_nchw,
    rgb_to_y,
    to_uint8,
)


def _img8() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)


def test_image_to_float_nchw_uint8() -> None:
    img = _img8()
    arr = image_to_float_nchw(img)
    assert arr.dtype == np.float32 and arr.shape == (1, 3, 5, 7)
    assert arr.flags.c_contiguous
    assert arr[0, 2, 4, 6] == pytest.approx(img[4, 6, 2] / 255.0)
    np.testing.assert_allclose(arr[0].transpose(1, 2, 0), img / 255.0, rtol=1e-6)


def test_image_to_float_nchw_uint16() -> None:
    img = np.array([[[0, 65535, 32768]]], dtype=np.uint16)
    arr = image_to_float_nchw(img)
    np.testing.assert_allclose(arr[0, :, 0, 0], [0.0, 1.0, 32768 / 65535], rtol=1e-6)


def test_image_to_float_hwc() -> None:
    img = _img8()
    arr = image_to_float_hwc(img)
    assert arr.dtype == np.float32 and arr.shape == (5, 7, 3)
    np.testing.assert_allclose(arr, img / 255.0, rtol=1e-6)
    assert arr.min() >= 0.0 and arr.max() <= 1.0


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_round_trips_are_exact(dtype: type) -> None:
    top = np.iinfo(dtype).max
    img = np.random.default_rng(1).integers(0, top + 1, (6, 4, 3), dtype=dtype)
    np.testing.assert_array_equal(float_nchw_to_image(image_to_float_nchw(img), dtype), img)
    np.testing.assert_array_equal(float_hwc_to_image(image_to_float_hwc(img), dtype), img)


def test_float_to_image_clips_and_rounds() -> None:
    arr = np.array([-0.5, 0.0, 0.4 / 255, 0.6 / 255, 0.5, 1.0, 1.7, np.nan], dtype=np.float32)
    out = float_hwc_to_image(arr.reshape(1, -1, 1))
    np.testing.assert_array_equal(out.ravel(), [0, 0, 0, 1, 128, 255, 255, 0])
    assert out.dtype == np.uint8
    out16 = float_hwc_to_image(np.array([[[0.5, 1.0, 2.0]]]), np.uint16)
    np.testing.assert_array_equal(out16.ravel(), [32768, 65535, 65535])
    assert out16.dtype == np.uint16


def test_float_nchw_to_image_layout() -> None:
    arr = np.zeros((1, 3, 2, 4), np.float32)
    arr[0, 0, 1, 3] = 1.0  # red at row 1, column 3
    out = float_nchw_to_image(arr)
    assert out.shape == (2, 4, 3)
    assert out[1, 3].tolist() == [255, 0, 0]
    assert out.sum() == 255
    assert float_nchw_to_image(arr[0]).shape == (2, 4, 3)  # CHW accepted too
    with pytest.raises(ValueError):
        float_nchw_to_image(np.zeros((2, 3, 2, 4), np.float32))


def test_to_uint8() -> None:
    img8 = _img8()
    assert to_uint8(img8) is img8
    x = np.array([0, 128, 129, 385, 386, 32767, 32896, 65535], dtype=np.uint16)
    np.testing.assert_array_equal(to_uint8(x), [0, 0, 1, 1, 2, 127, 128, 255])
    all16 = np.arange(65536, dtype=np.uint16)
    np.testing.assert_array_equal(to_uint8(all16), np.rint(all16 / 257.0).astype(np.uint8))
    with pytest.raises(TypeError):
        to_uint8(np.zeros(3, np.float32))


def test_rgb_to_y_coefficients() -> None:
    rgb = np.array([[[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]])
    y = rgb_to_y(rgb)
    assert y.dtype == np.float64 and y.shape == (1, 5)
    np.testing.assert_allclose(y[0], [16.0, 235.0, 16 + 65.481, 16 + 128.553, 16 + 24.966], atol=1e-9)


def test_rgb_to_y_accepts_integer_images() -> None:
    img8 = _img8()
    np.testing.assert_allclose(rgb_to_y(img8), rgb_to_y(img8 / 255.0), atol=1e-9)
    img16 = img8.astype(np.uint16) * 257
    np.testing.assert_allclose(rgb_to_y(img16), rgb_to_y(img8 / 255.0), atol=1e-9)
    r, g, b = (img8[2, 3] / 255.0).tolist()
    assert rgb_to_y(img8)[2, 3] == pytest.approx(16 + 65.481 * r + 128.553 * g + 24.966 * b)


def test_bad_inputs() -> None:
    with pytest.raises(TypeError):
        image_to_float_nchw(np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError):
        image_to_float_nchw(np.zeros((2, 2), np.uint8))
    with pytest.raises(TypeError):
        float_hwc_to_image(np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(TypeError):
        float_hwc_to_image(np.zeros((2, 2, 3)), np.float32)
    with pytest.raises(ValueError):
        rgb_to_y(np.zeros((2, 2)))
