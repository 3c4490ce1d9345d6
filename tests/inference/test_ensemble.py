"""Self-ensemble: mirrored passes averaged, in the engine and on the command line."""

import numpy as np
import pytest
import torch

from spikeview.errors import ConfigError
from spikeview.evaluation import evaluate, pair_by_name
from spikeview.inference.ensemble import self_ensemble
from spikeview.inference.restorer import Restorer
from spikeview.paths import resource_dir


def test_mirrors_are_undone_and_the_plain_pass_runs_last():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    seen = []

    def column_ramp(t):  # not mirror-symmetric: adds each pixel's column index
        seen.append(t.clone())
        return t + torch.arange(t.shape[-1], dtype=t.dtype)

    out = self_ensemble(column_ramp, x, 2)
    # the mirrored pass sees columns reversed, so its ramp comes back reversed: the mean is flat
    assert torch.allclose(out, x + (x.shape[-1] - 1) / 2)
    assert torch.equal(seen[0], x.flip(-1)) and torch.equal(seen[-1], x)
    seen.clear()
    self_ensemble(column_ramp, x, 4)
    assert [s.shape for s in seen] == [x.shape] * 4 and torch.equal(seen[-1], x)
    assert torch.equal(self_ensemble(column_ramp, x, 1), x + torch.arange(5.0))
    with pytest.raises(ValueError, match="not 8"):
        self_ensemble(column_ramp, x, 8)


def test_restorer_averages_mirrored_passes_and_counts_their_energy(tiny_models_dir):
    image = (np.random.default_rng(3).random((32, 40, 3)) * 255).astype(np.uint8)
    plain = Restorer.from_name_or_path("tiny-snn", tile=0)
    x = torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    with torch.inference_mode():
        expected = (plain.restore_tensor(x) + plain.restore_tensor(x.flip(-1)).flip(-1)) / 2
    twice = Restorer.from_name_or_path("tiny-snn", tile=0, ensemble=2)
    with torch.inference_mode():
        assert torch.allclose(twice.restore_tensor(x), expected, atol=1e-6)
    one = plain.restore(image, energy=True).stats.energy
    mirrored = plain.restore(np.ascontiguousarray(image[:, ::-1]), energy=True).stats.energy
    two = twice.restore(image, energy=True).stats.energy
    # spikes differ a little between the two passes, so their counts add up, not double
    assert two.sops == pytest.approx(one.sops + mirrored.sops) and two.macs == 2 * one.macs
    tiled = Restorer.from_name_or_path("tiny-snn", tile=16, overlap=8, ensemble=4).restore(image)
    assert tiled.image.shape == image.shape and tiled.stats.tiles > 1
    folder = resource_dir() / "heldout" / "light"
    report = evaluate(twice, pair_by_name(folder / "input", folder / "target")[:1])
    assert report.settings["ensemble"] == 2  # an evaluation report says how it was made


def test_ensemble_and_carried_state_exclude_each_other(tiny_models_dir):
    r = Restorer.from_name_or_path("tiny-snn", ensemble=2)
    with pytest.raises(ConfigError, match="one pass per frame"):
        r.carry_state = True
    r.ensemble = 1
    r.carry_state = True
    with pytest.raises(ConfigError, match="reset per pass"):
        r.ensemble = 4
    with pytest.raises(ConfigError, match="not 3"):
        Restorer.from_name_or_path("tiny-snn", ensemble=3)
