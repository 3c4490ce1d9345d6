"""collect_photos / split_holdout / largest_rendition on real files."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from spikeview.errors import ConfigError
from spikeview.media.images import read_image, write_image
from spikeview.training.collect import collect_photos, largest_rendition, split_holdout


def _photo(seed: int, h: int = 300, w: int = 400) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (6, 8, 3), np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def test_collect_photos_filters_and_shrinks(tmp_path: Path) -> None:
    src = tmp_path / "src"
    a = write_image(src / "A photo.jpg", _photo(1))
    big_dup = write_image(src / "a_big.png", _photo(1, 600, 800))  # same picture, larger
    tiny = write_image(src / "tiny.png", _photo(2, 40, 50))
    svg = src / "vector.svg"
    svg.write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    kde = write_image(src / "Kite" / "contents" / "images" / "1920x1080.png", _photo(3, 270, 480))
    write_image(src / "Kite" / "contents" / "images" / "640x480.png", _photo(3, 120, 160))
    assert largest_rendition(src / "Kite") == kde

    out = tmp_path / "out"
    written = collect_photos([big_dup, a, tiny, svg, largest_rendition(src / "Kite")], out, max_side=200, min_side=100)
    assert [p.name for p in written] == ["a_big.png", "kite.png"]
    assert read_image(out / "a_big.png").shape == (150, 200, 3)
    more = collect_photos([a], out, max_side=None, min_side=100, max_hash_distance=-1, prefix="x_")
    assert [p.name for p in more] == ["x_a_photo.png"]


def test_split_holdout(tmp_path: Path) -> None:
    train = tmp_path / "train"
    for i in range(20):
        write_image(train / f"{i:02d}.png", _photo(i, 8, 8))
    moved = split_holdout(train, tmp_path / "val", fraction=0.1, seed=0)
    assert len(moved) == 2 and len(list(train.glob("*.png"))) == 18
    assert all(p.parent == tmp_path / "val" for p in moved)
    with pytest.raises(ConfigError):
        split_holdout(tmp_path / "val" / "none", tmp_path / "x")
