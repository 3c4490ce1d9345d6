"""Counting operations with forward hooks attached from outside the model.

:class:`EnergyMeter` hooks every ``Conv1d/2d/3d``, ``ConvTranspose*`` and ``Linear`` (and
subclasses such as :class:`~spikeview.snn.MultiStepConv2d`) plus the real-valued gating
modules listed in :data:`GATING_RULES`, only inside its ``with`` block. Per call of a
weighted layer::

    dense MACs = output elements × (C_in / groups) × kernel size        (Linear: × in_features)
    input only 0/1 (spikes)  → AC,  ops = input firing rate × dense MACs  (SOPs)
      (an all-zero input is spikes only if a neuron produced it: a silent spiking layer)
    graded spikes s ∈ {0, 1/D, ..., 1} straight from a multi-spike neuron
                             → AC,  ops = D × mean spike value × dense MACs
      (s is sent as s·D unit spikes, one accumulate per unit spike and synapse)
    otherwise                → MAC, ops = dense MACs

which is the convention of the SNN literature (SOPs = spikes × fan-out, ignoring the
smaller fan-out at image borders; ``EnergyMeter(..., exact_sops=True)`` counts borders,
stride and groups exactly instead). Time steps are in the output shape, so all T steps are
counted; see :meth:`EnergyMeter.report` for the full list of assumptions.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
from torch import nn

from spikeview.archs.blocks import FeatureRefinementBlock
from spikeview.archs.vlif import SDEM, SMU
from spikeview.energy.costs import DEFAULT_COSTS, EnergyCosts
from spikeview.energy.report import EnergyReport, LayerEnergy
from spikeview.hooks import HookSession
from spikeview.snn.attention import MultiDimensionalAttention
from spikeview.snn.layers import is_time_constant
from spikeview.snn.multispike import MultiSpike
from spikeview.snn.neurons import LIF

WEIGHTED_TYPES: tuple[type[nn.Module], ...] = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
)

#: ``rule(module, inputs, output) -> multiplications`` for modules that multiply real-valued
#: tensors element by element (attention, gating); each multiplication counts as one MAC.
GatingRule = Callable[[nn.Module, tuple, torch.Tensor], int]


def _mda_multiplies(module: MultiDimensionalAttention, inputs: tuple, output: torch.Tensor) -> int:
    # time (if present), channel and spatial attention each scale every element once
    branches = 3 if module.ta is not None else 2
    return branches * output.numel()


def _frb_multiplies(module: FeatureRefinementBlock, inputs: tuple, output: torch.Tensor) -> int:
    # (1 - t) * a  and  t * z: two multiplications per output element
    return 2 * output.numel()


def _sdem_multiplies(module: SDEM, inputs: tuple, output: torch.Tensor) -> int:
    # two decompositions hs·x̂ + ls·(x − x̂) + x⊙x̂, three multiplications per element each
    return 6 * output.numel()


def _smu_multiplies(module: SMU, inputs: tuple, output: torch.Tensor) -> int:
    # time attention scales the T·r² sub-pixel steps: as many elements as the [T, N, C, H, W] output
    return output.numel() if module.time_attention is not None else 0


GATING_RULES: dict[type[nn.Module], GatingRule] = {
    MultiDimensionalAttention: _mda_multiplies,
    FeatureRefinementBlock: _frb_multiplies,
    SDEM: _sdem_multiplies,
    SMU: _smu_multiplies,
}


#: Modules whose outputs are spikes; an all-zero input counts as (silent) spikes only if it
#: comes straight from one of these (an all-zero real tensor, e.g. a ReLU output, is a MAC input).
SPIKE_SOURCES: list[type[nn.Module]] = [LIF]


#: Neurons whose outputs are graded spikes ``{0, 1/D, ..., 1}``, D = the module's ``levels``.
#: Only a tensor that comes straight from one of them (same storage, values on that grid) is
#: counted as graded spikes: after a copy, resize or attention it is a real-valued MAC input.
GRADED_SPIKE_SOURCES: list[type[nn.Module]] = [MultiSpike]


def register_spike_source(module_type: type[nn.Module]) -> None:
    """Treat the outputs of ``module_type`` (a new neuron) as spikes even when all zero."""
    if module_type not in SPIKE_SOURCES:
        SPIKE_SOURCES.append(module_type)


def register_gating(module_type: type[nn.Module], rule: GatingRule) -> None:
    """Count the element-wise multiplications of ``module_type`` (e.g. a new attention block)."""
    GATING_RULES[module_type] = rule


def _gating_rule(module: nn.Module) -> GatingRule | None:
    for klass in type(module).__mro__:
        rule = GATING_RULES.get(klass)
        if rule is not None:
            return rule
    return None


def dense_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    """MACs of one call of a conv / linear layer, as if every input were non-zero."""
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    kernel = math.prod(module.kernel_size)
    if isinstance(module, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        # every input element is scattered to (C_out / groups) × kernel outputs
        return inputs[0].numel() * (module.out_channels // module.groups) * kernel
    return output.numel() * (module.in_channels // module.groups) * kernel


def exact_synops(module: nn.Module, x: torch.Tensor) -> float | None:
    """Synaptic operations of a spike input counted exactly (borders, stride, groups), or None.

    ``x`` holds 0/1 spikes or non-negative integer spike counts (graded spikes × D). Each
    spike costs one accumulate per output it reaches. For a conv that is the sum of the
    spike counts convolved with an all-ones kernel (one per group, then × outputs per group);
    for a linear layer spikes × out_features. None for transposed convs and non-zero padding
    modes (the caller falls back to the firing-rate convention).
    """
    if isinstance(module, nn.Linear):
        return float(x.sum(dtype=torch.float64)) * module.out_features
    if not isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) or module.padding_mode != "zeros":
        return None
    dims = len(module.kernel_size)
    conv = {1: nn.functional.conv1d, 2: nn.functional.conv2d, 3: nn.functional.conv3d}[dims]
    mask = x.float()
    if mask.dim() == dims + 1:
        mask = mask.unsqueeze(0)
    mask = mask.reshape(-1, *mask.shape[-(dims + 1) :])  # fold T (and any other leading axes) into batch
    ones = torch.ones(
        module.groups, module.in_channels // module.groups, *module.kernel_size, dtype=mask.dtype, device=mask.device
    )
    reached = conv(mask, ones, None, module.stride, module.padding, module.dilation, module.groups)
    return float(reached.sum(dtype=torch.float64)) * (module.out_channels // module.groups)


def spike_rate(x: torch.Tensor) -> float | None:
    """Fraction of non-zero elements if ``x`` holds only 0 and 1 (spikes), else None."""
    if x.numel() == 0:
        return None
    if is_time_constant(x):
        x = x[0]  # every step is the same view: check one
    if x.dtype == torch.bool:
        return int(torch.count_nonzero(x)) / x.numel()
    if not bool(torch.all((x == 0) | (x == 1))):
        return None
    return int(torch.count_nonzero(x)) / x.numel()


@dataclass
class _Tally:
    module_type: str
    kind: str
    calls: int = 0
    dense_macs: int = 0
    ops: float = 0.0
    rate_macs: float = 0.0  # Σ input firing rate × dense MACs (AC rows)
    time_constant_input: bool = False


class EnergyMeter(HookSession):
    """Context manager that counts MACs and synaptic operations of every forward call.

    Usage::

        with EnergyMeter(model) as meter:
            for tile in tiles:
                model(tile)
        report = meter.report()            # EnergyReport, 45 nm fp32 by default

    Counts add up over all calls until :meth:`clear`. ``spike_driven``: None (default)
    decides per call from the input (0/1 only → spikes) unless the model has
    ``spiking = False`` (an ANN twin), in which case everything is a MAC; True/False force
    the automatic rule on or off. ``exact_sops=True`` replaces the firing-rate convention by
    an exact count of synaptic operations (:func:`exact_synops`, one extra cheap conv per
    spike-driven layer call); ``input_firing_rate`` stays the measured rate either way.
    """

    def __init__(self, model: nn.Module, spike_driven: bool | None = None, exact_sops: bool = False) -> None:
        super().__init__()
        self.model = model
        self.exact_sops = bool(exact_sops)
        if spike_driven is None:
            spike_driven = getattr(model, "spiking", True) is not False
        self.spike_driven = bool(spike_driven)
        self._tallies: dict[tuple[str, str], _Tally] = {}
        self._calls = 0
        self._pixels = 0
        # data pointers of neuron outputs of the current model call (to recognise silent spikes)
        self._spike_ptrs: set[int] = set()
        # data pointer → D of graded-spike outputs of the current model call
        self._graded_ptrs: dict[int, int] = {}
        self._graded_layers: set[str] = set()
        # report() may run on the GUI thread while a worker is still counting
        self._lock = threading.Lock()

    def _attach(self) -> None:
        self._keep(self.model.register_forward_pre_hook(self._on_model_call))
        sources = tuple(SPIKE_SOURCES)
        graded = tuple(GRADED_SPIKE_SOURCES)
        for name, module in self.model.named_modules():
            if self.spike_driven and isinstance(module, sources):
                self._keep(module.register_forward_hook(self._on_spikes))
            if self.spike_driven and isinstance(module, graded):
                self._keep(module.register_forward_hook(self._on_graded_spikes))
            if isinstance(module, WEIGHTED_TYPES):
                self._keep(module.register_forward_hook(self._weighted_hook(name)))
            else:
                rule = _gating_rule(module)
                if rule is not None:
                    self._keep(module.register_forward_hook(self._gating_hook(name, rule)))

    def _on_detach(self) -> None:
        self._spike_ptrs.clear()
        self._graded_ptrs.clear()

    def clear(self) -> None:
        """Forget all counts (keeps the hooks if attached)."""
        with self._lock:
            self._tallies.clear()
            self._graded_layers.clear()
            self._calls = 0
            self._pixels = 0

    # -- hooks -------------------------------------------------------------------------

    def _on_model_call(self, _module: nn.Module, inputs: tuple) -> None:
        self._spike_ptrs.clear()
        self._graded_ptrs.clear()
        x = inputs[0] if inputs else None
        pixels = 0
        if isinstance(x, torch.Tensor):
            # [N, C, H, W] images: N·H·W pixels; anything else: elements
            pixels = x.shape[0] * x.shape[-2] * x.shape[-1] if x.dim() == 4 else x.numel()
        with self._lock:
            self._calls += 1
            self._pixels += pixels

    def _on_spikes(self, _module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(output, torch.Tensor):
            self._spike_ptrs.add(output.data_ptr())

    def _on_graded_spikes(self, module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        if isinstance(output, torch.Tensor):
            self._graded_ptrs[output.data_ptr()] = int(module.levels)

    def _graded_input(self, x: torch.Tensor | None) -> tuple[int, float] | None:
        """``(D, mean spike value)`` if ``x`` is a multi-spike neuron's output, else None."""
        if not self.spike_driven or not isinstance(x, torch.Tensor) or x.numel() == 0:
            return None
        levels = self._graded_ptrs.get(x.data_ptr())
        if levels is None:
            return None
        units = x * levels
        # the address may have been reused by a real-valued tensor: check the values too
        if not bool(torch.all((units >= 0) & (units <= levels) & (units == torch.round(units)))):
            return None
        return levels, float(x.sum(dtype=torch.float64)) / x.numel()

    def _input_spike_rate(self, x: torch.Tensor | None) -> float | None:
        if not self.spike_driven or not isinstance(x, torch.Tensor):
            return None
        rate = spike_rate(x)
        if rate == 0.0 and x.data_ptr() not in self._spike_ptrs:
            return None  # all zeros but not from a neuron: a real-valued input that happens to be 0
        return rate

    def _add(
        self, name: str, module: nn.Module, kind: str, dense: int, ops: float, constant: bool, rate: float = 0.0
    ) -> None:
        with self._lock:
            tally = self._tallies.get((name, kind))
            if tally is None:
                tally = self._tallies[(name, kind)] = _Tally(type(module).__name__, kind)
            tally.calls += 1
            tally.dense_macs += dense
            tally.ops += ops
            tally.rate_macs += rate * dense
            tally.time_constant_input |= constant

    def _weighted_hook(self, name: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            with torch.no_grad():
                dense = dense_macs(module, inputs, output)
                x = inputs[0] if inputs else None
                constant = isinstance(x, torch.Tensor) and is_time_constant(x)
                graded = self._graded_input(x)
                if graded is not None:
                    levels, value = graded
                    ops = exact_synops(module, x * levels) if self.exact_sops and value > 0 else None
                    ops = levels * value * dense if ops is None else ops
                    self._add(name, module, "AC", dense, ops, constant, value)
                    with self._lock:
                        self._graded_layers.add(name)
                    return
                rate = self._input_spike_rate(x)
                if rate is None:
                    self._add(name, module, "MAC", dense, float(dense), constant)
                else:
                    ops = exact_synops(module, x) if self.exact_sops and rate > 0 else None
                    self._add(name, module, "AC", dense, rate * dense if ops is None else ops, constant, rate)

        return hook

    def _gating_hook(self, name: str, rule: GatingRule):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            count = int(rule(module, inputs, output))
            self._add(name, module, "MAC", count, float(count), False)

        return hook

    # -- report ------------------------------------------------------------------------

    def _snapshot(self) -> dict[tuple[str, str], _Tally]:
        with self._lock:
            return {key: replace(t) for key, t in self._tallies.items()}

    def assumptions(self) -> list[str]:
        """What the counts include and leave out (goes into :attr:`EnergyReport.assumptions`)."""
        lines = [
            "Conv MACs = output elements × (C_in / groups) × kernel size; linear MACs = output elements × "
            "in_features; bias additions are not counted.",
        ]
        if self.spike_driven:
            sops = (
                "SOPs counted exactly (each spike × the outputs it reaches, borders included)"
                if self.exact_sops
                else "SOPs = input firing rate × dense MACs (= spikes × fan-out, ignoring the smaller fan-out at "
                "borders)"
            )
            lines.append(
                f"A layer whose input holds only 0 and 1 (spikes) is spike-driven: {sops}, each priced as one "
                "accumulate (E_AC); an all-zero input counts as spikes only if a neuron produced it. Every other "
                "layer is priced E_MAC per dense MAC."
            )
            graded = sorted(self._graded_layers)
            if graded:
                lines.append(
                    "Graded spikes s ∈ {0, 1/D, ..., 1} of multi-spike neurons count as s·D unit spikes, one "
                    "accumulate each per synapse (ops = D × mean spike value × dense MACs; 'input firing rate' is "
                    f"the mean spike value): {', '.join(graded)}."
                )
        else:
            lines.append("Spike detection off (ANN): every layer is priced E_MAC per dense MAC.")
        lines.append("All T time steps are counted (they are in each layer's output).")
        constant = [name for (name, _), t in self._snapshot().items() if t.time_constant_input]
        if constant:
            lines.append(
                "Direct-encoded, time-constant input counted ×T as in the SNN literature, although SpikeView "
                f"computes it once: {', '.join(constant)}."
            )
        lines += [
            "Attention / gating multiplications (" + ", ".join(k.__name__ for k in GATING_RULES) + ") count "
            "one MAC per multiplied element; their pooling, sigmoid and additions are not counted.",
            "Batch norm is taken as folded into the preceding conv (not counted).",
            "Neuron state updates (LIF charge, fire, reset) are not counted.",
            "Pooling, upsampling, ReLU, residual additions and the time average are not counted.",
            "Memory traffic (weights, activations, membrane state) is not counted; on real hardware it often "
            "dominates compute.",
        ]
        return lines

    def layers(self) -> list[LayerEnergy]:
        """Per-layer counts so far (energy_pj not yet priced: 0)."""
        rows = []
        for (name, kind), t in self._snapshot().items():
            rate = (t.rate_macs / t.dense_macs if t.dense_macs else 0.0) if kind == "AC" else None
            rows.append(
                LayerEnergy(
                    name=name,
                    module_type=t.module_type,
                    kind=kind,
                    calls=t.calls,
                    dense_macs=int(t.dense_macs),
                    ops=float(t.ops),
                    input_firing_rate=rate,
                    energy_pj=0.0,
                    time_constant_input=t.time_constant_input,
                )
            )
        return rows

    def report(self, costs: EnergyCosts | str = DEFAULT_COSTS) -> EnergyReport:
        """Everything counted so far, priced with ``costs`` (an :class:`EnergyCosts` or preset name)."""
        with self._lock:
            calls, pixels = self._calls, self._pixels
        return EnergyReport.build(self.layers(), costs, self.assumptions(), calls, pixels)
