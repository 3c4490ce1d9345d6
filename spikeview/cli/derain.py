"""``spikeview derain INPUT... -o OUTDIR``: restore images or folders into an output folder."""

from __future__ import annotations

import argparse
import json

from spikeview.cli._common import ProgressLine, add_model_options, load_restorer


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "derain",
        help="derain images or folders (the restore job of the GUI)",
        description="Restore images with an SNN (default: the shipped default model). Folders are walked "
        "recursively and their sub-folder tree is kept. Existing outputs are skipped (resume); inputs are "
        "never overwritten.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="image files or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    add_model_options(p)
    p.add_argument("--suffix", default="", help="text added to output file names (before the extension)")
    p.add_argument("--overwrite", action="store_true", help="redo outputs that already exist")
    p.add_argument("--energy", action="store_true", help="estimate compute energy per image")
    p.add_argument("--json", action="store_true", help="print per-image results as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from spikeview.errors import ImageReadError
    from spikeview.inference.batch import plan_batch, run_batch
    from spikeview.recording import ActivityRecorder

    for item in args.inputs:
        if not Path(item).exists():
            raise ImageReadError(f"no such file or folder: {item}")
    jobs = plan_batch(args.inputs, args.output, suffix=args.suffix)
    if not jobs:
        raise ImageReadError("no images found in " + ", ".join(args.inputs))
    restorer = load_restorer(args)
    info = restorer.info
    print(
        f"model {info.name} ({info.arch}, T={info.timesteps}, {info.parameters:,} parameters) on {restorer.device}; "
        f"{len(jobs)} image(s) → {args.output}"
    )

    def restore(image, cancel=None):
        recorder = ActivityRecorder(restorer.model) if info.spiking else None
        return restorer.restore(image, cancel=cancel, recorder=recorder, energy=args.energy)

    lines = []

    def on_file(result) -> None:
        if result.status == "done":
            s = result.stats
            text = f"  {result.input} → {result.output}  {s.ms:.0f} ms, {s.tiles} tile(s)"
            if s.mean_firing_rate is not None:
                text += f", mean firing rate {s.mean_firing_rate:.3f}"
            if s.energy is not None:
                text += f", ~{s.energy.energy_uj:.1f} µJ compute (estimate)"
        else:
            text = f"  {result.input}: {result.status}" + (f" ({result.error})" if result.error else "")
        lines.append(result)
        if not args.json:
            print(text)

    results = run_batch(restore, jobs, progress=ProgressLine("derain"), on_file=on_file, overwrite=args.overwrite)
    failed = [r for r in results if r.status == "failed"]
    if args.json:
        print(json.dumps([_result_dict(r) for r in results], indent=2))
    done = sum(r.status == "done" for r in results)
    skipped = sum(r.status == "skipped" for r in results)
    print(f"done {done}, skipped (already there) {skipped}, failed {len(failed)}")
    return 1 if failed else 0


def _result_dict(result) -> dict:
    out = {"input": str(result.input), "output": str(result.output) if result.output else None, "status": result.status}
    if result.error:
        out["error"] = result.error
    if result.stats is not None:
        out["ms"] = round(result.stats.ms, 2)
        out["firing_rates"] = result.stats.firing_rates
        if result.stats.energy is not None:
            out["energy"] = result.stats.energy.to_dict()
    return out
