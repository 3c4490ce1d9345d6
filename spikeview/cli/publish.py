"""``spikeview publish RUN_DIR --name NAME``: ship a trained run with a measured model card."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "publish",
        help="copy a training run's checkpoint into models/ with a measured model card",
        description="Evaluates the run's checkpoint on held-out paired folders, measures firing rates, energy per "
        "256x256 image and ms per 640x480 frame, writes NAME.pt (weights only, no optimizer state), NAME.md and the "
        "MANIFEST.json entry.",
    )
    p.add_argument("run_dir", help="training run folder (holds best.pt / last.pt, log.csv)")
    p.add_argument("--name", required=True, help="model name, e.g. esdnet-s-rain")
    p.add_argument("--twin", help="name of the twin model (ANN for an SNN and vice versa)")
    p.add_argument(
        "--heldout", action="append", metavar="LABEL=DIR", help="held-out set with input/ and target/ (repeatable)"
    )
    p.add_argument("--checkpoint", default="best.pt", help="which checkpoint of the run (default best.pt)")
    p.add_argument("--out", default=None, help="models folder (default: the shipped models/)")
    p.add_argument("--default", action="store_true", help="make it the default model")
    p.add_argument("--command", dest="train_command", default="", help="the training command, recorded in the card")
    p.add_argument("--no-bundle", action="store_true",
                   help="keep it out of the desktop bundle (research models; the bundle has a size budget)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from spikeview.errors import ConfigError
    from spikeview.paths import models_dir
    from spikeview.training.publish import PublishSpec, default_heldout, publish

    heldout = {}
    for item in args.heldout or []:
        label, _, folder = item.partition("=")
        if not folder:
            raise ConfigError(f"--heldout wants LABEL=DIR, got '{item}'")
        heldout[label] = Path(folder)
    heldout = heldout or default_heldout()
    if not heldout:
        raise ConfigError("no held-out sets: pass --heldout LABEL=DIR")
    spec = PublishSpec(
        run_dir=Path(args.run_dir),
        name=args.name,
        twin=args.twin,
        heldout=heldout,
        out_dir=Path(args.out) if args.out else models_dir(),
        checkpoint=args.checkpoint,
        default=args.default,
        command=args.train_command,
        bundle=not args.no_bundle,
    )
    target = publish(spec)
    print(f"published {args.name}: {target} and {target.with_suffix('.md')}")
    return 0
