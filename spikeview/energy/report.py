"""Energy reports (no torch): per-layer operation counts priced with :class:`EnergyCosts`."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from spikeview.energy.costs import DEFAULT_COSTS, EnergyCosts, get_costs
from spikeview.fileio import write_text_atomic

CAVEAT = "compute-only estimate (45 nm, no memory traffic)"
_COSTS_PREFIX = "Energy per operation:"


@dataclass(frozen=True)
class LayerEnergy:
    """One row of a report: one module, one kind of operation, summed over all calls.

    ``kind`` is ``"MAC"`` (real-valued input: every dense MAC is paid) or ``"AC"``
    (spike input: ``ops`` = input firing rate × ``dense_macs`` synaptic operations, each an
    accumulate). ``input_firing_rate`` is ``ops / dense_macs`` for AC rows (for graded spikes of
    D levels, which count as ``s·D`` unit spikes, the mean spike value ``ops / (D · dense_macs)``),
    None for MAC rows.
    ``time_constant_input`` marks a direct-encoded input that SpikeView computes once but
    that is counted for every time step.
    """

    name: str
    module_type: str
    kind: str
    calls: int
    dense_macs: int
    ops: float
    input_firing_rate: float | None
    energy_pj: float
    time_constant_input: bool = False


def _costs_line(costs: EnergyCosts) -> str:
    return f"{_COSTS_PREFIX} {costs.name}, E_MAC = {costs.e_mac_pj} pJ, E_AC = {costs.e_ac_pj} pJ ({costs.citation})."


@dataclass(frozen=True)
class EnergyReport:
    """Compute energy of everything a model did while an :class:`EnergyMeter` was attached.

    Totals: ``macs`` (MACs of real-valued layers), ``sops`` (synaptic operations of
    spike-driven layers), ``dense_macs`` (all layers as if every op were a MAC),
    ``energy_pj = macs · e_mac_pj + sops · e_ac_pj`` = ``mac_energy_pj + ac_energy_pj``,
    ``energy_uj`` (µJ). ``calls`` is the number of model forward calls (e.g. tiles) and
    ``pixels`` the number of input pixels (N·H·W summed over calls), so two reports can be
    checked to describe the same work.
    """

    layers: list[LayerEnergy]
    costs: str
    e_mac_pj: float
    e_ac_pj: float
    macs: int
    sops: float
    dense_macs: int
    mac_energy_pj: float
    ac_energy_pj: float
    energy_pj: float
    energy_uj: float
    calls: int
    pixels: int
    assumptions: list[str] = field(default_factory=list)
    caveat: str = CAVEAT
    citation: str = ""

    @classmethod
    def build(
        cls,
        layers: list[LayerEnergy],
        costs: EnergyCosts | str = DEFAULT_COSTS,
        assumptions: list[str] | None = None,
        calls: int = 0,
        pixels: int = 0,
    ) -> EnergyReport:
        """Price ``layers`` (their ``energy_pj`` is recomputed) and add up the totals."""
        c = get_costs(costs)
        priced = [replace(row, energy_pj=row.ops * (c.e_mac_pj if row.kind == "MAC" else c.e_ac_pj)) for row in layers]
        macs = sum(row.dense_macs for row in priced if row.kind == "MAC")
        sops = float(sum(row.ops for row in priced if row.kind == "AC"))
        mac_e = macs * c.e_mac_pj
        ac_e = sops * c.e_ac_pj
        lines = [a for a in (assumptions or []) if not a.startswith(_COSTS_PREFIX)]
        lines.append(_costs_line(c))
        return cls(
            layers=priced,
            costs=c.name,
            e_mac_pj=c.e_mac_pj,
            e_ac_pj=c.e_ac_pj,
            macs=int(macs),
            sops=sops,
            dense_macs=int(sum(row.dense_macs for row in priced)),
            mac_energy_pj=mac_e,
            ac_energy_pj=ac_e,
            energy_pj=mac_e + ac_e,
            energy_uj=(mac_e + ac_e) / 1e6,
            calls=calls,
            pixels=pixels,
            assumptions=lines,
            citation=c.citation,
        )

    @property
    def totals(self) -> dict[str, float]:
        """``{"macs", "sops", "energy_pj", "energy_uj"}`` (also available as fields)."""
        return {"macs": self.macs, "sops": self.sops, "energy_pj": self.energy_pj, "energy_uj": self.energy_uj}

    def with_costs(self, costs: EnergyCosts | str) -> EnergyReport:
        """The same counts priced with other costs (an :class:`EnergyCosts` or a preset name)."""
        return EnergyReport.build(self.layers, costs, self.assumptions, self.calls, self.pixels)

    @property
    def cost_model(self) -> EnergyCosts:
        return EnergyCosts(self.costs, self.e_mac_pj, self.e_ac_pj, self.citation)

    def to_dict(self) -> dict:
        """Plain JSON-serialisable dict (layers as a list of dicts)."""
        return asdict(self)

    def to_json(self, path: str | os.PathLike) -> Path:
        return write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n")

    def to_csv(self, path: str | os.PathLike) -> Path:
        """One row per layer and a final ``TOTAL`` row; written atomically. Returns the path."""
        columns = [
            "name",
            "module_type",
            "kind",
            "calls",
            "dense_macs",
            "ops",
            "input_firing_rate",
            "energy_pj",
            "time_constant_input",
        ]
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for row in self.layers:
            rate = "" if row.input_firing_rate is None else repr(row.input_firing_rate)
            writer.writerow(
                [
                    row.name,
                    row.module_type,
                    row.kind,
                    row.calls,
                    row.dense_macs,
                    repr(float(row.ops)),
                    rate,
                    repr(float(row.energy_pj)),
                    int(row.time_constant_input),
                ]
            )
        writer.writerow(
            ["TOTAL", "", "", self.calls, self.dense_macs, repr(self.macs + self.sops), "", repr(self.energy_pj), ""]
        )
        return write_text_atomic(path, buf.getvalue(), newline="")


def compare(snn_report: EnergyReport, ann_report: EnergyReport) -> dict:
    """SNN vs ANN energy. ``ratio`` = ANN energy / SNN energy (> 1: the SNN needs less).

    The ANN report is re-priced with the SNN report's costs if they differ.
    ``same_input`` says whether both processed the same number of pixels.
    """
    if (ann_report.costs, ann_report.e_mac_pj, ann_report.e_ac_pj) != (
        snn_report.costs,
        snn_report.e_mac_pj,
        snn_report.e_ac_pj,
    ):
        ann_report = ann_report.with_costs(snn_report.cost_model)
    snn_e, ann_e = snn_report.energy_pj, ann_report.energy_pj
    if snn_e > 0:
        ratio = ann_e / snn_e
    else:
        ratio = math.inf if ann_e > 0 else math.nan
    return {
        "costs": snn_report.costs,
        "snn_energy_uj": snn_report.energy_uj,
        "ann_energy_uj": ann_report.energy_uj,
        "ratio": ratio,
        "saving_percent": 100.0 * (1.0 - snn_e / ann_e) if ann_e > 0 else math.nan,
        "snn_macs": snn_report.macs,
        "snn_sops": snn_report.sops,
        "ann_macs": ann_report.macs,
        "ann_sops": ann_report.sops,
        "same_input": snn_report.pixels == ann_report.pixels,
        "caveat": CAVEAT,
    }
