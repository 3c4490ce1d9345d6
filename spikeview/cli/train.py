"""``spikeview train CONFIG.yaml [--set key=value ...] [--resume]``: train a restoration network.

Ctrl-C (SIGINT) or SIGTERM saves ``<output_dir>/last.pt`` and exits with code 130; run the
same command with ``--resume`` to continue (the loss curve is reproduced exactly).
"""

from __future__ import annotations

import argparse
import signal
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train an SNN (or its ANN twin) from a YAML recipe",
        description="Train a restoration network from a YAML recipe (see resources/configs/). "
        "Writes config.yaml, log.csv, last.pt and best.pt to the recipe's output_dir.",
    )
    p.add_argument("config", metavar="CONFIG.yaml", help="training recipe")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value (YAML syntax; dotted keys reach into mappings, "
        "e.g. arch_kwargs.dim=32); repeatable",
    )
    p.add_argument("--teacher", metavar="CHECKPOINT",
                   help="H-KD: an ANN checkpoint whose decoder features guide the student's "
                   "(weight: --set distill_weight=0.12)")
    p.add_argument("--init-from", metavar="CHECKPOINT",
                   help="start from these weights (same parameter names and shapes, e.g. the ANN twin's)")
    p.add_argument("--resume", action="store_true", help="continue the run in output_dir from its last.pt")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spikeview.cli import EXIT_CANCELLED
    from spikeview.progress import Cancelled, CancelToken
    from spikeview.training.config import load_config
    from spikeview.training.trainer import Trainer

    overrides = list(args.overrides)
    if args.teacher:
        overrides.append(f"teacher={args.teacher}")
    if args.init_from:
        overrides.append(f"init_from={args.init_from}")
    cfg = load_config(args.config, overrides)
    token = CancelToken()

    def on_signal(signum: int, frame: object) -> None:
        if token.cancelled:  # second Ctrl-C: stop at once
            raise KeyboardInterrupt
        print(f"\nspikeview train: {signal.Signals(signum).name}, saving after this step...", file=sys.stderr)
        token.cancel()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    resume_cmd = f"spikeview train {args.config} " + "".join(f"--set {o} " for o in overrides) + "--resume"
    try:
        result = Trainer(cfg).run(resume=args.resume, cancel=token, show_bar=not args.no_progress)
    except Cancelled:
        print(f"spikeview train: stopped; state saved in {cfg.output_dir}/last.pt; continue with: {resume_cmd}",
              file=sys.stderr)
        return EXIT_CANCELLED
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    best = f"{result.best_psnr:.2f} dB" if result.best_psnr is not None else "n/a"
    print(f"trained {cfg.arch} for {result.steps_done} steps; best validation PSNR {best}; run folder {result.run_dir}")
    return 0
