"""Run a NIR graph on Lava's Loihi-2 CPU simulator (lava-nc 0.10.0, Python 3.10 only).

This file is executed *inside the Lava environment* (``.venv-lava``) as a script::

    python lava_runner.py GRAPH.nir INPUT.npy OUT.npz [--mode floating_pt|fixed_pt] [--dt 1e-4]

It imports only the standard library, numpy, nir and lava: never torch or the rest of
spikeview (the main app runs Python 3.11, where lava-nc cannot be installed).

Input ``INPUT.npy``: float ``[T, *input_shape]`` (e.g. ``[T, C, H, W]``), one array per
time step for the graph's single ``Input`` node. Output ``OUT.npz`` (see :func:`run`):
``output [T, *output_shape]`` (the graph's single ``Output`` node: the sum of its incoming
edges), ``spikes:<node>`` (bool ``[T, *shape]``) for every spiking node, per-node
``node_names/node_types/neurons/spike_counts/sops/macs/dense_macs``, ``seconds`` (simulation) and
``build_seconds``, and ``meta_json``. Errors: one line on stderr, exit code 2 for a graph
or input this runner cannot run, 1 for anything unexpected.

How NIR maps onto Lava (the *why* of the numbers below):

* NIR neurons are ODEs, ``tau·dv/dt = (v_leak − v) + r·I`` (LIF, LI) or ``dv/dt = r·I`` (IF);
  every framework integrates them with forward Euler at a fixed ``dt`` (SpikeView and
  spikingjelly export with ``dt = 1e-4``, stored in the graph metadata). One step is
  ``v ← v·(1 − a) + a·v_leak + g·I`` with ``a = dt/tau`` and input gain ``g = r·dt/tau``
  (``r·dt`` for IF). LIF spikes when ``v ≥ v_threshold`` and is reset to ``v_reset``.
* Lava's LIF is ``u ← u·(1 − du) + a_in``; ``v ← v·(1 − dv) + u + bias``; spike if
  ``v > vth``; reset to 0. So ``du = 1`` (no synaptic current state), ``dv = a``, the gain
  ``g`` is folded into the incoming weights, conv biases and the leak become the neuron
  bias, and ``v`` is shifted by ``v_reset`` (reset to 0, threshold ``v_threshold − v_reset``).
  In floating point the threshold is the next float below ``v_threshold`` so ``>`` fires
  exactly where ``≥`` does.
* Lava's ``Conv`` process computes a true convolution in ``(W, H, C)`` layout, NIR a
  cross-correlation in ``(C, H, W)``: kernels are flipped and transposed.
* Every Lava connection process (Conv, Dense) delivers one step late. A neuron whose
  inputs come over paths of different length (additive skips) gets the shorter ones
  delayed by depthwise identity convs, so that all of them arrive at the same step; a
  neuron at depth ``d`` computes model step ``t`` at Lava step ``t + d``. Its bias is
  switched on at step ``d`` (before that it must stay at rest, as in the model).
* Edges neuron→neuron and Input→neuron (no synapse in NIR) become depthwise 1×1 convs with
  the neuron's gain. ``LI`` (no spikes) is a Lava LIF that never reaches its threshold and
  whose ``v`` is recorded by a ``Monitor``. Edges Input→Output (a global residual) are added
  on the host; a synapse feeding ``Output`` directly gets a pass-through neuron (``dv = 1``).
* ``fixed_pt`` (Loihi's bit-accurate model): weights are rounded to signed
  ``--weight-bits`` integers with one scale per group of neurons that share synapses
  (a shared current ``u`` must have one unit); membrane units are that scale × 64 (Loihi
  shifts synaptic input by 6 bits); thresholds, decays (12 bit) and biases (13-bit
  mantissa, 3-bit exponent) are rounded to Loihi's registers; the analog input image is
  sent as graded spikes ``round(x·Q)``, with ``Q`` chosen so that the first-layer weights
  use the available bits (at least ``--input-levels``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

if __name__ == "__main__":
    # run as a script, sys.path[0] is this folder, whose lava.py (the main-side backend) would
    # shadow the lava package
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if not (p and Path(p).resolve() == _here) and p != ""]

SYNAPSES = ("Conv2d", "Affine", "Linear")
NEURONS = ("LIF", "IF", "LI")
SPIKING = ("LIF", "IF")
SUPPORTED = ("Input", "Output", *SYNAPSES, *NEURONS)
DEFAULT_DT = 1e-4
V_BITS = 24  # Loihi's u and v registers
ACT_SHIFT = 6  # synaptic input and threshold are shifted left by 6 bits
VTH_MAX = 2**17 - 1
BIAS_MANT_MAX = 2**12 - 1


class RunnerError(Exception):
    """The graph or input cannot be run by this runner (reported as one line, exit code 2)."""


# graph analysis ---------------------------------------------------------------------------


@dataclass
class Neuron:
    name: str
    kind: str  # LIF, IF, LI, or "pass" (pass-through readout of a synapse feeding Output)
    shape: tuple[int, ...]  # NIR layout, e.g. (C, H, W)
    decay: float  # a = dt/tau (0 for IF, 1 for pass)
    gain: np.ndarray  # per channel (leading axis), folded into incoming weights
    leak_bias: np.ndarray  # per neuron: a·(v_leak − v_reset)
    threshold: float  # v_threshold − v_reset (inf for LI / pass)
    depth: int = 0
    group: int = 0


@dataclass
class Synapse:
    """A weighted connection from one source node: a NIR Conv2d/Affine or an identity edge."""

    name: str
    kind: str  # "conv", "dense" or "identity"
    source: str  # Input or a spiking neuron
    shape_in: tuple[int, ...]
    shape_out: tuple[int, ...]
    weight: np.ndarray  # NIR layout: conv (Co, Ci/g, kH, kW); dense (out, in); identity (C,) per channel
    bias: np.ndarray | None = None  # per output channel
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    targets: list[str] = field(default_factory=list)
    gain: np.ndarray | None = None  # the targets' gain (identical for all targets)


def _uniform(name: str, what: str, value: Any) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size == 0:
        raise RunnerError(f"node '{name}' has an empty {what}")
    first = float(arr.flat[0])
    if not np.allclose(arr, first, rtol=1e-6, atol=0.0):
        raise RunnerError(f"node '{name}': Lava needs one {what} for the whole population")
    return first


def _per_channel(name: str, what: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A per-neuron array that must be constant within each channel (leading axis) → ``(C,)``."""
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), shape)
    if len(shape) == 1:
        return arr.copy()
    flat = arr.reshape(shape[0], -1)
    if not np.allclose(flat, flat[:, :1], rtol=1e-6, atol=0.0):
        raise RunnerError(f"node '{name}': {what} must be the same for all neurons of a channel")
    return flat[:, 0].copy()


def _snap_decay(a: float) -> float:
    """NIR stores tau in float32, so dt/tau carries ~1e-8 noise (0.49999997 for tau = 2·dt):
    snap it to Loihi's 12-bit decay grid when it is that close, so float mode multiplies by
    exactly the model's 1 − 1/tau."""
    snapped = round(a * 4096) / 4096
    return snapped if abs(snapped - a) <= 1e-6 * max(a, 1e-12) else a


def _pair(value: Any, name: str, what: str, kernel: tuple[int, int] | None = None,
          dilation: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    if isinstance(value, str):
        if value == "valid":
            return (0, 0)
        if value == "same" and kernel is not None and all(k % 2 == 1 for k in kernel):
            return (dilation[0] * (kernel[0] // 2), dilation[1] * (kernel[1] // 2))
        raise RunnerError(f"node '{name}': unsupported {what} '{value}'")
    arr = np.atleast_1d(np.asarray(value)).astype(int)
    if arr.size == 1:
        return (int(arr[0]), int(arr[0]))
    return (int(arr[0]), int(arr[1]))


def _shape_of(node: Any, key: str) -> tuple[int, ...] | None:
    types = getattr(node, "input_type" if key == "input" else "output_type", None) or {}
    for value in types.values():
        if value is not None:
            return tuple(int(v) for v in np.asarray(value).ravel())
    return None


class Plan:
    """The graph, checked and annotated: neurons, synapses, depths, delays, groups."""

    def __init__(self, graph: Any, dt: float) -> None:
        import nir

        self.dt = dt
        nodes: dict[str, Any] = dict(graph.nodes)
        for name, node in nodes.items():
            kind = type(node).__name__
            if isinstance(node, nir.NIRGraph):
                raise RunnerError(f"node '{name}' is a subgraph; flatten the graph before running it on Lava")
            if kind not in SUPPORTED:
                raise RunnerError(f"node '{name}' of type {kind} is not supported (supported: {', '.join(SUPPORTED)})")
        self.types = {name: type(node).__name__ for name, node in nodes.items()}
        inputs = [n for n, k in self.types.items() if k == "Input"]
        outputs = [n for n, k in self.types.items() if k == "Output"]
        if len(inputs) != 1 or len(outputs) != 1:
            raise RunnerError(
                f"the graph needs exactly one Input and one Output node, got {len(inputs)} and {len(outputs)}"
            )
        self.input, self.output = inputs[0], outputs[0]
        self.input_shape = _shape_of(nodes[self.input], "input")
        if self.input_shape is None:
            raise RunnerError(f"Input node '{self.input}' has no shape")
        preds: dict[str, list[str]] = {n: [] for n in nodes}
        succs: dict[str, list[str]] = {n: [] for n in nodes}
        for src, dst in graph.edges:
            if src not in nodes or dst not in nodes:
                raise RunnerError(f"edge ({src}, {dst}) names an unknown node (subgraph ports are not supported)")
            preds[dst].append(src)
            succs[src].append(dst)
        self.preds, self.succs = preds, succs

        self.neurons: dict[str, Neuron] = {}
        self.synapses: dict[str, Synapse] = {}
        for name, node in nodes.items():
            kind = self.types[name]
            if kind in NEURONS:
                self.neurons[name] = self._neuron(name, kind, node)
            elif kind in SYNAPSES:
                self.synapses[name] = self._synapse(name, kind, node)
        self.output_terms: list[tuple[str, str]] = []  # (kind, name): "input" | "neuron"
        self._wire()
        self._depths()
        self._groups()

    # nodes ------------------------------------------------------------------------------

    def _neuron(self, name: str, kind: str, node: Any) -> Neuron:
        r = np.asarray(node.r, dtype=np.float64)
        shape = tuple(int(s) for s in r.shape) or (1,)
        if kind == "IF":
            decay, v_leak, v_reset = 0.0, 0.0, np.asarray(node.v_reset, dtype=np.float64)
            gain = _per_channel(name, "r", r, shape) * self.dt
            threshold_arr = np.asarray(node.v_threshold, dtype=np.float64)
        else:
            tau = _uniform(name, "tau", node.tau)
            if tau <= 0:
                raise RunnerError(f"node '{name}': tau must be positive, got {tau}")
            decay = _snap_decay(self.dt / tau)
            gain = _per_channel(name, "r", r, shape) * decay
            v_leak = np.asarray(node.v_leak, dtype=np.float64)
            if kind == "LIF":
                v_reset = np.asarray(node.v_reset, dtype=np.float64)
                threshold_arr = np.asarray(node.v_threshold, dtype=np.float64)
            else:
                v_reset = np.zeros(shape)
                threshold_arr = np.full(shape, np.inf)
        if kind in SPIKING:
            reset = _uniform(name, "v_reset", v_reset)
            threshold = _uniform(name, "v_threshold", threshold_arr) - reset
        else:
            reset, threshold = 0.0, float("inf")
        leak_bias = np.broadcast_to(decay * (np.asarray(v_leak, dtype=np.float64) - reset), shape).copy()
        return Neuron(name, kind, shape, decay, gain, leak_bias, threshold)

    def _synapse(self, name: str, kind: str, node: Any) -> Synapse:
        weight = np.asarray(node.weight, dtype=np.float64)
        bias = getattr(node, "bias", None)
        bias = None if bias is None else np.broadcast_to(np.asarray(bias, dtype=np.float64), (weight.shape[0],)).copy()
        if kind == "Conv2d":
            if node.input_shape is None:
                raise RunnerError(f"Conv2d node '{name}' has no input_shape")
            kernel = (int(weight.shape[2]), int(weight.shape[3]))
            dilation = _pair(node.dilation, name, "dilation")
            padding = _pair(node.padding, name, "padding", kernel, dilation)
            stride = _pair(node.stride, name, "stride")
            groups = int(node.groups)
            h, w = (int(s) for s in node.input_shape)
            ho = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
            wo = (w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
            shape_in = (int(weight.shape[1]) * groups, h, w)
            return Synapse(name, "conv", "", shape_in, (int(weight.shape[0]), ho, wo), weight, bias,
                           stride, padding, dilation, groups)
        if weight.ndim != 2:
            raise RunnerError(f"{kind} node '{name}' needs a 2-D weight, got shape {weight.shape}")
        return Synapse(name, "dense", "", (int(weight.shape[1]),), (int(weight.shape[0]),), weight, bias)

    # edges ------------------------------------------------------------------------------

    def _wire(self) -> None:
        for name, syn in self.synapses.items():
            srcs = self.preds[name]
            if len(srcs) != 1:
                raise RunnerError(f"synapse node '{name}' needs exactly one input edge, got {len(srcs)}")
            src = srcs[0]
            if src != self.input and self.types[src] not in SPIKING:
                raise RunnerError(
                    f"edge ({src}, {name}): a {self.types[src]} node cannot feed a synapse on Lava "
                    "(only the Input or spiking neurons can)"
                )
            syn.source = src
        for name in self.neurons:
            if not self.preds[name]:
                raise RunnerError(f"neuron node '{name}' has no input edge")
            for src in self.preds[name]:
                if src in self.synapses:
                    self.synapses[src].targets.append(name)
                elif src == self.input or self.types[src] in SPIKING:
                    self._identity(src, name)
                else:
                    raise RunnerError(f"edge ({src}, {name}): a {self.types[src]} node cannot feed a neuron on Lava")
        for src in self.preds[self.output]:
            kind = self.types[src]
            if src == self.input:
                self.output_terms.append(("input", src))
            elif kind in NEURONS:
                self.output_terms.append(("neuron", src))
            elif kind in SYNAPSES:
                syn = self.synapses[src]
                readout = f"{src}#readout"
                self.neurons[readout] = Neuron(
                    readout, "pass", syn.shape_out, 1.0, np.ones(syn.shape_out[0]), np.zeros(syn.shape_out),
                    float("inf"),
                )
                syn.targets.append(readout)
                self.output_terms.append(("neuron", readout))
            else:
                raise RunnerError(f"edge ({src}, {self.output}) from a {kind} node is not supported")
        for name, syn in self.synapses.items():
            if not syn.targets:
                raise RunnerError(f"synapse node '{name}' feeds no neuron or Output")
            for target in syn.targets:
                neuron = self.neurons[target]
                if neuron.shape != syn.shape_out:
                    raise RunnerError(f"edge ({name}, {target}): shapes {syn.shape_out} and {neuron.shape} differ")
                if syn.gain is None:
                    syn.gain = neuron.gain
                elif not np.allclose(syn.gain, neuron.gain, rtol=1e-9, atol=0.0):
                    raise RunnerError(f"synapse '{name}' feeds neurons with different input gains (r·dt/tau)")
            src_shape = self.input_shape if syn.source == self.input else self.neurons[syn.source].shape
            if int(np.prod(src_shape)) != int(np.prod(syn.shape_in)) or (
                syn.kind == "conv" and tuple(src_shape) != syn.shape_in
            ):
                raise RunnerError(f"edge ({syn.source}, {name}): shapes {tuple(src_shape)} and {syn.shape_in} differ")

    def _identity(self, src: str, dst: str) -> None:
        shape = self.input_shape if src == self.input else self.neurons[src].shape
        if tuple(shape) != self.neurons[dst].shape:
            raise RunnerError(f"edge ({src}, {dst}): shapes {tuple(shape)} and {self.neurons[dst].shape} differ")
        name = f"{src}->{dst}"
        syn = Synapse(name, "identity", src, tuple(shape), tuple(shape), np.ones(shape[0]))
        syn.targets.append(dst)
        self.synapses[name] = syn

    # timing -----------------------------------------------------------------------------

    def _depths(self) -> None:
        """Lava step at which each neuron computes model step 0 (longest path, in connection hops)."""
        into: dict[str, list[str]] = {n: [] for n in self.neurons}
        for name, syn in self.synapses.items():
            for target in syn.targets:
                into[target].append(name)
        self.into = into
        depth: dict[str, int] = {self.input: 0}
        visiting: set[str] = set()

        def visit(name: str) -> int:
            if name in depth:
                return depth[name]
            if name in visiting:
                raise RunnerError(f"the graph is recurrent at node '{name}'; only feed-forward graphs are supported")
            visiting.add(name)
            d = 1 + max(visit(self.synapses[s].source) for s in into[name])
            visiting.discard(name)
            depth[name] = d
            return d

        for name in self.neurons:
            self.neurons[name].depth = visit(name)
        self.depth = depth
        # delays[synapse][target] = extra steps this synapse's output needs to reach target in time
        self.delays: dict[str, dict[str, int]] = {}
        for name, syn in self.synapses.items():
            ready = depth[syn.source] + 1
            self.delays[name] = {t: self.neurons[t].depth - ready for t in syn.targets}
        self.max_depth = max((n.depth for n in self.neurons.values()), default=0)

    def _groups(self) -> None:
        """Neurons that share a synapse share the fixed-point unit of their current (union-find)."""
        parent = {n: n for n in self.neurons}

        def find(n: str) -> str:
            while parent[n] != n:
                parent[n] = parent[parent[n]]
                n = parent[n]
            return n

        for syn in self.synapses.values():
            for target in syn.targets[1:]:
                parent[find(target)] = find(syn.targets[0])
        roots = sorted({find(n) for n in self.neurons})
        for name, neuron in self.neurons.items():
            neuron.group = roots.index(find(name))
        self.n_groups = len(roots)


# effective parameters and fixed-point quantisation ----------------------------------------


def _effective_weight(syn: Synapse) -> np.ndarray:
    """Synapse weight with the target's input gain folded in (per output channel), NIR layout."""
    gain = syn.gain
    assert gain is not None
    if syn.kind == "conv":
        return syn.weight * gain[:, None, None, None]
    if syn.kind == "dense":
        return syn.weight * gain[:, None]
    return syn.weight * gain  # identity: one weight per channel


@dataclass
class Quant:
    """Fixed-point units: ``unit[group]`` integers per unit of current; ``q[synapse]`` input levels."""

    unit: list[float]
    q: dict[str, float]
    weight_bits: int
    overflow_possible: list[str]


def _quantise(plan: Plan, weight_bits: int, input_levels: float) -> Quant:
    wmax = 2 ** (weight_bits - 1) - 1
    spike_max = [0.0] * plan.n_groups
    analog_max = [0.0] * plan.n_groups
    for syn in plan.synapses.values():
        group = plan.neurons[syn.targets[0]].group
        m = float(np.max(np.abs(_effective_weight(syn)))) if syn.weight.size else 0.0
        if syn.source == plan.input:
            analog_max[group] = max(analog_max[group], m)
        else:
            spike_max[group] = max(spike_max[group], m)
    units = []
    for g in range(plan.n_groups):
        if spike_max[g] > 0:
            unit = wmax / spike_max[g]
        elif analog_max[g] > 0:
            unit = wmax * input_levels / analog_max[g]
        else:
            unit = 1.0
        thresholds = [n.threshold for n in plan.neurons.values() if n.group == g and np.isfinite(n.threshold)]
        if thresholds and max(thresholds) * unit > VTH_MAX:
            unit = VTH_MAX / max(thresholds)  # the 17-bit threshold register caps the resolution
        units.append(unit)
    q: dict[str, float] = {}
    for name, syn in plan.synapses.items():
        if syn.source == plan.input:
            unit = units[plan.neurons[syn.targets[0]].group]
            m = float(np.max(np.abs(_effective_weight(syn))))
            # input levels such that the largest weight uses all bits, but never coarser than input_levels
            q[name] = max(input_levels, unit * m / wmax) if m > 0 else input_levels
    # worst-case activation per step must fit the 24-bit current after Loihi's 6-bit shift
    overflow = []
    limit = 2 ** (V_BITS - 1 - ACT_SHIFT)
    for name, neuron in plan.neurons.items():
        worst = 0.0
        for s in plan.into[name]:
            syn = plan.synapses[s]
            w = np.abs(_int_weight(syn, units[neuron.group], q.get(s), wmax))
            per_out = w.reshape(w.shape[0], -1).sum(axis=1) if syn.kind != "identity" else w
            worst += float(per_out.max()) * (q.get(s, 1.0) if syn.source == plan.input else 1.0)
        if worst >= limit:
            overflow.append(name)
    return Quant(units, q, weight_bits, overflow)


def _int_weight(syn: Synapse, unit: float, q: float | None, wmax: int) -> np.ndarray:
    scale = unit / q if q else unit
    return np.clip(np.round(_effective_weight(syn) * scale), -wmax - 1, wmax).astype(np.int32)


def _bias_registers(bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer bias → Loihi's 13-bit signed mantissa and 3-bit exponent (bias = mant << exp)."""
    b = np.round(bias).astype(np.int64)
    exp = np.zeros(b.shape, dtype=np.int64)
    while True:
        too_big = np.abs(b >> exp) > BIAS_MANT_MAX
        if not too_big.any():
            break
        exp = np.where(too_big, exp + 1, exp)
        if exp.max() > 7:
            raise RunnerError("a neuron bias does not fit Loihi's 13-bit mantissa and 3-bit exponent")
    mant = np.where(b >= 0, b >> exp, -((-b) >> exp))
    return mant.astype(np.int32), exp.astype(np.int32)


# Lava graph -------------------------------------------------------------------------------


def _lava_layout(arr: np.ndarray) -> np.ndarray:
    """NIR ``(C, H, W)`` (optionally with a trailing time axis) → Lava ``(W, H, C)``."""
    if arr.ndim == 3:
        return np.ascontiguousarray(arr.transpose(2, 1, 0))
    if arr.ndim == 4:
        return np.ascontiguousarray(arr.transpose(2, 1, 0, 3))
    return arr


def _lava_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(reversed(shape)) if len(shape) == 3 else shape


def _conv_weight(weight: np.ndarray) -> np.ndarray:
    """NIR cross-correlation kernel ``(Co, Ci, kH, kW)`` → Lava convolution kernel ``(Co, kW, kH, Ci)``."""
    return np.ascontiguousarray(weight[:, :, ::-1, ::-1].transpose(0, 3, 2, 1))


def _fan_out(syn: Synapse) -> int:
    """Synapses driven by one input element: ``C_out/groups · kH · kW`` for a conv (borders
    ignored, the literature convention, as SpikeView's own NIR runner counts), ``out`` for a
    dense layer, 1 for an identity edge."""
    if syn.kind == "conv":
        return int(syn.weight.shape[0] // syn.groups * syn.weight.shape[2] * syn.weight.shape[3])
    if syn.kind == "dense":
        return int(syn.weight.shape[0])
    return 1


def _dense_macs(syn: Synapse) -> int:
    """MACs of one time step as if every input were non-zero."""
    if syn.kind == "identity":
        return int(np.prod(syn.shape_out))
    return int(np.prod(syn.shape_out) * np.prod(syn.weight.shape[1:]))


def run(graph_path: Path, tile: np.ndarray, mode: str = "floating_pt", dt: float | None = None,
        weight_bits: int = 8, input_levels: float = 16.0) -> dict[str, Any]:
    """Build and run the Lava process graph; return the arrays that go into the ``.npz``."""
    import nir

    if mode not in ("floating_pt", "fixed_pt"):
        raise RunnerError(f"unknown mode '{mode}' (floating_pt or fixed_pt)")
    t_build = time.perf_counter()
    try:
        graph = nir.read(str(graph_path))
    except Exception as exc:
        raise RunnerError(f"cannot read NIR graph {graph_path}: {exc}") from exc
    metadata = dict(getattr(graph, "metadata", None) or {})
    if dt is None:
        dt = float(metadata.get("dt", DEFAULT_DT))
    plan = Plan(graph, dt)
    if tile.ndim != len(plan.input_shape) + 1 or tuple(tile.shape[1:]) != plan.input_shape:
        raise RunnerError(f"input must be [T, {', '.join(map(str, plan.input_shape))}], got {list(tile.shape)}")
    steps = int(tile.shape[0])
    if steps < 1:
        raise RunnerError("input has no time steps")
    total = steps + plan.max_depth
    fixed = mode == "fixed_pt"
    wmax = 2 ** (weight_bits - 1) - 1
    quant = _quantise(plan, weight_bits, input_levels) if fixed else None
    # imported only now, so a graph this runner cannot run is reported without loading Lava
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.conv.process import Conv
    from lava.proc.dense.process import Dense
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.io.source import RingBuffer as Source
    from lava.proc.lif.process import LIF
    from lava.proc.monitor.process import Monitor

    def v_scale(neuron: Neuron) -> float:
        """Lava membrane units per model unit."""
        return quant.unit[neuron.group] * 2**ACT_SHIFT if quant else 1.0

    # processes -------------------------------------------------------------------------
    lifs: dict[str, Any] = {}
    biases: dict[str, np.ndarray] = {}
    for name, neuron in plan.neurons.items():
        bias = neuron.leak_bias.copy()
        for s in plan.into[name]:
            syn = plan.synapses[s]
            if syn.bias is not None:
                b = syn.bias * syn.gain  # conv bias enters as input current, times the gain
                bias = bias + (b[:, None, None] if len(neuron.shape) == 3 else b)
        biases[name] = bias
        shape = _lava_shape(neuron.shape)
        if fixed:
            if neuron.decay >= 1.0 and neuron.kind != "pass":
                raise RunnerError(f"node '{name}': dt/tau = {neuron.decay} >= 1 cannot be expressed in fixed point")
            # dv = 4096 does not fit 12 bits: the pass-through readout keeps v/4096 of the previous step
            finite = np.isfinite(neuron.threshold)
            vth = round(neuron.threshold * quant.unit[neuron.group]) if finite else VTH_MAX
            if not 0 <= vth <= VTH_MAX:
                raise RunnerError(f"node '{name}': threshold {neuron.threshold} does not fit Loihi's 17-bit register")
            lifs[name] = LIF(shape=shape, du=4095, dv=round(neuron.decay * 4096) if neuron.decay < 1 else 4095,
                             vth=vth, bias_mant=0, bias_exp=0, name=name)
        else:
            vth = np.inf if not np.isfinite(neuron.threshold) else float(np.nextafter(neuron.threshold, -np.inf))
            lifs[name] = LIF(shape=shape, du=1.0, dv=neuron.decay, vth=vth, bias_mant=0.0, name=name)
    sources: dict[float, Any] = {}

    def source(q: float | None) -> Any:
        key = q or 1.0
        if key not in sources:
            data = np.zeros((*plan.input_shape, total))
            data[..., :steps] = np.moveaxis(tile, 0, -1)
            if fixed:
                data = np.round(data * key).astype(np.int32)
            sources[key] = Source(data=_lava_layout(data))
        return sources[key]

    def make_conn(syn: Synapse, weight: np.ndarray, graded: bool) -> Any:
        bits = 24 if graded else 0
        if syn.kind == "dense":
            return Dense(weights=weight, num_message_bits=bits, name=syn.name)
        shape_in = _lava_shape(syn.shape_in)
        if syn.kind == "identity":
            c = syn.shape_in[0]
            if len(syn.shape_in) != 3:
                return Dense(weights=np.diag(weight), num_message_bits=bits, name=syn.name)
            kernel = weight.reshape(c, 1, 1, 1)
            return Conv(weight=kernel, input_shape=shape_in, groups=c, num_message_bits=bits, name=syn.name)
        return Conv(weight=_conv_weight(weight), input_shape=shape_in, padding=syn.padding[::-1],
                    stride=syn.stride[::-1], dilation=syn.dilation[::-1], groups=syn.groups,
                    num_message_bits=bits, name=syn.name)

    def delay_stage(shape: tuple[int, ...], label: str) -> Any:
        one = 1 if fixed else 1.0
        if len(shape) != 3:
            return Dense(weights=np.eye(shape[0]) * one, num_message_bits=24, name=label)
        c = shape[0]
        return Conv(weight=np.full((c, 1, 1, 1), one), input_shape=_lava_shape(shape), groups=c,
                    num_message_bits=24, name=label)

    n_delay = 0
    for name, syn in plan.synapses.items():
        analog = syn.source == plan.input
        if fixed:
            unit = quant.unit[plan.neurons[syn.targets[0]].group]
            weight = _int_weight(syn, unit, quant.q.get(name), wmax)
        else:
            weight = _effective_weight(syn)
        conn = make_conn(syn, weight, graded=analog)
        if analog:
            source(quant.q.get(name) if quant else None).s_out.connect(conn.s_in)
        else:
            lifs[syn.source].s_out.connect(conn.s_in)
        # one delay chain per synapse, tapped by each target at its own delay
        chain = [conn]
        for target, delay in sorted(plan.delays[name].items(), key=lambda kv: kv[1]):
            while len(chain) <= delay:
                stage = delay_stage(syn.shape_out, f"{name}#delay{len(chain)}")
                chain[-1].a_out.connect(stage.s_in)
                chain.append(stage)
                n_delay += 1
            chain[delay].a_out.connect(lifs[target].a_in)

    sinks = {}
    for name, neuron in plan.neurons.items():
        if neuron.kind in SPIKING:
            sinks[name] = Sink(shape=_lava_shape(neuron.shape), buffer=total)
            lifs[name].s_out.connect(sinks[name].a_in)
    monitors = {}
    for kind, name in plan.output_terms:
        if kind == "neuron" and plan.neurons[name].kind not in SPIKING:
            monitors[name] = Monitor()
            monitors[name].probe(target=lifs[name].v, num_steps=total)

    # run: bias switched on per depth (a neuron rests until its first input arrives) -----
    if fixed:
        cfg = Loihi2SimCfg(select_tag="fixed_pt", select_sub_proc_model=True)
    else:
        cfg = Loihi2SimCfg(select_tag="floating_pt", select_sub_proc_model=True)
    anchor = next(iter(lifs.values()))
    by_depth: dict[int, list[str]] = {}
    for name, neuron in plan.neurons.items():
        if np.any(biases[name] != 0):
            by_depth.setdefault(neuron.depth, []).append(name)
    build_seconds = time.perf_counter() - t_build
    t_run = time.perf_counter()
    done = 0
    try:
        for depth in sorted(by_depth):
            if depth > done:
                anchor.run(condition=RunSteps(num_steps=depth - done), run_cfg=cfg)
                done = depth
            for name in by_depth[depth]:
                bias = _lava_layout(biases[name])
                if fixed:
                    mant, exp = _bias_registers(bias * v_scale(plan.neurons[name]))
                    lifs[name].bias_exp.set(exp)
                    lifs[name].bias_mant.set(mant)
                else:
                    lifs[name].bias_mant.set(bias)
        if total > done:
            anchor.run(condition=RunSteps(num_steps=total - done), run_cfg=cfg)
        spikes = {name: sink.data.get() for name, sink in sinks.items()}
        probes = {}
        for name, monitor in monitors.items():
            data = monitor.get_data()
            probes[name] = np.asarray(next(iter(data.values()))["v"])  # (steps, *lava shape)
    finally:
        anchor.stop()
    seconds = time.perf_counter() - t_run

    # results in NIR layout and model time ------------------------------------------------
    def model_time(name: str, lava_steps_last: np.ndarray) -> np.ndarray:
        """Lava array with time last → ``[T, *NIR shape]`` for model steps 0..T−1 of ``name``."""
        d = plan.neurons[name].depth
        window = lava_steps_last[..., d:d + steps]
        if window.ndim == 4:
            window = window.transpose(2, 1, 0, 3)
        return np.moveaxis(window, -1, 0)

    spike_arrays = {name: model_time(name, arr).astype(bool) for name, arr in spikes.items()}
    out_shape = _shape_of(graph.nodes[plan.output], "output") or plan.input_shape
    output = np.zeros((steps, *out_shape))
    for kind, name in plan.output_terms:
        if kind == "input":
            output += tile
        elif name in spike_arrays:
            output += spike_arrays[name]
        else:
            v = np.moveaxis(probes[name], 0, -1)  # time last, Lava layout
            output += model_time(name, v) / v_scale(plan.neurons[name])

    rows: list[list[Any]] = []  # name, type, neurons, spikes, sops, macs, dense_macs
    for name, kind in plan.types.items():
        if kind in ("Input", "Output"):
            continue
        neurons = int(np.prod(plan.neurons[name].shape)) if kind in NEURONS else 0
        count = int(spike_arrays[name].sum()) if name in spike_arrays else 0
        rows.append([name, kind, neurons, count, 0.0, 0, 0])
    index = {row[0]: row for row in rows}
    for name, syn in plan.synapses.items():
        if name not in index:
            continue  # identity edges (no NIR node) are wiring, not layers
        row = index[name]
        row[6] += _dense_macs(syn) * steps
        if syn.source == plan.input:
            row[5] += _dense_macs(syn) * steps  # real-valued input: every MAC happens at every step
        else:
            row[4] += float(spike_arrays[syn.source].sum()) * _fan_out(syn)

    meta = {
        "mode": mode, "dt": dt, "timesteps": steps, "lava_steps": total, "max_depth": plan.max_depth,
        "depths": {n: plan.neurons[n].depth for n in plan.neurons}, "delay_stages": n_delay,
        "processes": len(lifs) + len(plan.synapses) + n_delay + len(sources) + len(sinks) + len(monitors),
        "lava_version": _version("lava-nc"), "nir_version": _version("nir"),
    }
    if quant:
        meta.update(weight_bits=weight_bits, units=quant.unit, input_levels=quant.q,
                    overflow_possible=quant.overflow_possible)
    result: dict[str, Any] = {
        "output": output.astype(np.float32),
        "node_names": np.array([r[0] for r in rows]),
        "node_types": np.array([r[1] for r in rows]),
        "neurons": np.array([r[2] for r in rows], dtype=np.int64),
        "spike_counts": np.array([r[3] for r in rows], dtype=np.int64),
        "sops": np.array([r[4] for r in rows], dtype=np.float64),
        "macs": np.array([r[5] for r in rows], dtype=np.int64),
        "dense_macs": np.array([r[6] for r in rows], dtype=np.int64),
        "seconds": np.float64(seconds),
        "build_seconds": np.float64(build_seconds),
        "meta_json": np.array(json.dumps(meta)),
    }
    for name, arr in spike_arrays.items():
        result[f"spikes:{name}"] = arr
    return result


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a NIR graph on Lava's Loihi-2 CPU simulator.")
    parser.add_argument("graph", type=Path, help=".nir file")
    parser.add_argument("input", type=Path, help=".npy input [T, *input shape]")
    parser.add_argument("output", type=Path, help=".npz to write")
    parser.add_argument("--mode", default="floating_pt", choices=["floating_pt", "fixed_pt"])
    parser.add_argument("--dt", type=float, default=None, help="Euler step (default: graph metadata 'dt' or 1e-4)")
    parser.add_argument("--weight-bits", type=int, default=8, help="fixed_pt weight precision (2..8)")
    parser.add_argument("--input-levels", type=float, default=16.0, help="fixed_pt: minimum levels for the input image")
    args = parser.parse_args(argv)
    try:
        if not 2 <= args.weight_bits <= 8:
            raise RunnerError(f"--weight-bits must be 2..8 (Loihi synapses), got {args.weight_bits}")
        try:
            tile = np.load(args.input, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise RunnerError(f"cannot read input {args.input}: {exc}") from exc
        result = run(args.graph, np.asarray(tile, dtype=np.float64), args.mode, args.dt, args.weight_bits,
                     args.input_levels)
        tmp = args.output.with_name(args.output.name + ".part.npz")
        np.savez(tmp, **result)
        tmp.replace(args.output)
    except RunnerError as exc:
        sys.stderr.write(f"lava_runner: {exc}\n")
        return 2
    except Exception as exc:  # anything from Lava itself: still one line, but a distinct code
        sys.stderr.write(f"lava_runner: {type(exc).__name__}: {exc}\n")
        return 1
    sys.stdout.write(f"{args.output}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
