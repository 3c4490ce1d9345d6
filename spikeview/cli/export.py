"""``spikeview export``: write a model in an interchange format (NIR) for neuromorphic toolchains."""

from __future__ import annotations

import argparse


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a spiking model to NIR (for Loihi/Lava, SpiNNaker2, Speck, snnTorch, Norse...)",
        description="Traces the model into a NIR graph for one tile size (NIR graphs are tied to their input "
        "size): batch norm is folded into the convolutions, LIF/LI neurons keep their exact discrete dynamics at "
        "the recorded time step dt. Models with upsampling, concatenation, max-pool or attention (ESDNet, "
        "VLIF-Net) cannot be expressed; the error names the layer.",
    )
    p.add_argument("--format", choices=("nir",), default="nir", help="output format (default: nir)")
    p.add_argument("--model", required=True, metavar="NAME_OR_CHECKPOINT", help="shipped model name or a .pt file")
    p.add_argument("--tile", default="64x64", help="HxW of the input the graph is built for (default 64x64)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file, e.g. model.nir")
    p.add_argument("--dt", type=float, default=None, help="NIR time step in seconds (default 1e-4)")
    p.add_argument(
        "--verify", action="store_true", help="run the written graph and the torch model on one tile and compare"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from spikeview.backends.nir_export import NIR_DT, export_model_to_nir
    from spikeview.cli._common import parse_size

    tile = parse_size(args.tile)
    summary = export_model_to_nir(args.model, tile, args.output, dt=args.dt or NIR_DT, verify=args.verify)
    print(
        f"wrote {summary.path} ({summary.bytes / 1024:.0f} KiB): {summary.arch}, {tile[0]}x{tile[1]} tile, "
        f"{summary.nodes} nodes, {summary.edges} edges, in {summary.seconds:.2f} s"
    )
    if summary.spike_agreement is not None:
        print(
            f"verify: NIR runner vs torch on a random {tile[0]}x{tile[1]} tile: "
            f"{100 * summary.spike_agreement:.4f} % of {summary.spikes_compared} spikes equal, "
            f"max output difference {summary.max_output_diff:.2e}"
        )
    return 0
