"""Conversions between image arrays and the engine's float arrays.

Names say range, dtype and layout:

- *image*: what :mod:`spikeview.media.images` returns, RGB ``uint8`` (0..255) or
  ``uint16`` (0..65535), layout HWC (height, width, 3).
- *float_hwc*: float32 in [0, 1], layout HWC.
- *float_nchw*: float32 in [0, 1], layout NCHW with N = 1 (what the engine turns into a
  tensor).

Integer scaling is linear: ``uint8 / 255`` and ``uint16 / 65535``. Going back to integers
clips to [0, 1] and rounds to the nearest integer (``np.rint``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "float_hwc_to_image",
    "float_nchw_to_image",
    "image_to_float_hwc",
    "image_to_float_nchw",
    "rgb_to_y",
    "to_uint8",
]

_INT_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _check_image(img: np.ndarray) -> np.ndarray:
    img = np.asarray(img)
    if img.dtype not in _INT_MAX:
        raise TypeError(f"expected a uint8 or uint16 image, got dtype {img.dtype}")
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected an RGB image of shape (H, W, 3), got {img.shape}")
    return img


def _check_out_dtype(dtype: np.dtype | type) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in _INT_MAX:
        raise TypeError(f"output dtype must be uint8 or uint16, got {dt}")
    return dt


def image_to_float_hwc(img: np.ndarray) -> np.ndarray:
    """RGB ``uint8``/``uint16`` HWC image -> float32 HWC in [0, 1] (``/255`` or ``/65535``)."""
    img = _check_image(img)
    return img.astype(np.float32) / np.float32(_INT_MAX[img.dtype])


def image_to_float_nchw(img: np.ndarray) -> np.ndarray:
    """RGB ``uint8``/``uint16`` HWC image -> contiguous float32 ``[1, 3, H, W]`` in [0, 1]."""
    hwc = image_to_float_hwc(img)
    return np.ascontiguousarray(hwc.transpose(2, 0, 1)[None])


def float_hwc_to_image(arr: np.ndarray, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """Float HWC (or HW) array, nominally in [0, 1] -> ``uint8``/``uint16`` image.

    Values are clipped to [0, 1], scaled by 255 or 65535 and rounded to the nearest integer.
    NaN becomes 0.
    """
    dt = _check_out_dtype(dtype)
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"expected a float array, got dtype {arr.dtype}")
    scaled = np.nan_to_num(np.clip(arr, 0.0, 1.0), nan=0.0) * _INT_MAX[dt]
    return np.rint(scaled).astype(dt)


def float_nchw_to_image(arr: np.ndarray, dtype: np.dtype | type = np.uint8) -> np.ndarray:
    """Float ``[1, C, H, W]`` (or ``[C, H, W]``) in [0, 1] -> HWC ``uint8``/``uint16`` image.

    Clips to [0, 1] and rounds to the nearest integer, like :func:`float_hwc_to_image`.
    """
    arr = np.asarray(arr)
    if arr.ndim == 4:
        if arr.shape[0] != 1:
            raise ValueError(f"expected a batch of one image, got shape {arr.shape}")
        arr = arr[0]
    if arr.ndim != 3:
        raise ValueError(f"expected shape [1, C, H, W] or [C, H, W], got {arr.shape}")
    return float_hwc_to_image(arr.transpose(1, 2, 0), dtype)


def to_uint8(img: np.ndarray) -> np.ndarray:
    """``uint8`` or ``uint16`` array (any layout) -> ``uint8``.

    ``uint8`` input is returned unchanged (not copied). ``uint16`` is scaled by 255/65535
    (= 1/257) and rounded to the nearest integer.
    """
    img = np.asarray(img)
    if img.dtype == np.uint8:
        return img
    if img.dtype != np.uint16:
        raise TypeError(f"expected uint8 or uint16, got dtype {img.dtype}")
    # x / 257 never lands exactly on .5 (257 is odd), so integer rounding is exact.
    return ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)


def rgb_to_y(img_float_hwc: np.ndarray) -> np.ndarray:
    """Luma Y of an RGB HWC image, on the 0..255 scale, as float64 (shape H x W).

    Uses the ITU-R BT.601 "studio range" coefficients of MATLAB's ``rgb2ycbcr``:
    ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` for R, G, B in [0, 1], so Y lies in
    [16, 235]. This is the Y that deraining/super-resolution papers report PSNR/SSIM on.

    Float input must be in [0, 1]; ``uint8``/``uint16`` images are scaled to [0, 1] first.
    """
    arr = np.asarray(img_float_hwc)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an RGB array of shape (H, W, 3), got {arr.shape}")
    if arr.dtype in _INT_MAX:
        rgb = arr.astype(np.float64) / _INT_MAX[arr.dtype]
    elif np.issubdtype(arr.dtype, np.floating):
        rgb = arr.astype(np.float64, copy=False)
    else:
        raise TypeError(f"expected float in [0, 1] or uint8/uint16, got dtype {arr.dtype}")
    return 16.0 + rgb @ np.array([65.481, 128.553, 24.966])
