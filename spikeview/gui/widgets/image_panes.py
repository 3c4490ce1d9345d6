"""Input | ANN twin | SNN panes with locked zoom/pan, a split-slider compare and a difference view.

The three panes' view boxes are X/Y-linked to the first one, so a zoom or pan in any of them
moves all of them; the split view takes over their view rectangle when shown and hands it
back when left. Images are RGB uint8 HWC shown with fixed
levels ``(0, 255)`` (no auto-levelling per frame).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from spikeview.gui.theme import DARK, PlotColors
from spikeview.gui.types import RestoreOutcome

MODES = ("side", "split", "diff")
MODE_LABELS = {"side": "Side by side", "split": "Split slider", "diff": "Difference"}
DIFF_GAIN = 4


def abs_diff(a: np.ndarray, b: np.ndarray, gain: int = DIFF_GAIN) -> np.ndarray:
    """``|a - b| * gain`` as uint8 (both RGB uint8 HWC of the same shape)."""
    d = np.abs(a.astype(np.int16) - b.astype(np.int16)) * gain
    return np.clip(d, 0, 255).astype(np.uint8)


def _quality_text(q: dict | None) -> str:
    if not q:
        return ""
    return f"PSNR {q['psnr']:.2f} dB · SSIM {q['ssim']:.4f}"


class _Pane:
    """One view box with a title label, an image item and a text overlay fixed to its corner."""

    def __init__(self, layout: pg.GraphicsLayout, col: int, title: QLabel, lock_aspect: bool) -> None:
        self.label = title
        self.vb = layout.addViewBox(row=0, col=col, lockAspect=lock_aspect, invertY=True)
        self.vb.setMenuEnabled(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.vb.addItem(self.image)
        self.overlay = pg.TextItem("", anchor=(0, 0), color="w", fill=pg.mkBrush(0, 0, 0, 150))
        self.overlay.setParentItem(self.vb)
        self.overlay.setPos(6, 6)
        self.overlay.setVisible(False)
        self.placeholder = pg.TextItem("", anchor=(0.5, 0.5), color=(160, 160, 160))
        self.placeholder.setParentItem(self.vb)
        self.vb.sigResized.connect(self._center_placeholder)

    def set_title(self, text: str) -> None:
        self.label.setText(text)
        self.label.setToolTip(text)

    def _center_placeholder(self) -> None:
        r = self.vb.boundingRect()
        self.placeholder.setPos(r.center())

    def show(self, image: np.ndarray | None, placeholder: str = "") -> None:
        if image is None:
            self.image.clear()
            self.placeholder.setText(placeholder)
            self.placeholder.setVisible(bool(placeholder))
            self._center_placeholder()
        else:
            self.image.setImage(image, autoLevels=False, levels=(0, 255))
            self.placeholder.setVisible(False)

    def set_overlay(self, text: str) -> None:
        self.overlay.setText(text)
        self.overlay.setVisible(bool(text))


class ComparePanes(QWidget):
    """The central image area. ``set_input`` shows a new input; ``set_outcome`` the restorations."""

    modeChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mode = "side"
        self._input: np.ndarray | None = None
        self._target: np.ndarray | None = None
        self._outcome: RestoreOutcome | None = None
        self._shape: tuple[int, ...] | None = None
        self._split_left = "input"

        # toolbar row
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        self._mode_buttons = QButtonGroup(self)
        for i, mode in enumerate(MODES):
            b = QPushButton(f"{MODE_LABELS[mode]}  (Ctrl+{i + 1})")
            b.setCheckable(True)
            b.setChecked(mode == self._mode)
            b.setObjectName(f"mode-{mode}")
            self._mode_buttons.addButton(b, i)
            bar.addWidget(b)
        self._mode_buttons.idClicked.connect(lambda i: self.set_mode(MODES[i]))
        self._split_combo = QComboBox()
        self._split_combo.addItem("Input ↔ SNN", "input")
        self._split_combo.addItem("ANN twin ↔ SNN", "ann")
        self._split_combo.setToolTip("What the left side of the split view shows")
        self._split_combo.currentIndexChanged.connect(self._on_split_left)
        bar.addWidget(self._split_combo)
        bar.addStretch(1)
        self._info = QLabel("")
        bar.addWidget(self._info)
        fit = QPushButton("Fit (Ctrl+0)")
        fit.clicked.connect(self.fit)
        bar.addWidget(fit)

        # side-by-side / difference panes
        self.panes_widget = pg.GraphicsLayoutWidget()
        layout = self.panes_widget.ci
        # only the first box locks its aspect; the others copy its X and Y ranges exactly. (All
        # three locked and linked feed back on each other and the range grows on every resize.)
        # Titles are QLabels in their own row that ignore their text width: as pyqtgraph
        # LabelItems in the grid, longer titles made their panes wider (non-square pixels).
        titles_row = QHBoxLayout()
        titles_row.setContentsMargins(0, 4, 0, 0)
        labels = []
        for text in ("Input", "ANN twin", "SNN"):
            label = QLabel(text)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            titles_row.addWidget(label, 1)
            labels.append(label)
        self.panes = [_Pane(layout, i, label, lock_aspect=i == 0) for i, label in enumerate(labels)]
        for col in range(3):
            layout.layout.setColumnStretchFactor(col, 1)
        ref = self.panes[0].vb
        for pane in self.panes[1:]:
            pane.vb.setXLink(ref)
            pane.vb.setYLink(ref)
        # pyqtgraph does not send a link back to the box that started a change, so when the
        # aspect lock of the first box corrects a range set in another box, push it out again
        ref.sigRangeChanged.connect(self._sync_from_reference)

        # split view
        self.split_widget = pg.GraphicsLayoutWidget()
        self._split_label = self.split_widget.ci.addLabel("Input ◀ drag the line ▶ SNN", row=0, col=0)
        self.split_vb = self.split_widget.ci.addViewBox(row=1, col=0, lockAspect=True, invertY=True)
        self.split_vb.setMenuEnabled(False)
        self._split_under = pg.ImageItem(axisOrder="row-major")
        self._split_over = pg.ImageItem(axisOrder="row-major")
        self.split_vb.addItem(self._split_under)
        self.split_vb.addItem(self._split_over)
        self.divider = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=pg.mkPen("#ffd24a", width=2),
                                       hoverPen=pg.mkPen("#ffffff", width=3))
        self.divider.setZValue(10)
        self.split_vb.addItem(self.divider, ignoreBounds=True)
        self.divider.sigPositionChanged.connect(self._on_divider_moved)
        self._split_fraction = 0.5

        self._panes_page = QWidget()
        page = QVBoxLayout(self._panes_page)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(0)
        page.addLayout(titles_row)
        page.addWidget(self.panes_widget, 1)
        self._stack = QStackedWidget()
        self._stack.addWidget(self._panes_page)
        self._stack.addWidget(self.split_widget)
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        root.addLayout(bar)
        root.addWidget(self._stack, 1)
        self._split_combo.setVisible(False)
        self.apply_theme(DARK)
        self._show_placeholders()

    # -- public API ----------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return self._mode

    @property
    def view_boxes(self) -> list[pg.ViewBox]:
        return [p.vb for p in self.panes] + [self.split_vb]

    def apply_theme(self, colors: PlotColors) -> None:
        for w in (self.panes_widget, self.split_widget):
            w.setBackground(colors.background)
        self._panes_page.setStyleSheet(f"background: {colors.background}; color: {colors.foreground};")
        self._split_label.setAttr("color", colors.foreground)
        self._split_label.setText(self._split_label.text)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        changed = mode != self._mode
        self._mode = mode
        self._mode_buttons.button(MODES.index(mode)).setChecked(True)
        # the split view is one wide box: it takes over the panes' view rect (and hands it back)
        # instead of being linked, since linked aspect-locked boxes of other shapes fight
        ref = self.panes[0].vb
        if mode == "split" and self._stack.currentWidget() is not self.split_widget:
            self._stack.setCurrentWidget(self.split_widget)
            self._hand_over(ref, self.split_vb)
        elif mode != "split" and self._stack.currentWidget() is self.split_widget:
            self._stack.setCurrentWidget(self._panes_page)
            self._hand_over(self.split_vb, ref)
        self._split_combo.setVisible(mode == "split")
        self._refresh()
        if changed:
            self.modeChanged.emit(mode)

    def set_input(self, image: np.ndarray, target: np.ndarray | None = None, name: str = "",
                  outputs_placeholder: str = "restoring…") -> None:
        """A new input: show it, clear the outputs (they belong to the previous input)."""
        self._input, self._target, self._outcome = image, target, None
        new_shape = image.shape
        paired = "  · ground truth paired" if target is not None else ""
        self._info.setText(f"{name}  {image.shape[1]}×{image.shape[0]}{paired}")
        self._refresh(outputs_placeholder=outputs_placeholder)
        if new_shape != self._shape:
            self._shape = new_shape
            self._divider_to_fraction()
            self.fit()

    def set_outcome(self, outcome: RestoreOutcome) -> None:
        self._input = outcome.image
        if outcome.target is not None:
            self._target = outcome.target
        self._outcome = outcome
        if outcome.image.shape != self._shape:
            self._shape = outcome.image.shape
            self._divider_to_fraction()
            self.fit()
        self._refresh()

    def _sync_from_reference(self, *_args) -> None:
        rect = self.panes[0].vb.viewRect()
        for pane in self.panes[1:]:
            other = pane.vb.viewRect()
            if max(abs(rect.left() - other.left()), abs(rect.top() - other.top()), abs(rect.width() - other.width()),
                   abs(rect.height() - other.height())) > 1e-6 * max(rect.width(), 1.0):
                pane.vb.setRange(rect, padding=0)

    def _hand_over(self, source: pg.ViewBox, target: pg.ViewBox) -> None:
        """Give ``target`` the zoom of ``source``: a zoomed-in rect as is, a whole-image view as a fit."""
        if self._input is None:
            return
        h, w = self._input.shape[:2]
        rect = source.viewRect()
        if rect.contains(QRectF(0, 0, w, h).adjusted(1, 1, -1, -1)):
            target.setRange(QRectF(0, 0, w, h), padding=0.02)
        else:
            target.setRange(rect, padding=0)

    def set_frame_label(self, text: str) -> None:
        self._info.setText(text)

    def clear(self) -> None:
        self._input = self._target = self._outcome = None
        self._show_placeholders()

    def fit(self) -> None:
        if self._input is not None:
            h, w = self._input.shape[:2]
            self.panes[0].vb.setRange(QRectF(0, 0, w, h), padding=0.02)
            self.split_vb.setRange(QRectF(0, 0, w, h), padding=0.02)

    def current_images(self) -> dict[str, np.ndarray | None]:
        """What each pane shows now (for tests and screenshots)."""
        return {name: pane.image.image for name, pane in zip(("left", "middle", "right"), self.panes, strict=True)}

    # -- internals -----------------------------------------------------------------------------
    def _show_placeholders(self) -> None:
        self.panes[0].show(None, "Open an image (Ctrl+O) or a folder (Ctrl+Shift+O),\nor drop files here")
        self.panes[1].show(None, "")
        self.panes[2].show(None, "")
        self._split_under.clear()
        self._split_over.clear()

    def _refresh(self, outputs_placeholder: str = "") -> None:
        o = self._outcome
        inp = self._input
        if inp is None:
            self._show_placeholders()
            return
        q = o.quality if o else {}
        snn_title = f"SNN — {o.snn_name} (T={o.timesteps})" if o else "SNN"
        ann_title = f"ANN twin — {o.ann_name}" if o and o.ann_name else "ANN twin"
        ann_missing = outputs_placeholder
        if o is not None and o.ann is None:
            ann_missing = "video: the ANN twin is not run per frame" if o.frame_index is not None else "no ANN twin run"
        if self._mode == "diff":
            self.panes[0].set_title("Input")
            self.panes[0].show(inp)
            self.panes[1].set_title(f"|Input − SNN| ×{DIFF_GAIN}  (what the SNN removed)")
            self.panes[1].show(abs_diff(inp, o.snn) if o else None, outputs_placeholder)
            self.panes[2].set_title(f"|ANN − SNN| ×{DIFF_GAIN}  (where the twins disagree)")
            if o is not None and o.ann is not None:
                self.panes[2].show(abs_diff(o.ann, o.snn))
            else:
                self.panes[2].show(None, ann_missing)
            for pane in self.panes:
                pane.set_overlay("")
        else:
            self.panes[0].set_title("Input" + ("  (ground truth paired)" if self._target is not None else ""))
            self.panes[0].show(inp)
            self.panes[0].set_overlay(_quality_text(q.get("input")))
            self.panes[1].set_title(ann_title)
            self.panes[1].show(o.ann if o else None, ann_missing)
            self.panes[1].set_overlay(_quality_text(q.get("ann")))
            self.panes[2].set_title(snn_title)
            self.panes[2].show(o.snn if o else None, outputs_placeholder)
            self.panes[2].set_overlay(_quality_text(q.get("snn")))
        left = inp if self._split_left == "input" or o is None or o.ann is None else o.ann
        left_name = "Input" if left is inp else "ANN twin"
        self._split_label.setText(f"{left_name} ◀ drag the line ▶ SNN")
        self._split_under.setImage(left, autoLevels=False, levels=(0, 255))
        self._update_split()

    def _on_split_left(self, _index: int) -> None:
        self._split_left = self._split_combo.currentData()
        self._refresh()

    def _divider_to_fraction(self) -> None:
        if self._input is not None:
            self.divider.blockSignals(True)
            self.divider.setValue(self._input.shape[1] * self._split_fraction)
            self.divider.blockSignals(False)

    def _on_divider_moved(self) -> None:
        if self._input is not None and self._input.shape[1]:
            self._split_fraction = min(max(float(self.divider.value()) / self._input.shape[1], 0.0), 1.0)
        self._update_split()

    def set_split_fraction(self, fraction: float) -> None:
        """Put the divider at ``fraction`` of the image width (0 = all SNN, 1 = all left image)."""
        self._split_fraction = min(max(fraction, 0.0), 1.0)
        self._divider_to_fraction()
        self._update_split()

    def _update_split(self) -> None:
        o, inp = self._outcome, self._input
        if inp is None:
            return
        h, w = inp.shape[:2]
        self.divider.setBounds((0, w))
        x = round(min(max(float(self.divider.value()), 0.0), float(w)))
        if o is None or o.snn.shape != inp.shape or x >= w:
            self._split_over.clear()
            return
        self._split_over.setImage(np.ascontiguousarray(o.snn[:, x:]), autoLevels=False, levels=(0, 255))
        self._split_over.setRect(QRectF(x, 0, w - x, h))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        QTimer.singleShot(0, self.fit)  # the first fit must wait for the final pane sizes

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space and self._mode == "split":
            self.divider.setValue(self._input.shape[1] / 2 if self._input is not None else 0)
        super().keyPressEvent(event)
