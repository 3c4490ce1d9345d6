"""Checkpoints: official formats load strictly, ours round-trip, bad files give one-line errors."""

import os
import pickle

import pytest
import torch

from spikeview.archs import build_arch
from spikeview.checkpoints import load_checkpoint, load_official, read_checkpoint, save_checkpoint
from spikeview.errors import CheckpointError

SMALL = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1]}


def randomised(model):
    torch.manual_seed(3)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                tensor.uniform_(0.5, 1.5) if "running_var" in name else tensor.normal_(0, 0.1)
    return model


@pytest.mark.parametrize("wrap", ["bare", "state_dict", "params", "module_prefix"])
def test_official_state_dict_round_trips_strictly(tmp_path, wrap):
    source = randomised(build_arch("esdnet", **SMALL)).eval()
    sd = source.state_dict()
    obj = {
        "bare": sd,
        "state_dict": {"epoch": 3, "state_dict": sd, "optimizer": {}},
        "params": {"params": sd},
        "module_prefix": {"state_dict": {"module." + k: v for k, v in sd.items()}},
    }[wrap]
    path = tmp_path / "official.pth"
    torch.save(obj, path)
    model = load_official("esdnet", path, **SMALL)
    assert not model.training
    x = torch.rand(1, 3, 24, 24)
    with torch.inference_mode():
        assert torch.equal(model(x), source(x))


def test_official_config_file_loads_and_runs(tmp_path):
    source = build_arch("esdnet")  # official configuration, random init
    path = tmp_path / "Rain200H.pth"
    torch.save(source.state_dict(), path)
    model = load_official("esdnet", path)
    with torch.inference_mode():
        y = model(torch.rand(1, 3, 16, 16))
    assert y.shape == (1, 3, 16, 16) and torch.isfinite(y).all()


def test_mismatch_lists_missing_unexpected_and_shapes():
    sd = build_arch("esdnet", **SMALL).state_dict()
    sd.pop("patch_embed.proj.weight")
    sd["extra.weight"] = torch.zeros(1)
    sd["output.0.bias"] = torch.zeros(5)
    with pytest.raises(CheckpointError) as err:
        load_official("esdnet", sd, **SMALL)
    text = str(err.value)
    assert "1 missing: patch_embed.proj.weight" in text
    assert "1 unexpected: extra.weight" in text
    assert "output.0.bias (5,) vs (3,)" in text
    assert "\n" not in text


def test_own_checkpoint_is_self_describing(tmp_path):
    model = randomised(build_arch("esdnet", **SMALL, T=2))
    path = save_checkpoint(tmp_path / "m.pt", model, "esdnet", {**SMALL, "T": 2}, metrics={"psnr": 30.1})
    assert not list(tmp_path.glob(".*tmp"))  # atomic write leaves no temp file
    loaded, info = load_checkpoint(path)
    assert info.arch == "esdnet" and info.timesteps == 2 and info.metrics == {"psnr": 30.1}
    x = torch.rand(1, 3, 16, 16)
    with torch.inference_mode():
        assert torch.equal(loaded(x), model.eval()(x))
    assert read_checkpoint(path)["format_version"] == 1


class _Exploit:
    def __reduce__(self):
        return (os.system, ("touch pwned_marker",))


def test_malicious_pickle_is_refused_without_running_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "payload": _Exploit()}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError):
        load_official("esdnet", path)
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(pickle.dumps(_Exploit(), protocol=2))
    with pytest.raises(CheckpointError):
        load_official("esdnet", legacy)
    assert not (tmp_path / "pwned_marker").exists()


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", None])
def test_corrupt_truncated_or_missing_files(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content is None:  # truncated real checkpoint
        good = save_checkpoint(tmp_path / "good.pt", build_arch("esdnet", **SMALL), "esdnet", SMALL)
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert "\n" not in str(err.value)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_official_file_passed_as_own_checkpoint_says_how_to_load_it(tmp_path):
    path = tmp_path / "official.pth"
    torch.save(build_arch("esdnet", **SMALL).state_dict(), path)
    with pytest.raises(CheckpointError, match="not a SpikeView checkpoint"):
        load_checkpoint(path)
