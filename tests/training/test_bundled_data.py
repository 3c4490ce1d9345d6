"""The rainy/clean files bundled in resources/ pair up and stay small."""

from __future__ import annotations

from spikeview.media.images import read_image
from spikeview.paths import resource_dir, samples_dir
from spikeview.training.datasets import find_pairs


def test_samples_pair_up() -> None:
    pairs = find_pairs(samples_dir())
    assert [(a.name, b.name) for a, b in pairs] == [
        (f"{n}_rain.png", f"{n}_clean.png") for n in ("astronaut", "chelsea", "coffee", "rocket")
    ]
    for rain, clean in pairs:
        a, b = read_image(rain), read_image(clean)
        assert a.shape == b.shape and max(a.shape[:2]) == 384 and (a != b).any()


def test_heldout_pairs_and_size_budget() -> None:
    root = resource_dir() / "heldout"
    for preset in ("light", "heavy"):
        pairs = find_pairs(root / preset)
        assert len(pairs) == 6
        assert all(read_image(a).shape == read_image(b).shape == (160, 160, 3) for a, b in pairs)
    files = [p for d in (samples_dir(), root) for p in d.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 3_000_000
