"""ESDNet: official state-dict names/shapes, twin topology, shapes, global residual."""

from pathlib import Path

import pytest
import torch

from spikeview.archs import ARCHS, build_arch
from spikeview.snn import LIF

KEYS_FILE = Path(__file__).resolve().parents[1] / "data" / "esdnet_keys.txt"


def official_keys():
    rows = [line.split("\t") for line in KEYS_FILE.read_text().splitlines() if line.strip()]
    return [(name, shape, dtype) for name, shape, dtype in rows]


def test_official_config_state_dict_equals_reference_key_list():
    model = build_arch("esdnet")  # official configuration by default
    ours = [(k, str(tuple(v.shape)), str(v.dtype)) for k, v in model.state_dict().items()]
    assert ours == official_keys()  # same names, shapes, dtypes and order (549 entries)
    assert sum(p.numel() for p in model.parameters()) == 12_811_463


def test_build_arch_accepts_official_constructor_names():
    model = build_arch(
        "esdnet",
        inp_channels=3,
        out_channels=3,
        dim=16,
        en_num_blocks=[1, 2, 1, 1],
        de_num_blocks=[1, 1, 1, 1],
        bias=False,
        T=2,
    )
    assert model.T == 2 and len(model.encoder_level2) == 2
    with pytest.raises(Exception, match="bad arguments"):
        build_arch("esdnet", width=3)


def test_ann_twin_has_same_topology_without_neurons_or_time():
    snn = build_arch("esdnet", dim=16, en_num_blocks=[1, 1, 1, 1], de_num_blocks=[1, 1, 1, 1])
    ann = build_arch("esdnet_ann", dim=16, en_num_blocks=[1, 1, 1, 1], de_num_blocks=[1, 1, 1, 1])
    assert ARCHS["esdnet"].twin == "esdnet_ann" and ARCHS["esdnet_ann"].twin == "esdnet"
    assert ann.T == 1 and not any(isinstance(m, LIF) for m in ann.modules())
    snn_keys = {k for k in snn.state_dict() if ".attn.ta." not in k}
    assert snn_keys == set(ann.state_dict())  # the twin lacks only the time-attention weights
    n_lif = sum(isinstance(m, LIF) for m in snn.modules())
    n_relu = sum(isinstance(m, torch.nn.ReLU) and "attn" not in name for name, m in ann.named_modules())
    assert n_lif > 0 and n_lif <= n_relu


@pytest.mark.parametrize("arch", ["esdnet", "esdnet_ann"])
def test_forward_shape_and_global_residual(arch):
    torch.manual_seed(0)
    model = build_arch(arch, dim=16, en_num_blocks=[1, 1, 1, 1], de_num_blocks=[1, 1, 1, 1]).eval()
    x = torch.rand(2, 3, 20, 28)
    with torch.inference_mode():
        y = model(x)
        assert y.shape == x.shape
        torch.nn.init.zeros_(model.output[0].weight)
        torch.nn.init.zeros_(model.output[0].bias)
        assert torch.equal(model(x), x)  # output = input + head(...)


def test_spiking_forward_is_deterministic_and_time_constant_work_is_shared():
    torch.manual_seed(0)
    model = build_arch("esdnet", dim=16, en_num_blocks=[1, 1, 1, 1], de_num_blocks=[1, 1, 1, 1]).eval()
    x = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        a, b = model(x), model(x)
        assert torch.equal(a, b)  # neuron state is reset per call
        embedded = model.patch_embed(x.unsqueeze(0).expand(4, *x.shape))
        assert embedded.stride(0) == 0  # the direct-encoded first conv ran once, not T times
        ref = torch.nn.functional.conv2d(x, model.patch_embed.proj.weight, padding=1)
        assert torch.equal(embedded[3], ref)
