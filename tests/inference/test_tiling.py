"""Padding and tiling as pure functions."""

import pytest
import torch

from spikeview.inference.tiling import blend_window, pad_to_multiple, run_tiled, tile_starts
from spikeview.progress import Cancelled, CancelToken


@pytest.mark.parametrize("length,tile,overlap", [(100, 32, 8), (64, 64, 8), (65, 32, 16), (10, 32, 8)])
def test_tiles_cover_everything_and_end_flush(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = set()
    for s in starts:
        covered.update(range(s, min(length, s + tile)))
    assert covered == set(range(length))
    assert starts[-1] == max(0, length - tile)


def test_pad_to_multiple_and_crop_back():
    x = torch.rand(1, 3, 21, 18)
    padded, size = pad_to_multiple(x, 8)
    assert padded.shape[-2:] == (24, 24) and size == (21, 18)
    assert torch.equal(padded[..., :21, :18], x)
    tiny, _ = pad_to_multiple(torch.rand(1, 3, 2, 2), 4)  # reflect impossible: replicate
    assert tiny.shape[-2:] == (4, 4)


def test_tiled_equals_untiled_for_a_local_operator():
    # a 5x5 conv has a 2-pixel reach; with overlap 16 every blended pixel sees its full context
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 3, 5, padding=2)
    x = torch.rand(1, 3, 70, 53)
    with torch.no_grad():
        whole = run_tiled(conv, x, None, 16, 4)
        tiled = run_tiled(conv, x, 32, 16, 4)
        assert whole.shape == x.shape
        # tiles hand over to each other where both saw the full 5x5 context: identical result
        assert torch.allclose(tiled, whole, atol=1e-5)


def test_blend_window_ramps_and_progress_and_cancel():
    w = blend_window(16, 16, 8, torch.device("cpu"))
    assert w[0, 0, 8, 8] == 1 and w[0, 0, 1, 1] == 0 and 0 < w[0, 0, 3, 3] < w[0, 0, 4, 4] < 1
    border = blend_window(16, 16, 8, torch.device("cpu"), inside=(False, True, False, True))
    assert border[0, 0, 0, 0] == 1 and border[0, 0, 15, 15] == 0
    seen = []
    run_tiled(lambda t: t, torch.rand(1, 3, 64, 64), 32, 8, 4, progress=lambda d, t, m: seen.append((d, t)))
    assert seen[-1] == (9, 9)
    token = CancelToken()
    calls = []

    def fn(t):
        calls.append(1)
        token.cancel()
        return t

    with pytest.raises(Cancelled):
        run_tiled(fn, torch.rand(1, 3, 64, 64), 32, 8, 4, cancel=token)
    assert len(calls) == 1  # stopped at the next tile
