"""SpikerIR: paper configuration, twin topology, shapes, T handling, gradients, H-KD feature names."""

import logging

import pytest
import torch

from spikeview.archs import ARCHS, arch_spec, build_arch
from spikeview.archs.blocks import SpikingResidualBlock
from spikeview.snn import LIF

log = logging.getLogger(__name__)

SMALL = {"dim": 16, "num_blocks": [1, 1, 1, 1]}


def _block_params(c: int, T: int, conv_shortcut: bool, time_attention: bool) -> int:
    """Parameters of one spiking block of width c, counted from its definition by hand."""
    conv, bn = c * c * 9, 2 * c
    n = 2 * (conv + bn)  # two spike convolution units
    if conv_shortcut:
        n += conv + bn
    n += 2 * (c // 16) * c + 2 * 3 * 3  # channel MLP + 3×3 spatial conv on [mean, max]
    if time_attention:
        n += 2 * max(1, T // 4) * T
    return n


def _expected_params(dim: int, blocks: list[int], T: int, spiking: bool, conv_shortcut: bool = True) -> int:
    widths = [dim, 2 * dim, 4 * dim, 8 * dim]
    n = 3 * dim * 9  # patch embedding, no bias
    for level, (c, count) in enumerate(zip(widths, blocks, strict=True)):
        uses = 1 if level == 3 else 2  # encoder + decoder, latent once
        if level == 0:
            n += count * _block_params(c, T, conv_shortcut, spiking)  # encoder level 1 (dim)
            n += count * _block_params(2 * dim, T, conv_shortcut, spiking)  # decoder level 1 (2·dim)
        else:
            n += uses * count * _block_params(c, T, conv_shortcut, spiking)
    for c in widths[:3]:  # down-samplings C → 2C and up-samplings 2C → C
        n += 2 * (c * 2 * c * 9 + 2 * 2 * c) - 2 * 2 * c + 2 * c
    n += (8 * dim) * (4 * dim) + 2 * 4 * dim  # reduce_chan_level3
    n += (4 * dim) * (2 * dim) + 2 * 2 * dim  # reduce_chan_level2
    c, h = 2 * dim, 2 * dim // 8  # refinement block
    n += (c * h + h) + (h * c + c) + (c * c * 9 + c) + (c * h * 9 + h) + (h * c * 9 + c)
    n += c * 3 * 9 + 3  # output conv
    return n


def test_paper_defaults_via_build_arch_and_parameter_count():
    model = build_arch("spikerir")
    assert model.T == 4 and model.spiking
    widths = [model.encoder_level1[0].residual[1].in_channels, model.encoder_level2[0].residual[1].in_channels,
              model.encoder_level3[0].residual[1].in_channels, model.latent[0].residual[1].in_channels]
    assert widths == [48, 96, 192, 384]
    levels = [model.encoder_level1, model.encoder_level2, model.encoder_level3, model.latent,
              model.decoder_level3, model.decoder_level2, model.decoder_level1]
    assert all(len(level) == 2 and isinstance(level[0], SpikingResidualBlock) for level in levels)
    n = sum(p.numel() for p in model.parameters())
    log.info("SpikerIR default parameters: %d", n)
    assert n == _expected_params(48, [2, 2, 2, 2], 4, spiking=True)
    ann = build_arch("spikerir_ann")
    assert sum(p.numel() for p in ann.parameters()) == _expected_params(48, [2, 2, 2, 2], 4, spiking=False)


def test_build_arch_accepts_configuration_and_rejects_bad_arguments():
    model = build_arch("spikerir", dim=16, num_blocks=[1, 2, 1, 3], T=2, shortcut="identity", refinement=False)
    assert model.T == 2 and len(model.encoder_level2) == 2 and len(model.decoder_level2) == 2
    assert len(model.latent) == 3
    assert isinstance(model.latent[0].shortcut, torch.nn.Identity)
    assert isinstance(model.refinement, torch.nn.Identity)
    assert sum(p.numel() for p in model.parameters()) < _expected_params(16, [1, 2, 1, 3], 2, True)
    with pytest.raises(Exception, match="bad arguments"):
        build_arch("spikerir", width=3)
    with pytest.raises(ValueError, match="one count per level"):
        build_arch("spikerir", num_blocks=[2, 2, 2])
    with pytest.raises(ValueError, match="shortcut"):
        build_arch("spikerir", dim=16, shortcut="dense")


def test_ann_twin_same_topology_and_names_without_neurons_or_time():
    snn = build_arch("spikerir", **SMALL)
    ann = build_arch("spikerir_ann", **SMALL)
    assert ARCHS["spikerir"].twin == "spikerir_ann" and ARCHS["spikerir_ann"].twin == "spikerir"
    assert ARCHS["spikerir"].spiking and not ARCHS["spikerir_ann"].spiking
    assert ann.T == 1 and not ann.spiking and not any(isinstance(m, LIF) for m in ann.modules())
    snn_keys = [k for k in snn.state_dict() if ".attn.ta." not in k]
    assert snn_keys == list(ann.state_dict())  # same names in the same order; only time attention is SNN-only
    assert any(".attn.ta." in k for k in snn.state_dict())
    for key, value in ann.state_dict().items():
        assert value.shape == snn.state_dict()[key].shape, key
    # every LIF position of the SNN holds a ReLU in the twin
    snn_mods, ann_mods = dict(snn.named_modules()), dict(ann.named_modules())
    lifs = [name for name, m in snn_mods.items() if isinstance(m, LIF)]
    assert lifs and all(isinstance(ann_mods[name], torch.nn.ReLU) for name in lifs)
    # an ANN twin's weights load into the SNN (stage 2 of the training recipe starts there)
    missing, unexpected = snn.load_state_dict(ann.state_dict(), strict=False)
    assert not unexpected and all(".attn.ta." in k for k in missing)


@pytest.mark.parametrize("arch", ["spikerir", "spikerir_ann"])
@pytest.mark.parametrize("size", [(32, 32), (64, 48)])
def test_forward_shape_and_global_residual(arch, size):
    torch.manual_seed(0)
    model = build_arch(arch, **SMALL).eval()
    assert model.size_multiple == 8
    x = torch.rand(2, 3, *size)
    with torch.inference_mode():
        y = model(x)
        assert y.shape == x.shape and torch.isfinite(y).all()
        torch.nn.init.zeros_(model.output[0].weight)
        torch.nn.init.zeros_(model.output[0].bias)
        assert torch.equal(model(x), x)  # output = input + head(...)


def test_sizes_off_the_multiple_are_refused_by_the_model_and_padded_by_the_engine():
    from spikeview.inference.restorer import Restorer

    torch.manual_seed(0)
    model = build_arch("spikerir", **SMALL).eval()
    with pytest.raises(RuntimeError):
        model(torch.rand(1, 3, 36, 44))  # the skip concatenation needs H, W multiples of 8
    restorer = Restorer.from_model(model, "spikerir", SMALL)  # fast path: batch norm folded into convs
    x = torch.rand(1, 3, 36, 44)
    out = restorer.restore_tensor(x, tile=0)
    assert out.shape == x.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("steps", [1, 2, 4, 6])
def test_time_steps_set_the_sequence_length_everywhere(steps):
    torch.manual_seed(0)
    model = build_arch("spikerir", T=steps, **SMALL).eval()
    seen = []
    handles = [m.register_forward_hook(lambda _m, i, _o: seen.append(i[0].shape[0]))
               for m in model.modules() if isinstance(m, LIF)]
    features = {}
    for name in arch_spec("spikerir").decoder_features:
        handles.append(model.get_submodule(name).register_forward_hook(
            lambda _m, _i, o, name=name: features.__setitem__(name, o.shape)))
    with torch.inference_mode():
        y = model(torch.rand(1, 3, 32, 32))
    for h in handles:
        h.remove()
    assert y.shape == (1, 3, 32, 32)
    assert seen and set(seen) == {steps}
    # H-KD hints: [T, N, C, H, W], coarse to fine
    assert [tuple(s) for s in features.values()] == [
        (steps, 1, 128, 4, 4), (steps, 1, 64, 8, 8), (steps, 1, 32, 16, 16), (steps, 1, 32, 32, 32)
    ]
    assert list(features) == ["latent", "decoder_level3", "decoder_level2", "decoder_level1"]


def test_twin_decoder_features_are_4d_and_match_the_snn_channels():
    ann = build_arch("spikerir_ann", **SMALL).eval()
    shapes = []
    handles = [ann.get_submodule(n).register_forward_hook(lambda _m, _i, o: shapes.append(tuple(o.shape)))
               for n in arch_spec("spikerir_ann").decoder_features]
    with torch.inference_mode():
        ann(torch.rand(1, 3, 32, 32))
    for h in handles:
        h.remove()
    # the twin runs the same code with a one-step time axis
    assert shapes == [(1, 1, 128, 4, 4), (1, 1, 64, 8, 8), (1, 1, 32, 16, 16), (1, 1, 32, 32, 32)]


@pytest.mark.parametrize("arch", ["spikerir", "spikerir_ann"])
def test_training_step_reaches_every_parameter(arch):
    torch.manual_seed(0)
    model = build_arch(arch, **SMALL).train()
    x = torch.rand(2, 3, 32, 32)
    loss = (model(x) - x.flip(-1)).abs().mean()
    loss.backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values())
    # T=4 time attention has a single hidden ReLU unit (4 → 1 → 4) that may start dead for a block
    zero = [n for n, g in grads.items() if not torch.any(g != 0) and ".attn.ta." not in n]
    assert not zero, zero
    assert any(torch.any(g != 0) for n, g in grads.items() if ".attn.ta." in n) == (arch == "spikerir")


def test_spiking_forward_is_deterministic_and_spikes_are_binary():
    torch.manual_seed(0)
    model = build_arch("spikerir", **SMALL).eval()
    x = torch.rand(1, 3, 32, 32)
    outs = []
    handle = model.down3_4.maxpool_conv[0].register_forward_hook(lambda _m, _i, o: outs.append(o))
    with torch.inference_mode():
        a, b = model(x), model(x)
    handle.remove()
    assert torch.equal(a, b)  # neuron state is reset per call
    assert bool(torch.all((outs[0] == 0) | (outs[0] == 1)))


def test_observers_see_spikerir_from_outside():
    from spikeview.energy import EnergyMeter
    from spikeview.recording import ActivityRecorder, spiking_layers

    torch.manual_seed(0)
    snn = build_arch("spikerir", shortcut="identity", **SMALL).eval()
    n_lif = sum(isinstance(m, LIF) for m in snn.modules())
    assert [info.kind for info in spiking_layers(snn)] == ["LIF"] * n_lif
    with ActivityRecorder(snn) as rec, EnergyMeter(snn) as meter, torch.inference_mode():
        snn(torch.rand(1, 3, 32, 32))
    assert len(rec.firing_rates()) == n_lif
    rows = {(r.name, r.kind): r for r in meter.report().layers}
    # identity shortcut: every conv inside a block is driven by the LIF before it
    assert rows[("latent.0.residual.1", "AC")].input_firing_rate == pytest.approx(
        rec.firing_rates()["latent.0.residual.0"], rel=1e-12)
    assert ("encoder_level1.0.residual.4", "MAC") not in rows
    ann = build_arch("spikerir_ann", shortcut="identity", **SMALL).eval()
    with EnergyMeter(ann) as meter, torch.inference_mode():
        ann(torch.rand(1, 3, 32, 32))
    assert {r.kind for r in meter.report().layers} == {"MAC"}
