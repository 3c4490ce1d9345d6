"""Training losses: SSIM agrees with scikit-image, FFT loss is a distance, gradients flow."""

import numpy as np
import pytest
import torch

from spikeview.errors import ConfigError
from spikeview.metrics import psnr
from spikeview.training.losses import (
    CombinedLoss,
    FFTLoss,
    LowPassL1Loss,
    SSIMLoss,
    charbonnier_loss,
    l1_loss,
    psnr_loss,
    ssim,
)


def _pair(seed: int = 0, h: int = 40, w: int = 48) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    clean = rng.random((h, w, 3)).astype(np.float32)
    noisy = np.clip(clean + 0.15 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
    return clean, noisy


def _nchw(hwc: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(hwc.transpose(2, 0, 1)))[None]


def test_ssim_loss_matches_skimage():
    from skimage.metrics import structural_similarity

    clean, noisy = _pair()
    ref = structural_similarity(
        clean, noisy, channel_axis=2, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0
    )
    loss = SSIMLoss()(_nchw(noisy), _nchw(clean))
    assert abs(float(loss) - (1.0 - ref)) < 1e-3


def test_ssim_identical_is_one_and_per_image_reduction():
    clean, noisy = _pair(1)
    x = torch.cat([_nchw(clean), _nchw(noisy)])
    y = torch.cat([_nchw(clean), _nchw(clean)])
    per_image = ssim(x, y, reduction="none")
    assert per_image.shape == (2,)
    assert float(per_image[0]) == pytest.approx(1.0, abs=1e-6)
    assert float(per_image[1]) < 0.9


def test_fft_loss_zero_for_identical_and_positive_otherwise():
    clean, noisy = _pair(2)
    for mode in ("complex", "amplitude"):
        fft = FFTLoss(mode=mode)
        assert float(fft(_nchw(clean), _nchw(clean))) == 0.0
        assert float(fft(_nchw(noisy), _nchw(clean))) > 0.0


def test_pixel_losses():
    clean, noisy = _pair(3)
    a, b = _nchw(noisy), _nchw(clean)
    assert float(l1_loss(a, b)) == pytest.approx(float(np.abs(noisy - clean).mean()), rel=1e-5)
    assert float(charbonnier_loss(b, b)) == pytest.approx(1e-3, rel=1e-4)


def test_psnr_loss_is_minus_the_mean_per_image_psnr():
    pairs = [_pair(5), _pair(6)]
    noisier = np.clip(pairs[1][1] + 0.2 * (pairs[1][1] - pairs[1][0]), 0, 1).astype(np.float32)
    pred = torch.cat([_nchw(pairs[0][1]), _nchw(noisier)])
    target = torch.cat([_nchw(pairs[0][0]), _nchw(pairs[1][0])])
    expected = -(psnr(pairs[0][1], pairs[0][0], data_range=1.0) + psnr(noisier, pairs[1][0], data_range=1.0)) / 2
    assert float(psnr_loss(pred, target)) == pytest.approx(expected, abs=1e-4)
    # the gradient is scaled by 1 / MSE per image: the cleaner image pulls harder per unit error
    pred.requires_grad_(True)
    psnr_loss(pred, target).backward()
    err = (pred - target).detach()
    ratio = (pred.grad / err).flatten(1).median(dim=1).values
    mse = (err**2).flatten(1).mean(dim=1)
    assert float(ratio[0] / ratio[1]) == pytest.approx(float(mse[1] / mse[0]), rel=1e-3)
    assert float(mse[1] / mse[0]) > 1.3


def test_lowpass_loss_sees_a_shared_offset_not_pixel_noise():
    clean = _nchw(_pair(7)[0])
    loss = LowPassL1Loss(sigma=4.0)
    assert float(loss(clean, clean)) == 0.0
    # a uniform offset passes the blur whole; zero-mean noise of the same size almost vanishes
    assert float(loss(clean + 0.05, clean)) == pytest.approx(0.05, rel=1e-5)
    noise = 0.05 * torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    assert float(loss(clean + noise, clean)) < 0.1 * float(l1_loss(clean + noise, clean))
    # a ramp (a veil that thickens downwards) is kept, reflect padding keeps the size
    ramp = torch.linspace(0, 0.1, clean.shape[-2]).view(1, 1, -1, 1)
    assert float(loss(clean + ramp, clean)) == pytest.approx(0.05, rel=0.05)


def test_lowpass_loss_names_images_smaller_than_its_padding():
    loss = LowPassL1Loss(sigma=4.0)  # radius ceil(3 * 4) = 12 px
    small = torch.zeros(1, 3, 12, 40)
    with pytest.raises(ValueError, match="larger than 12 px"):
        loss(small, small)
    assert float(loss(torch.zeros(1, 3, 13, 13), torch.zeros(1, 3, 13, 13))) == 0.0


def test_combined_loss_gradients_flow_and_terms_reported():
    clean, noisy = _pair(4)
    pred = _nchw(noisy).clone().requires_grad_(True)
    loss_fn = CombinedLoss({"l1": 1.0, "ssim": 0.2, "fft": 0.1, "charbonnier": 0.0})
    total, terms = loss_fn(pred, _nchw(clean))
    assert set(terms) == {"l1", "ssim", "fft"}
    expected = terms["l1"] + 0.2 * terms["ssim"] + 0.1 * terms["fft"]
    assert float(total.detach()) == pytest.approx(float(expected), rel=1e-6)
    total.backward()
    assert pred.grad is not None and torch.isfinite(pred.grad).all() and float(pred.grad.abs().sum()) > 0
    # each term alone also back-propagates
    for name in ("ssim", "fft", "psnr", "lowpass"):
        p = _nchw(noisy).clone().requires_grad_(True)
        CombinedLoss({name: 1.0})(p, _nchw(clean))[0].backward()
        assert float(p.grad.abs().sum()) > 0


def test_combined_loss_rejects_unknown_term():
    with pytest.raises(ConfigError):
        CombinedLoss({"l2": 1.0})
