"""Compute-energy estimates of SNNs and ANNs from operation counts (45 nm, Horowitz 2014).

Public API: :class:`EnergyCosts`, :data:`PRESETS`, :data:`DEFAULT_COSTS`, :func:`get_costs`,
:class:`EnergyReport`, :class:`LayerEnergy`, :func:`compare` (these import no torch) and
:class:`EnergyMeter`, :func:`register_gating`, :func:`register_spike_source` (loaded with torch on first access).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spikeview.energy.costs import DEFAULT_COSTS, PRESETS, EnergyCosts, get_costs
from spikeview.energy.report import CAVEAT, EnergyReport, LayerEnergy, compare

if TYPE_CHECKING:
    from spikeview.energy.counters import EnergyMeter, register_gating, register_spike_source

__all__ = [
    "CAVEAT",
    "DEFAULT_COSTS",
    "PRESETS",
    "EnergyCosts",
    "EnergyMeter",
    "EnergyReport",
    "LayerEnergy",
    "compare",
    "get_costs",
    "register_gating",
    "register_spike_source",
]

_LAZY = {"EnergyMeter", "register_gating", "register_spike_source"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from spikeview.energy import counters

        return getattr(counters, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
