"""Lava backend: NIR graphs on Intel Lava's Loihi-2 CPU simulator, in a Python 3.10 sidecar.

lava-nc 0.10.0 runs only on Python 3.10, the app on 3.11, so a run goes through files and a
subprocess: the graph (``.nir``) and one input sequence per image (``.npy``, ``[T, C, H, W]``,
the image repeated over the graph's ``timesteps``: direct encoding) are written to a
temporary folder, :mod:`spikeview.backends.lava_runner` runs in ``.venv-lava`` (see
:mod:`spikeview.backends.lava_env`; ``make lava-env``) and writes an ``.npz`` that is read
back here. Two registered backends:

* ``lava``: ``floating_pt``; reproduces our discrete LIF (same spikes as the torch runner);
* ``lava-fixed``: ``fixed_pt``, Loihi's bit-accurate neuron model with 8-bit weights.

The simulator is slow (thousands of times slower than torch; every Lava process is an OS
process), so only small tiles are accepted. Counts (spikes, SOPs, MACs) come from the Lava
run itself. :meth:`LavaBackend.compare` runs the same graph with SpikeView's torch NIR
runner and reports the agreement.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikeview.backends.base import (
    Backend,
    BackendError,
    BackendResult,
    BackendStatus,
    Capabilities,
    LayerCount,
    register_backend,
)
from spikeview.backends.lava_env import default_env_dir, env_problem, env_python
from spikeview.progress import Cancelled, CancelToken

log = logging.getLogger(__name__)

RUNNER = Path(__file__).with_name("lava_runner.py")
LAVA_NODES = ("Input", "Output", "Conv2d", "Affine", "Linear", "LIF", "IF", "LI")
MODES = ("floating_pt", "fixed_pt")
#: Largest tile side accepted: a 64×64 tile of a 2-layer 8-channel net took ~10 s here.
MAX_TILE = 64
#: Environment for the sidecar: one BLAS/OpenMP thread per Lava process (there are dozens),
#: and nothing from the main interpreter's paths leaking into the 3.10 interpreter.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class LavaAgreement:
    """How a Lava run compares with SpikeView's torch NIR runner on the same graph and tile.

    ``spike_match``: fraction of equal spike values over all spiking nodes, steps and pixels;
    ``output_psnr``: PSNR (dB, peak 1.0) of Lava's output against torch's (inf if equal);
    ``lava_seconds``: wall time of the runner subprocesses, ``simulation_seconds`` the Lava
    run inside them (without interpreter start and graph building), ``torch_seconds`` the
    reference run.
    """

    mode: str
    tile: tuple[int, ...]
    timesteps: int
    spike_match: float
    spikes_compared: int
    output_psnr: float
    max_output_diff: float
    lava_seconds: float
    simulation_seconds: float
    torch_seconds: float
    spike_rate_lava: float
    spike_rate_torch: float
    per_node: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        psnr = "inf" if math.isinf(self.output_psnr) else f"{self.output_psnr:.1f} dB"
        return (
            f"Lava {self.mode} vs torch on {'x'.join(map(str, self.tile))} (T={self.timesteps}): "
            f"spikes {100 * self.spike_match:.3f} % equal of {self.spikes_compared}, output PSNR {psnr}, "
            f"Lava {self.lava_seconds:.1f} s (simulation {self.simulation_seconds:.1f} s), "
            f"torch {self.torch_seconds:.3f} s"
        )


def _load_graph(model: Any, tile: np.ndarray) -> Any:
    """A NIR graph from a graph, a ``.nir`` path or an exportable ``nn.Module`` (exported for ``tile``)."""
    if isinstance(model, (str, os.PathLike)):
        from spikeview.backends.nir_export import read_nir

        return read_nir(model)
    if hasattr(model, "nodes") and hasattr(model, "edges"):
        return model
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        torch = None
    if torch is not None and isinstance(model, torch.nn.Module):
        from spikeview.backends.nir_export import export_nir

        return export_nir(model, (tile.shape[2], tile.shape[3]), in_channels=tile.shape[1])
    raise BackendError(f"backend 'lava' runs NIR graphs, .nir files or exportable models, got {type(model).__name__}")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(1.0 / mse)


class LavaBackend(Backend):
    """NIR graphs on Lava's Loihi-2 CPU simulator (``floating_pt`` or bit-accurate ``fixed_pt``)."""

    kind = "neuromorphic"

    def __init__(
        self,
        mode: str = "floating_pt",
        name: str | None = None,
        env_dir: Path | None = None,
        timeout: float = 1800.0,
        weight_bits: int = 8,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        self.mode = mode
        self.name = name or ("lava" if mode == "floating_pt" else "lava-fixed")
        self.env_dir = env_dir
        self.timeout = float(timeout)
        self.weight_bits = int(weight_bits)
        fixed = mode == "fixed_pt"
        self.description = (
            f"Intel Lava 0.10 Loihi-2 simulator, {'bit-accurate fixed point, 8-bit weights' if fixed else 'float'} "
            "(Python 3.10 sidecar, small tiles)"
        )
        self.capabilities = Capabilities(
            model_format="nir",
            layer_types=LAVA_NODES,
            max_tile=MAX_TILE,
            numerics="fixed-point" if fixed else "float32",
            notes="feed-forward NIR graphs; every Lava process is an OS process: seconds per tiny tile",
        )

    # environment ---------------------------------------------------------------------

    def env(self) -> Path:
        return self.env_dir or default_env_dir()

    def status(self) -> BackendStatus:
        problem = env_problem(self.env())
        if problem:
            return BackendStatus(False, problem)
        if not RUNNER.is_file():
            return BackendStatus(False, f"the Lava runner script is missing ({RUNNER})")
        return BackendStatus(True, f"Lava Loihi-2 simulator ({self.mode}) in {self.env()}")

    # running -------------------------------------------------------------------------

    def run(self, model: Any, tile: np.ndarray, cancel: CancelToken | None = None) -> BackendResult:
        """Run ``model`` (NIR graph, ``.nir`` path or exportable module) on ``tile`` (float32
        ``[N, C, H, W]`` in [0, 1]), one Lava run per image. ``result.extra`` holds
        ``spikes`` (node → bool ``[T, N, ...]``), ``output_sequence`` (``[T, N, ...]``),
        ``simulation_seconds``, ``build_seconds`` and the runner's ``lava`` metadata.
        Raises :class:`BackendError` (unavailable, unsupported graph, runner failure or
        timeout) or :class:`~spikeview.progress.Cancelled`."""
        status = self.status()
        if not status.available:
            raise BackendError(f"backend '{self.name}' is not available: {status.reason}")
        self.check_tile(tile)
        graph = _load_graph(model, tile)
        self.check_layers([(name, type(node).__name__) for name, node in graph.nodes.items()])
        meta = dict(getattr(graph, "metadata", None) or {})
        steps = int(meta.get("timesteps", 0))
        if steps < 1:
            raise BackendError("the NIR graph records no 'timesteps' in its metadata (export it with spikeview)")
        readout = str(meta.get("readout", "last step"))
        start = time.perf_counter()
        per_image = []
        with tempfile.TemporaryDirectory(prefix="spikeview-lava-") as tmp:
            folder = Path(tmp)
            graph_path = folder / "graph.nir"
            from spikeview.backends.nir_export import write_nir

            write_nir(graph, graph_path)
            for n in range(tile.shape[0]):
                seq = np.repeat(np.asarray(tile[n : n + 1], dtype=np.float32), steps, axis=0)
                per_image.append(self._run_one(graph_path, seq, folder, n, cancel))
        seconds = time.perf_counter() - start
        return self._merge(per_image, steps, readout, seconds)

    def _run_one(self, graph_path: Path, seq: np.ndarray, folder: Path, index: int,
                 cancel: CancelToken | None) -> dict[str, Any]:
        inp, out = folder / f"input{index}.npy", folder / f"result{index}.npz"
        np.save(inp, seq)
        cmd = [str(env_python(self.env())), str(RUNNER), str(graph_path), str(inp), str(out),
               "--mode", self.mode, "--weight-bits", str(self.weight_bits)]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        for var in _THREAD_VARS:
            env.setdefault(var, "1")
        env["PYTHONNOUSERSITE"] = "1"
        log.info("lava: %s", " ".join(cmd))
        stderr_path = folder / f"stderr{index}.txt"
        with open(stderr_path, "wb") as stderr, open(os.devnull, "wb") as stdout:
            # own session: Lava forks one OS process per Lava process; a cancel kills them all
            proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env, cwd=folder, start_new_session=True)
            deadline = time.monotonic() + self.timeout
            try:
                while True:
                    try:
                        proc.wait(timeout=0.2)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    if cancel is not None and cancel.cancelled:
                        raise Cancelled()
                    if time.monotonic() > deadline:
                        raise BackendError(f"backend '{self.name}': the Lava run took longer than {self.timeout:.0f} s")
            finally:
                if proc.poll() is None:
                    _kill_group(proc)
        if proc.returncode != 0:
            lines = [ln for ln in stderr_path.read_text(errors="replace").splitlines() if ln.strip()]
            runner_lines = [ln for ln in lines if ln.startswith("lava_runner:")]
            message = (runner_lines or lines or [f"exit code {proc.returncode}"])[-1]
            raise BackendError(f"backend '{self.name}' failed: {message.removeprefix('lava_runner: ')}")
        try:
            with np.load(out, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError) as exc:
            raise BackendError(f"backend '{self.name}': cannot read the runner's result: {exc}") from None

    def _merge(self, per_image: list[dict[str, Any]], steps: int, readout: str, seconds: float) -> BackendResult:
        import json

        first = per_image[0]
        sequence = np.stack([r["output"] for r in per_image], axis=1)  # [T, N, ...]
        output = sequence[-1] if readout == "last step" else sequence.mean(axis=0)
        layers = []
        names = [str(n) for n in first["node_names"]]
        for i, name in enumerate(names):
            layers.append(
                LayerCount(
                    name,
                    str(first["node_types"][i]),
                    neurons=int(first["neurons"][i]) * len(per_image),
                    spikes=int(sum(int(r["spike_counts"][i]) for r in per_image)),
                    sops=float(sum(float(r["sops"][i]) for r in per_image)),
                    macs=int(sum(int(r["macs"][i]) for r in per_image)),
                    timesteps=steps,
                    dense_macs=int(sum(int(r["dense_macs"][i]) for r in per_image)),
                )
            )
        spikes = {
            key.removeprefix("spikes:"): np.stack([r[key] for r in per_image], axis=1)
            for key in first
            if key.startswith("spikes:")
        }
        extra = {
            "mode": self.mode,
            "spikes": spikes,
            "output_sequence": sequence,
            "simulation_seconds": float(sum(float(r["seconds"]) for r in per_image)),
            "build_seconds": float(sum(float(r["build_seconds"]) for r in per_image)),
            "lava": json.loads(str(first["meta_json"])),
        }
        return BackendResult(self.name, np.ascontiguousarray(output, dtype=np.float32), layers, seconds, steps, extra)

    # agreement -----------------------------------------------------------------------

    def compare(self, model: Any, tile: np.ndarray, cancel: CancelToken | None = None) -> LavaAgreement:
        """Run ``model`` here and with SpikeView's torch NIR runner on ``tile``; spike match and output PSNR."""
        from spikeview.backends.nir_runner import NIRGraphRunner

        self.check_tile(tile)
        graph = _load_graph(model, tile)
        reference = NIRGraphRunner(graph).run(tile, record=True)
        lava = self.run(graph, tile, cancel)
        traces = reference.extra.get("traces", {})
        equal = total = fired_lava = fired_torch = 0
        per_node = {}
        for name, spikes in lava.extra["spikes"].items():
            ref = traces.get(name)
            if ref is None:
                raise BackendError(f"the torch runner recorded no spikes for node '{name}'")
            ref = ref.numpy().astype(bool)
            if ref.shape != spikes.shape:
                raise BackendError(f"node '{name}': Lava spikes {spikes.shape} vs torch {ref.shape}")
            same = int((ref == spikes).sum())
            per_node[name] = same / spikes.size
            equal, total = equal + same, total + spikes.size
            fired_lava, fired_torch = fired_lava + int(spikes.sum()), fired_torch + int(ref.sum())
        diff = np.abs(lava.output.astype(np.float64) - reference.output.astype(np.float64))
        return LavaAgreement(
            mode=self.mode,
            tile=tuple(int(s) for s in tile.shape),
            timesteps=lava.timesteps,
            spike_match=equal / total if total else 1.0,
            spikes_compared=total,
            output_psnr=_psnr(lava.output, reference.output),
            max_output_diff=float(diff.max()) if diff.size else 0.0,
            lava_seconds=lava.seconds,
            simulation_seconds=float(lava.extra["simulation_seconds"]),
            torch_seconds=reference.seconds,
            spike_rate_lava=fired_lava / total if total else 0.0,
            spike_rate_torch=fired_torch / total if total else 0.0,
            per_node=per_node,
        )


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop the runner and the Lava processes it forked (they share its session)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=5)
    except (ProcessLookupError, PermissionError):
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


register_backend(LavaBackend("floating_pt"))
register_backend(LavaBackend("fixed_pt"))
