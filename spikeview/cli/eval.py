"""``spikeview eval``: PSNR/SSIM (RGB and Y) of a model on paired folders."""

from __future__ import annotations

import argparse
import json

from spikeview.cli._common import ProgressLine, add_model_options, load_restorer


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval",
        help="score a model on paired degraded/clean folders",
        description="Restore every image of --input and compare with the same-named image of --target. "
        "Reports per-image and mean PSNR/SSIM on RGB and on the Y channel (BT.601).",
    )
    add_model_options(p)
    p.add_argument("--input", required=True, metavar="DIR", help="degraded images")
    p.add_argument("--target", required=True, metavar="DIR", help="clean images with the same file names")
    p.add_argument("--y-channel", action="store_true", help="headline figures on the Y channel (the ESDNet protocol)")
    p.add_argument("--crop-border", type=int, default=0, help="pixels cropped at each border before scoring")
    p.add_argument("--energy", action="store_true", help="add the compute-energy estimate per image")
    p.add_argument("--json", action="store_true", help="print the full report as JSON on stdout")
    p.add_argument("--json-out", metavar="FILE", help="write the JSON report to FILE")
    p.add_argument("--csv", metavar="FILE", help="write per-image rows and the mean to a CSV file")
    p.add_argument("--save", metavar="DIR", help="also save the restored images here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys

    from spikeview.evaluation import evaluate, pair_by_name

    pairs = pair_by_name(args.input, args.target)
    restorer = load_restorer(args)
    report = evaluate(
        restorer,
        pairs,
        crop_border=args.crop_border,
        energy=args.energy,
        save_dir=args.save,
        progress=ProgressLine("eval", sys.stderr),
    )
    if args.json_out:
        report.write_json(args.json_out)
    if args.csv:
        report.write_csv(args.csv)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    key_p, key_s = ("psnr_y", "ssim_y") if args.y_channel else ("psnr", "ssim")
    label = "Y" if args.y_channel else "RGB"
    print(f"model {restorer.info.name} ({restorer.info.arch}, T={restorer.info.timesteps}) on {len(pairs)} image(s)")
    for row in report.images:
        print(
            f"  {row['name']:<32} PSNR {row[key_p]:6.2f} dB  SSIM {row[key_s]:.4f}  (input {row['input_psnr']:5.2f} dB)"
        )
    mean = report.mean
    print(f"mean {label}: PSNR {mean[key_p]:.2f} dB, SSIM {mean[key_s]:.4f}; input PSNR {mean['input_psnr']:.2f} dB")
    return 0
