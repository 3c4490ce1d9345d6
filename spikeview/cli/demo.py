"""``spikeview demo``: the GUI's main job without a window.

Derains the bundled samples with the default SNN and its ANN twin, writes input | ANN | SNN
side by side per sample, and prints PSNR/SSIM against the clean images, firing rates and the
compute-energy estimate of both networks.
"""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="derain the bundled samples with the default SNN and its ANN twin")
    p.add_argument("-o", "--output", default="spikeview-demo", help="output folder (default: ./spikeview-demo)")
    p.add_argument("--model", metavar="NAME", help="model name (default: the shipped default)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from spikeview.cli._common import twin_restorer
    from spikeview.energy import compare
    from spikeview.errors import ImageReadError
    from spikeview.inference.restorer import Restorer
    from spikeview.media.images import list_images, read_image, write_image
    from spikeview.metrics import image_quality
    from spikeview.paths import samples_dir
    from spikeview.recording import ActivityRecorder

    rainy = [p for p in list_images(samples_dir()) if p.stem.endswith("_rain")]
    if not rainy:
        raise ImageReadError(f"no bundled samples (*_rain.png) in {samples_dir()}")
    snn = Restorer.from_name_or_path(args.model, device=args.device)
    ann, _ = twin_restorer(snn, untrained_ok=False)
    info = snn.info
    print(f"SNN {info.name} ({info.arch}, T={info.timesteps}, {info.parameters:,} parameters) on {snn.device}")
    if ann is not None:
        print(f"ANN twin {ann.info.name} ({ann.info.parameters:,} parameters)")
    out_dir = Path(args.output)
    for path in rainy:
        image = read_image(path)
        clean_path = path.with_name(path.stem[: -len("_rain")] + "_clean" + path.suffix)
        clean = read_image(clean_path) if clean_path.exists() else None
        snn_result = snn.restore(image, recorder=ActivityRecorder(snn.model), energy=True)
        panels = [image]
        line = f"{path.name}: SNN {snn_result.stats.ms:.0f} ms, firing rate {snn_result.stats.mean_firing_rate:.3f}"
        if ann is not None:
            ann_result = ann.restore(image, energy=True)
            panels.append(ann_result.image)
            energy = compare(snn_result.stats.energy, ann_result.stats.energy)
            line += (
                f"; energy SNN {energy['snn_energy_uj']:.0f} µJ vs ANN {energy['ann_energy_uj']:.0f} µJ"
                f" ({energy['ratio']:.1f}x less)"
            )
        panels.append(snn_result.image)
        if clean is not None:
            scores = [image_quality(p, clean)["psnr"] for p in panels]
            names = ["input", "ANN", "SNN"] if ann is not None else ["input", "SNN"]
            line += "; PSNR " + ", ".join(f"{n} {s:.2f} dB" for n, s in zip(names, scores, strict=True))
        write_image(out_dir / f"{path.stem}_compare.png", np.concatenate(panels, axis=1), protected=[path])
        print(line)
    print(f"side-by-side images (input | ANN | SNN) in {out_dir}/  (energy: compute-only estimate, 45 nm)")
    return 0
