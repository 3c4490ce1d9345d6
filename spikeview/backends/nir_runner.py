"""Run a NIR graph with our own small mapping to torch, and the ``nir`` backend around it.

The runner is a reference simulator for the graphs :mod:`spikeview.backends.nir_export`
writes: every node is evaluated once per time step in topological order, a node's input is
the sum of its incoming edges (NIR semantics), neurons integrate with forward Euler at the
graph's ``dt``::

    LIF:  v += dt/tau · (v_leak − v + r·I);  spike where v ≥ v_threshold, then v = v_reset
    LI:   v += dt/tau · (v_leak − v + r·I);  output v

It counts what it does itself: spikes per neuron node, and per conv node synaptic
operations (spikes arriving × fan-out ``C_out/groups · kH · kW``, borders ignored, the
literature convention) or MACs when the input is real-valued (the direct-encoded image,
counted at every step). These are estimates of work, not measurements of any chip.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from spikeview.backends.base import (
    Backend,
    BackendError,
    BackendResult,
    BackendStatus,
    Capabilities,
    LayerCount,
    register_backend,
)

log = logging.getLogger(__name__)

RUNNABLE_NODES = ("Input", "Output", "Conv2d", "LIF", "LI")


@dataclass
class _Node:
    name: str
    kind: str
    params: dict[str, torch.Tensor] = field(default_factory=dict)
    conv: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)


def _tensor(value: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(value, dtype=np.float32))


def _load_graph(graph_or_path: Any) -> Any:
    if isinstance(graph_or_path, (str, os.PathLike)):
        from spikeview.backends.nir_export import read_nir

        return read_nir(Path(graph_or_path))
    if not hasattr(graph_or_path, "nodes") or not hasattr(graph_or_path, "edges"):
        raise BackendError(f"expected a NIR graph or a .nir path, got {type(graph_or_path).__name__}")
    return graph_or_path


def _topological(nodes: dict[str, _Node]) -> list[str]:
    indegree = {name: len(node.inputs) for name, node in nodes.items()}
    users: dict[str, list[str]] = {name: [] for name in nodes}
    for name, node in nodes.items():
        for src in node.inputs:
            users[src].append(name)
    ready = deque(sorted(n for n, d in indegree.items() if d == 0))
    order = []
    while ready:
        name = ready.popleft()
        order.append(name)
        for user in users[name]:
            indegree[user] -= 1
            if indegree[user] == 0:
                ready.append(user)
    if len(order) != len(nodes):
        cyclic = sorted(set(nodes) - set(order))
        raise BackendError(f"the NIR graph has a cycle through {', '.join(cyclic[:5])}: recurrent graphs are not run")
    return order


class NIRGraphRunner:
    """A NIR graph compiled to torch ops for the CPU (float32)."""

    def __init__(self, graph_or_path: Any, dt: float | None = None, timesteps: int | None = None) -> None:
        graph = _load_graph(graph_or_path)
        meta = dict(getattr(graph, "metadata", {}) or {})
        self.metadata = meta
        self.dt = float(dt if dt is not None else meta.get("dt", 0.0))
        if not self.dt > 0:
            raise BackendError("the NIR graph records no time step 'dt' in its metadata; pass dt")
        self.timesteps = int(timesteps if timesteps is not None else meta.get("timesteps", 0))
        if self.timesteps < 1:
            raise BackendError("the NIR graph records no 'timesteps' in its metadata; pass timesteps")
        self.readout = str(meta.get("readout", "last step"))
        self.nodes: dict[str, _Node] = {}
        for name, nir_node in graph.nodes.items():
            self.nodes[name] = self._compile(name, nir_node)
        for src, dst in graph.edges:
            if src not in self.nodes or dst not in self.nodes:
                raise BackendError(f"NIR edge {src} -> {dst} names a missing node")
            self.nodes[dst].inputs.append(src)
        self.order = _topological(self.nodes)
        inputs = [n for n in self.nodes.values() if n.kind == "Input"]
        outputs = [n for n in self.nodes.values() if n.kind == "Output"]
        if len(inputs) != 1 or len(outputs) != 1:
            raise BackendError(f"expected one Input and one Output node, got {len(inputs)} and {len(outputs)}")
        self.input_name, self.output_name = inputs[0].name, outputs[0].name

    def layers(self) -> list[tuple[str, str]]:
        return [(name, node.kind) for name, node in self.nodes.items()]

    def _compile(self, name: str, node: Any) -> _Node:
        kind = type(node).__name__
        if kind not in RUNNABLE_NODES:
            raise BackendError(
                f"NIR node '{name}' of type {kind} is not supported by the runner ({', '.join(RUNNABLE_NODES)})"
            )
        out = _Node(name, kind)
        if kind == "Conv2d":
            out.conv = {
                "weight": _tensor(node.weight),
                "bias": _tensor(node.bias) if np.ndim(node.bias) else None,
                "stride": tuple(int(v) for v in np.atleast_1d(node.stride)),
                "padding": tuple(int(v) for v in np.atleast_1d(node.padding)),
                "dilation": tuple(int(v) for v in np.atleast_1d(node.dilation)),
                "groups": int(node.groups),
            }
        elif kind in ("LIF", "LI"):
            keys = ("tau", "r", "v_leak") + (("v_threshold", "v_reset") if kind == "LIF" else ())
            for key in keys:
                value = getattr(node, key)
                if value is None:  # nir allows LIF without v_reset: NIR's default is 0
                    value = np.zeros_like(np.asarray(node.tau))
                out.params[key] = _tensor(value)
            # dt/tau in float32 as a simulator would hold it: exactly 1/2 for our tau = 2
            out.params["alpha"] = torch.tensor(self.dt, dtype=torch.float32) / out.params["tau"]
        return out

    def run(self, tile: np.ndarray, record: bool = False) -> BackendResult:
        """Run on ``tile`` (float32 ``[N, C, H, W]``). ``record`` keeps every neuron node's
        output per step in ``result.extra["traces"]`` (``[T, N, C, H, W]`` tensors)."""
        x = torch.as_tensor(np.ascontiguousarray(tile, dtype=np.float32))
        start = time.perf_counter()
        with torch.inference_mode():
            result = self._simulate(x, record)
        result.seconds = time.perf_counter() - start
        return result

    def _simulate(self, x: torch.Tensor, record: bool) -> BackendResult:
        steps = self.timesteps
        state: dict[str, torch.Tensor] = {}
        spikes_total = {n: 0 for n, node in self.nodes.items() if node.kind == "LIF"}
        sops = {n: 0.0 for n, node in self.nodes.items() if node.kind == "Conv2d"}
        macs = dict.fromkeys(sops, 0)
        dense = dict.fromkeys(sops, 0)
        neurons: dict[str, int] = {}
        traces: dict[str, list[torch.Tensor]] = {}
        outputs: list[torch.Tensor] = []
        for _ in range(steps):
            values: dict[str, torch.Tensor] = {}
            step_spikes: dict[str, int] = {}
            for name in self.order:
                node = self.nodes[name]
                if node.kind == "Input":
                    values[name] = x
                    continue
                if not node.inputs:
                    raise BackendError(f"NIR node '{name}' has no input")
                current = values[node.inputs[0]]
                for src in node.inputs[1:]:
                    current = current + values[src]
                if node.kind == "Conv2d":
                    c = node.conv
                    y = F.conv2d(current, c["weight"], c["bias"], c["stride"], c["padding"], c["dilation"], c["groups"])
                    fan_out = c["weight"].shape[0] // c["groups"] * math.prod(c["weight"].shape[2:])
                    layer_dense = y.numel() * math.prod(c["weight"].shape[1:])
                    dense[name] += layer_dense
                    if all(src in step_spikes for src in node.inputs):
                        sops[name] += float(sum(step_spikes[src] for src in node.inputs) * fan_out)
                    else:
                        macs[name] += layer_dense
                    values[name] = y
                elif node.kind in ("LIF", "LI"):
                    p = node.params
                    v = state.get(name)
                    if v is None:
                        v = torch.zeros_like(current) + (p["v_reset"] if node.kind == "LIF" else 0.0)
                    v = v + p["alpha"] * (p["v_leak"] - v + p["r"] * current)
                    if node.kind == "LIF":
                        fired = v >= p["v_threshold"]
                        out = fired.to(v.dtype)
                        v = torch.where(fired, p["v_reset"].expand_as(v), v)
                        step_spikes[name] = int(fired.sum())
                        spikes_total[name] += step_spikes[name]
                        neurons[name] = fired.numel()
                    else:
                        out = v
                    state[name] = v
                    values[name] = out
                    if record:
                        traces.setdefault(name, []).append(out.clone())
                else:  # Output
                    values[name] = current
            outputs.append(values[self.output_name])
        if self.readout == "last step":
            output = outputs[-1]
        else:
            output = torch.stack(outputs).mean(0)
            log.info("readout '%s': returning the mean over time", self.readout)
        layers = []
        for name in self.order:
            kind = self.nodes[name].kind
            if kind == "LIF":
                layers.append(LayerCount(name, kind, neurons=neurons[name], spikes=spikes_total[name], timesteps=steps))
            elif kind == "Conv2d":
                layers.append(
                    LayerCount(name, kind, sops=sops[name], macs=macs[name], dense_macs=dense[name], timesteps=steps)
                )
        extra: dict[str, Any] = {"output_sequence": torch.stack(outputs)}
        if record:
            extra["traces"] = {name: torch.stack(seq) for name, seq in traces.items()}
        return BackendResult("nir", output.numpy().copy(), layers, timesteps=steps, extra=extra)


def _nir_missing_reason() -> str | None:
    try:
        import nir  # noqa: F401
    except ImportError:
        return "the 'nir' package is not installed (pip install 'spikeview[nir]')"
    return None


class NIRBackend(Backend):
    """Our NIR-graph runner on the CPU: the reference for what a neuromorphic target would compute."""

    name = "nir"
    kind = "neuromorphic"
    description = "NIR graph, SpikeView reference runner (CPU, float32)"
    capabilities = Capabilities(
        model_format="nir",
        layer_types=RUNNABLE_NODES,
        max_tile=512,
        numerics="float32",
        notes="feed-forward graphs; counts spikes and synaptic operations per node",
    )

    def status(self) -> BackendStatus:
        missing = _nir_missing_reason()
        if missing:
            return BackendStatus(False, missing)
        return BackendStatus(True, "NIR graphs run by SpikeView's own runner on the CPU (float32)")

    def run(self, model: Any, tile: np.ndarray) -> BackendResult:
        """``model``: a NIR graph, a ``.nir`` path, or an exportable ``nn.Module`` (exported for this tile)."""
        missing = _nir_missing_reason()
        if missing:
            raise BackendError(f"backend 'nir' is not available: {missing}")
        self.check_tile(tile)
        if isinstance(model, torch.nn.Module):
            from spikeview.backends.nir_export import export_nir

            model = export_nir(model, (tile.shape[2], tile.shape[3]), in_channels=tile.shape[1])
        runner = NIRGraphRunner(model)
        self.check_layers(runner.layers())
        return runner.run(tile)


register_backend(NIRBackend())
