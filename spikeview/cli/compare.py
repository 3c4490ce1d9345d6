"""``spikeview compare``: several models on several paired test sets, one table."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "compare",
        help="score several models on several paired test sets in one table",
        description="Restore every image of each SET (a folder with input/ and target/) with each model and print "
        "one Markdown table: mean PSNR/SSIM (RGB and Y), gain over the input, ms and compute energy per image.",
    )
    p.add_argument("--model", action="append", required=True, metavar="NAME|FILE",
                   help="shipped model name or checkpoint file (repeatable)")
    p.add_argument("--set", dest="sets", action="append", required=True, metavar="LABEL=DIR",
                   help="test set: DIR holds input/ and target/ (repeatable)")
    p.add_argument("--crop-border", type=int, default=0, help="pixels cropped at each border before scoring")
    p.add_argument("--no-energy", action="store_true", help="skip the compute-energy estimate")
    p.add_argument("--device", default="cpu", help="auto | cpu | cuda | mps (default: cpu)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    p.add_argument("--json-out", metavar="FILE", help="write the rows as JSON to FILE")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from spikeview.cli._common import ProgressLine
    from spikeview.errors import ConfigError
    from spikeview.evaluation import compare, comparison_markdown, find_paired_set
    from spikeview.fileio import write_text_atomic

    sets = {}
    for item in args.sets:
        label, sep, folder = item.partition("=")
        if not sep or not label or not folder:
            raise ConfigError(f"--set wants LABEL=DIR, got '{item}'")
        sets[label] = find_paired_set(folder)
    restorers = [_load(m, args.device) for m in args.model]
    rows = compare(restorers, sets, crop_border=args.crop_border, energy=not args.no_energy,
                   progress=ProgressLine("compare", sys.stderr))
    table = comparison_markdown(rows)
    print(table, end="")
    if args.markdown:
        write_text_atomic(args.markdown, table)
    if args.json_out:
        write_text_atomic(args.json_out, json.dumps(rows, indent=2))
    return 0


def _load(model: str, device: str):
    """A shipped name, or a checkpoint file labelled ``folder/stem`` (runs' files are all ``best.pt``)."""
    from pathlib import Path

    from spikeview.inference.restorer import Restorer

    path = Path(model)
    if path.is_file():
        return Restorer.from_checkpoint(path, name=f"{path.parent.name}/{path.stem}", device=device)
    return Restorer.from_name_or_path(model, device=device)
