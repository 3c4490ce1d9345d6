"""Single-process training loop for the registered restoration networks (SNN or ANN twin).

Conventions: images are float32 ``[N, 3, H, W]`` in [0, 1]; the network predicts the restored
image directly (ESDNet adds its residual internally); metrics clamp the output to [0, 1].

Reproducibility: batch ``s`` is a pure function of ``(seed, s)`` (a per-epoch permutation of
the dataset indices drawn from ``numpy.random.default_rng([seed, epoch])``), the learning rate
is a pure function of the step, and ``last.pt`` holds model, optimizer, step and the global
torch / numpy / python RNG states. So a run interrupted and resumed with the same config
reproduces the loss curve of an uninterrupted run bit for bit (same machine, same
``num_threads``).

Run folder (``cfg.output_dir``): ``config.yaml`` (resolved), ``log.csv`` (one row per step),
``last.pt`` (every ``ckpt_every`` steps, on cancel and at the end), ``best.pt`` (highest
validation PSNR). Both checkpoints load with :func:`spikeview.checkpoints.load_checkpoint`.
With ``ema_decay`` > 0 the network validated and saved is the moving average of the weights;
``last.pt`` then keeps the raw training weights in its extra state for resuming.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import os
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from spikeview.checkpoints import read_checkpoint, save_checkpoint
from spikeview.errors import ConfigError
from spikeview.fileio import atomic_path
from spikeview.progress import Cancelled, CancelToken, ProgressCallback, check_cancel, report
from spikeview.training.config import TrainConfig, save_config
from spikeview.training.losses import CombinedLoss, ssim

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
LAST = "last.pt"
BEST = "best.pt"
LOG_CSV = "log.csv"
CONFIG_YAML = "config.yaml"
LOCK = ".lock"


# --------------------------------------------------------------------------- schedule
def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate of optimizer step ``step`` (0-based).

    Linear warm-up ``lr·(step+1)/warmup_steps`` — it never starts at 0, unlike ESDNet's
    epoch-wise warm-up whose first epoch runs at lr 0 (seed-models §2.4) — reaching ``lr`` at
    step ``warmup_steps − 1``, then cosine decay to ``min_lr`` at the last step.
    """
    warm = cfg.warmup_steps
    if step < warm:
        return cfg.lr * (step + 1) / warm
    span = max(1, cfg.steps - 1 - warm)
    progress = min(1.0, (step - warm) / span)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))


# --------------------------------------------------------------------------- data
def list_images(folder: str | os.PathLike) -> list[Path]:
    root = Path(folder)
    if not root.is_dir():
        raise ConfigError(f"image folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ConfigError(f"no images in {root}")
    return files


def build_train_set(cfg: TrainConfig) -> Any:
    """Training dataset: ``len()`` and ``ds[i] -> (input, target)`` float32 CHW in [0, 1]."""
    from spikeview.training import datasets

    length = cfg.steps * cfg.batch_size
    if cfg.train_clean_dir:
        clean = list_images(cfg.train_clean_dir)
        common = {"patch_size": cfg.patch_size, "length": length, "seed": cfg.seed, "max_side": cfg.max_side,
                  "augment": cfg.augment, "render_size": cfg.render_size}
        if cfg.task == "denoise":
            return datasets.SyntheticNoiseDataset(clean, sigmas=tuple(cfg.noise_sigmas), **common)
        return datasets.SyntheticRainDataset(clean, presets=tuple(cfg.train_presets), **common)
    pairs = datasets.find_pairs(cfg.train_paired_root)
    return datasets.PairedImageDataset(pairs, patch_size=cfg.patch_size, augment=cfg.augment, seed=cfg.seed)


def build_val_groups(cfg: TrainConfig) -> dict[str, list[tuple[torch.Tensor, torch.Tensor]]]:
    """Fixed validation images (same every time for a given config), as CHW tensor pairs.

    Keyed by rain preset when several presets are validated, so the log can show which kind
    of rain lags behind; otherwise one group named ``""``.
    """
    from spikeview.training import datasets

    if cfg.val_clean_dir:
        clean = list_images(cfg.val_clean_dir)
        common = {"patch_size": cfg.val_patch_size, "length": cfg.val_count, "seed": cfg.val_seed,
                  "max_side": cfg.max_side, "augment": False}
        if cfg.task == "denoise":
            ds = datasets.SyntheticNoiseDataset(clean, sigmas=tuple(cfg.noise_sigmas), **common)
            return {"": [_as_pair(ds[i]) for i in range(cfg.val_count)]}
        # the same crops (same seed) under each preset in turn, so light and heavy rain are both scored
        presets = list(cfg.val_presets)
        per_preset = [math.ceil((cfg.val_count - k) / len(presets)) for k in range(len(presets))]
        groups: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        for preset, count in zip(presets, per_preset, strict=True):
            ds = datasets.SyntheticRainDataset(clean, presets=(preset,), **{**common, "length": max(count, 1)})
            groups.setdefault(preset, []).extend(_as_pair(ds[i]) for i in range(count))
        return groups if len(groups) > 1 else {"": next(iter(groups.values()), [])}
    if cfg.val_paired_root:
        pairs = datasets.find_pairs(cfg.val_paired_root)
        ds = datasets.PairedImageDataset(pairs, patch_size=None, augment=False, seed=cfg.val_seed)
        return {"": [_as_pair(ds[i]) for i in range(min(cfg.val_count, len(ds)))]}
    return {"": []}


def build_val_set(cfg: TrainConfig) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """All validation pairs of :func:`build_val_groups`, in group order."""
    return [pair for group in build_val_groups(cfg).values() for pair in group]


def _as_pair(item: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    inp, target = item[0], item[1]
    return torch.as_tensor(inp, dtype=torch.float32), torch.as_tensor(target, dtype=torch.float32)


def batch_indices(step: int, batch_size: int, length: int, seed: int) -> list[int]:
    """Dataset indices of batch ``step``: consecutive slices of a per-epoch permutation."""
    out = []
    perm_epoch, perm = -1, None
    for pos in range(step * batch_size, (step + 1) * batch_size):
        epoch, offset = divmod(pos, length)
        if epoch != perm_epoch:
            perm = np.random.default_rng([seed, epoch]).permutation(length)
            perm_epoch = epoch
        out.append(int(perm[offset]))
    return out


# --------------------------------------------------------------------------- RNG state
def rng_state() -> dict[str, Any]:
    """Global RNG states as plain data + tensors (loadable with ``weights_only=True``)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"],
                         n["cached_gaussian"]))
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))


# --------------------------------------------------------------------------- metrics
def pad_to_multiple(x: torch.Tensor, multiple: int) -> tuple[torch.Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph or pw:
        x = torch.nn.functional.pad(x, (0, pw, 0, ph), mode="reflect")
    return x, h, w


@torch.no_grad()
def score_images(
    model: nn.Module, val_set: Sequence[tuple[torch.Tensor, torch.Tensor]]
) -> tuple[list[float], list[float]]:
    """Per-image RGB PSNR (dB, peak 1, output clamped to [0, 1]) and SSIM over ``val_set``."""
    was_training = model.training
    model.eval()
    psnrs, ssims = [], []
    multiple = int(getattr(model, "size_multiple", 1))
    try:
        for inp, target in val_set:
            x, h, w = pad_to_multiple(inp.unsqueeze(0), multiple)
            out = model(x)[..., :h, :w].clamp(0.0, 1.0)
            tgt = target.unsqueeze(0)
            mse = float(torch.mean((out.double() - tgt.double()) ** 2))
            psnrs.append(10.0 * math.log10(1.0 / max(mse, 1e-12)))
            ssims.append(float(ssim(out, tgt)))
    finally:
        model.train(was_training)
    return psnrs, ssims


def evaluate(model: nn.Module, val_set: Sequence[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
    """Mean RGB PSNR (dB, peak 1, output clamped to [0, 1]) and SSIM over ``val_set``."""
    psnrs, ssims = score_images(model, val_set)
    return {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))} if psnrs else {}


def evaluate_groups(
    model: nn.Module, groups: dict[str, Sequence[tuple[torch.Tensor, torch.Tensor]]]
) -> dict[str, float]:
    """:func:`evaluate` over all groups together, plus ``psnr_<name>`` per named group."""
    scores = {name: score_images(model, pairs) for name, pairs in groups.items()}
    psnrs = [p for group_psnrs, _ in scores.values() for p in group_psnrs]
    if not psnrs:
        return {}
    out = {"psnr": float(np.mean(psnrs)), "ssim": float(np.mean([s for _, ss in scores.values() for s in ss]))}
    out.update({f"psnr_{name}": float(np.mean(group_psnrs))
                for name, (group_psnrs, _) in scores.items() if name and group_psnrs})
    return out


# --------------------------------------------------------------------------- run lock
class _RunLock:
    """Exclusive advisory lock on a file in the run folder (released by the OS if we die)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: Any = None

    def __enter__(self) -> _RunLock:
        self._file = self.path.open("a+", encoding="utf-8")
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; the last.pt check still applies
            return self
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            owner = self._file.read().strip() or "another process"
            self._file.close()
            raise ConfigError(f"{self.path.parent} is being trained by {owner}; wait for it or stop it") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"PID {os.getpid()}\n")
        self._file.flush()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock


# --------------------------------------------------------------------------- trainer
@dataclass
class TrainResult:
    steps_done: int
    best_psnr: float | None
    last_val: dict[str, float]
    run_dir: Path


class Trainer:
    """Trains ``cfg.arch`` (SNN or ANN twin) with AdamW + warm-up/cosine; see module docstring.

    ``train_set`` / ``val_set`` default to the ones described by ``cfg`` (tests pass their own).
    """

    def __init__(
        self,
        cfg: TrainConfig,
        train_set: Any = None,
        val_set: Sequence[tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.run_dir = Path(cfg.output_dir)
        self._train_set = train_set
        self._val_groups: dict[str, Sequence[tuple[torch.Tensor, torch.Tensor]]] | None = (
            None if val_set is None else {"": val_set})
        self.loss_fn = CombinedLoss(cfg.loss_weights)
        self.term_names = list(self.loss_fn.weights) + (["distill"] if cfg.teacher else [])
        self.distiller: Any = None
        self.ema: nn.Module | None = None

    # ---- setup
    def _build(self) -> None:
        from spikeview.archs import build_arch

        cfg = self.cfg
        torch.set_num_threads(cfg.num_threads)
        try:
            import cv2

            cv2.setNumThreads(cfg.num_threads)
        except ImportError:  # OpenCV is only needed by the datasets
            pass
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)
        torch.manual_seed(cfg.seed)
        try:
            self.model = build_arch(cfg.arch, **cfg.arch_kwargs)
        except ValueError as exc:  # e.g. a width too small for the attention's reduction
            raise ConfigError(f"bad arch_kwargs for {cfg.arch}: {exc}") from None
        if cfg.init_from:
            self._init_weights(cfg.init_from)
        self._train_mode()
        if cfg.ema_decay > 0:
            self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        params = list(self.model.parameters())
        if cfg.teacher:
            from spikeview.training.distill import FeatureDistiller

            self.distiller = FeatureDistiller.from_checkpoint(cfg.teacher, cfg.arch, cfg.distill_weight)
            probe = torch.zeros(1, 3, cfg.patch_size, cfg.patch_size)
            self.distiller.prepare(self.model, probe)
            params += list(self.distiller.adapters.parameters())
        self.params = params
        self.optimizer = torch.optim.AdamW(
            params, lr=lr_at(0, cfg), betas=tuple(cfg.betas), weight_decay=cfg.weight_decay
        )
        if self._train_set is None:
            self._train_set = build_train_set(cfg)
        if self._val_groups is None:
            self._val_groups = build_val_groups(cfg)
        self.step = 0
        self.best_psnr: float | None = None
        self.elapsed = 0.0

    @property
    def shipped(self) -> nn.Module:
        """The network that is validated and saved: the weight average when ``ema_decay`` > 0."""
        return self.model if self.ema is None else self.ema

    @torch.no_grad()
    def _update_ema(self) -> None:
        # the decay ramps up over the first steps (as in timm's ModelEmaV2 warm-up) so the
        # average does not stay anchored to the initial weights for ~1/(1-decay) steps
        decay = min(self.cfg.ema_decay, (1 + self.step) / (10 + self.step))
        for avg, live in zip(self.ema.parameters(), self.model.parameters(), strict=True):
            avg.lerp_(live.detach(), 1.0 - decay)
        for avg, live in zip(self.ema.buffers(), self.model.buffers(), strict=True):
            avg.copy_(live)  # BN running statistics follow the live network

    def _train_mode(self) -> None:
        self.model.train()
        if self.cfg.freeze_bn:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    def _init_weights(self, path: str) -> None:
        """Copy weights from ``path``: every tensor must fit by name and shape.

        From the ANN twin, the SNN's own extra parameters (the temporal attention, which has no
        time axis to act on in the twin) keep their fresh initialisation; from the same SNN with
        fewer time steps, the temporal attention's weights are spread over the new steps
        (:func:`~spikeview.snn.retime_time_attention`); any other missing, surplus or
        mis-shaped tensor is an error.
        """
        from spikeview.archs import twin_of

        raw = read_checkpoint(path)
        own = self.model.state_dict()
        source = _retimed(raw["state_dict"], own)
        surplus = sorted(set(source) - set(own))
        misfit = sorted(k for k in set(source) & set(own) if source[k].shape != own[k].shape)
        missing = sorted(set(own) - set(source))
        from_twin = raw["arch"] == twin_of(self.cfg.arch)
        if surplus or misfit or (missing and not from_twin):
            bad = (surplus or misfit or missing)[:3]
            kind = "unexpected" if surplus else "mis-shaped" if misfit else "missing"
            raise ConfigError(
                f"init_from {path} ({raw['arch']}) does not fit {self.cfg.arch}: {kind} tensor(s) {', '.join(bad)}"
            )
        self.model.load_state_dict(source, strict=False)
        log.info("initialised %s from %s (%s); %d tensor(s) kept fresh: %s", self.cfg.arch, path, raw["arch"],
                 len(missing), ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else ""))

    def _checkpoint_extra(self) -> dict[str, Any]:
        extra = {} if self.distiller is None else {"distill_adapters": self.distiller.adapters.state_dict()}
        if self.ema is not None:
            extra["train_state_dict"] = self.model.state_dict()
        return extra | {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": {"step": self.step, "kind": "warmup_cosine"},
            "step": self.step,
            "data_position": self.step * self.cfg.batch_size,
            "rng": rng_state(),
            "best_psnr": self.best_psnr,
            "elapsed": self.elapsed,
            "config": self.cfg.to_dict(),
        }

    def _metadata(self) -> dict[str, Any]:
        return {"trained_steps": self.step, "config": self.cfg.to_dict(), "source": "spikeview train"}

    def save_last(self, metrics: dict[str, float] | None = None) -> Path:
        return save_checkpoint(
            self.run_dir / LAST, self.shipped, self.cfg.arch, self.cfg.arch_kwargs, task=self.cfg.task,
            metrics=metrics or {}, metadata=self._metadata(), extra=self._checkpoint_extra(),
        )

    def _resume(self) -> None:
        raw = read_checkpoint(self.run_dir / LAST)
        extra = raw.get("extra") or {}
        saved = extra.get("config", {})
        for key in ("arch", "arch_kwargs", "batch_size", "seed", "patch_size", "render_size", "teacher", "ema_decay"):
            if key in saved and saved[key] != getattr(self.cfg, key):
                raise ConfigError(
                    f"cannot resume {self.run_dir}: its {key} was {saved[key]!r}, the config now says "
                    f"{getattr(self.cfg, key)!r}"
                )
        if raw["arch"] != self.cfg.arch:
            raise ConfigError(f"cannot resume {self.run_dir}: checkpoint is {raw['arch']}, config says {self.cfg.arch}")
        if self.ema is not None:
            self.ema.load_state_dict(raw["state_dict"], strict=True)
            self.model.load_state_dict(extra["train_state_dict"], strict=True)
        else:
            self.model.load_state_dict(raw["state_dict"], strict=True)
        if self.distiller is not None:
            self.distiller.adapters.load_state_dict(extra.get("distill_adapters", {}), strict=True)
        self.optimizer.load_state_dict(extra["optimizer"])
        self.step = int(extra["step"])
        self.best_psnr = extra.get("best_psnr")
        self.elapsed = float(extra.get("elapsed", 0.0))
        set_rng_state(extra["rng"])
        self._truncate_log(self.step)
        log.info("resumed %s at step %d", self.run_dir, self.step)

    # ---- CSV log
    def _columns(self) -> list[str]:
        per_group = [f"val_psnr_{name}" for name in self._val_groups or {} if name]
        return ["step", "lr", "loss", *self.term_names, "grad_norm", "val_psnr", "val_ssim", *per_group, "seconds"]

    def _truncate_log(self, step: int) -> None:
        """Drop rows logged after the checkpoint we resume from (they will be redone)."""
        path = self.run_dir / LOG_CSV
        if not path.exists():
            return
        with path.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
        with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=self._columns(), extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)

    # ---- main loop
    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = batch_indices(step, self.cfg.batch_size, len(self._train_set), self.cfg.seed)
        pairs = [_as_pair(self._train_set[i]) for i in idx]
        return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])

    def run(
        self,
        resume: bool = False,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        show_bar: bool = True,
    ) -> TrainResult:
        """Train up to ``cfg.steps``; on cancel save ``last.pt`` and raise :class:`Cancelled`.

        The run folder is locked while training (``.lock``), so a second process started on
        the same folder fails at once instead of interleaving its log and checkpoints.
        """
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with _RunLock(self.run_dir / LOCK):
            return self._run(resume, progress, cancel, show_bar)

    def _run(
        self, resume: bool, progress: ProgressCallback | None, cancel: CancelToken | None, show_bar: bool
    ) -> TrainResult:
        cfg = self.cfg
        last = self.run_dir / LAST
        if last.exists() and not resume:
            raise ConfigError(f"{self.run_dir} already holds a run ({LAST}); resume it or choose another output_dir")
        if resume and not last.exists():
            log.warning("nothing to resume in %s; starting from scratch", self.run_dir)
            resume = False
        self._build()
        if resume:
            self._resume()
        else:
            self._truncate_log(0)  # rows of an earlier attempt that never reached a checkpoint
        save_config(cfg, self.run_dir / CONFIG_YAML)
        log_path = self.run_dir / LOG_CSV
        new_log = not log_path.exists() or log_path.stat().st_size == 0
        last_val: dict[str, float] = {}
        bar = None
        if show_bar:
            from tqdm import tqdm

            bar = tqdm(total=cfg.steps, initial=self.step, file=sys.stderr, dynamic_ncols=True,
                       mininterval=1.0 if sys.stderr.isatty() else 30.0, desc=f"train {cfg.arch}")
        saved_at = self.step
        with log_path.open("a", newline="", encoding="utf-8") as csv_file:
            writer = csv.DictWriter(csv_file, fieldnames=self._columns())
            if new_log:
                writer.writeheader()
            try:
                while self.step < cfg.steps:
                    check_cancel(cancel)
                    t0 = time.perf_counter()
                    row = self._train_step()
                    done = self.step
                    if done % cfg.val_every == 0 or done == cfg.steps:
                        last_val = evaluate_groups(self.shipped, self._val_groups)
                        self._train_mode()  # evaluation puts the whole model back in train mode
                        if last_val:
                            row["val_ssim"] = f"{last_val['ssim']:.5f}"
                            row.update({f"val_{k}": f"{v:.4f}" for k, v in last_val.items() if k.startswith("psnr")})
                            log.info("step %d: validation %s", done, ", ".join(
                                f"{k.removeprefix('psnr_') if k != 'psnr' else 'all'} {v:.2f} dB"
                                for k, v in last_val.items() if k.startswith("psnr")))
                            if self.best_psnr is None or last_val["psnr"] > self.best_psnr:
                                self.best_psnr = last_val["psnr"]
                                save_checkpoint(
                                    self.run_dir / BEST, self.shipped, cfg.arch, cfg.arch_kwargs, task=cfg.task,
                                    metrics={**self._val_metrics(last_val), "step": done},
                                    metadata=self._metadata(),
                                )
                    self.elapsed += time.perf_counter() - t0
                    row["seconds"] = f"{self.elapsed:.2f}"
                    writer.writerow(row)
                    csv_file.flush()
                    if done % cfg.ckpt_every == 0 or done == cfg.steps:
                        self.save_last(self._val_metrics(last_val))
                        saved_at = done
                    if bar is not None:
                        post = {"loss": f"{float(row['loss']):.4f}", "lr": f"{float(row['lr']):.2e}"}
                        if self.best_psnr is not None:
                            post["best"] = f"{self.best_psnr:.2f}dB"
                        bar.set_postfix(post, refresh=False)
                        bar.update(1)
                    report(progress, done, cfg.steps, f"step {done}/{cfg.steps} loss {float(row['loss']):.4f}")
            except Cancelled:
                # (a bare KeyboardInterrupt may land inside optimizer.step(): then the weights are
                # half-updated, so only the last periodic checkpoint is trusted)
                if self.step != saved_at:
                    self.save_last(self._val_metrics(last_val))
                log.info("training cancelled at step %d; state saved to %s", self.step, last)
                raise
            finally:
                if bar is not None:
                    bar.close()
        return TrainResult(self.step, self.best_psnr, last_val, self.run_dir)

    @staticmethod
    def _val_metrics(val: dict[str, float]) -> dict[str, float]:
        return {f"val_{k}": v for k, v in val.items()}

    def _train_step(self) -> dict[str, Any]:
        cfg = self.cfg
        lr = lr_at(self.step, cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        inp, target = self._batch(self.step)
        if self.distiller is None:
            pred = self.model(inp)
            total, terms = self.loss_fn(pred, target)
        else:
            pred, distill = self.distiller(self.model, inp)
            total, terms = self.loss_fn(pred, target)
            total = total + self.distiller.weight * distill
            terms["distill"] = distill.detach()
        if not torch.isfinite(total):
            raise FloatingPointError(f"loss is {float(total.detach())} at step {self.step}")
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        if cfg.grad_clip > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, cfg.grad_clip))
        else:
            grad_norm = float(torch.linalg.vector_norm(
                torch.stack([p.grad.norm() for p in self.params if p.grad is not None])))
        self.optimizer.step()
        self.step += 1
        if self.ema is not None:
            self._update_ema()
        row: dict[str, Any] = {"step": self.step, "lr": repr(lr), "loss": repr(float(total.detach())),
                               "grad_norm": f"{grad_norm:.5g}", "val_psnr": "", "val_ssim": ""}
        for name, value in terms.items():
            row[name] = repr(float(value))
        return row


def train(
    cfg: TrainConfig,
    resume: bool = False,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    show_bar: bool = True,
) -> TrainResult:
    """Convenience wrapper: ``Trainer(cfg).run(...)``."""
    return Trainer(cfg).run(resume=resume, progress=progress, cancel=cancel, show_bar=show_bar)


def _retimed(source: dict[str, torch.Tensor], own: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``source`` with its time-attention MLPs mapped to ``own``'s number of time steps, if they differ."""
    from spikeview.snn import retime_time_attention

    out = dict(source)
    retimed = []
    for key in own:
        if not key.endswith(".ta.sharedMLP.0.weight"):
            continue
        second = key.removesuffix("0.weight") + "2.weight"
        if key in source and second in source and source[key].shape != own[key].shape:
            out[key], out[second] = retime_time_attention(
                source[key], source[second], steps=own[key].shape[1], hidden=own[key].shape[0]
            )
            retimed.append(key.removesuffix(".sharedMLP.0.weight"))
    if retimed:
        steps = own[retimed[0] + ".sharedMLP.0.weight"].shape[1]
        log.info("time attention of %d block(s) mapped to T = %d", len(retimed), steps)
    return out
