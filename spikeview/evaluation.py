"""Evaluate a model on paired (degraded, clean) images: PSNR/SSIM on RGB and Y, energy.

Used by ``spikeview eval`` and the GUI. Pairs are matched by file name (or stem, so a
``.jpg`` input can pair with a ``.png`` target). The input's own PSNR against the target is
reported too, so gains are visible.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikeview.errors import ImageReadError
from spikeview.fileio import write_text_atomic
from spikeview.media.images import list_images, read_image
from spikeview.metrics import image_quality
from spikeview.progress import CancelToken, ProgressCallback, check_cancel, report

METRIC_KEYS = ("psnr", "ssim", "psnr_y", "ssim_y")


def pair_by_name(input_dir: str | Path, target_dir: str | Path) -> list[tuple[Path, Path]]:
    """Match images of two folders by relative path, then by relative stem; unmatched inputs are an error."""
    inputs = list_images(input_dir, recursive=True)
    targets = list_images(target_dir, recursive=True)
    if not inputs:
        raise ImageReadError(f"no images in {input_dir}")
    by_rel = {t.relative_to(target_dir).as_posix(): t for t in targets}
    by_stem = {t.relative_to(target_dir).with_suffix("").as_posix(): t for t in targets}
    pairs, missing = [], []
    for path in inputs:
        rel = path.relative_to(input_dir)
        target = by_rel.get(rel.as_posix()) or by_stem.get(rel.with_suffix("").as_posix())
        if target is None:
            missing.append(rel.as_posix())
        else:
            pairs.append((path, target))
    if missing:
        more = f" (+{len(missing) - 3} more)" if len(missing) > 3 else ""
        raise ImageReadError(f"no target in {target_dir} for {', '.join(missing[:3])}{more}")
    return pairs


@dataclass
class EvalReport:
    images: list[dict[str, Any]] = field(default_factory=list)
    model: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> dict[str, float]:
        keys = [
            k
            for k in (*METRIC_KEYS, "input_psnr", "input_ssim", "ms", "energy_uj")
            if self.images and k in self.images[0]
        ]
        return {k: float(np.mean([img[k] for img in self.images])) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "images": self.images, "model": self.model, "settings": self.settings}

    def write_json(self, path: str | Path) -> Path:
        return write_text_atomic(Path(path), json.dumps(self.to_dict(), indent=2))

    def write_csv(self, path: str | Path) -> Path:
        columns = [
            k for k in (self.images[0] if self.images else {}) if not isinstance(self.images[0][k], (dict, list))
        ]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.images)
        if self.images:
            writer.writerow({"name": "MEAN", **{k: v for k, v in self.mean.items() if k in columns}})
        return write_text_atomic(Path(path), buf.getvalue())


def evaluate(
    restorer: Any,
    pairs: list[tuple[Path, Path]],
    *,
    crop_border: int = 0,
    energy: bool = False,
    save_dir: str | Path | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> EvalReport:
    """Restore every input with ``restorer`` and score it against its target."""
    from spikeview.media.images import write_image

    info = restorer.info
    result = EvalReport(
        model={"name": info.name, "arch": info.arch, "timesteps": info.timesteps, "parameters": info.parameters},
        settings={"crop_border": crop_border, "device": str(restorer.device), "ensemble": restorer.ensemble},
    )
    protected = [p for pair in pairs for p in pair]
    for index, (inp_path, tgt_path) in enumerate(pairs):
        check_cancel(cancel)
        degraded, target = read_image(inp_path), read_image(tgt_path)
        if degraded.shape != target.shape:
            raise ImageReadError(
                f"{inp_path.name}: size {degraded.shape[:2]} differs from its target {target.shape[:2]}"
            )
        restored = restorer.restore(degraded, cancel=cancel, energy=energy)
        scores = image_quality(restored.image, target, crop_border=crop_border)
        before = image_quality(degraded, target, crop_border=crop_border)
        row: dict[str, Any] = {"name": inp_path.name, **{k: float(scores[k]) for k in METRIC_KEYS}}
        row["input_psnr"] = float(before["psnr"])
        row["input_ssim"] = float(before["ssim"])
        row["ms"] = restored.stats.ms
        if restored.stats.energy is not None:
            row["energy_uj"] = restored.stats.energy.energy_uj
        if save_dir is not None:
            write_image(Path(save_dir) / inp_path.name, restored.image, protected=protected)
        result.images.append(row)
        report(progress, index + 1, len(pairs), inp_path.name)
    return result


# --------------------------------------------------------------------------- model comparison
def find_paired_set(folder: str | Path) -> list[tuple[Path, Path]]:
    """Pairs of a test-set folder laid out as ``<folder>/input`` + ``<folder>/target``."""
    root = Path(folder)
    if not (root / "input").is_dir() or not (root / "target").is_dir():
        raise ImageReadError(f"{root} needs input/ and target/ sub-folders")
    return pair_by_name(root / "input", root / "target")


def compare(
    restorers: list[Any],
    sets: dict[str, list[tuple[Path, Path]]],
    *,
    crop_border: int = 0,
    energy: bool = True,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> list[dict[str, Any]]:
    """One row per (model, set): mean PSNR/SSIM (RGB and Y), input PSNR, gain, ms, µJ per image."""
    rows = []
    total = len(restorers) * sum(len(p) for p in sets.values())
    done = 0
    for restorer in restorers:
        for label, pairs in sets.items():
            prefix = f"{restorer.info.name} · {label}"

            def step(i: int, n: int, msg: str, _offset: int = done, _prefix: str = prefix) -> None:
                report(progress, _offset + i, total, f"{_prefix} · {msg}")

            rep = evaluate(restorer, pairs, crop_border=crop_border, energy=energy, progress=step, cancel=cancel)
            done += len(pairs)
            mean = rep.mean
            rows.append({
                "model": rep.model["name"], "arch": rep.model["arch"], "timesteps": rep.model["timesteps"],
                "parameters": rep.model["parameters"], "set": label, "images": len(rep.images),
                **mean, "gain_db": mean["psnr"] - mean["input_psnr"],
            })
    return rows


def comparison_markdown(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`compare` as a Markdown table (energy column only when measured)."""
    with_energy = any("energy_uj" in r for r in rows)
    head = "| model | arch | T | params | set | n | input PSNR | PSNR / SSIM | gain | PSNR_Y / SSIM_Y | ms/img |"
    rule = "|---|---|---|---|---|---|---|---|---|---|---|"
    if with_energy:
        head += " µJ/img |"
        rule += "---|"
    lines = [head, rule]
    for r in rows:
        line = (f"| {r['model']} | {r['arch']} | {r['timesteps']} | {r['parameters']:,} | {r['set']} | {r['images']} | "
                f"{r['input_psnr']:.2f} | {r['psnr']:.2f} / {r['ssim']:.4f} | {r['gain_db']:+.2f} | "
                f"{r['psnr_y']:.2f} / {r['ssim_y']:.4f} | {r['ms']:.0f} |")
        if with_energy:
            line += f" {r['energy_uj']:.0f} |" if "energy_uj" in r else " — |"
        lines.append(line)
    return "\n".join(lines) + "\n"
