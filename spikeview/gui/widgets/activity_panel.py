"""Live neuron activity: membrane heatmap, spike raster, per-layer firing rates, membrane histogram.

The panel *pulls*: a ~15 Hz ``QTimer`` asks its data source for the latest snapshot and redraws
only when it changed, so memory stays bounded (one snapshot) and a fast model cannot flood the
GUI. A snapshot is any object with the fields of ``spikeview.recording.ActivitySnapshot``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QSpinBox, QVBoxLayout, QWidget

from spikeview.gui.theme import DARK, PlotColors
from spikeview.gui.types import LayerChoice

REPAINT_HZ = 15
RATES_INTERVAL_S = 0.5
MAX_RASTER_CALLS = 48


def short_layer_name(name: str, width: int = 22) -> str:
    """``encoder_level1.0.residual.0`` → ``enc1.0.res.0`` (fits an axis label)."""
    for long, short in (("encoder_level", "enc"), ("decoder_level", "dec"), ("residual", "res"),
                        ("maxpool_conv", "pool"), ("latent", "lat"), ("refinement", "ref")):
        name = name.replace(long, short)
    return name if len(name) <= width else "…" + name[-(width - 1):]


class ActivityPanel(QWidget):
    """Emits ``captureChanged(layer, channel)`` when the user picks another layer/channel."""

    captureChanged = Signal(str, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._latest: Callable[[], Any] = lambda: None
        self._rates: Callable[[], dict[str, float]] = dict
        self._rasters: Callable[[], list[np.ndarray]] = list
        self._snap: Any = None
        self._rates_shown: dict[str, float] = {}
        self._rates_time = 0.0
        self._layers: list[LayerChoice] = []
        self.repaints = 0
        self._colors = DARK

        self.layer_combo = QComboBox()
        self.layer_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layer_combo.setToolTip("Spiking layer whose membrane potential is captured")
        self.channel_spin = QSpinBox()
        self.channel_spin.setPrefix("ch ")
        self.channel_spin.setToolTip("Channel of the captured layer")
        self.step_slider = QSlider(Qt.Orientation.Horizontal)
        self.step_slider.setRange(0, 0)
        self.step_slider.setToolTip("Time step shown in the membrane heatmap")
        self.step_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.step_slider.setTickInterval(1)
        self.step_slider.setPageStep(1)
        self.step_label = QLabel("– / –")
        self.raster_mode = QComboBox()
        self.raster_mode.addItem("raster: time steps", "steps")
        self.raster_mode.addItem("raster: over tiles/frames", "frames")
        self.status = QLabel("No activity yet: run an SNN (F5).")
        self.status.setWordWrap(True)

        self.layer_combo.setMinimumContentsLength(22)
        self.step_slider.setMinimumWidth(160)
        self.step_label.setMinimumWidth(60)
        row = QHBoxLayout()
        row.addWidget(QLabel("Layer"))
        row.addWidget(self.layer_combo)
        row.addWidget(self.channel_spin)
        row.addSpacing(12)
        row.addWidget(QLabel("Time step"))
        row.addWidget(self.step_slider, 2)
        row.addWidget(self.step_label)
        row.addStretch(1)
        row.addWidget(self.raster_mode)

        self.plots = pg.GraphicsLayoutWidget()
        self.heat_plot = self.plots.addPlot(row=0, col=0, title="Membrane potential")
        self.heat_plot.setAspectLocked(True)
        self.heat_plot.invertY(True)
        self.heat_plot.hideAxis("bottom")
        self.heat_plot.hideAxis("left")
        self.heat_image = pg.ImageItem(axisOrder="row-major")
        self.heat_plot.addItem(self.heat_image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), width=12,
                                        interactive=False)
        self.colorbar.setImageItem(self.heat_image)
        self.plots.addItem(self.colorbar, row=0, col=1)

        self.raster_plot = self.plots.addPlot(row=0, col=2, title="Spike raster (64 sampled neurons)")
        self.raster_plot.setLabel("bottom", "time step")
        self.raster_plot.setLabel("left", "neuron")
        # drawn as a neurons × steps image: constant cost however many spikes there are
        self.raster_image = pg.ImageItem(axisOrder="row-major")
        self.raster_plot.addItem(self.raster_image)

        self.hist_plot = self.plots.addPlot(row=0, col=3, title="Membrane histogram")
        self.hist_plot.setLabel("bottom", "H[t], all neurons & steps")
        self.hist_plot.getAxis("left").setStyle(showValues=False)
        self.hist_curve = pg.PlotDataItem(stepMode="center", fillLevel=0)
        self.hist_plot.addItem(self.hist_curve)
        self.threshold_line = pg.InfiniteLine(angle=90, movable=False, label="threshold",
                                              labelOpts={"position": 0.85, "color": "#e04050"})
        self.hist_plot.addItem(self.threshold_line)

        self.rate_plot = self.plots.addPlot(row=0, col=4, title="Firing rate per layer")
        self.rate_plot.setLabel("left", "% neuron·steps spiking")
        self.rate_plot.setLabel("bottom", "layer (selected in red)")
        self.rate_bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.rate_plot.addItem(self.rate_bars)
        self.rate_plot.setMouseEnabled(False, False)
        for col, stretch in ((0, 4), (2, 4), (3, 4), (4, 4)):
            self.plots.ci.layout.setColumnStretchFactor(col, stretch)

        root = QVBoxLayout(self)
        root.setContentsMargins(2, 2, 2, 2)
        root.addLayout(row)
        root.addWidget(self.status)
        self.plots.setMinimumHeight(230)
        root.addWidget(self.plots, 1)

        self.layer_combo.currentIndexChanged.connect(self._capture_changed)
        self.channel_spin.valueChanged.connect(self._capture_changed)
        self.step_slider.valueChanged.connect(lambda _v: self._draw_snapshot(self._snap))
        self.raster_mode.currentIndexChanged.connect(lambda _i: self._draw_raster(self._snap))
        self.timer = QTimer(self)
        self.timer.setInterval(int(1000 / REPAINT_HZ))
        self.timer.timeout.connect(self.repaint_latest)
        # sensible empty axes until the first snapshot arrives
        self.raster_plot.setXRange(0.5, 4.5, padding=0)
        self.raster_plot.setYRange(-0.5, 63.5, padding=0)
        self.hist_plot.setXRange(-1.0, 1.0, padding=0)
        self.hist_plot.setYRange(0, 1, padding=0)
        self.rate_plot.setXRange(0.4, 1.6, padding=0)
        self.rate_plot.setYRange(0, 1, padding=0)
        self.apply_theme(DARK)

    # -- wiring ------------------------------------------------------------------------------
    def set_source(self, latest: Callable[[], Any], rates: Callable[[], dict[str, float]],
                   rasters: Callable[[], list[np.ndarray]] | None = None) -> None:
        """Callables the timer pulls from (any thread-safe readers)."""
        self._latest, self._rates = latest, rates
        self._rasters = rasters or list
        self.timer.start()

    def apply_theme(self, colors: PlotColors) -> None:
        self._colors = colors
        self.plots.setBackground(colors.background)
        self.hist_curve.setPen(pg.mkPen(colors.snn, width=1.5))
        self.hist_curve.setBrush(pg.mkBrush(colors.snn + "60"))
        self.threshold_line.setPen(pg.mkPen(colors.accent, width=2, style=Qt.PenStyle.DashLine))
        bg, fg = pg.mkColor(colors.background), pg.mkColor(colors.snn)
        self.raster_lut = np.array([[bg.red(), bg.green(), bg.blue()], [fg.red(), fg.green(), fg.blue()]], np.uint8)
        self._draw_raster(self._snap)
        self._draw_rates(self._rates_shown, force=True)

    def set_layers(self, layers: list[LayerChoice] | tuple[LayerChoice, ...]) -> None:
        self._layers = list(layers)
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for layer in layers:
            self.layer_combo.addItem(short_layer_name(layer.name, 40), layer.name)
            self.layer_combo.setItemData(self.layer_combo.count() - 1, layer.name, Qt.ItemDataRole.ToolTipRole)
        self.layer_combo.blockSignals(False)
        self._update_channel_range()
        if not layers:
            self.status.setText("This model has no spiking layers.")

    def capture(self) -> tuple[str | None, int]:
        return self.layer_combo.currentData(), self.channel_spin.value()

    # -- drawing -----------------------------------------------------------------------------
    def repaint_latest(self) -> None:
        """Pull the latest data and redraw what changed (the timer's slot)."""
        snap = self._latest()
        if snap is not None and snap is not self._snap:
            self._snap = snap
            self._draw_snapshot(snap)
            self._draw_raster(snap)
            self.repaints += 1
        now = time.monotonic()
        if now - self._rates_time >= RATES_INTERVAL_S:  # bars change slowly; spare the repaints
            self._rates_time = now
            rates = self._rates()
            if rates and rates != self._rates_shown:
                self._draw_rates(rates)

    def show_rates(self, rates: dict[str, float]) -> None:
        """Final firing rates of a finished run (from its stats)."""
        if rates:
            self._draw_rates(rates)

    def _update_channel_range(self) -> None:
        index = self.layer_combo.currentIndex()
        channels = self._layers[index].channels if 0 <= index < len(self._layers) else None
        self.channel_spin.setRange(0, max(0, (channels or 1) - 1))

    def _capture_changed(self, *_args) -> None:
        self._update_channel_range()
        self._draw_rates(self._rates_shown, force=True)
        layer, channel = self.capture()
        if layer:
            self.captureChanged.emit(layer, channel)

    def _draw_snapshot(self, snap: Any) -> None:
        if snap is None:
            return
        steps = int(snap.membrane.shape[0])
        if self.step_slider.maximum() != steps - 1:
            self.step_slider.blockSignals(True)
            self.step_slider.setRange(0, max(0, steps - 1))
            self.step_slider.setValue(steps - 1 if self.step_slider.value() > steps - 1 else self.step_slider.value())
            self.step_slider.blockSignals(False)
        t = min(self.step_slider.value(), steps - 1)
        self.step_label.setText(f"{t + 1} / {steps}")
        counts, edges = snap.membrane_hist
        lo = float(min(edges[0], 0.0))
        hi = float(max(edges[-1], snap.threshold))
        self.heat_image.setImage(np.ascontiguousarray(snap.membrane[t], dtype=np.float32), autoLevels=False,
                                 levels=(lo, hi))
        self.colorbar.setLevels((lo, hi))
        self.heat_plot.setTitle(f"Membrane H[t] · ch {snap.channel} · t={t + 1}/{steps}")
        self.hist_curve.setData(edges.astype(np.float32), counts.astype(np.float32))
        self.hist_plot.setXRange(lo, hi, padding=0.02)
        self.hist_plot.setYRange(0, max(1.0, float(counts.max()) * 1.05), padding=0)
        self.threshold_line.setValue(snap.threshold)
        shape = "×".join(str(d) for d in snap.layer_shape) if snap.layer_shape else "?"
        self.status.setText(
            f"{snap.layer} · channel {snap.channel} · input [T,N,C,H,W] = {shape} · "
            f"firing rate {100 * snap.firing_rate:.2f}% · call #{snap.call_index + 1}"
        )

    def _draw_raster(self, snap: Any) -> None:
        if snap is None:
            return
        if self.raster_mode.currentData() == "frames":
            rasters = self._rasters()[-MAX_RASTER_CALLS:] or [snap.raster]
            raster = np.concatenate([r for r in rasters if r.shape[1:] == rasters[-1].shape[1:]], axis=0)
            self.raster_plot.setLabel("bottom", f"time step over the last {len(rasters)} tiles/frames")
        else:
            raster = snap.raster
            self.raster_plot.setLabel("bottom", "time step")
        image = np.ascontiguousarray(raster.T.astype(np.uint8))  # rows = neurons, columns = steps
        self.raster_image.setImage(image, autoLevels=False, levels=(0, 1), lut=self.raster_lut)
        self.raster_image.setRect(0.5, -0.5, raster.shape[0], raster.shape[1])
        self.raster_plot.setXRange(0.5, raster.shape[0] + 0.5, padding=0)
        self.raster_plot.setYRange(-0.5, raster.shape[1] - 0.5, padding=0)

    def _draw_rates(self, rates: dict[str, float], force: bool = False) -> None:
        if not rates and not force:
            return
        self._rates_shown = dict(rates)
        order = [layer.name for layer in self._layers if layer.name in rates]
        order += [name for name in rates if name not in order]
        values = 100.0 * np.array([rates[n] for n in order], dtype=np.float64)
        selected = self.layer_combo.currentData()
        brushes = [pg.mkBrush(self._colors.accent if n == selected else self._colors.snn) for n in order]
        x = np.arange(1, len(order) + 1)
        self.rate_bars.setOpts(x=x, height=values, width=0.75, brushes=brushes, pen=None)
        step = max(1, -(-len(order) // 9))  # at most ~9 labels
        self.rate_plot.getAxis("bottom").setTicks([[(int(i), str(int(i))) for i in x[::step]]])
        self.rate_bars.setToolTip("\n".join(f"{i}: {short_layer_name(n, 40)}  {v:.2f}%"
                                             for i, n, v in zip(x, order, values, strict=True)))
        if len(order):
            self.rate_plot.setXRange(0.4, len(order) + 0.6, padding=0)
            self.rate_plot.setYRange(0, max(1.0, float(values.max()) * 1.1), padding=0)
