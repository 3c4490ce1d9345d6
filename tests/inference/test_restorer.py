"""The engine on real tiny checkpoints: dtypes, sizes, tiling, observers, batch, evaluation."""

import numpy as np
import pytest

from spikeview.errors import DeviceError, ImageWriteError
from spikeview.inference.batch import plan_batch, run_batch
from spikeview.inference.restorer import Restorer
from spikeview.media.images import read_image, write_image
from spikeview.progress import Cancelled, CancelToken


@pytest.fixture
def restorer(tiny_models_dir):
    return Restorer.from_name_or_path(None)  # the default entry of the tiny manifest


def test_default_model_and_twin_resolve_from_manifest(restorer):
    assert restorer.info.name == "tiny-snn" and restorer.info.twin == "tiny-ann"
    assert restorer.info.spiking and restorer.info.timesteps == 4
    twin = Restorer.from_name_or_path(restorer.info.twin)
    assert not twin.info.spiking and twin.info.timesteps == 1


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_restore_keeps_size_and_dtype(restorer, dtype):
    rng = np.random.default_rng(0)
    top = 255 if dtype == np.uint8 else 65535
    image = rng.integers(0, top, size=(37, 50, 3), dtype=dtype)
    result = restorer.restore(image)
    assert result.image.shape == image.shape and result.image.dtype == dtype
    assert result.stats.tiles == 1 and result.stats.ms > 0


def test_fast_path_close_to_exact_and_tiles_close_to_whole(tiny_models_dir):
    exact = Restorer.from_name_or_path("tiny-snn", fast=False, tile=0)
    fast = Restorer.from_name_or_path("tiny-snn", tile=0)
    image = (np.random.default_rng(1).random((64, 80, 3)) * 255).astype(np.uint8)
    a, b = exact.restore(image).image, fast.restore(image).image
    assert np.abs(a.astype(int) - b).max() <= 1
    tiled = Restorer.from_name_or_path("tiny-snn", tile=48, overlap=16).restore(image)
    assert tiled.stats.tiles > 1
    assert np.abs(tiled.image.astype(float) - a).mean() < 2.0  # SNN tiles see different context only near seams


def test_auto_tile_respects_memory_cap(tiny_models_dir):
    r = Restorer.from_name_or_path("tiny-snn", max_memory_mb=64)
    tile = r.auto_tile(2000, 3000)
    assert tile is not None and tile % 4 == 0
    assert 4 * 4 * 32 * 10 * tile * tile <= 64 * 2**20
    assert Restorer.from_name_or_path("tiny-snn").auto_tile(64, 64) is None


def test_observers_attach_per_call(restorer):
    from spikeview.recording import ActivityRecorder

    image = (np.random.default_rng(2).random((32, 32, 3)) * 255).astype(np.uint8)
    recorder = ActivityRecorder(restorer.model)
    result = restorer.restore(image, recorder=recorder, energy=True)
    assert result.stats.firing_rates and 0 < result.stats.mean_firing_rate < 1
    assert result.stats.energy.energy_uj > 0 and result.stats.energy.sops > 0
    assert not restorer.model._forward_hooks and not restorer.model._forward_pre_hooks
    plain = restorer.restore(image)
    assert plain.stats.energy is None and plain.stats.firing_rates == {}


def test_unavailable_device_is_a_clear_error(tiny_models_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(DeviceError, match="not available"):
        Restorer.from_name_or_path("tiny-snn", device="cuda")


def test_batch_keeps_tree_resumes_and_never_overwrites(restorer, tmp_path):
    src = tmp_path / "in"
    for rel in ("a.png", "sub/b.png", "sub/deeper/c.jpg"):
        path = src / rel
        write_image(path, (np.random.default_rng(len(rel)).random((24, 28, 3)) * 255).astype(np.uint8))
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "out"
    jobs = plan_batch([src], out)
    assert {j.output.relative_to(out).as_posix() for j in jobs} == {
        "a.png",
        "sub/b.png",
        "sub/deeper/c.jpg",
        "broken.png",
    }
    results = run_batch(restorer.restore, jobs)
    status = {r.input.name: r.status for r in results}
    assert status == {"a.png": "done", "b.png": "done", "c.jpg": "done", "broken.png": "failed"}
    assert read_image(out / "sub/b.png").shape == (24, 28, 3)
    again = run_batch(restorer.restore, jobs)
    assert [r.status for r in again if r.input.name != "broken.png"] == ["skipped"] * 3
    with pytest.raises(ImageWriteError, match="overwrite an input"):
        plan_batch([src], src)


def test_cancelled_batch_leaves_no_partial_outputs(restorer, tmp_path):
    src = tmp_path / "in"
    for i in range(4):
        write_image(src / f"{i}.png", np.full((24, 24, 3), 40 * i, np.uint8))
    jobs = plan_batch([src], tmp_path / "out")
    token = CancelToken()

    def restore(image, cancel=None):
        if len(list((tmp_path / "out").glob("*.png"))) == 2:
            token.cancel()
        return restorer.restore(image, cancel=cancel)

    with pytest.raises(Cancelled):
        run_batch(restore, jobs, cancel=token)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["0.png", "1.png"]  # finished files only, no temp files


def test_evaluate_scores_bundled_heldout_pairs(restorer):
    from spikeview.evaluation import evaluate, pair_by_name
    from spikeview.paths import resource_dir

    folder = resource_dir() / "heldout" / "light"
    pairs = pair_by_name(folder / "input", folder / "target")
    report = evaluate(restorer, pairs[:2], energy=True)
    mean = report.mean
    assert set(mean) >= {"psnr", "ssim", "psnr_y", "ssim_y", "input_psnr", "energy_uj"}
    assert 0 < mean["ssim"] <= 1 and len(report.images) == 2


def test_catalog_lists_the_default_model_first(tiny_models_dir):
    import json

    from spikeview.catalog import list_models

    manifest = json.loads((tiny_models_dir / "MANIFEST.json").read_text())
    manifest["default"] = "tiny-ann"
    (tiny_models_dir / "MANIFEST.json").write_text(json.dumps(manifest))
    assert [e.name for e in list_models(include_user=False)] == ["tiny-ann", "tiny-snn"]
