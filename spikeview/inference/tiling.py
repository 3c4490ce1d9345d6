"""Padding and tiled inference as pure functions of ``(fn, tensor)``.

Networks need H, W multiples of their down-sampling factor, and large images do not fit in
memory at once: the image is reflect-padded to a multiple, cut into overlapping tiles, each
tile restored independently and the tiles blended (sum of weighted outputs / sum of
weights). Near an edge shared with a neighbour a tile's output is unreliable (its receptive
field was cut), so its weight is 0 for the outermost quarter of the overlap and then ramps
up: seams do not show, and an operator whose reach is under ``overlap // 4`` gives exactly
the untiled result.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from spikeview.progress import CancelToken, ProgressCallback, check_cancel, report


def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """Pad ``[N, C, H, W]`` on the bottom/right to multiples of ``multiple``; return it and (H, W)."""
    h, w = x.shape[-2:]
    pad_h = (-h) % multiple
    pad_w = (-w) % multiple
    if pad_h or pad_w:
        # reflect needs the pad to be smaller than the side; tiny images fall back to replicate
        mode = "reflect" if pad_h < h and pad_w < w else "replicate"
        x = F.pad(x, (0, pad_w, 0, pad_h), mode=mode)
    return x, (h, w)


def crop_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return x[..., : size[0], : size[1]]


def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``length``; the last tile is flush with the end."""
    if length <= tile:
        return [0]
    stride = max(1, tile - overlap)
    starts = list(range(0, length - tile, stride))
    starts.append(length - tile)
    return starts


def _ramp(n: int, overlap: int, start_inside: bool, end_inside: bool, device: torch.device) -> torch.Tensor:
    """1-D tile weights. On a side that lies inside the image the first ``overlap // 4`` pixels
    get weight 0 (their receptive field was cut by the tile edge) and the next ones ramp up
    linearly; a side on the image border keeps weight 1 (no other tile covers it)."""
    w = torch.ones(n, device=device)
    if overlap <= 0:
        return w
    skip = overlap // 4
    ramp_len = max(1, overlap - 2 * skip)
    i = torch.arange(n, device=device, dtype=torch.float32)
    if start_inside:
        w = torch.minimum(w, ((i - skip + 1) / (ramp_len + 1)).clamp(0, 1))
    if end_inside:
        w = torch.minimum(w, ((n - i - skip) / (ramp_len + 1)).clamp(0, 1))
    return w


def blend_window(
    tile_h: int,
    tile_w: int,
    overlap: int,
    device: torch.device,
    inside: tuple[bool, bool, bool, bool] = (True, True, True, True),
) -> torch.Tensor:
    """``[1, 1, h, w]`` blending weights of one tile; ``inside`` = (top, bottom, left, right)
    says which tile edges lie inside the image (and so overlap a neighbour)."""
    top, bottom, left, right = inside
    rows = _ramp(tile_h, overlap, top, bottom, device)
    cols = _ramp(tile_w, overlap, left, right, device)
    return (rows[:, None] * cols[None, :])[None, None]


def count_tiles(h: int, w: int, tile: int | None, overlap: int) -> int:
    if not tile:
        return 1
    return len(tile_starts(h, tile, overlap)) * len(tile_starts(w, tile, overlap))


def run_tiled(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    tile: int | None,
    overlap: int,
    multiple: int,
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> torch.Tensor:
    """Apply ``fn`` to ``x`` ([N, C, H, W]) whole or in blended tiles; returns the same size as ``x``.

    ``tile`` is rounded down to a multiple of ``multiple``; ``None`` or a tile at least as large as
    the image runs in one pass. The cancel token is checked between tiles.
    """
    padded, size = pad_to_multiple(x, multiple)
    h, w = padded.shape[-2:]
    if tile:
        tile = max(multiple, tile - tile % multiple)
        overlap = min(overlap, tile // 2)
    if not tile or (tile >= h and tile >= w):
        check_cancel(cancel)
        out = fn(padded)
        report(progress, 1, 1, "tile 1/1")
        return crop_to(out, size)

    tile_h, tile_w = min(tile, h), min(tile, w)
    ys, xs = tile_starts(h, tile_h, overlap), tile_starts(w, tile_w, overlap)
    total = len(ys) * len(xs)
    acc = None
    weight = torch.zeros(1, 1, h, w, device=padded.device)
    done = 0
    for y0 in ys:
        for x0 in xs:
            check_cancel(cancel)
            out = fn(padded[..., y0 : y0 + tile_h, x0 : x0 + tile_w])
            inside = (y0 > 0, y0 + tile_h < h, x0 > 0, x0 + tile_w < w)
            window = blend_window(tile_h, tile_w, overlap, padded.device, inside)
            if acc is None:
                acc = torch.zeros(out.shape[0], out.shape[1], h, w, device=out.device, dtype=out.dtype)
            acc[..., y0 : y0 + tile_h, x0 : x0 + tile_w] += out * window
            weight[..., y0 : y0 + tile_h, x0 : x0 + tile_w] += window
            done += 1
            report(progress, done, total, f"tile {done}/{total}")
    return crop_to(acc / weight, size)
