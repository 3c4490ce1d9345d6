"""``spikeview synth CLEAN_DIR -o OUT_DIR --preset ...``: make paired training/eval folders.

Writes ``OUT_DIR/input/NAME.png`` (synthetic rain or Gaussian noise) and
``OUT_DIR/target/NAME.png`` (the clean photo, resized/cropped the same way). Seeded:
the same command gives identical files.
"""

from __future__ import annotations

import argparse

# Kept in step with spikeview.training.synth.SYNTH_PRESETS (not imported: it pulls OpenCV).
PRESETS = ("light", "heavy", "noise15", "noise25", "noise50")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "synth",
        help="synthesise rainy/noisy + clean pairs from clean photos",
        description="Render seeded synthetic rain (light: Rain100L-like, heavy: Rain100H-like) or Gaussian "
        "noise over every image of CLEAN_DIR (recursively) and write OUT_DIR/input/NAME.png and "
        "OUT_DIR/target/NAME.png. Inputs are never overwritten; images inside OUT_DIR are not used as sources.",
    )
    p.add_argument("clean_dir", metavar="CLEAN_DIR", help="folder of clean photos")
    p.add_argument("-o", "--output", required=True, metavar="OUT_DIR", help="output folder")
    p.add_argument("--preset", required=True, choices=PRESETS, help="degradation")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--max-side", type=int, default=None, metavar="PX", help="shrink photos to this longest side")
    p.add_argument("--crop", type=int, default=None, metavar="PX", help="then take a seeded random PXxPX crop")
    p.add_argument(
        "--count",
        type=int,
        default=None,
        metavar="N",
        help="number of pairs (default: one per photo; more cycles through the photos with new rain)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spikeview.cli._common import ProgressLine
    from spikeview.training.synth import synthesize_folder

    result = synthesize_folder(
        args.clean_dir,
        args.output,
        args.preset,
        seed=args.seed,
        max_side=args.max_side,
        crop=args.crop,
        count=args.count,
        progress=ProgressLine("synth"),
    )
    print(f"wrote {len(result.pairs)} {args.preset} pair(s) from {result.sources} photo(s) to {args.output}")
    return 0
