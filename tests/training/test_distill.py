"""H-KD distillation and init-from: the feature loss is what it says, gradients reach the
student (and only the student), resume reproduces a distilled run, and weights copy strictly."""

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from test_trainer import TINY, NoisyDataset, _cfg, _losses, _val

from spikeview.archs import build_arch
from spikeview.checkpoints import save_checkpoint
from spikeview.errors import ConfigError
from spikeview.progress import Cancelled, CancelToken
from spikeview.training.distill import FeatureDistiller, _resize_to
from spikeview.training.trainer import Trainer

DECODER = ("decoder_level3", "decoder_level2", "decoder_level1")


@pytest.fixture
def teacher_ckpt(tmp_path):
    torch.manual_seed(3)
    ann = build_arch("esdnet_ann", **TINY)
    return save_checkpoint(tmp_path / "teacher.pt", ann, "esdnet_ann", TINY)


def _features(model, names, x):
    out = {}
    handles = [dict(model.named_modules())[n].register_forward_hook(
        lambda m, i, o, n=n: out.__setitem__(n, o)) for n in names]
    try:
        y = model(x)
    finally:
        for h in handles:
            h.remove()
    return y, [out[n] for n in names]


def test_distill_loss_equals_mse_of_time_averaged_features(teacher_ckpt):
    torch.manual_seed(0)
    student = build_arch("esdnet", **TINY).train()
    distiller = FeatureDistiller.from_checkpoint(teacher_ckpt, "esdnet", weight=0.12)
    x = torch.rand(2, 3, 16, 16)
    distiller.prepare(student, x)
    assert all(isinstance(a, torch.nn.Identity) for a in distiller.adapters)  # twin: same channels

    pred, loss = distiller(student, x)
    assert len(student._forward_hooks) == 0 and all(
        len(m._forward_hooks) == 0 for m in student.modules())  # nothing left attached

    with torch.no_grad():
        ref_pred, s_feats = _features(student, DECODER, x)
        _, t_feats = _features(distiller.teacher, DECODER, x)
    assert s_feats[0].dim() == 5 and s_feats[0].shape[0] == TINY["T"]
    expected = torch.stack([F.mse_loss(s.mean(0), t.mean(0) if t.dim() == 5 else t)
                            for s, t in zip(s_feats, t_feats, strict=True)]).mean()
    assert torch.allclose(pred, ref_pred) and torch.allclose(loss, expected)

    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())
    assert all(p.grad is None for p in distiller.teacher.parameters())
    assert not distiller.teacher.training
    distiller.train()
    assert not distiller.teacher.training  # the teacher's BN statistics stay frozen


def test_channel_adapters_when_widths_differ(tmp_path):
    torch.manual_seed(1)
    wide = {**TINY, "dim": 24}
    path = save_checkpoint(tmp_path / "wide.pt", build_arch("esdnet_ann", **wide), "esdnet_ann", wide)
    distiller = FeatureDistiller.from_checkpoint(path, "esdnet", weight=0.12)
    student = build_arch("esdnet", **TINY)
    distiller.prepare(student, torch.zeros(1, 3, 16, 16))
    convs = [a for a in distiller.adapters if isinstance(a, torch.nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(64, 96), (32, 48), (32, 48)]
    _, loss = distiller(student, torch.rand(1, 3, 16, 16))
    loss.backward()
    assert all(c.weight.grad is not None for c in convs)


def test_resize_pools_larger_and_interpolates_smaller_maps():
    t = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(_resize_to(t, (2, 2)), F.avg_pool2d(t, 2))
    assert _resize_to(t, (8, 8)).shape[-2:] == (8, 8)
    assert _resize_to(t, (4, 4)) is t


def test_spiking_teacher_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "snn.pt", build_arch("esdnet", **TINY), "esdnet", TINY)
    with pytest.raises(ConfigError, match="must be an ANN"):
        FeatureDistiller.from_checkpoint(path, "esdnet", weight=0.12)


def test_distilled_run_logs_term_and_resumes_to_same_curve(tmp_path, teacher_ckpt):
    ds = NoisyDataset(6, 16)
    full = _cfg(tmp_path, "full", teacher=str(teacher_ckpt))
    Trainer(full, ds, _val()).run(show_bar=False)
    header = (Path(full.output_dir) / "log.csv").read_text().splitlines()[0]
    assert "distill" in header.split(",")

    cut = _cfg(tmp_path, "cut", teacher=str(teacher_ckpt))
    token = CancelToken()

    def stop(done, total, message):
        if done == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        Trainer(cut, ds, _val()).run(progress=stop, cancel=token, show_bar=False)
    Trainer(cut, ds, _val()).run(resume=True, show_bar=False)
    assert _losses(Path(cut.output_dir)) == _losses(Path(full.output_dir))


def test_distillation_changes_the_training(tmp_path, teacher_ckpt):
    ds = NoisyDataset(4, 16)
    plain = _cfg(tmp_path, "plain", steps=3)
    kd = _cfg(tmp_path, "kd", steps=3, teacher=str(teacher_ckpt), distill_weight=10.0)
    Trainer(plain, ds, _val()).run(show_bar=False)
    Trainer(kd, ds, _val()).run(show_bar=False)
    assert _losses(Path(plain.output_dir))[0] != _losses(Path(kd.output_dir))[0]


def test_init_from_copies_twin_weights_strictly(tmp_path, teacher_ckpt):
    cfg = _cfg(tmp_path, "init", steps=1, warmup_steps=0, init_from=str(teacher_ckpt))
    trainer = Trainer(cfg, NoisyDataset(2, 16), _val())
    trainer._build()  # the model as the first step sees it
    ann = torch.load(teacher_ckpt, weights_only=True)["state_dict"]
    state = trainer.model.state_dict()
    assert all(torch.equal(state[k], ann[k]) for k in ann)
    # only the SNN's temporal attention (no time axis in the twin) has no counterpart
    fresh = set(state) - set(ann)
    assert fresh and all(".attn.ta." in k for k in fresh)

    wide = {**TINY, "dim": 24}
    other = save_checkpoint(tmp_path / "wide.pt", build_arch("esdnet_ann", **wide), "esdnet_ann", wide)
    bad = _cfg(tmp_path, "bad", steps=1, warmup_steps=0, init_from=str(other))
    with pytest.raises(ConfigError, match="does not fit esdnet"):
        Trainer(bad, NoisyDataset(2, 16), _val()).run(show_bar=False)


def test_init_from_fewer_time_steps_spreads_the_time_attention(tmp_path):
    torch.manual_seed(4)
    short = build_arch("esdnet", **TINY)
    ckpt = save_checkpoint(tmp_path / "t2.pt", short, "esdnet", TINY)
    longer = {**TINY, "T": 4}
    trainer = Trainer(_cfg(tmp_path, "t4", steps=1, warmup_steps=0, arch_kwargs=longer, init_from=str(ckpt)),
                      NoisyDataset(2, 16), _val())
    trainer._build()
    old, new = short.state_dict(), trainer.model.state_dict()
    retimed = sorted(k for k in new if new[k].shape != old[k].shape)
    assert retimed and all(".attn.ta.sharedMLP." in k for k in retimed)
    assert all(torch.equal(new[k], old[k]) for k in new if k not in retimed)
    first = next(k for k in retimed if k.endswith("0.weight"))
    assert torch.allclose(new[first], old[first].repeat_interleave(2, dim=1) / 2)
    trainer.model.eval()
    assert torch.isfinite(trainer.model(torch.rand(1, 3, 16, 16))).all()


def test_missing_teacher_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="teacher: checkpoint not found"):
        _cfg(tmp_path, "x", teacher=str(tmp_path / "nope.pt"))
