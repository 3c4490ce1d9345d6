"""H-KD feature distillation (SpikerIR, seed-models §5): an ANN teacher's decoder features guide
the SNN student's decoder features.

Loss term ``distill = mean over paired levels of MSE(adapter(student_l), teacher_l)``, added to
the restoration loss with weight γ (``distill_weight``, 0.12 in the paper). Both networks are
watched from outside with forward hooks on the modules their :class:`~spikeview.archs.registry.ArchSpec`
lists in ``decoder_features`` (coarse → fine); the models never know.

* An SNN feature ``[T, N, C, H, W]`` is averaged over T (the rate the next layer integrates);
  an ANN twin's ``[1, N, C, H, W]`` is squeezed the same way.
* Levels are paired from the finest end, so a teacher with more (or fewer) levels still lines
  up by resolution order.
* Different spatial sizes: the teacher map is resized to the student's (area pooling when it is
  larger, bilinear when smaller). Different channel counts: a learned 1×1 convolution maps the
  student's channels to the teacher's (the hint-layer regressor of FitNets); the adapters are
  trained with the student, saved in ``last.pt`` for resuming, and dropped at export.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from spikeview.archs import arch_spec
from spikeview.checkpoints import load_checkpoint
from spikeview.errors import ConfigError

log = logging.getLogger(__name__)


def _as_map(feature: torch.Tensor) -> torch.Tensor:
    """``[T, N, C, H, W]`` → mean over T → ``[N, C, H, W]``; 4-D maps pass through."""
    if feature.dim() == 5:
        return feature.mean(dim=0)
    if feature.dim() == 4:
        return feature
    raise ConfigError(f"decoder feature has shape {tuple(feature.shape)}; expected [T,N,C,H,W] or [N,C,H,W]")


def _resize_to(teacher: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(teacher.shape[-2:]) == size:
        return teacher
    if teacher.shape[-2] >= size[0] and teacher.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(teacher, size)
    return F.interpolate(teacher, size=size, mode="bilinear", align_corners=False)


class _FeatureTap:
    """Keeps the outputs of named modules while attached (one forward's worth)."""

    def __init__(self, model: nn.Module, names: tuple[str, ...]) -> None:
        modules = dict(model.named_modules())
        missing = [n for n in names if n not in modules]
        if missing:
            raise ConfigError(f"model has no module(s) {', '.join(missing)} to take decoder features from")
        self._modules = [modules[n] for n in names]
        self.features: list[torch.Tensor | None] = [None] * len(names)

    @contextmanager
    def attached(self) -> Iterator[_FeatureTap]:
        def keep(index: int):
            def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
                self.features[index] = output

            return hook

        handles = [m.register_forward_hook(keep(i)) for i, m in enumerate(self._modules)]
        try:
            yield self
        finally:
            for h in handles:
                h.remove()

    def take(self) -> list[torch.Tensor]:
        got = self.features
        self.features = [None] * len(got)
        if any(f is None for f in got):
            raise ConfigError("a decoder feature module did not run in the forward pass")
        return [_as_map(f) for f in got]  # type: ignore[arg-type]


class FeatureDistiller(nn.Module):
    """Teacher + hooks + channel adapters; ``forward(student, inp)`` runs the student under the tap.

    Call :meth:`prepare` once (after the student is built, before the optimizer) so the adapters
    exist; their parameters go into the optimizer with the student's.
    """

    def __init__(self, teacher: nn.Module, teacher_arch: str, student_arch: str, weight: float) -> None:
        super().__init__()
        t_names = arch_spec(teacher_arch).decoder_features
        s_names = arch_spec(student_arch).decoder_features
        if not t_names or not s_names:
            raise ConfigError(
                f"distillation needs decoder features: '{teacher_arch if not t_names else student_arch}' "
                "names none in the registry"
            )
        depth = min(len(t_names), len(s_names))
        self.teacher_names, self.student_names = t_names[-depth:], s_names[-depth:]
        self.weight = float(weight)
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self._teacher_tap = _FeatureTap(self.teacher, self.teacher_names)
        self.adapters = nn.ModuleList()

    @classmethod
    def from_checkpoint(cls, path: str | Path, student_arch: str, weight: float) -> FeatureDistiller:
        if not Path(path).is_file():
            raise ConfigError(f"teacher checkpoint not found: {path}")
        teacher, info = load_checkpoint(path)
        if info.spiking:
            raise ConfigError(f"the teacher must be an ANN; {path} holds the spiking '{info.arch}'")
        log.info("distilling from teacher %s (%s)", path, info.arch)
        return cls(teacher, info.arch, student_arch, weight)

    @torch.no_grad()
    def prepare(self, student: nn.Module, sample: torch.Tensor) -> None:
        """Probe both networks on ``sample`` once and build a 1×1 adapter per level whose channels differ."""
        was_training = student.training
        student.eval()
        try:
            s_feats = self._student_features(student, sample)
        finally:
            student.train(was_training)
        t_feats = self._teacher_features(sample)
        self.adapters = nn.ModuleList(
            nn.Identity() if s.shape[1] == t.shape[1] else nn.Conv2d(s.shape[1], t.shape[1], 1, bias=True)
            for s, t in zip(s_feats, t_feats, strict=True)
        )
        pairs = ", ".join(f"{a}{tuple(s.shape[1:])}→{b}{tuple(t.shape[1:])}" for a, b, s, t in
                          zip(self.student_names, self.teacher_names, s_feats, t_feats, strict=True))
        log.info("H-KD pairs (student→teacher): %s", pairs)

    def _student_features(self, student: nn.Module, inp: torch.Tensor) -> list[torch.Tensor]:
        tap = _FeatureTap(student, self.student_names)
        with tap.attached():
            student(inp)
        return tap.take()

    @torch.no_grad()
    def _teacher_features(self, inp: torch.Tensor) -> list[torch.Tensor]:
        with self._teacher_tap.attached():
            self.teacher(inp)
        return self._teacher_tap.take()

    def forward(self, student: nn.Module, inp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the student on ``inp``; return ``(prediction, unweighted distillation loss)``."""
        if len(self.adapters) != len(self.student_names):
            raise RuntimeError("FeatureDistiller.prepare() was not called")
        tap = _FeatureTap(student, self.student_names)
        with tap.attached():
            pred = student(inp)
        s_feats = tap.take()
        t_feats = self._teacher_features(inp)
        terms = []
        for adapter, s, t in zip(self.adapters, s_feats, t_feats, strict=True):
            s = adapter(s)
            terms.append(F.mse_loss(s, _resize_to(t, tuple(s.shape[-2:]))))
        return pred, torch.stack(terms).mean()

    def train(self, mode: bool = True) -> FeatureDistiller:
        # the teacher stays in eval mode (frozen BN statistics) whatever the student does
        super().train(mode)
        self.teacher.eval()
        return self
