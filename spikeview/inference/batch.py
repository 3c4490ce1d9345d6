"""Restoring many files into an output folder: resumable, atomic, never touching inputs.

``plan_batch`` maps inputs (files and folders, folders walked recursively) to output paths
that keep each folder's sub-tree; ``run_batch`` restores them one by one. An output that
already exists is a finished file from an earlier run (writes are atomic, so a crash leaves
no partial file under the final name) and is skipped unless ``overwrite``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spikeview.errors import ImageWriteError, SpikeViewError
from spikeview.media.images import list_images, read_image_with_alpha, write_image
from spikeview.progress import Cancelled, CancelToken, ProgressCallback, check_cancel, report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchJob:
    input: Path
    output: Path


@dataclass
class FileResult:
    input: Path
    output: Path | None
    status: str  # "done" | "skipped" | "failed" | "cancelled"
    error: str | None = None
    ms: float = 0.0
    stats: Any = None


def plan_batch(
    inputs: Iterable[str | Path], out_dir: str | Path, suffix: str = "", ext: str | None = None
) -> list[BatchJob]:
    """One job per image; files from a folder keep their path relative to that folder."""
    out_root = Path(out_dir)
    jobs: list[BatchJob] = []
    seen: set[Path] = set()
    for item in inputs:
        source = Path(item)
        if source.is_dir():
            pairs = [(p, p.relative_to(source)) for p in list_images(source, recursive=True)]
        else:
            pairs = [(source, Path(source.name))]
        for path, rel in pairs:
            name = rel.stem + suffix + (ext if ext else rel.suffix)
            target = out_root / rel.parent / name
            if target in seen:
                raise ImageWriteError(f"two inputs would write the same output {target}")
            seen.add(target)
            jobs.append(BatchJob(path, target))
    inputs_resolved = {j.input.resolve() for j in jobs}
    for job in jobs:
        if job.output.resolve() in inputs_resolved:
            raise ImageWriteError(f"output {job.output} would overwrite an input; choose another output folder")
    return jobs


def run_batch(
    restore: Callable[..., Any],
    jobs: list[BatchJob],
    *,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    overwrite: bool = False,
    restore_kwargs: dict[str, Any] | None = None,
) -> list[FileResult]:
    """Restore every job with ``restore(image, **restore_kwargs) -> RestoreResult``.

    ``restore`` is usually ``Restorer.restore``. A file that fails to read or write is
    reported and the batch goes on; a cancel stops after the current tile, writing nothing
    for the interrupted file.
    """
    protected = [job.input for job in jobs]
    results: list[FileResult] = []
    total = len(jobs)
    for index, job in enumerate(jobs):
        if job.output.exists() and not overwrite:
            result = FileResult(job.input, job.output, "skipped")
        else:
            try:
                check_cancel(cancel)
                start = time.perf_counter()
                image, alpha = read_image_with_alpha(job.input)
                restored = restore(image, cancel=cancel, **(restore_kwargs or {}))
                write_image(job.output, restored.image, alpha, protected=protected)
                result = FileResult(
                    job.input, job.output, "done", ms=(time.perf_counter() - start) * 1000, stats=restored.stats
                )
            except Cancelled:
                result = FileResult(job.input, None, "cancelled")
                results.append(result)
                if on_file:
                    on_file(result)
                raise
            except SpikeViewError as exc:
                log.warning("%s: %s", job.input, exc)
                result = FileResult(job.input, None, "failed", error=str(exc))
        results.append(result)
        if on_file:
            on_file(result)
        report(progress, index + 1, total, f"{job.input.name}: {result.status}")
    return results
