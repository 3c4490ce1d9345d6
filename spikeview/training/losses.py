"""Training losses on float32 ``[N, C, H, W]`` images in [0, 1].

* :func:`l1_loss` / :func:`charbonnier_loss`: pixel losses.
* :func:`ssim` / :class:`SSIMLoss`: differentiable SSIM (Gaussian 11×11 window, σ = 1.5,
  C1 = 0.01², C2 = 0.03², per channel, "valid" window positions, mean over channels and
  positions) — the same numbers as ``skimage.metrics.structural_similarity(...,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1)``.
  ESDNet trains with ``1 − SSIM`` (seed-models §2.4).
* :class:`FFTLoss`: L1 distance of the ``rfft2`` spectra (SpikerIR uses L1 + 0.1·FFT, §5).
* :class:`LowPassL1Loss`: L1 of the Gaussian-blurred error, for low-frequency error (a rain
  veil misjudged over a whole region), which pixel L1 sees only as a small bias in noisy signs.
* :func:`psnr_loss`: minus the mean per-image PSNR (HINet's / NAFNet's PSNR loss), the metric
  the models are judged by.
* :class:`CombinedLoss`: weighted sum that also returns each term for logging.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from spikeview.errors import ConfigError

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_C1 = 0.01**2
SSIM_C2 = 0.03**2


def l1_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (pred - target).abs().mean()


def charbonnier_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """Smooth L1: ``mean(sqrt((pred − target)² + eps²))``."""
    return torch.sqrt((pred - target) ** 2 + eps * eps).mean()


def psnr_loss(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``−mean_n PSNR(pred_n, target_n)`` in dB (peak 1), each image of the batch weighted alike.

    L1 pulls on every pixel's error alike whatever the image; here image ``n``'s squared-error
    gradient is scaled by ``1 / MSE_n``, so an error shaved off a nearly restored image (light
    rain) counts for more than the same error on a badly degraded one, as it does in the mean
    PSNR of an evaluation. ``eps`` bounds that scale on (near-)perfect images.
    """
    mse = ((pred - target) ** 2).flatten(1).mean(dim=1)
    return (10.0 / math.log(10.0)) * torch.log(mse + eps).mean()


def gaussian_window(
    size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Normalised 2-D Gaussian ``[size, size]``."""
    g = gaussian_kernel_1d(size, sigma)
    return torch.outer(g, g).to(dtype)


def gaussian_kernel_1d(size: int, sigma: float) -> torch.Tensor:
    """Normalised 1-D Gaussian of ``size`` taps (float64), centred on the middle tap."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma * sigma))
    return g / g.sum()


def ssim(
    pred: torch.Tensor,
    target: torch.Tensor,
    window: torch.Tensor | None = None,
    reduction: str = "mean",
) -> torch.Tensor:
    """SSIM of ``[N, C, H, W]`` images in [0, 1] (data range 1), per channel then averaged.

    ``reduction="mean"`` gives one scalar; ``"none"`` gives one value per image ``[N]``.
    Images must be at least as large as the window (11×11).
    """
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(f"ssim expects two [N, C, H, W] tensors of one shape, got {pred.shape} and {target.shape}")
    if window is None:
        window = gaussian_window(dtype=pred.dtype)
    size = window.shape[-1]
    if pred.shape[-1] < size or pred.shape[-2] < size:
        raise ValueError(f"ssim needs images of at least {size}×{size} pixels, got {tuple(pred.shape[-2:])}")
    channels = pred.shape[1]
    kernel = window.to(device=pred.device, dtype=pred.dtype).expand(channels, 1, size, size)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, kernel, groups=channels)

    mu_x, mu_y = blur(pred), blur(target)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    var_x = blur(pred * pred) - mu_xx
    var_y = blur(target * target) - mu_yy
    cov = blur(pred * target) - mu_xy
    num = (2 * mu_xy + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_xx + mu_yy + SSIM_C1) * (var_x + var_y + SSIM_C2)
    ssim_map = num / den
    if reduction == "none":
        return ssim_map.mean(dim=(1, 2, 3))
    return ssim_map.mean()


class SSIMLoss(nn.Module):
    """``1 − SSIM(pred, target)`` (see :func:`ssim`)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", gaussian_window(), persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 1.0 - ssim(pred, target, self.window)


class FFTLoss(nn.Module):
    """L1 distance between the 2-D real FFTs of ``pred`` and ``target``.

    ``mode="complex"``: mean |ΔRe| + |ΔIm| over the stacked real/imaginary parts;
    ``mode="amplitude"``: mean ||F(pred)| − |F(target)||. ``norm="ortho"`` keeps the value on
    the scale of a pixel loss whatever the patch size (``"backward"`` grows with H·W).
    """

    def __init__(self, mode: str = "complex", norm: str = "ortho") -> None:
        super().__init__()
        if mode not in ("complex", "amplitude"):
            raise ValueError(f"FFTLoss mode must be 'complex' or 'amplitude', not {mode!r}")
        self.mode = mode
        self.norm = norm

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        fp = torch.fft.rfft2(pred, norm=self.norm)
        ft = torch.fft.rfft2(target, norm=self.norm)
        if self.mode == "amplitude":
            return (fp.abs() - ft.abs()).abs().mean()
        return torch.view_as_real(fp - ft).abs().mean()


class LowPassL1Loss(nn.Module):
    """``mean |G_σ * (pred − target)|``: L1 of the error blurred by a Gaussian of ``sigma`` px.

    Blurring averages out the error's high-frequency part (streak residue, noise), so what is
    left is the error a region shares, e.g. a haze veil estimated too bright; pixel L1's
    gradient (the error's sign) barely feels such a bias under large pixel-wise errors.
    Reflect padding keeps the image size (images must be larger than ``ceil(3 sigma)`` px).
    """

    def __init__(self, sigma: float = 4.0) -> None:
        super().__init__()
        radius = max(1, math.ceil(3 * sigma))
        self.register_buffer("kernel", gaussian_kernel_1d(2 * radius + 1, sigma).float(), persistent=False)
        self.radius = radius

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        err = pred - target
        c, r = err.shape[1], self.radius
        if min(err.shape[-2:]) <= r:
            raise ValueError(f"lowpass loss needs images larger than {r} px, got {tuple(err.shape[-2:])}")
        k = self.kernel.to(dtype=err.dtype)
        err = F.conv2d(F.pad(err, (r, r, 0, 0), mode="reflect"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
        err = F.conv2d(F.pad(err, (0, 0, r, r), mode="reflect"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
        return err.abs().mean()


class _Charbonnier(nn.Module):
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return charbonnier_loss(pred, target)


class _L1(nn.Module):
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return l1_loss(pred, target)


class _PSNR(nn.Module):
    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return psnr_loss(pred, target)


LOSS_TERMS = {
    "l1": _L1,
    "charbonnier": _Charbonnier,
    "ssim": SSIMLoss,
    "fft": FFTLoss,
    "psnr": _PSNR,
    "lowpass": LowPassL1Loss,
}


class CombinedLoss(nn.Module):
    """Weighted sum of named terms (``l1``, ``charbonnier``, ``ssim`` = 1 − SSIM, ``fft``,
    ``psnr`` = −PSNR in dB, ``lowpass`` = L1 of the blurred error).

    ``forward`` returns ``(total, terms)``: ``total`` is the differentiable scalar, ``terms``
    maps each term name to its *unweighted* detached value. Terms with weight 0 are skipped.
    """

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        super().__init__()
        weights = dict(weights) if weights is not None else {"l1": 1.0, "fft": 0.1}
        unknown = sorted(set(weights) - set(LOSS_TERMS))
        if unknown:
            raise ConfigError(f"unknown loss term(s) {', '.join(unknown)} (known: {', '.join(LOSS_TERMS)})")
        self.weights = {k: float(v) for k, v in weights.items() if float(v) != 0.0}
        if not self.weights:
            raise ConfigError("all loss weights are zero")
        self.terms = nn.ModuleDict({k: LOSS_TERMS[k]() for k in self.weights})

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total = pred.new_zeros(())
        values: dict[str, torch.Tensor] = {}
        for name, weight in self.weights.items():
            value = self.terms[name](pred, target)
            values[name] = value.detach()
            total = total + weight * value
        return total, values
