"""Energy per operation (no torch).

Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, 45 nm
CMOS: a multiply-accumulate costs one multiply plus one add, an accumulate one add.
"""

from __future__ import annotations

from dataclasses import dataclass

from spikeview.errors import ConfigError

HOROWITZ_2014 = (
    'M. Horowitz, "Computing\'s energy problem (and what we can do about it)", IEEE ISSCC 2014, pp. 10-14 (45 nm CMOS)'
)


@dataclass(frozen=True)
class EnergyCosts:
    """Energy of one multiply-accumulate (``e_mac_pj``) and one accumulate (``e_ac_pj``), in pJ."""

    name: str
    e_mac_pj: float
    e_ac_pj: float
    citation: str = HOROWITZ_2014


PRESETS: dict[str, EnergyCosts] = {
    # fp32: mult 3.7 + add 0.9
    "45nm-fp32": EnergyCosts("45nm-fp32", 4.6, 0.9),
    # fp16: mult 1.1 + add 0.4
    "45nm-fp16": EnergyCosts("45nm-fp16", 1.5, 0.4),
    # int8: mult 0.2 + add 0.03
    "45nm-int8": EnergyCosts("45nm-int8", 0.23, 0.03),
}

DEFAULT_COSTS: EnergyCosts = PRESETS["45nm-fp32"]


def get_costs(costs: EnergyCosts | str) -> EnergyCosts:
    """An :class:`EnergyCosts` itself, or the preset of that name (``ConfigError`` if unknown)."""
    if isinstance(costs, EnergyCosts):
        return costs
    try:
        return PRESETS[costs]
    except KeyError:
        raise ConfigError(f"unknown energy cost preset {costs!r} (known: {', '.join(PRESETS)})") from None
