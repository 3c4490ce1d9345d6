"""SNN vs ANN-twin compute energy per image, with the cost preset and the caveat always shown.

Takes ``spikeview.energy.EnergyReport`` s (plain dataclasses, no torch) and re-prices them
when the preset changes, so switching fp32/fp16/int8 needs no new inference.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from spikeview.energy import CAVEAT, PRESETS, compare
from spikeview.gui.theme import DARK, PlotColors

PRESET_LABELS = {"45nm-fp32": "45 nm fp32", "45nm-fp16": "45 nm fp16", "45nm-int8": "45 nm int8"}


def fmt_ops(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n:.0f}"


def fmt_uj(uj: float) -> str:
    """Energy in µJ (the unit of the reports), with mJ alongside when large."""
    if uj >= 1000:
        return f"{uj:,.0f} µJ ({uj / 1000:.2f} mJ)".replace(",", " ")
    return f"{uj:.2f} µJ" if uj >= 0.01 else f"{uj:.2e} µJ"


def _short_uj(uj: float) -> str:
    return f"{uj:,.0f} µJ".replace(",", " ") if uj >= 100 else f"{uj:.3g} µJ"


class EnergyPanel(QWidget):
    presetChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._snn: Any = None
        self._ann: Any = None
        self._colors = DARK
        self.preset_combo = QComboBox()
        for key in PRESETS:
            self.preset_combo.addItem(PRESET_LABELS.get(key, key), key)
        self.preset_combo.setToolTip("Energy per operation (Horowitz, ISSCC 2014, 45 nm CMOS)")
        self.preset_combo.currentIndexChanged.connect(self._preset_changed)

        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(120)
        self.plot.setMaximumHeight(260)
        self.plot.setLabel("left", "energy per image", units="J")
        self.plot.getAxis("bottom").setTicks([[(0, "SNN"), (1, "ANN twin")]])
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.bars = pg.BarGraphItem(x=[0, 1], height=[0, 0], width=0.6)
        self.plot.addItem(self.bars)


        self.snn_label = QLabel("–")
        self.ann_label = QLabel("–")
        self.ratio_label = QLabel("–")
        self.ratio_label.setStyleSheet("font-weight: bold;")
        self.ratio_label.setWordWrap(True)
        self.snn_label.setWordWrap(True)
        self.ann_label.setWordWrap(True)
        self.ops_label = QLabel("–")
        self.ops_label.setWordWrap(True)
        self.costs_label = QLabel("")
        self.costs_label.setWordWrap(True)
        self.caveat_label = QLabel(f"⚠ {CAVEAT}: counts arithmetic only; memory traffic, neuron updates "
                                   "and hardware overheads are not included.")
        self.caveat_label.setWordWrap(True)
        self.caveat_label.setStyleSheet("color: #e0a040; font-style: italic;")

        top = QHBoxLayout()
        top.addWidget(QLabel("Cost preset"))
        top.addWidget(self.preset_combo, 1)
        form = QFormLayout()
        form.addRow("SNN", self.snn_label)
        form.addRow("ANN twin", self.ann_label)
        form.addRow("ANN / SNN", self.ratio_label)
        form.addRow("Operations", self.ops_label)
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.addLayout(top)
        root.addWidget(self.plot, 1)
        root.addLayout(form)
        root.addWidget(self.costs_label)
        root.addWidget(self.caveat_label)
        root.addStretch(0)
        self.apply_theme(DARK)
        self._redraw()

    def apply_theme(self, colors: PlotColors) -> None:
        self._colors = colors
        self.plot.setBackground(colors.background)
        self._redraw()

    def preset(self) -> str:
        return self.preset_combo.currentData()

    def set_preset(self, key: str) -> None:
        index = self.preset_combo.findData(key)
        if index >= 0:
            self.preset_combo.setCurrentIndex(index)

    def set_reports(self, snn: Any, ann: Any) -> None:
        """EnergyReports of the last image (``ann`` None when no twin ran)."""
        self._snn, self._ann = snn, ann
        self._redraw()

    def summary(self) -> dict | None:
        """``spikeview.energy.compare`` of the shown reports at the chosen preset."""
        if self._snn is None or self._ann is None:
            return None
        return compare(self._snn.with_costs(self.preset()), self._ann.with_costs(self.preset()))

    def _preset_changed(self, _index: int) -> None:
        self._redraw()
        self.presetChanged.emit(self.preset())

    def _redraw(self) -> None:
        c = PRESETS[self.preset()]
        self.costs_label.setText(f"E_MAC = {c.e_mac_pj} pJ, E_AC = {c.e_ac_pj} pJ — {c.citation}")
        snn = self._snn.with_costs(c) if self._snn is not None else None
        ann = self._ann.with_costs(c) if self._ann is not None else None
        heights = [snn.energy_uj * 1e-6 if snn else 0.0, ann.energy_uj * 1e-6 if ann else 0.0]
        self.bars.setOpts(x=[0, 1], height=heights, width=0.6,
                          brushes=[pg.mkBrush(self._colors.snn), pg.mkBrush(self._colors.ann)], pen=None)
        if max(heights) > 0:
            self.plot.setYRange(0, max(heights) * 1.18, padding=0)
        else:
            self.plot.setYRange(0, 1e-6, padding=0)
        # values in the axis labels: pyqtgraph TextItems over the bars kept repainting the plot
        names = ("SNN", "ANN twin")
        ticks = [(i, f"{name}: {_short_uj(r.energy_uj)}" if r is not None else name)
                 for i, (name, r) in enumerate(zip(names, (snn, ann), strict=True))]
        self.plot.getAxis("bottom").setTicks([ticks])
        self.plot.setXRange(-0.6, 1.6, padding=0)
        if snn is None:
            self.snn_label.setText("run an image (F5) to measure")
            self.ann_label.setText("–")
            self.ratio_label.setText("–")
            self.ops_label.setText("–")
            return
        self.snn_label.setText(fmt_uj(snn.energy_uj))
        if ann is None:
            self.ann_label.setText("no ANN twin run")
            self.ratio_label.setText("–")
            self.ops_label.setText(f"SNN: {fmt_ops(snn.sops)} synaptic ops (accumulates), {fmt_ops(snn.macs)} MACs")
            return
        cmp = compare(snn, ann)
        self.ann_label.setText(fmt_uj(ann.energy_uj))
        ratio = cmp["ratio"]
        if math.isfinite(ratio):
            saving = cmp["saving_percent"]
            verdict = f"SNN saves {saving:.0f}%" if saving >= 0 else f"SNN needs {-saving:.0f}% more"
            self.ratio_label.setText(f"{ratio:.2f}× — {verdict}")
            color = "#4caf50" if saving >= 0 else "#e0a040"
            self.ratio_label.setStyleSheet(f"font-weight: bold; color: {color};")
        else:
            self.ratio_label.setText("n/a")
        self.ops_label.setText(
            f"SNN: {fmt_ops(snn.sops)} SOPs + {fmt_ops(snn.macs)} MACs\nANN: {fmt_ops(ann.macs)} MACs"
            + ("" if cmp["same_input"] else "\n(different inputs!)")
        )
