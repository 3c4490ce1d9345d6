"""``spikeview bench``: speed figures measured in one process (medians and ratios)."""

from __future__ import annotations

import argparse
import json
import statistics
import time

from spikeview.cli._common import add_model_options, parse_size

# Random-weight architectures for timing without trained weights (timing does not depend on weights).
CONFIGS = {
    "official": {"dim": 48, "en_num_blocks": [4, 4, 8, 8], "de_num_blocks": [2, 2, 2, 2], "T": 4},
    "small": {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 4},
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench",
        help="time SNN vs ANN twin (ms per image, medians, ratios)",
        description="Times the SNN (exact and fast paths) and its ANN twin, interleaved round-robin in one "
        "process so that machine noise hits all variants alike; prints medians and ratios. Without --model/"
        "--checkpoint/--configs it times the shipped default model, or the 'small' config if none is shipped.",
    )
    add_model_options(p, tiling=False)
    p.add_argument("--configs", help=f"comma-separated random-weight ESDNet configs: {', '.join(CONFIGS)}")
    p.add_argument("--size", default="256x256", help="HxW of the timed input (default 256x256)")
    p.add_argument("--repeat", type=int, default=5, help="timed rounds (default 5; one warm-up round first)")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile of the fast SNN path")
    p.add_argument("--video", action="store_true", help="video FPS of the default SNN at 320x240 and 640x480")
    p.add_argument("--gui", action="store_true", help="GUI event-loop stall while a batch runs (needs Qt)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _variants(args: argparse.Namespace):
    """(label, model-info dict, callable taking a float NCHW tensor) for every timed variant."""
    from spikeview.archs import build_arch
    from spikeview.cli._common import load_restorer, twin_restorer
    from spikeview.inference.restorer import Restorer

    groups = []
    if args.configs:
        for name in args.configs.split(","):
            name = name.strip()
            if name not in CONFIGS:
                from spikeview.errors import ConfigError

                raise ConfigError(f"unknown config '{name}' (known: {', '.join(CONFIGS)})")
            model = build_arch("esdnet", **CONFIGS[name])
            groups.append(
                (name, Restorer.from_model(model, "esdnet", CONFIGS[name], name=f"esdnet-{name}", fast=False, tile=0))
            )
    else:
        try:
            groups.append(("model", load_restorer(args, fast=False, tile=0)))
        except Exception as exc:  # no shipped model: fall back to the small config
            from spikeview.errors import SpikeViewError

            if args.model or args.checkpoint or not isinstance(exc, SpikeViewError):
                raise
            model = build_arch("esdnet", **CONFIGS["small"])
            groups.append(
                (
                    "small",
                    Restorer.from_model(model, "esdnet", CONFIGS["small"], name="esdnet-small", fast=False, tile=0),
                )
            )

    variants = []
    for label, exact in groups:
        fast = Restorer(exact.model, exact.info, device=str(exact.device), tile=0, fast=True)
        variants.append((f"{label}/snn-exact", exact))
        variants.append((f"{label}/snn-fast", fast))
        if args.compile:
            variants.append(
                (
                    f"{label}/snn-compiled",
                    Restorer(exact.model, exact.info, device=str(exact.device), tile=0, compile=True),
                )
            )
        twin, _ = twin_restorer(exact, untrained_ok=True, tile=0, fast=True)
        if twin is not None:
            variants.append((f"{label}/ann-fast", twin))
    return variants


def run(args: argparse.Namespace) -> int:
    import sys

    import torch

    if args.compile and getattr(sys, "frozen", False):
        from spikeview.errors import SpikeViewError

        raise SpikeViewError("--compile needs a C++ compiler and torch's headers: use the source install")
    if args.threads:
        torch.set_num_threads(args.threads)
    h, w = parse_size(args.size)
    results: dict = {"size": [h, w], "threads": torch.get_num_threads(), "repeat": args.repeat}
    if not (args.video or args.gui) or args.model or args.checkpoint or args.configs:
        variants = _variants(args)
        x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0))
        outputs = {}
        times: dict[str, list[float]] = {label: [] for label, _ in variants}
        for round_index in range(args.repeat + 1):
            for label, restorer in variants:
                start = time.perf_counter()
                out = restorer.restore_tensor(x, tile=None)
                elapsed = (time.perf_counter() - start) * 1000
                if round_index == 0:
                    outputs[label] = out
                else:
                    times[label].append(elapsed)
        table = {}
        for label, _ in variants:
            med = statistics.median(times[label])
            table[label] = {
                "median_ms": round(med, 1),
                "fps": round(1000 / med, 2),
                "all_ms": [round(t, 1) for t in times[label]],
            }
        for label in table:
            group, kind = label.split("/")
            exact = table.get(f"{group}/snn-exact")
            if kind.startswith("snn") and kind != "snn-exact" and exact:
                table[label]["speedup_vs_exact"] = round(exact["median_ms"] / table[label]["median_ms"], 2)
            if kind.startswith("snn") and f"{group}/snn-exact" in outputs and kind != "snn-exact":
                diff = (outputs[label] - outputs[f"{group}/snn-exact"]).abs()
                table[label]["max_abs_diff_vs_exact"] = float(diff.max())
            ann = table.get(f"{group}/ann-fast")
            if kind.startswith("snn") and ann:
                table[label]["ratio_vs_ann"] = round(table[label]["median_ms"] / ann["median_ms"], 2)
        results["images"] = table
    if args.video:
        from spikeview.inference.pipeline import measure_video_fps
        from spikeview.inference.restorer import Restorer

        restorer = Restorer.from_name_or_path(args.checkpoint or args.model)
        results["video"] = {
            f"{vw}x{vh}": measure_video_fps(restorer, size=(vw, vh), frames=max(10, args.repeat * 4))
            for vw, vh in ((320, 240), (640, 480))
        }
    if args.gui:
        from spikeview.gui.responsiveness import measure_event_loop_stalls

        results["gui"] = measure_event_loop_stalls()
    if args.json:
        print(json.dumps(results, indent=2, default=float))
        return 0
    print(f"input {h}x{w}, {results['threads']} torch threads, median of {args.repeat} interleaved rounds")
    for label, row in results.get("images", {}).items():
        extra = []
        if "speedup_vs_exact" in row:
            extra.append(f"{row['speedup_vs_exact']:.2f}x vs exact")
        if "max_abs_diff_vs_exact" in row:
            extra.append(f"max |diff| {row['max_abs_diff_vs_exact']:.1e}")
        if "ratio_vs_ann" in row:
            extra.append(f"{row['ratio_vs_ann']:.2f}x the ANN time")
        print(f"  {label:<22} {row['median_ms']:9.1f} ms  {row['fps']:7.2f} FPS  " + "; ".join(extra))
    for size, fig in results.get("video", {}).items():
        print(
            f"  video {size}: "
            + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in fig.items())
        )
    if "gui" in results:
        print("  gui: " + ", ".join(f"{k} {v}" for k, v in results["gui"].items()))
    return 0
