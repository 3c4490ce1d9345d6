"""Inference-only rewrites (spikeview.inference.optimize) against the modules they replace."""

from __future__ import annotations

import pytest
import torch

from spikeview.archs.esdnet import ESDNet
from spikeview.archs.vlif import VLIFNet
from spikeview.energy import EnergyMeter
from spikeview.inference.optimize import FusedMultiDimensionalAttention, fast_inference_copy, fuse_attention
from spikeview.snn import MultiDimensionalAttention


def _attention(steps: int, time_attention: bool) -> MultiDimensionalAttention:
    torch.manual_seed(3)
    attn = MultiDimensionalAttention(steps, 32, time_attention=time_attention).eval()
    with torch.no_grad():  # weights far from their init, so every branch matters
        for p in attn.parameters():
            p.normal_(0.0, 0.5)
    return attn


@pytest.mark.parametrize(("steps", "time_attention"), [(4, True), (1, False)])
@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "time_constant"])
def test_fused_attention_matches_reference(steps, time_attention, layout):
    reference = _attention(steps, time_attention)
    fused = FusedMultiDimensionalAttention.from_module(reference)
    x = torch.randn(steps, 2, 32, 20, 28, generator=torch.Generator().manual_seed(0))
    if layout == "channels_last":  # what a channels-last conv hands on, unfolded to [T, N, C, H, W]
        x = x.reshape(-1, 32, 20, 28).contiguous(memory_format=torch.channels_last).reshape(x.shape)
    elif layout == "time_constant":
        x = x[:1].expand_as(x)
    before = x.clone()
    with torch.no_grad():
        expected, got = reference(x), fused(x)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    # the input is not modified (the fused path works in place on its own product)
    assert torch.equal(x, before)


def test_fused_attention_with_autograd_is_the_reference():
    reference = _attention(4, True)
    fused = FusedMultiDimensionalAttention.from_module(reference)
    x = torch.randn(4, 1, 32, 12, 12, requires_grad=True)
    (g_ref,) = torch.autograd.grad(reference(x).sum(), x)
    (g_fused,) = torch.autograd.grad(fused(x).sum(), x)
    assert torch.equal(g_ref, g_fused)
    assert fused.ta is reference.ta and fused.ca is reference.ca and fused.sa is reference.sa


def test_fast_copy_fuses_every_attention_and_keeps_the_original():
    model = VLIFNet(dim=16, en_num_blocks=(1, 1, 1, 1), de_num_blocks=(1, 1, 1, 1), T=2).eval()
    count = sum(type(m) is MultiDimensionalAttention for m in model.modules())
    assert count > 0
    fast = fast_inference_copy(model)
    assert sum(isinstance(m, FusedMultiDimensionalAttention) for m in fast.modules()) == count
    assert not any(isinstance(m, FusedMultiDimensionalAttention) for m in model.modules())
    assert fuse_attention(fast) == 0  # already fused
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), rtol=1e-4, atol=1e-4)


def test_energy_of_fast_copy_counts_the_same_operations():
    model = ESDNet(dim=16, en_num_blocks=(1, 1, 1, 1), de_num_blocks=(1, 1, 1, 1), T=4, shortcut="identity").eval()
    x = torch.rand(1, 3, 32, 24)
    reports = []
    for net in (model, fast_inference_copy(model, fold_bn=False, channels_last=False)):
        with EnergyMeter(net) as meter, torch.inference_mode():
            net(x)
        reports.append(meter.report())
    exact, fast = reports
    assert fast.dense_macs == exact.dense_macs
    assert fast.macs == exact.macs and fast.sops == pytest.approx(exact.sops)
