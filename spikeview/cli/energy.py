"""``spikeview energy``: compute-energy estimate of an SNN against its ANN twin."""

from __future__ import annotations

import argparse
import json

from spikeview.cli._common import add_model_options, load_restorer, parse_size, sample_image, twin_restorer


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "energy",
        help="estimate compute energy of the SNN and its ANN twin",
        description="Runs the model on an image (default: a bundled rainy sample resized to --size), counts "
        "MACs (real-valued inputs) and synaptic operations (spike inputs, measured firing rate x fan-out) and "
        "prices them with 45 nm figures (Horowitz 2014). A compute-only estimate: memory traffic is not included.",
    )
    add_model_options(p, tiling=False)
    p.add_argument("--size", default="256x256", help="HxW the image is resized to (default 256x256)")
    p.add_argument("--input", metavar="IMAGE", help="measure on this image instead of a bundled sample")
    p.add_argument("--preset", default="45nm-fp32", help="45nm-fp32 | 45nm-fp16 | 45nm-int8")
    p.add_argument("--layers", action="store_true", help="also list every layer")
    p.add_argument("--backend", metavar="NAME",
                   help="count spikes and synaptic operations in this backend's own run instead of torch hooks "
                   "(e.g. nir, lava; see `spikeview info`); the model must be NIR-exportable (e.g. spikenir)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spikeview.energy import compare, get_costs

    costs = get_costs(args.preset)
    size = parse_size(args.size)
    image = sample_image(size, args.input)
    # a backend exports the network itself, not the CPU fast path's rewrites of it
    snn = load_restorer(args, tile=0, fast=not args.backend)
    if args.backend:
        return _run_on_backend(args, snn, image, costs)
    snn_report = snn.restore(image, energy=True, energy_costs=costs).stats.energy
    result = {"model": snn.info.name, "arch": snn.info.arch, "size": list(image.shape[:2]), "snn": snn_report.to_dict()}
    twin, trained = twin_restorer(snn, untrained_ok=True, tile=0)
    if twin is not None and twin is not snn and snn.info.spiking:
        ann_report = twin.restore(image, energy=True, energy_costs=costs).stats.energy
        result["ann"] = ann_report.to_dict()
        result["ann_trained_weights"] = trained
        result["comparison"] = compare(snn_report, ann_report)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"{snn.info.name} ({snn.info.arch}, T={snn.info.timesteps}) on a {size[0]}x{size[1]} image, costs {costs.name}"
    )
    _print_report("SNN", snn_report, args.layers)
    if "ann" in result:
        _print_report("ANN twin", ann_report, args.layers)
        ratio = result["comparison"]["ratio"]
        print(
            f"ANN / SNN energy ratio: {ratio:.2f}x"
            + ("" if trained else " (twin architecture; MACs do not depend on weights)")
        )
    print(f"note: {snn_report.caveat}")
    return 0


def _print_report(label: str, report, layers: bool) -> None:
    print(
        f"{label:>9}: {report.energy_uj:10.2f} µJ  = {report.macs / 1e9:8.3f} G MACs x {report.e_mac_pj} pJ"
        f" + {report.sops / 1e9:8.3f} G SOPs x {report.e_ac_pj} pJ"
    )
    if layers:
        for row in report.layers:
            rate = "" if row.input_firing_rate is None else f" rate {row.input_firing_rate:.3f}"
            print(f"      {row.name:<48} {row.kind} {row.ops / 1e6:10.2f} M{rate}")


def _run_on_backend(args: argparse.Namespace, restorer, image, costs) -> int:
    """Energy from the spikes and SOPs that a (neuromorphic) backend counted while it ran."""
    import numpy as np

    from spikeview.backends import get_backend
    from spikeview.backends.base import BackendError
    from spikeview.backends.energy import backend_energy_report

    backend = get_backend(args.backend)
    status = backend.status()
    if not status.available:
        raise BackendError(f"backend '{backend.name}' is not available here: {status.reason}")
    tile = (np.ascontiguousarray(image.transpose(2, 0, 1))[None].astype(np.float32) / 255.0)
    result = backend.run(restorer.model, tile)
    report = backend_energy_report(result, costs)
    out = {"model": restorer.info.name, "arch": restorer.info.arch, "backend": backend.name,
           "size": list(image.shape[:2]), "seconds": result.seconds, "spikes": result.spikes,
           "snn": report.to_dict()}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    print(f"{restorer.info.name} ({restorer.info.arch}) on backend '{backend.name}', "
          f"{image.shape[0]}x{image.shape[1]} tile, {result.seconds:.2f} s, costs {costs.name}")
    print(f"  spikes counted by the backend: {sum(result.spikes.values()):,} over {len(result.spikes)} neuron layer(s)")
    _print_report("SNN", report, args.layers)
    print(f"note: {report.caveat}")
    return 0
