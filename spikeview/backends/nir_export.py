"""Export a spiking model to a NIR graph (Neuromorphic Intermediate Representation, ``nir`` 1.0.8).

NIR is the interchange format the neuromorphic toolchains read (Lava/Loihi 2, SpiNNaker2,
Speck, snnTorch, Norse, spikingjelly). It expresses Conv2d, LIF/LI neurons and sums of
edges; it has no batch norm, upsampling, concatenation, max-pool or attention. The model is
traced with ``torch.fx``; a layer NIR cannot express raises :class:`NIRExportError` naming
its module path and type.

Mapping (time is discrete in our models, continuous in NIR; a simulator integrating NIR with
forward Euler at step ``dt`` reproduces our update exactly when):

* our LIF ``V ← V + (X − (V − V_reset))/tau`` (``decay_input``) is NIR's
  ``tau_nir·dv/dt = (v_leak − v) + r·I`` with ``tau_nir = tau·dt``, ``r = 1``,
  ``v_leak = V_reset``; without ``decay_input`` (``V ← V − (V − V_reset)/tau + X``) ``r = tau``.
  Threshold and hard reset are copied; we fire on ``v ≥ v_threshold``.
* our LI readout is NIR's ``LI`` with the same ``tau_nir``, ``r = 1``, ``v_leak = 0``.
* batch norm (eval statistics) is folded into the preceding conv's weight and bias.
* direct encoding (the image repeated over T) is NIR's ``Input``: the image is presented at
  every step; the model output is read at the last step (``metadata["readout"]``).

``dt`` and the rest of the conventions are written to the graph's metadata. NIR graphs are
tied to one input size (conv ``input_shape``, per-neuron parameter arrays): export per tile.
"""

from __future__ import annotations

import logging
import math
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.fx as fx
from torch import nn

from spikeview.backends.base import BackendError
from spikeview.snn.integrator import LeakyIntegrator
from spikeview.snn.layers import repeat_over_time
from spikeview.snn.neurons import LIF, LIFParams

log = logging.getLogger(__name__)

#: NIR time step (seconds) of exported graphs: spikingjelly's/Norse's default, so their
#: ``import_from_nir(..., dt=1e-4)`` reproduces our discrete update.
NIR_DT = 1e-4
FORMAT = "spikeview-nir"
FORMAT_VERSION = 1
_EXPRESSIBLE = "NIR expresses Conv2d, batch norm folded into a conv, LIF, LI and additive skips"


class NIRExportError(BackendError):
    """The model (or one of its layers) cannot be written as a NIR graph."""


def _require_nir() -> Any:
    try:
        import nir
    except ImportError:
        raise BackendError("NIR support needs the 'nir' package: pip install 'spikeview[nir]'") from None
    return nir


# -- neuron parameter mapping ---------------------------------------------------------------


@dataclass(frozen=True)
class NIRNeuronParams:
    """Scalar NIR LIF/LI parameters equivalent to one of our neurons at time step ``dt``."""

    tau: float
    r: float
    v_leak: float
    v_threshold: float | None = None
    v_reset: float | None = None


def lif_to_nir(params: LIFParams, dt: float = NIR_DT) -> NIRNeuronParams:
    """NIR LIF parameters whose forward-Euler step ``dt`` is our discrete LIF update (see module doc)."""
    return NIRNeuronParams(
        tau=params.tau * dt,
        r=1.0 if params.decay_input else params.tau,
        v_leak=params.v_reset,
        v_threshold=params.v_threshold,
        v_reset=params.v_reset,
    )


def li_to_nir(tau: float, dt: float = NIR_DT) -> NIRNeuronParams:
    """NIR LI parameters of our :class:`~spikeview.snn.integrator.LeakyIntegrator` (decay_input form)."""
    return NIRNeuronParams(tau=tau * dt, r=1.0, v_leak=0.0)


def lif_from_nir(tau: float, r: float, v_leak: float, v_threshold: float, v_reset: float, dt: float) -> LIFParams:
    """Inverse of :func:`lif_to_nir` (raises :class:`NIRExportError` if no LIFParams match)."""
    steps_tau = tau / dt
    if math.isclose(r, 1.0):
        decay_input = True
    elif math.isclose(r, steps_tau, rel_tol=1e-6):
        decay_input = False
    else:
        raise NIRExportError(f"NIR LIF with r={r}, tau/dt={steps_tau} has no SpikeView LIF equivalent")
    if not math.isclose(v_leak, v_reset, abs_tol=1e-12):
        raise NIRExportError(f"NIR LIF with v_leak={v_leak} != v_reset={v_reset} has no SpikeView LIF equivalent")
    return LIFParams(tau=steps_tau, v_threshold=v_threshold, v_reset=v_reset, decay_input=decay_input)


# -- tracing ----------------------------------------------------------------------------------

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)
_SUPPORTED_MODULES = (nn.Conv2d, nn.BatchNorm2d, LIF, LeakyIntegrator, nn.Identity)
_ADD_FUNCTIONS: tuple[Callable, ...] = (operator.add, torch.add, operator.iadd)


class _Tracer(fx.Tracer):
    """Keeps our layers and every torch.nn layer as graph leaves, traces through our composite
    blocks, and remembers which module it was inside when tracing fails."""

    def __init__(self) -> None:
        super().__init__(autowrap_functions=(repeat_over_time,))
        self.stack: list[tuple[str, str]] = []
        self.failed_in: tuple[str, str] | None = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, _CONTAINERS):
            return False
        return isinstance(m, _SUPPORTED_MODULES) or type(m).__module__.startswith("torch.nn")

    def call_module(self, m: nn.Module, forward: Callable, args: tuple, kwargs: dict) -> Any:
        self.stack.append((self.path_of_module(m), type(m).__name__))
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:
                self.failed_in = self.stack[-1]  # innermost module: the one that cannot be traced
            raise
        finally:
            self.stack.pop()


def _layer_of(node: fx.Node, root: str) -> tuple[str, str]:
    """(module path, type name) of the innermost module an fx node was recorded in."""
    stack = node.meta.get("nn_module_stack") or {}
    if not stack:
        return "<forward>", root
    path, (_, klass) = list(stack.items())[-1]
    return path, getattr(klass, "__name__", str(klass))


def _fail(path: str, type_name: str, what: str) -> NIRExportError:
    return NIRExportError(f"cannot export to NIR: layer '{path}' ({type_name}) {what}; {_EXPRESSIBLE}")


def _trace(model: nn.Module) -> tuple[fx.Graph, _Tracer]:
    tracer = _Tracer()
    try:
        graph = tracer.trace(model)
    except Exception as exc:  # fx raises TraceError, TypeError, ... on untraceable Python code
        path, type_name = tracer.failed_in or ("<forward>", type(model).__name__)
        reason = str(exc).split(". ")[0].strip()
        raise _fail(path, type_name, f"cannot be traced into a NIR graph ({reason})") from None
    return graph, tracer


# -- graph building ---------------------------------------------------------------------------


@dataclass
class _Conv:
    module: nn.Conv2d
    input_shape: tuple[int, int]
    weight: torch.Tensor
    bias: torch.Tensor


def _conv_output_shape(conv: nn.Conv2d, shape: tuple[int, int, int], path: str) -> tuple[int, int, int]:
    if conv.padding_mode != "zeros":
        raise _fail(path, type(conv).__name__, f"pads with '{conv.padding_mode}' (NIR convs pad with zeros)")
    if isinstance(conv.padding, str):
        raise _fail(path, type(conv).__name__, f"uses padding='{conv.padding}'; give explicit integers")
    c, h, w = shape
    if c != conv.in_channels:
        raise _fail(path, type(conv).__name__, f"expects {conv.in_channels} channels but gets {c}")
    out = []
    for size, k, s, p, d in zip((h, w), conv.kernel_size, conv.stride, conv.padding, conv.dilation, strict=True):
        out.append((size + 2 * p - d * (k - 1) - 1) // s + 1)
    return conv.out_channels, out[0], out[1]


def _fold_bn(conv: _Conv, bn: nn.BatchNorm2d, path: str) -> None:
    """Fold eval-mode batch norm into the conv: w' = w·γ/σ, b' = (b − μ)·γ/σ + β (float64 then float32)."""
    if bn.running_mean is None or bn.running_var is None:
        raise _fail(path, type(bn).__name__, "has no running statistics to fold")
    w = conv.weight.double()
    b = conv.bias.double()
    std = torch.sqrt(bn.running_var.double() + bn.eps)
    gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(std)
    beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(std)
    scale = gamma / std
    conv.weight = (w * scale.view(-1, 1, 1, 1)).float()
    conv.bias = ((b - bn.running_mean.double()) * scale + beta).float()


def export_nir(
    model: nn.Module,
    tile: tuple[int, int],
    *,
    in_channels: int | None = None,
    dt: float = NIR_DT,
    metadata: dict[str, Any] | None = None,
) -> Any:
    """Trace ``model`` (an SNN taking ``[N, C, H, W]`` in [0, 1]) into a ``nir.NIRGraph`` for
    ``tile = (H, W)`` inputs.

    Node names are the module paths (``"blocks.0.conv1"``), plus ``"input"`` and
    ``"output"``. Batch norm uses its running statistics (eval behaviour) whatever the
    model's mode. Raises :class:`NIRExportError` naming the first layer NIR cannot express.
    """
    nir = _require_nir()
    height, width = int(tile[0]), int(tile[1])
    graph, _ = _trace(model)
    modules = dict(model.named_modules())
    if in_channels is None:
        first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        if first_conv is None:
            raise NIRExportError("cannot export to NIR: the model has no convolution to take its input")
        in_channels = first_conv.in_channels

    # value of every fx node: ("src", [nir source node names], shape) or ("steps", T)
    sources: dict[fx.Node, list[str]] = {}
    shapes: dict[fx.Node, tuple[int, int, int]] = {}
    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    convs: dict[str, _Conv] = {}
    timesteps: int | None = None
    readout = "every step"
    output_sources: list[str] | None = None
    output_shape: tuple[int, int, int] | None = None

    def connect(srcs: list[str], dst: str) -> None:
        for s in srcs:
            edges.append((s, dst))

    for node in graph.nodes:
        path, type_name = _layer_of(node, type(model).__name__)
        if node.op == "placeholder":
            if "input" in nodes:
                raise NIRExportError("cannot export to NIR: the model takes more than one input")
            shape = (in_channels, height, width)
            nodes["input"] = nir.Input(input_type={"input": np.array(shape)})
            sources[node], shapes[node] = ["input"], shape
        elif node.op == "call_function" and node.target is repeat_over_time:
            # direct encoding: NIR presents the input at every step
            src = node.args[0]
            steps = node.args[1] if len(node.args) > 1 else node.kwargs.get("steps")
            if not isinstance(steps, int):
                raise _fail(path, type_name, "repeats its input a data-dependent number of steps")
            timesteps = steps
            sources[node], shapes[node] = sources[src], shapes[src]
        elif node.op == "call_module":
            module = modules[node.target]
            name, klass = str(node.target), type(module).__name__
            arg = node.args[0] if node.args else None
            if len(node.args) != 1 or node.kwargs or arg not in sources:
                raise _fail(name, klass, "is called with other than one tensor input")
            in_shape = shapes[arg]
            if isinstance(module, nn.Identity):
                sources[node], shapes[node] = sources[arg], in_shape
            elif isinstance(module, nn.Conv2d):
                out_shape = _conv_output_shape(module, in_shape, name)
                bias = module.bias.detach() if module.bias is not None else torch.zeros(module.out_channels)
                convs[name] = _Conv(module, (in_shape[1], in_shape[2]), module.weight.detach().clone(), bias.clone())
                connect(sources[arg], name)
                sources[node], shapes[node] = [name], out_shape
            elif isinstance(module, nn.BatchNorm2d):
                producer = sources[arg]
                if (
                    len(producer) != 1
                    or producer[0] not in convs
                    or not (arg.op == "call_module" and len(arg.users) == 1)
                    or producer[0] in {s for s, _ in edges}
                ):
                    raise _fail(name, klass, "does not directly follow a convolution, so it cannot be folded")
                _fold_bn(convs[producer[0]], module, name)
                sources[node], shapes[node] = producer, in_shape
            elif isinstance(module, LIF):
                p = lif_to_nir(module.params, dt)
                if module.carry_state:
                    log.info("exporting %s: NIR graphs start from rest, carry_state is ignored", name)
                full = {k: np.full(in_shape, v, dtype=np.float32) for k, v in vars(p).items()}
                nodes[name] = nir.LIF(**full)
                connect(sources[arg], name)
                sources[node], shapes[node] = [name], in_shape
            elif isinstance(module, LeakyIntegrator):
                p = li_to_nir(module.tau, dt)
                nodes[name] = nir.LI(
                    tau=np.full(in_shape, p.tau, dtype=np.float32),
                    r=np.full(in_shape, p.r, dtype=np.float32),
                    v_leak=np.full(in_shape, p.v_leak, dtype=np.float32),
                )
                connect(sources[arg], name)
                sources[node], shapes[node] = [name], in_shape
            else:
                raise _fail(name, klass, "has no NIR equivalent")
        elif (node.op == "call_function" and node.target in _ADD_FUNCTIONS) or (
            node.op == "call_method" and node.target in ("add", "__add__")
        ):
            # a sum becomes several edges into each consumer (NIR sums a node's inputs)
            if node.kwargs or len(node.args) != 2 or not all(a in sources for a in node.args):
                raise _fail(path, type_name, "adds something other than two tensors")
            a, b = node.args
            if shapes[a] != shapes[b]:
                raise _fail(path, type_name, f"adds tensors of shapes {shapes[a]} and {shapes[b]} (broadcasting)")
            if set(sources[a]) & set(sources[b]):
                raise _fail(path, type_name, "adds a signal to itself (NIR edges carry no weight)")
            sources[node], shapes[node] = sources[a] + sources[b], shapes[a]
        elif node.op == "call_function" and node.target is operator.getitem and node.args[1] == -1:
            users = list(node.users)
            if not (len(users) == 1 and users[0].op == "output"):
                raise _fail(path, type_name, "selects a time step other than as the final output")
            readout = "last step"
            sources[node], shapes[node] = sources[node.args[0]], shapes[node.args[0]]
        elif node.op == "output":
            result = node.args[0]
            if result not in sources:
                raise NIRExportError("cannot export to NIR: the model does not return one tensor")
            output_sources, output_shape = sources[result], shapes[result]
        elif node.op == "get_attr":
            raise _fail(path, type_name, f"reads tensor '{node.target}' directly")
        else:
            what = getattr(node.target, "__name__", str(node.target))
            raise _fail(path, type_name, f"uses {what}() ({node.op})")

    if output_sources is None or output_shape is None:
        raise NIRExportError("cannot export to NIR: the model has no output")
    if timesteps is None:
        raise NIRExportError(
            "cannot export to NIR: the model does not direct-encode its input (repeat_over_time); "
            "it looks like an ANN, which has no time axis to export"
        )
    for name, conv in convs.items():
        m = conv.module
        nodes[name] = nir.Conv2d(
            input_shape=conv.input_shape,
            weight=conv.weight.detach().numpy().astype(np.float32),
            stride=tuple(m.stride),
            padding=tuple(m.padding),
            dilation=tuple(m.dilation),
            groups=m.groups,
            bias=conv.bias.detach().numpy().astype(np.float32),
        )
    nodes["output"] = nir.Output(output_type={"output": np.array(output_shape)})
    connect(output_sources, "output")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "dt": dt,
        "timesteps": timesteps,
        "tile": [height, width],
        "encoding": "direct: the input image is presented unchanged at every step",
        "readout": readout,
        "spike_condition": "v >= v_threshold, then hard reset to v_reset",
        "integration": "forward Euler: v += dt/tau * (v_leak - v + r*I)",
        "batch_norm": "folded into the preceding convolution (running statistics)",
        **(metadata or {}),
    }
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


def write_nir(graph: Any, path: str | os.PathLike) -> Path:
    """Write ``graph`` as a gzip HDF5 ``.nir`` file atomically (temporary file, then replace)."""
    nir = _require_nir()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        nir.write(tmp, graph)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_nir(path: str | os.PathLike) -> Any:
    """Read a ``.nir`` file (:class:`BackendError` if missing or unreadable)."""
    nir = _require_nir()
    path = Path(path)
    if not path.is_file():
        raise BackendError(f"NIR file not found: {path}")
    try:
        return nir.read(path)
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise BackendError(f"cannot read NIR file {path}: {exc}") from None


# -- whole-model convenience (CLI, GUI) -------------------------------------------------------


@dataclass
class ExportSummary:
    """What :func:`export_model_to_nir` wrote and, if verified, how close the graph is to torch."""

    path: Path
    arch: str
    nodes: int
    edges: int
    seconds: float
    bytes: int
    spike_agreement: float | None = None
    spikes_compared: int = 0
    max_output_diff: float | None = None


def compare_with_torch(model: nn.Module, graph: Any, tile: np.ndarray) -> tuple[float, int, float]:
    """Run ``model`` (torch) and ``graph`` (our NIR runner) on ``tile``; return
    (fraction of equal spikes over all LIF nodes, spikes compared, max |output difference|).

    The torch model keeps its batch norm unfolded, so rare threshold flips from float
    rounding of the folding are possible; the output is compared after the readout.
    """
    from spikeview.backends.nir_runner import NIRGraphRunner
    from spikeview.snn.neurons import reset_states

    traces: dict[str, torch.Tensor] = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, n=n: traces.__setitem__(n, out.detach().clone()))
        for n, m in model.named_modules()
        if isinstance(m, LIF)
    ]
    try:
        model.eval()
        reset_states(model)
        with torch.inference_mode():
            torch_out = model(torch.from_numpy(np.ascontiguousarray(tile, dtype=np.float32)))
    finally:
        for h in handles:
            h.remove()
    result = NIRGraphRunner(graph).run(tile, record=True)
    equal = total = 0
    for name, spikes in traces.items():
        other = result.extra["traces"].get(name)
        if other is None or other.shape != spikes.shape:
            raise BackendError(f"the NIR graph has no neuron node matching '{name}' {tuple(spikes.shape)}")
        equal += int((other == spikes).sum())
        total += spikes.numel()
    diff = float(np.abs(result.output - torch_out.numpy()).max())
    return (equal / total if total else 1.0), total, diff


def export_model_to_nir(
    name_or_path: str,
    tile: tuple[int, int],
    output: str | os.PathLike,
    *,
    dt: float = NIR_DT,
    verify: bool = False,
    seed: int = 0,
) -> ExportSummary:
    """Export a shipped model (catalog name) or one of our checkpoint files to a ``.nir`` file.

    ``verify`` runs the written file with our NIR runner and the torch model on the same
    random tile and fills in the agreement fields.
    """
    import time

    from spikeview.catalog import resolve_model
    from spikeview.checkpoints import load_checkpoint

    path, _entry = resolve_model(name_or_path)
    model, info = load_checkpoint(path)
    output = Path(output)
    if output.resolve() == Path(path).resolve():
        raise BackendError(f"refusing to overwrite the input checkpoint {path}")
    start = time.perf_counter()
    graph = export_nir(
        model, tile, dt=dt, metadata={"source_arch": info.arch, "source_checkpoint": Path(path).name}
    )
    write_nir(graph, output)
    seconds = time.perf_counter() - start
    summary = ExportSummary(output, info.arch, len(graph.nodes), len(graph.edges), seconds, output.stat().st_size)
    if verify:
        rng = np.random.default_rng(seed)
        sample = rng.random((1, graph.nodes["input"].input_type["input"][0], *tile), dtype=np.float32)
        agreement, compared, diff = compare_with_torch(model, read_nir(output), sample)
        summary.spike_agreement, summary.spikes_compared, summary.max_output_diff = agreement, compared, diff
    log.info("exported %s (%s) to %s in %.2f s", name_or_path, info.arch, output, seconds)
    return summary
