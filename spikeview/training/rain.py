"""Seeded synthetic rain (and Gaussian noise) for training and evaluation data.

The renderer follows the recipe behind the Rain100L/H benchmark data: rain streaks are
bright, thin, semi-transparent, motion-blurred lines added on top of a clean photo;
heavy rain adds several layers of streaks in different directions and a haze /
rain-accumulation veil (atmospheric scattering model ``I = J·t + A·(1 − t)``).

Conventions:

- Images are HWC (or HW) arrays; ``uint8``, ``uint16`` or float in [0, 1]. Outputs have
  the input's dtype and shape. Floats are computed in float32 and clipped to [0, 1].
- Lengths and widths are in pixels and tuned for images about 300-1000 px on a side
  (Rain100 images are 481×321).
- Everything random comes from ``numpy.random.default_rng(seed)``: the same input, params
  and seed give identical bytes.

Only numpy and OpenCV are used (no torch), so the CLI and data scripts stay light.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = [
    "PRESETS",
    "PRESET_NAMES",
    "RainParams",
    "add_gaussian_noise",
    "preset_params",
    "render_rain",
    "sample_params",
]

# Streaks are drawn on a canvas this many times larger, then area-downsampled: gives
# sub-pixel widths and clean anti-aliasing.
_SUPERSAMPLE = 2


@dataclass(frozen=True)
class RainParams:
    """How one rain image looks. Units: pixels, degrees, intensities in [0, 1].

    Layer 0 is the nearest layer; each further layer is thinner, shorter, dimmer and
    denser by ``depth_falloff`` (far rain looks like fine drizzle).
    """

    density: float = 10.0
    """Streaks per 10 000 pixels in the nearest layer."""
    length: float = 20.0
    """Mean streak length (nearest layer)."""
    length_jitter: float = 0.3
    """Relative standard deviation of the per-streak length."""
    angle: float = 0.0
    """Fall direction in degrees from vertical; positive leans towards the bottom right."""
    angle_jitter: float = 2.0
    """Standard deviation (degrees) of the per-streak direction around its layer's angle."""
    width: float = 1.0
    """Streak width (nearest layer); below 1 px streaks get fainter rather than thinner."""
    brightness: float = 0.5
    """Mean peak intensity a streak adds (screen-composited, so never opaque)."""
    brightness_jitter: float = 0.3
    """Relative standard deviation of the per-streak brightness."""
    layers: int = 1
    """Number of depth layers."""
    layer_angle_spread: float = 0.0
    """Further layers fall at ``angle ± U(0, spread)``: several rain directions."""
    depth_falloff: float = 0.65
    """Scale of width, length and brightness from one layer to the next farther one."""
    motion_blur: float = 0.0
    """Length (px) of the extra motion blur along the fall direction (soft tapered ends)."""
    haze: float = 0.0
    """Veil strength: ``1 − t`` at the farthest point of the scene (0 = no veil)."""
    haze_light: float = 0.85
    """Atmospheric light ``A`` of the veil (grey level)."""
    haze_blur: float = 0.0
    """Gaussian sigma (px) of the scene blur that comes with the veil."""
    splash: float = 0.0
    """Splash / drop dots per 10 000 pixels (0 = none)."""

    def __post_init__(self) -> None:
        if self.layers < 1:
            raise ValueError(f"layers must be >= 1, got {self.layers}")
        for name in ("density", "length", "width", "brightness", "motion_blur", "haze_blur", "splash"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.haze < 1.0:
            raise ValueError(f"haze must be in [0, 1), got {self.haze}")


#: Typical parameters of each preset (the middle of the ranges :func:`sample_params` draws from).
PRESETS: dict[str, RainParams] = {
    # Rain100L-like: sparse thin streaks, one direction, no veil.
    "light": RainParams(
        density=14.0, length=24.0, length_jitter=0.4, angle=10.0, angle_jitter=1.5, width=0.9,
        brightness=0.4, brightness_jitter=0.3, layers=1, motion_blur=4.0,
    ),
    # Rain100H-like: dense, long, wide streaks in several layers and directions, veil.
    "heavy": RainParams(
        density=6.0, length=50.0, length_jitter=0.35, angle=-10.0, angle_jitter=2.5, width=2.4,
        brightness=0.38, brightness_jitter=0.25, layers=3, layer_angle_spread=18.0, depth_falloff=0.6,
        motion_blur=10.0, haze=0.25, haze_light=0.82, haze_blur=0.6, splash=1.0,
    ),
}
PRESET_NAMES: tuple[str, ...] = tuple(PRESETS)

# Ranges sampled by sample_params: name -> (low, high); ints are sampled inclusively.
_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "light": {
        "density": (8.0, 22.0),
        "length": (14.0, 38.0),
        "angle": (-25.0, 25.0),
        "angle_jitter": (0.5, 2.5),
        "width": (0.8, 1.4),
        "brightness": (0.35, 0.6),
        "motion_blur": (2.0, 6.0),
    },
    "heavy": {
        "density": (5.0, 11.0),
        "length": (35.0, 70.0),
        "angle": (-30.0, 30.0),
        "angle_jitter": (1.0, 4.0),
        "width": (1.8, 3.2),
        "brightness": (0.28, 0.5),
        "layers": (2, 3),
        "layer_angle_spread": (6.0, 30.0),
        "motion_blur": (6.0, 14.0),
        "haze": (0.18, 0.42),
        "haze_light": (0.75, 0.92),
        "haze_blur": (0.3, 1.0),
        "splash": (0.0, 2.0),
    },
}


def _check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise ValueError(f"unknown rain preset {preset!r} (choose from {', '.join(PRESET_NAMES)})")


def preset_params(preset: str) -> RainParams:
    """The typical :class:`RainParams` of ``preset`` (``"light"`` or ``"heavy"``)."""
    _check_preset(preset)
    return PRESETS[preset]


def sample_params(preset: str, rng: np.random.Generator | int | None = None) -> RainParams:
    """Random :class:`RainParams` within ``preset``'s range, so models see varied rain.

    ``rng`` is a numpy Generator or a seed; the same seed gives the same params.
    """
    _check_preset(preset)
    rng = np.random.default_rng(rng)
    changes: dict[str, float | int] = {}
    base = PRESETS[preset]
    for name, (low, high) in _RANGES[preset].items():
        if isinstance(getattr(base, name), int):
            changes[name] = int(rng.integers(int(low), int(high) + 1))
        else:
            changes[name] = float(rng.uniform(low, high))
    return dataclasses.replace(base, **changes)


# --------------------------------------------------------------------------- dtype handling


def _to_float(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img.astype(np.float32) / np.float32(255.0)
    if img.dtype == np.uint16:
        return img.astype(np.float32) / np.float32(65535.0)
    if np.issubdtype(img.dtype, np.floating):
        return np.clip(img.astype(np.float32), 0.0, 1.0)
    raise TypeError(f"expected a uint8, uint16 or float image, got dtype {img.dtype}")


def _from_float(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    arr = np.clip(arr, 0.0, 1.0)
    if dtype == np.uint8:
        return np.rint(arr * 255.0).astype(np.uint8)
    if dtype == np.uint16:
        return np.rint(arr * 65535.0).astype(np.uint16)
    return arr.astype(dtype, copy=False)


def _check_shape(img: np.ndarray) -> None:
    if img.ndim not in (2, 3) or img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"expected an HW or HWC image, got shape {img.shape}")


# --------------------------------------------------------------------------- rendering


def _line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """Normalised anti-aliased line of ``length`` px along the fall direction (motion blur)."""
    size = max(3, math.ceil(length) | 1)
    k = np.zeros((size * 4, size * 4), np.uint8)
    c = size * 2
    a = math.radians(angle_deg)
    dx, dy = math.sin(a) * length * 2, math.cos(a) * length * 2
    p1 = (round((c - dx) * 16), round((c - dy) * 16))
    p2 = (round((c + dx) * 16), round((c + dy) * 16))
    cv2.line(k, p1, p2, 255, 4, cv2.LINE_AA, shift=4)
    kernel = cv2.resize(k.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return kernel / max(float(kernel.sum()), 1e-6)


def _streak_layer(
    h: int,
    w: int,
    *,
    density: float,
    length: float,
    length_jitter: float,
    angle: float,
    angle_jitter: float,
    width: float,
    brightness: float,
    brightness_jitter: float,
    motion_blur: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One layer of streaks: float32 HW intensity map in [0, 1]."""
    s = _SUPERSAMPLE
    canvas = np.zeros((h * s, w * s), np.uint8)
    # Streak centres cover a margin around the image so streaks enter from the borders.
    margin = length * 1.5
    area = (h + 2 * margin) * (w + 2 * margin)
    n = int(rng.poisson(density * area / 10_000.0))
    xs = rng.uniform(-margin, w + margin, n)
    ys = rng.uniform(-margin, h + margin, n)
    lengths = length * np.clip(1.0 + length_jitter * rng.standard_normal(n), 0.3, 2.5)
    angles = np.radians(angle + angle_jitter * rng.standard_normal(n))
    levels = brightness * np.clip(1.0 + brightness_jitter * rng.standard_normal(n), 0.2, 2.0)
    levels = np.clip(np.rint(levels * 255.0), 1, 255).astype(int)
    # Thin streaks: 1 px on the supersampled canvas, i.e. half a pixel, fainter after
    # downsampling, which is how sub-pixel (far) rain looks.
    thickness = max(1, round(width * s))
    half_dx = np.sin(angles) * lengths * 0.5
    half_dy = np.cos(angles) * lengths * 0.5
    scale = 16 * s  # shift=4 fixed-point coordinates on the supersampled canvas
    x1 = np.rint((xs - half_dx) * scale).astype(int)
    y1 = np.rint((ys - half_dy) * scale).astype(int)
    x2 = np.rint((xs + half_dx) * scale).astype(int)
    y2 = np.rint((ys + half_dy) * scale).astype(int)
    for i in range(n):
        cv2.line(canvas, (x1[i], y1[i]), (x2[i], y2[i]), int(levels[i]), thickness, cv2.LINE_AA, shift=4)
    layer = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / np.float32(255.0)
    if motion_blur >= 1.0:
        layer = cv2.filter2D(layer, -1, _line_kernel(motion_blur, angle), borderType=cv2.BORDER_REFLECT)
        # Blurring along the streak keeps its body but would dim it where it is shorter than
        # the kernel; restore the drawn peak so brightness keeps its meaning.
        layer *= np.float32(1.0 + 0.5 * motion_blur / max(length, 1.0))
    # Real streaks are soft across as well (defocus of the drops).
    layer = cv2.GaussianBlur(layer, (0, 0), sigmaX=0.35 + 0.25 * width)
    # Brightness varies along a streak (drops overlap, exposure): modulate with noise
    # smeared along the fall direction so it changes along streaks, not across them.
    noise = rng.standard_normal((h, w), dtype=np.float32)
    noise = cv2.filter2D(noise, -1, _line_kernel(max(length * 0.4, 3.0), angle), borderType=cv2.BORDER_REFLECT)
    noise /= max(float(noise.std()), 1e-6)
    layer *= np.clip(1.0 + 0.35 * noise, 0.3, 1.7)
    return np.clip(layer, 0.0, 1.0)


def _splash_layer(h: int, w: int, density: float, brightness: float, rng: np.random.Generator) -> np.ndarray:
    s = _SUPERSAMPLE
    canvas = np.zeros((h * s, w * s), np.uint8)
    n = int(rng.poisson(density * h * w / 10_000.0))
    xs = rng.uniform(0, w, n)
    ys = rng.uniform(0, h, n)
    radii = rng.uniform(0.4, 1.6, n)
    levels = np.clip(np.rint(brightness * rng.uniform(0.4, 1.0, n) * 255.0), 1, 255).astype(int)
    scale = 16 * s
    for i in range(n):
        center = (round(xs[i] * scale), round(ys[i] * scale))
        cv2.circle(canvas, center, max(1, round(radii[i] * scale)), int(levels[i]), -1, cv2.LINE_AA, shift=4)
    layer = cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / np.float32(255.0)
    return cv2.GaussianBlur(layer, (0, 0), sigmaX=0.7)


def _depth_map(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth pseudo-depth in [0, 1] (1 = far): a top-to-bottom gradient plus blobs."""
    grid = rng.uniform(0.0, 1.0, (4, 4)).astype(np.float32)
    blobs = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    ramp = np.linspace(1.0, 0.3, h, dtype=np.float32)[:, None]
    depth = 0.6 * ramp + 0.4 * blobs
    return np.clip(depth, 0.0, 1.0)


def _screen(base: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """Screen blend (``1 − (1 − a)(1 − b)``): light adds, never exceeds white."""
    if base.ndim == 3:
        layer = layer[:, :, None]
    return 1.0 - (1.0 - base) * (1.0 - layer)


def _apply_veil(img: np.ndarray, params: RainParams, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    if params.haze_blur > 0:
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=params.haze_blur)
    t = 1.0 - params.haze * _depth_map(h, w, rng)
    if img.ndim == 3:
        t = t[:, :, None]
    return img * t + np.float32(params.haze_light) * (1.0 - t)


def render_rain(clean: np.ndarray, params: RainParams, seed: int | None = 0) -> np.ndarray:
    """Render rain over ``clean`` (HWC or HW; uint8, uint16 or float in [0, 1]).

    Returns a new array of the same shape and dtype. Deterministic: the same
    ``(clean, params, seed)`` gives identical bytes.
    """
    img = np.asarray(clean)
    _check_shape(img)
    dtype = img.dtype
    rng = np.random.default_rng(seed)
    out = _to_float(img)
    h, w = out.shape[:2]

    layers = []
    for k in range(params.layers):
        f = params.depth_falloff**k
        angle = params.angle
        if k > 0 and params.layer_angle_spread > 0:
            angle += float(rng.uniform(-params.layer_angle_spread, params.layer_angle_spread))
        layers.append(
            _streak_layer(
                h,
                w,
                density=params.density / max(f, 0.2),
                length=params.length * f,
                length_jitter=params.length_jitter,
                angle=angle,
                angle_jitter=params.angle_jitter,
                width=params.width * f,
                brightness=params.brightness * math.sqrt(f),
                brightness_jitter=params.brightness_jitter,
                motion_blur=params.motion_blur * f,
                rng=rng,
            )
        )
    # Far layers are behind the veil, the nearest layer is in front of it.
    for layer in reversed(layers[1:]):
        out = _screen(out, layer)
    if params.haze > 0:
        out = _apply_veil(out, params, rng)
    out = _screen(out, layers[0])
    if params.splash > 0:
        out = _screen(out, _splash_layer(h, w, params.splash, params.brightness, rng))
    return _from_float(out, dtype)


def add_gaussian_noise(clean: np.ndarray, sigma_255: float, seed: int | None = 0, *, clip: bool = True) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma_255`` (on the 0-255 scale).

    Same shape and dtype as ``clean``; integer outputs are rounded and always clipped,
    float outputs are clipped to [0, 1] unless ``clip=False``. Deterministic per seed.
    """
    img = np.asarray(clean)
    _check_shape(img)
    if sigma_255 < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma_255}")
    rng = np.random.default_rng(seed)
    out = _to_float(img)
    noisy = out + rng.standard_normal(out.shape, dtype=np.float32) * np.float32(sigma_255 / 255.0)
    if not clip and np.issubdtype(img.dtype, np.floating):
        return noisy.astype(img.dtype, copy=False)
    return _from_float(noisy, img.dtype)
