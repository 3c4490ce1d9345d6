"""VLIF-Net: official state-dict names/shapes/order, strict official loading, shapes, ANN twin,
and hand-checkable cases of its blocks (SDEM, SMU)."""

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from spikeview.archs import ARCHS, build_arch
from spikeview.archs.vlif import SDEM, SMU, VLIFNet, patches_to_time
from spikeview.checkpoints import load_official
from spikeview.errors import CheckpointError
from spikeview.snn import LIF
from spikeview.snn.multispike import MultiSpike, RelaxedMultiSpike, multispike_multistep

DATA = Path(__file__).resolve().parents[1] / "data"
TINY = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4}


def reference_keys(name):
    rows = [line.split("\t") for line in (DATA / name).read_text().splitlines() if line.strip()]
    return [(key, shape, dtype) for key, shape, dtype in rows]


def described(model):
    return [(k, str(tuple(v.shape)), str(v.dtype)) for k, v in model.state_dict().items()]


@pytest.fixture(scope="module")
def official_rain200l():
    """The official configuration with refinement blocks (a superset of the plain one)."""
    return build_arch("vlif", use_refinement=True)


def test_official_config_state_dict_equals_reference_key_list():
    model = build_arch("vlif")  # official configuration (Rain200H / Rain1200 models)
    assert isinstance(model, VLIFNet) and model.T == 4 and model.size_multiple == 8
    assert described(model) == reference_keys("vlif_keys.txt")  # names, shapes, dtypes, order (661)
    assert sum(p.numel() for p in model.parameters()) == 14_023_911


def test_refinement_config_state_dict_equals_reference_key_list(official_rain200l):
    assert described(official_rain200l) == reference_keys("vlif_keys_refinement.txt")  # 773 entries
    assert sum(p.numel() for p in official_rain200l.parameters()) == 14_312_031


def test_official_format_checkpoint_round_trips_strictly(tmp_path, official_rain200l):
    torch.manual_seed(0)
    reference = official_rain200l.state_dict()
    state = {k: (torch.randn_like(v) if v.is_floating_point() else v + 7) for k, v in reference.items()}
    # the training script saves {'epoch', 'state_dict', 'optimizer'}, DataParallel adds 'module.'
    path = tmp_path / "model_epoch_2000.pth"
    torch.save({"epoch": 2000, "state_dict": {"module." + k: v for k, v in state.items()}, "optimizer": {}}, path)
    model = load_official("vlif", path, use_refinement=True)
    assert not model.training
    loaded = model.state_dict()
    assert list(loaded) == list(state) and all(torch.equal(loaded[k], v) for k, v in state.items())
    # a Rain200L checkpoint in the default (no refinement) configuration is refused, naming the keys
    with pytest.raises(CheckpointError, match=r"112 unexpected: refinement_blocks\.0\."):
        load_official("vlif", path)


def test_build_arch_accepts_official_constructor_names():
    model = build_arch(
        "vlif",
        inp_channels=3,
        out_channels=3,
        dim=16,
        en_num_blocks=[1, 2, 1, 1],
        de_num_blocks=[1, 1, 3, 1],
        bias=True,
        T=2,
        use_refinement=False,
    )
    assert model.T == 2 and len(model.encoder_level2) == 2 and len(model.decoder_level3) == 3
    assert model.reduce_conv_level1.bias is not None  # ``bias`` reaches only the 1×1 reductions
    assert model.encoder_level1.time_attention.sharedMLP[0].weight.shape == (2, 8, 1, 1, 1)  # 4T pseudo-steps
    with torch.inference_mode():
        assert model.eval()(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)  # T ≠ 4 runs too
    with pytest.raises(Exception, match="bad arguments"):
        build_arch("vlif", width=3)


def test_ann_twin_has_same_topology_without_time_specific_weights():
    snn = build_arch("vlif", **TINY)
    ann = build_arch("vlif_ann", **TINY)
    assert ARCHS["vlif"].twin == "vlif_ann" and ARCHS["vlif_ann"].twin == "vlif"
    assert ARCHS["vlif"].spiking and not ARCHS["vlif_ann"].spiking
    assert ann.T == 1 and not ann.spiking
    assert not any(isinstance(m, (LIF, MultiSpike)) for m in ann.modules())
    # the twin lacks only the time branch of the attention and the SMUs' 4T-step attention
    snn_keys = [k for k in snn.state_dict() if ".ta." not in k and ".time_attention." not in k]
    assert snn_keys == list(ann.state_dict())
    assert len(snn.state_dict()) > len(snn_keys)
    # every neuron has its counterpart at the same place (the other ReLUs are in both networks)
    def kinds(model, kind):
        return [name for name, m in model.named_modules() if isinstance(m, kind)]

    neuron_relus = [n for n in kinds(ann, torch.nn.ReLU) if not n.endswith(("sharedMLP.1", "temporal_compress.1"))]
    assert kinds(snn, LIF) == neuron_relus and len(neuron_relus) > 0
    assert kinds(snn, MultiSpike) == kinds(ann, RelaxedMultiSpike)


@pytest.mark.parametrize("arch", ["vlif", "vlif_ann"])
def test_forward_shape_and_global_residual(arch):
    torch.manual_seed(0)
    model = build_arch(arch, **TINY).eval()
    x = torch.rand(1, 3, 16, 24)
    with torch.inference_mode():
        y = model(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
        assert torch.equal(model(x), y)  # no state survives a call
        torch.nn.init.zeros_(model.output[0].weight)
        torch.nn.init.zeros_(model.output[0].bias)
        assert torch.equal(model(x), x)  # output = input + head(mean over T)


def test_refinement_blocks_run_after_the_last_multiscale_unit():
    torch.manual_seed(0)
    model = build_arch("vlif", **TINY, use_refinement=True).eval()
    seen = []
    for name in ("additional_sunet_level1", "refinement_blocks", "output"):
        getattr(model, name).register_forward_hook(lambda *_, n=name: seen.append(n))
    with torch.inference_mode():
        model(torch.rand(1, 3, 16, 16))
    assert seen == ["additional_sunet_level1", "refinement_blocks", "output"]


def test_training_step_reaches_every_parameter():
    torch.manual_seed(0)
    model = build_arch("vlif", **TINY).train()
    x = torch.rand(2, 3, 16, 16)
    model(x).square().mean().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []
    assert model.encoder_level1.initial_residual.high_freq_scale_1.grad.abs().item() > 0


def zero_bn(bn):
    torch.nn.init.zeros_(bn.weight)
    torch.nn.init.zeros_(bn.bias)


def test_sdem_decomposition_and_identity_when_branches_are_silenced():
    # Z = hs·X̂ + ls·(X − X̂) + X⊙X̂: x = 0.4 with a spike, hs = 2, ls = 3 → 2 − 1.8 + 0.4 = 0.6
    z = SDEM._decompose(torch.tensor([0.4, 0.4]), torch.tensor([1.0, 0.0]), torch.tensor([2.0]), torch.tensor([3.0]))
    assert z.tolist() == pytest.approx([0.6, 1.2])
    block = SDEM(16, T=4).eval()
    zero_bn(block.bn2)
    zero_bn(block.shortcut[1])
    x = torch.randn(4, 1, 16, 8, 8)
    with torch.no_grad():
        # both branches give 0, attention of 0 is 0 (it ends in a ReLU of a product): Y = X
        assert torch.equal(block(x), x)


def test_sdem_matches_an_explicit_recomputation():
    torch.manual_seed(1)
    block = SDEM(16, T=4).eval()
    with torch.no_grad():
        for p in (block.high_freq_scale_1, block.low_freq_scale_1, block.high_freq_scale_2, block.low_freq_scale_2):
            p.uniform_(0.5, 1.5)
        x = torch.randn(4, 2, 16, 8, 8)
        lif = LIF()
        x_hat = lif(x)
        z1 = block.high_freq_scale_1 * x_hat + block.low_freq_scale_1 * (x - x_hat) + x * x_hat
        o = block.bn1(block.conv1(z1))
        # Visual LIF spelled out: regroup, multi-spike, back, resize, 1×1 conv
        spikes = multispike_multistep(patches_to_time(o))[0]
        s = torch.stack([torch.stack([spikes[t * 4 + p] for p in range(4)], dim=2).flatten(1, 2) for t in range(4)])
        resized = F.interpolate(s.flatten(0, 1), size=(8, 8), mode="bilinear").unflatten(0, (4, 2))
        o_hat = block.lif_2.channel_adjust(resized)
        z2 = block.high_freq_scale_2 * o_hat + block.low_freq_scale_2 * (o - o_hat) + o * o_hat
        expected = block.attn(block.bn2(block.conv2(z2)) + block.shortcut(x)) + x
        assert torch.allclose(block(x), expected, atol=1e-6)


def test_smu_time_attention_and_temporal_compress_by_hand():
    torch.manual_seed(2)
    unit = SMU(16, T=4).eval()
    with torch.no_grad():
        # zero MLP → every pseudo-step weighted σ(0) = 1/2; the Conv3d picks sub-position p = 3
        # (dy = 1, dx = 1) of each time step, channel by channel
        for conv in unit.time_attention.sharedMLP[0::2]:
            torch.nn.init.zeros_(conv.weight)
        weight = torch.zeros_like(unit.temporal_compress[0].weight)
        weight[torch.arange(16), torch.arange(16), 3] = 1.0
        unit.temporal_compress[0].weight.copy_(weight)
        captured = {}
        unit.lif_1.register_forward_hook(lambda _m, args, _out: captured.setdefault("k", args[0]))
        x = torch.randn(4, 2, 16, 8, 8)
        out = unit(x)
        residual = unit.initial_residual(x)
        u = multispike_multistep(patches_to_time(residual))[0]
        expected_k = torch.relu(0.5 * u[3::4])  # steps t·4 + 3
        assert torch.equal(captured["k"], expected_k)
        k1 = unit.attn_1(unit.bn_1(unit.conv_1(LIF()(expected_k))))
        k2 = unit.attn_2(unit.bn_2(unit.conv_2(LIF()(k1))))
        up = F.interpolate(k2.flatten(0, 1), scale_factor=2, mode="bilinear").unflatten(0, (4, 2))
        assert torch.allclose(out, unit.final_attn(up + residual), atol=1e-6)
        assert out.shape == x.shape
