"""``spikeview backend``: list the backends, or run a model on one and compare it with torch."""

from __future__ import annotations

import argparse
import json

from spikeview.cli._common import add_model_options, load_restorer, parse_size, sample_image


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "backend",
        help="list backends, or run a model on a neuromorphic backend and compare with torch",
        description="Without --run: every backend (torch devices, the NIR runner, the Lava Loihi-2 simulator) "
        "and why it is unavailable. With --run NAME: run the model (NIR-exportable, e.g. spikenir) on a small "
        "tile of an image with that backend and report spike agreement and output PSNR against torch, time, and "
        "the compute energy priced from the backend's own counts. Lava runs need `make lava-env` and are slow "
        "(about a minute for 32x32).",
    )
    add_model_options(p, tiling=False)
    p.add_argument("--run", metavar="NAME", help="backend to run on (e.g. nir, lava, lava-fixed)")
    p.add_argument("--size", default="32x32", help="HxW of the tile (default 32x32)")
    p.add_argument("--input", metavar="IMAGE", help="take the tile from this image (default: a bundled sample)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.run:
        return _list(args)
    import numpy as np

    from spikeview.backends import get_backend
    from spikeview.backends.base import BackendError
    from spikeview.backends.energy import backend_energy_report

    backend = get_backend(args.run)
    status = backend.status()
    if not status.available:
        raise BackendError(f"backend '{backend.name}' is not available here: {status.reason}")
    image = sample_image(parse_size(args.size), args.input)
    tile = np.ascontiguousarray(image.transpose(2, 0, 1))[None].astype(np.float32) / 255.0
    # the backends export the network itself, not the CPU fast path's rewrites of it
    # (fused attention is a torch kernel choice, not a layer NIR could name)
    restorer = load_restorer(args, tile=0, fast=False)
    out: dict = {"model": restorer.info.name, "arch": restorer.info.arch, "backend": backend.name,
                 "tile": list(image.shape[:2])}
    compare = getattr(backend, "compare", None)
    if compare is not None:  # simulators check themselves against our torch runner
        agreement = compare(restorer.model, tile)
        out["agreement"] = {k: v for k, v in vars(agreement).items() if k != "per_node"}
        summary = agreement.summary()
        result = None
    else:
        result = backend.run(restorer.model, tile)
        report = backend_energy_report(result)
        out["seconds"] = result.seconds
        out["energy"] = report.to_dict()
        summary = (f"{backend.name}: {result.seconds:.3f} s, {sum(result.spikes.values()):,} spikes, "
                   f"{report.energy_uj:.3f} µJ ({report.caveat})")
    if args.json:
        print(json.dumps(out, indent=2, default=float))
    else:
        print(f"{restorer.info.name} ({restorer.info.arch}) on '{backend.name}', tile {args.size}")
        print(f"  {summary}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from spikeview.backends import available_backends

    rows = []
    for b in available_backends():
        st = b.status()
        rows.append({"name": b.name, "kind": b.kind, "available": st.available, "reason": st.reason,
                     "description": b.description})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = "yes" if r["available"] else f"no: {r['reason']}"
        print(f"{r['name']:<12} {r['kind']:<13} {state}")
    return 0
