"""Full-reference image quality: PSNR and SSIM (numpy + OpenCV, float64 maths).

Conventions:

- Inputs are HWC RGB arrays (HW single-channel arrays are accepted too, except with
  ``y_channel=True``): ``uint8``, ``uint16`` or float in [0, 1]. Both inputs must have the
  same shape.
- ``data_range`` (the peak value L) is inferred from the dtype: 255 for ``uint8``, 65535
  for ``uint16``, 1.0 for floats. When the two inputs' ranges differ (say a ``uint8``
  result against a ``uint16`` target) and ``data_range`` is not given, both are scaled
  to [0, 1] by their own range and compared with L = 1. An explicit ``data_range`` is
  used as is, on the raw values.
- ``crop_border=n`` ignores ``n`` pixels on every side before computing, as in the
  deraining / super-resolution literature.
- ``y_channel=True`` computes the metric on the BT.601 luma ``Y`` of
  :func:`spikeview.media.convert.rgb_to_y` (range 16..235 on a 0..255 scale, the MATLAB
  ``rgb2ycbcr`` convention), with ``data_range`` 255 whatever the input dtype.
- Identical images: PSNR is ``inf`` (the MSE is 0) and SSIM is 1.0.

SSIM follows Wang et al. (2004) and matches ``skimage.metrics.structural_similarity``
with ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``: Gaussian window
with sigma 1.5 truncated at 3.5 sigma (11x11), symmetric ("reflect") borders, constants
``C1 = (0.01 L)^2`` and ``C2 = (0.03 L)^2``, the SSIM map averaged after dropping the 5
pixels at each border where the window leaves the image, then averaged over channels.
Images must therefore be at least 11x11 (after cropping) for SSIM.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from spikeview.media.convert import rgb_to_y

__all__ = ["image_quality", "psnr", "ssim"]

_SIGMA = 1.5
_TRUNCATE = 3.5
_RADIUS = int(_TRUNCATE * _SIGMA + 0.5)  # 5 -> 11x11 window, as scipy/skimage
_K1, _K2 = 0.01, 0.03


def _dtype_range(arr: np.ndarray) -> float:
    if arr.dtype == np.uint8:
        return 255.0
    if arr.dtype == np.uint16:
        return 65535.0
    if np.issubdtype(arr.dtype, np.floating):
        return 1.0
    raise TypeError(f"expected uint8, uint16 or float images, got dtype {arr.dtype}")


def _prepare(
    a: np.ndarray, b: np.ndarray, data_range: float | None, crop_border: int, y_channel: bool
) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate, optionally convert to Y, crop; return float64 arrays (HWC or HW) and L."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"images have different shapes: {a.shape} and {b.shape}")
    if a.ndim not in (2, 3):
        raise ValueError(f"expected HWC or HW images, got shape {a.shape}")
    crop_border = int(crop_border)
    if crop_border < 0:
        raise ValueError(f"crop_border must be >= 0, got {crop_border}")
    if 2 * crop_border >= min(a.shape[0], a.shape[1]):
        raise ValueError(f"crop_border={crop_border} leaves nothing of a {a.shape[1]}x{a.shape[0]} image")
    if crop_border:  # crop first: less to convert (Y and casts are per pixel)
        c = crop_border
        a, b = a[c:-c, c:-c], b[c:-c, c:-c]

    if y_channel:
        if data_range is not None and data_range != 255:
            raise ValueError("y_channel=True always uses data_range=255 (Y on the 0..255 scale)")
        if a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"y_channel=True needs RGB images of shape (H, W, 3), got {a.shape}")
        for arr in (a, b):
            _dtype_range(arr)  # reject unsupported dtypes with a clear message
        fa, fb, peak = rgb_to_y(a), rgb_to_y(b), 255.0
    else:
        ra, rb = _dtype_range(a), _dtype_range(b)
        fa, fb = a.astype(np.float64), b.astype(np.float64)
        if data_range is not None:
            peak = float(data_range)
            if not peak > 0:
                raise ValueError(f"data_range must be > 0, got {data_range}")
        elif ra == rb:
            peak = ra
        else:  # e.g. an 8-bit result against a 16-bit target: compare on the [0, 1] scale
            fa /= ra
            fb /= rb
            peak = 1.0
    return fa, fb, peak


def psnr(
    a: np.ndarray,
    b: np.ndarray,
    *,
    data_range: float | None = None,
    crop_border: int = 0,
    y_channel: bool = False,
) -> float:
    """Peak signal-to-noise ratio in dB: ``10 log10(L^2 / MSE)``, MSE over all pixels and channels.

    Returns ``inf`` for identical images. See the module docstring for inputs and options.
    """
    fa, fb, peak = _prepare(a, b, data_range, crop_border, y_channel)
    mse = float(np.mean(np.square(fa - fb)))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(peak * peak / mse)


def _gaussian_blur(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    # BORDER_REFLECT (abc|cba) is scipy.ndimage's "reflect", which skimage uses.
    return cv2.sepFilter2D(x, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)


def _ssim_per_channel(x: np.ndarray, y: np.ndarray, peak: float, kernel: np.ndarray) -> np.ndarray:
    """Mean SSIM of each channel of HW or HWC (C <= 4) float64 arrays; OpenCV filters channels independently."""
    c1 = (_K1 * peak) ** 2
    c2 = (_K2 * peak) ** 2
    mu_x = _gaussian_blur(x, kernel)
    mu_y = _gaussian_blur(y, kernel)
    mu_xx = mu_x * mu_x
    mu_yy = mu_y * mu_y
    mu_xy = mu_x * mu_y
    var_x = _gaussian_blur(x * x, kernel) - mu_xx
    var_y = _gaussian_blur(y * y, kernel) - mu_yy
    cov_xy = _gaussian_blur(x * y, kernel) - mu_xy
    num = (2.0 * mu_xy + c1) * (2.0 * cov_xy + c2)
    den = (mu_xx + mu_yy + c1) * (var_x + var_y + c2)
    ssim_map = num / den
    r = _RADIUS  # the border where the window reaches outside the image is not averaged
    return np.atleast_1d(ssim_map[r:-r, r:-r].mean(axis=(0, 1)))


def ssim(
    a: np.ndarray,
    b: np.ndarray,
    *,
    data_range: float | None = None,
    crop_border: int = 0,
    y_channel: bool = False,
) -> float:
    """Mean structural similarity (Gaussian window, sigma 1.5), averaged over channels.

    1.0 for identical images. Images must be at least 11x11 after ``crop_border``. See
    the module docstring for inputs, options and how it matches scikit-image.
    """
    fa, fb, peak = _prepare(a, b, data_range, crop_border, y_channel)
    win = 2 * _RADIUS + 1
    if fa.shape[0] < win or fa.shape[1] < win:
        raise ValueError(f"SSIM needs images of at least {win}x{win} pixels, got {fa.shape[1]}x{fa.shape[0]}")
    kernel = cv2.getGaussianKernel(win, _SIGMA, cv2.CV_64F)
    if fa.ndim == 2 or fa.shape[2] <= 4:
        values = _ssim_per_channel(np.ascontiguousarray(fa), np.ascontiguousarray(fb), peak, kernel)
    else:
        values = np.concatenate(
            [
                _ssim_per_channel(np.ascontiguousarray(fa[:, :, c]), np.ascontiguousarray(fb[:, :, c]), peak, kernel)
                for c in range(fa.shape[2])
            ]
        )
    return float(np.mean(values))


def image_quality(restored: np.ndarray, target: np.ndarray, crop_border: int = 0) -> dict[str, float]:
    """PSNR and SSIM of ``restored`` against ``target``, on RGB and on the Y channel.

    Returns ``{"psnr", "ssim", "psnr_y", "ssim_y"}`` (PSNR in dB). RGB metrics use the
    range of the dtype; Y metrics use Y on the 0..255 scale. Inputs: HWC RGB ``uint8``,
    ``uint16`` or float in [0, 1], same shape.
    """
    return {
        "psnr": psnr(restored, target, crop_border=crop_border),
        "ssim": ssim(restored, target, crop_border=crop_border),
        "psnr_y": psnr(restored, target, crop_border=crop_border, y_channel=True),
        "ssim_y": ssim(restored, target, crop_border=crop_border, y_channel=True),
    }
