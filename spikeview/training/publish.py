"""Turn a finished training run into a shipped model: checkpoint + measured model card.

Everything in the card is measured when publishing, on this machine: PSNR/SSIM on held-out
synthetic sets (never seen in training or validation), firing rates, compute energy per
256×256 image for the model and its ANN twin, and ms per 640×480 frame.
"""

from __future__ import annotations

import csv
import hashlib
import json
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spikeview.checkpoints import read_checkpoint, save_checkpoint
from spikeview.errors import ConfigError
from spikeview.evaluation import evaluate, pair_by_name
from spikeview.fileio import write_text_atomic
from spikeview.inference.restorer import Restorer
from spikeview.paths import models_dir

MANIFEST = "MANIFEST.json"


@dataclass
class PublishSpec:
    run_dir: Path
    name: str
    twin: str | None
    heldout: dict[str, Path]  # label → folder with input/ and target/
    out_dir: Path
    checkpoint: str = "best.pt"
    default: bool = False
    command: str = ""
    speed_size: tuple[int, int] = (480, 640)  # (height, width) of the timed frame
    speed_repeat: int = 3
    bundle: bool = True  # False: left out of the desktop bundle (packaging/spikeview.spec), kept in models/


def _run_log(run_dir: Path) -> dict[str, Any]:
    log = run_dir / "log.csv"
    if not log.is_file():
        return {}
    with log.open() as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return {}
    return {"steps": int(rows[-1]["step"]), "wall_seconds": float(rows[-1]["seconds"])}


def _measure_speed(restorer: Restorer, height: int = 480, width: int = 640, repeat: int = 3) -> float:
    image = (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)
    restorer.restore(image)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        restorer.restore(image)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _energy_256(restorer: Restorer, heldout: dict[str, Path]) -> dict[str, Any]:
    """Energy of one 256×256 crop of each held-out input, averaged."""
    from spikeview.media.images import list_images, read_image
    from spikeview.recording import ActivityRecorder

    energies, rates = [], []
    for folder in heldout.values():
        for path in list_images(folder / "input")[:4]:
            image = read_image(path)
            h, w = image.shape[:2]
            if min(h, w) < 256:  # small held-out crops: scale up, energy is about the pixel count
                import cv2

                crop = cv2.resize(image, (256, 256), interpolation=cv2.INTER_CUBIC)
            else:
                crop = image[(h - 256) // 2 : (h - 256) // 2 + 256, (w - 256) // 2 : (w - 256) // 2 + 256]
            recorder = ActivityRecorder(restorer.model) if restorer.info.spiking else None
            result = restorer.restore(crop, energy=True, recorder=recorder)
            energies.append(result.stats.energy)
            if recorder is not None:
                rates.append(result.stats.firing_rates)
    if not energies:
        raise ConfigError("no held-out input images to measure energy on")
    out = {
        "energy_uj_per_256": float(np.mean([e.energy_uj for e in energies])),
        "macs_g_per_256": float(np.mean([e.macs for e in energies]) / 1e9),
        "sops_g_per_256": float(np.mean([e.sops for e in energies]) / 1e9),
        "costs": energies[0].costs,
    }
    if rates:
        layers = rates[0].keys()
        out["firing_rates"] = {k: float(np.mean([r[k] for r in rates])) for k in layers}
        out["mean_firing_rate"] = float(np.mean([np.mean(list(r.values())) for r in rates]))
    return out


def measure(
    checkpoint: Path, heldout: dict[str, Path], speed_size: tuple[int, int] = (480, 640), speed_repeat: int = 3
) -> dict[str, Any]:
    """Held-out quality, energy, firing rates and speed of one checkpoint."""
    restorer = Restorer.from_checkpoint(checkpoint, tile=0)
    metrics: dict[str, Any] = {}
    for label, folder in heldout.items():
        report = evaluate(restorer, pair_by_name(folder / "input", folder / "target"))
        mean = report.mean
        metrics[label] = {
            "images": len(report.images),
            "input_psnr": mean["input_psnr"],
            "input_ssim": mean["input_ssim"],
            "psnr": mean["psnr"],
            "ssim": mean["ssim"],
            "psnr_y": mean["psnr_y"],
            "ssim_y": mean["ssim_y"],
            "gain_db": mean["psnr"] - mean["input_psnr"],
        }
    metrics.update(_energy_256(restorer, heldout))
    metrics["speed_size"] = list(speed_size)
    metrics["ms_per_frame"] = _measure_speed(restorer, *speed_size, repeat=speed_repeat)
    return metrics


def publish(spec: PublishSpec) -> Path:
    raw = read_checkpoint(spec.run_dir / spec.checkpoint)
    metrics = measure(spec.run_dir / spec.checkpoint, spec.heldout, spec.speed_size, spec.speed_repeat)
    run_info = _run_log(spec.run_dir)
    config = dict(raw.get("metadata", {}).get("config", {}))
    metadata = {
        "trained_steps": raw.get("metadata", {}).get("trained_steps"),
        "run_steps": run_info.get("steps"),
        "wall_seconds": run_info.get("wall_seconds"),
        "config": config,
        "command": spec.command,
        "validation": dict(raw.get("metrics", {})),
        "heldout_sets": {k: str(v) for k, v in spec.heldout.items()},
        "measured_on": f"{platform.processor() or platform.machine()}, {platform.system()}",
    }
    metadata["stages"] = _stage_history(config, metadata["trained_steps"], metadata["wall_seconds"])
    metadata["rain"] = _specialised_rain(config)  # [] = any rain; the card and the manifest say so
    from spikeview.archs import build_arch

    model = build_arch(raw["arch"], **raw["arch_kwargs"])
    model.load_state_dict(raw["state_dict"])
    spec.out_dir.mkdir(parents=True, exist_ok=True)
    file_name = spec.name.replace("-", "_") + ".pt"
    target = save_checkpoint(
        spec.out_dir / file_name,
        model,
        raw["arch"],
        raw["arch_kwargs"],
        task=raw.get("task", "derain"),
        metrics=metrics,
        metadata=metadata,
    )
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    card = spec.out_dir / (spec.name.replace("-", "_") + ".md")
    write_text_atomic(card, _card_text(spec, raw, metrics, metadata, target, digest))
    entry = {"file": file_name, "card": card.name, "twin": spec.twin, "task": raw.get("task", "derain"),
             "sha256": digest}
    if metadata["rain"]:
        entry["rain"] = metadata["rain"]
    if not spec.bundle:
        entry["bundle"] = False
    _add_to_manifest(spec.out_dir / MANIFEST, spec.name, entry, make_default=spec.default)
    return target


def _specialised_rain(cfg: dict[str, Any]) -> list[str]:
    """The rain presets a derainer trained on synthetic rain was limited to ([] if it saw them all)."""
    from spikeview.training.rain import PRESET_NAMES

    if cfg.get("task", "derain") != "derain" or cfg.get("train_paired_root"):
        return []
    seen = list(dict.fromkeys(cfg.get("train_presets", [])))
    return seen if seen and set(seen) < set(PRESET_NAMES) else []


def _rain_cell(specialised: list[str]) -> str:
    if not specialised:
        return "any (trained on every preset)"
    return f"{' and '.join(specialised)} only: a specialist; on other rain it can do worse than the input"


def _add_to_manifest(path: Path, name: str, entry: dict[str, Any], make_default: bool) -> None:
    """Read-modify-write MANIFEST.json under an exclusive lock: publishing several models at once
    (each measurement takes minutes) must not drop one another's entries."""
    with (path.parent / ".manifest.lock").open("a") as lock:
        try:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        except ImportError:  # Windows: no advisory locks; publish one model at a time there
            pass
        manifest = json.loads(path.read_text()) if path.is_file() else {"models": {}}
        manifest["models"][name] = entry
        if make_default or "default" not in manifest:
            manifest["default"] = name
        write_text_atomic(path, json.dumps(manifest, indent=2) + "\n")


def _card_text(spec: PublishSpec, raw: dict, metrics: dict, metadata: dict, target: Path, digest: str) -> str:
    from spikeview.archs import arch_spec

    cfg = metadata["config"]
    arch = arch_spec(raw["arch"])
    params = sum(v.numel() for k, v in raw["state_dict"].items() if "running_" not in k and "num_batches" not in k)
    lines = [
        f"# {spec.name}",
        "",
        f"{arch.description}.",
        "",
        "| | |",
        "|---|---|",
        f"| architecture | `{raw['arch']}` {json.dumps(raw['arch_kwargs'])} |",
        f"| spiking | {'yes, T = ' + str(raw['arch_kwargs'].get('T', 4)) if arch.spiking else 'no (ANN twin)'} |",
        f"| parameters | {params:,} |",
        f"| task | {raw.get('task', 'derain')} |",
        *([f"| rain | {_rain_cell(metadata['rain'])} |"] if raw.get("task", "derain") == "derain" else []),
        f"| twin | {spec.twin or '—'} |",
        f"| file | `{target.name}`, {target.stat().st_size / 2**20:.2f} MiB, sha256 `{digest[:16]}…` |",
        "",
        "## Training",
        "",
        f"- Command: `{spec.command}` (recipes in `resources/configs/`)",
        f"- Data: {_data_line(cfg)}; how that folder is made: `resources/configs/DATA.md`",
        *_stage_lines(metadata, spec.checkpoint),
        f"- Validation ({cfg.get('val_count')} synthetic {cfg.get('val_patch_size')}² crops of "
        f"`{cfg.get('val_clean_dir')}`, seed {cfg.get('val_seed')}): "
        + ", ".join(f"{k} {v:.4g}" for k, v in metadata["validation"].items() if isinstance(v, float)),
        "",
        f"## Measured (held-out synthetic {'Gaussian noise' if cfg.get('task') == 'denoise' else 'rain'} on photos "
        "never used in training or validation)",
        "",
        "| set | images | input PSNR / SSIM | output PSNR / SSIM | gain | output PSNR_Y / SSIM_Y |",
        "|---|---|---|---|---|---|",
    ]
    for label in spec.heldout:
        m = metrics[label]
        lines.append(
            f"| {label} | {m['images']} | {m['input_psnr']:.2f} dB / {m['input_ssim']:.4f} | "
            f"{m['psnr']:.2f} dB / {m['ssim']:.4f} | {m['gain_db']:+.2f} dB | "
            f"{m['psnr_y']:.2f} dB / {m['ssim_y']:.4f} |"
        )
    lines += [
        "",
        f"- Compute energy per 256×256 image ({metrics['costs']}): **{metrics['energy_uj_per_256']:.1f} µJ** "
        f"({metrics['macs_g_per_256']:.3f} G MACs, {metrics['sops_g_per_256']:.3f} G SOPs) — a compute-only "
        "estimate, memory traffic excluded",
    ]
    if "mean_firing_rate" in metrics:
        rates = ", ".join(f"{k} {v:.3f}" for k, v in metrics["firing_rates"].items())
        lines.append(f"- Mean firing rate {metrics['mean_firing_rate']:.3f}; per layer: {rates}")
    h, w = metrics["speed_size"]
    lines += [
        f"- Speed: {metrics['ms_per_frame']:.0f} ms per {w}×{h} frame (median of {spec.speed_repeat}, CPU, fast "
        "path, machine shared with other jobs, so an upper bound)",
        "",
        "All numbers were measured by `spikeview publish` when this file was written.",
        "",
    ]
    return "\n".join(lines)


def _data_line(cfg: dict[str, Any]) -> str:
    if cfg.get("train_paired_root"):
        return f"paired images of `{cfg['train_paired_root']}`"
    if cfg.get("task") == "denoise":
        sigmas = "/".join(f"{s:g}" for s in cfg.get("noise_sigmas", []))
        return f"Gaussian noise σ ∈ {{{sigmas}}} (0–255 scale, drawn per crop) on the clean photos of " \
               f"`{cfg.get('train_clean_dir')}`"
    return (f"synthetic rain ({', '.join(cfg.get('train_presets', []))} presets, rendered on the fly) on the "
            f"clean photos of `{cfg.get('train_clean_dir')}`")


def _stage_chain(cfg: dict[str, Any], limit: int = 8) -> list[dict[str, Any]]:
    """The earlier stages this run started from (``init_from``), oldest first, each
    ``{"config", "trained_steps", "wall_seconds"}`` or ``{"missing": path}``.

    A published checkpoint carries its whole history (``metadata["stages"]``), so a chain through
    ``models/`` survives after the ``runs/`` folders are gone; a source no longer on this machine
    ends the chain as a ``missing`` entry (the card says so).
    """
    chain: list[dict[str, Any]] = []
    source = cfg.get("init_from")
    while source and len(chain) < limit:
        if not Path(source).is_file():
            chain.append({"missing": str(source)})
            break
        meta = read_checkpoint(source).get("metadata", {})
        if any(stage.get("config") == cfg for stage in meta.get("stages", [])):
            # the run started from a models/ file that a publish of this very run has since replaced
            raise ConfigError(f"{source} now holds this run's own published weights, not the ones the run "
                              "started from; restore that file (e.g. from git) and publish again")
        if meta.get("stages"):
            chain.extend(reversed(meta["stages"]))
            break
        wall = _run_log(Path(source).parent).get("wall_seconds")
        chain.append({"config": meta.get("config", {}), "trained_steps": meta.get("trained_steps"),
                      "wall_seconds": wall if wall is not None else meta.get("wall_seconds")})
        source = meta.get("config", {}).get("init_from")
    return chain[::-1]


def _stage_history(cfg: dict[str, Any], trained_steps: int | None, wall_seconds: float | None) -> list[dict[str, Any]]:
    """Every stage of this model, oldest first, as stored in the published checkpoint."""
    return [*_stage_chain(cfg), {"config": cfg, "trained_steps": trained_steps, "wall_seconds": wall_seconds}]


def _optim_line(cfg: dict[str, Any]) -> str:
    patches = f"patches {cfg.get('patch_size')}×{cfg.get('patch_size')}"
    if cfg.get("render_size"):
        patches += f" cut from {cfg['render_size']}² renderings"
    line = (f"{patches}, batch {cfg.get('batch_size')}; loss weights "
            f"{cfg.get('loss_weights')}; AdamW lr {cfg.get('lr')}, weight decay {cfg.get('weight_decay')}, "
            f"{cfg.get('warmup_steps')} warm-up steps then cosine to {cfg.get('min_lr')}; gradient clip "
            f"{cfg.get('grad_clip')}; seed {cfg.get('seed')}; {cfg.get('num_threads')} CPU thread(s)")
    if cfg.get("teacher"):
        line += f"; H-KD from the ANN teacher `{cfg['teacher']}` (γ = {cfg.get('distill_weight')}, decoder features)"
    if cfg.get("freeze_bn"):
        line += "; batch-norm running statistics frozen"
    if cfg.get("ema_decay"):
        line += f"; weights averaged (EMA, decay {cfg['ema_decay']})"
    return line


def _stage_lines(metadata: dict[str, Any], checkpoint: str) -> list[str]:
    """Card lines for ``metadata["stages"]`` (earlier stages, then this run)."""
    cfg = metadata["config"]
    earlier = metadata["stages"][:-1]
    lines = []
    total_steps, total_seconds, complete = 0, 0.0, True
    for i, stage in enumerate(earlier, 1):
        if "missing" in stage:
            complete = False
            lines.append(f"- Stage {i}: the run that wrote `{stage['missing']}` (not on this machine any more; "
                         "its recipe is in `resources/configs/` and in the git history of this card)")
            continue
        steps = stage.get("trained_steps") or 0
        total_steps += steps
        total_seconds += stage.get("wall_seconds") or 0.0
        # e.g. an SNN started from its ANN twin: say which network the earlier stage trained
        arch = stage["config"].get("arch")
        trained = f" (as `{arch}`)" if arch and cfg.get("arch") and arch != cfg["arch"] else ""
        lines.append(f"- Stage {i}{trained}: {steps} steps (its `best.pt`, `{stage['config'].get('output_dir')}`); "
                     f"{_optim_line(stage['config'])}")
    steps = metadata.get("trained_steps") or 0
    total_steps += steps
    total_seconds += metadata.get("wall_seconds") or 0.0
    prefix = f"Stage {len(earlier) + 1}" if earlier else "Training"
    start = f", starting from `{cfg['init_from']}`" if cfg.get("init_from") else ""
    if checkpoint == "best.pt":
        why = "best validation PSNR"
    elif steps == metadata.get("run_steps"):
        why = "the end of the schedule"
    else:
        why = "chosen by hand"
    lines.append(f"- {prefix}: {metadata.get('run_steps')} steps{start} (checkpoint `{checkpoint}` from step "
                 f"{steps}, {why}); {_optim_line(cfg)}")
    counted = "" if complete else " counted here (plus the stage(s) not on this machine)"
    lines.append(f"- In all {total_steps} optimizer steps{counted}; wall time {total_seconds / 60:.0f} min on a "
                 "shared 2-core CPU")
    return lines


def default_heldout() -> dict[str, Path]:
    root = Path("data/heldout")
    return {label: root / label for label in ("light", "heavy") if (root / label / "input").is_dir()}


__all__ = ["PublishSpec", "default_heldout", "measure", "models_dir", "publish"]
