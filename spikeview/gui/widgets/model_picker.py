"""Task, model, ANN twin, device and tile pickers plus the model card of what is loaded."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from spikeview.gui.types import DeviceChoice, LoadedModels, ModelCard, ModelChoice
from spikeview.inference.ensemble import COPIES

NO_TWIN = "(none)"
AUTO_TWIN = ""
ALL_TASKS = ""
TASK_LABELS = {"derain": "Deraining", "denoise": "Denoising"}


def task_label(task: str) -> str:
    return TASK_LABELS.get(task, task.capitalize() or "Unknown")
NO_MODEL_TEXT = "No shipped model found — import a checkpoint (File > Import checkpoint…)."


def _fmt_params(n: int) -> str:
    return f"{n / 1e6:.2f} M" if n >= 1e6 else f"{n / 1e3:.1f} k"


def _metric_text(value: object) -> str | None:
    """One readable line per metric; per-set results (dicts with a PSNR) become
    "PSNR (gain) / SSIM"; other nested data is left to the card text below."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, dict) and "psnr" in value:
        text = f"{value['psnr']:.2f} dB"
        if "gain_db" in value:
            text += f" ({value['gain_db']:+.2f} dB over the input)"
        if "ssim" in value:
            text += f", SSIM {value['ssim']:.4f}"
        return text
    return None


def card_markdown(card: ModelCard, twin: ModelCard | None) -> str:
    """The card as markdown: facts, measured metrics, then the model's own card text."""
    rows = [
        ("Architecture", card.arch + (" (spiking)" if card.spiking else " (ANN)")),
        ("Time steps T", str(card.timesteps)),
        ("Task", card.task),
        ("Parameters", _fmt_params(card.parameters)),
    ]
    if twin is not None:
        rows.append(("ANN twin", f"{twin.name} — {twin.arch}, {_fmt_params(twin.parameters)}"))
    for key, value in card.metrics.items():
        shown = _metric_text(value)
        if shown is not None:
            rows.append((f"Measured {key}", shown))
    if card.path is not None:
        rows.append(("File", f"`{card.path}`"))
    facts = "\n".join(f"- **{k}:** {v}" for k, v in rows)
    text = f"### {card.name}\n\n{facts}\n"
    if card.card_markdown:
        text += "\n---\n\n" + card.card_markdown
    return text


TILE_CHOICES = (-1, 0, 128, 256, 384, 512, 768, 1024, 2048)


def _tile_label(value: int) -> str:
    return {-1: "auto (memory cap)", 0: "whole image"}.get(value, f"{value} px")


# one label per engine choice (spikeview.inference.ensemble.COPIES): a new choice without a label fails loudly
_ENSEMBLE_LABELS = {1: "off", 2: "×2 (left-right mirror)", 4: "×4 (both mirrors)"}


class ModelPicker(QWidget):
    """Emits ``selectionChanged(model, twin, device, tile)`` when the user changes a picker."""

    selectionChanged = Signal(str, str, str, int)
    ensembleChanged = Signal(int)  # self-ensemble copies; the models are reloaded with it
    importRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.task_combo = QComboBox()
        self.task_combo.setToolTip("Restoration task: lists only the models trained for it")
        self.model_combo = QComboBox()
        self.model_combo.setToolTip("SNN model (shipped models first, then imported checkpoints)")
        self.twin_combo = QComboBox()
        self.twin_combo.setToolTip("ANN twin run next to the SNN for comparison")
        self.device_combo = QComboBox()
        self.tile_combo = QComboBox()
        for value in TILE_CHOICES:
            self.tile_combo.addItem(_tile_label(value), value)
        self.tile_combo.setToolTip("Tile side in pixels: auto keeps activations under the memory cap; "
                                   "smaller tiles need less memory, whole image is fastest when it fits")
        self.ensemble_combo = QComboBox()
        for copies in COPIES:
            self.ensemble_combo.addItem(_ENSEMBLE_LABELS[copies], copies)
        self.ensemble_combo.setToolTip("Self-ensemble: average mirrored passes of each image. Cleaner output "
                                       "(×2: about +0.6 dB on light, +0.3 dB on heavy rain; ×4: +0.7 dB on light "
                                       "rain only), 2× / 4× the time and energy")
        self.t_label = QLabel("–")
        self.t_label.setToolTip("SNN time steps per image")
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #e0a040;")
        self.import_button = QPushButton("Import checkpoint…")
        self.import_button.clicked.connect(self.importRequested)
        self.card = QTextBrowser()
        self.card.setOpenExternalLinks(True)
        self.card.setMinimumHeight(180)

        form = QFormLayout()
        form.addRow("Task", self.task_combo)
        form.addRow("Model", self.model_combo)
        form.addRow("ANN twin", self.twin_combo)
        form.addRow("Device", self.device_combo)
        form.addRow("Tile", self.tile_combo)
        form.addRow("Self-ensemble", self.ensemble_combo)
        form.addRow("Time steps", self.t_label)
        root = QVBoxLayout(self)
        root.addLayout(form)
        root.addWidget(self.message)
        root.addWidget(self.import_button)
        root.addWidget(self.card, 1)
        self._models: list[ModelChoice] = []
        self._blocking = False
        for combo in (self.twin_combo, self.device_combo):
            combo.currentIndexChanged.connect(self._changed)
        self.model_combo.currentIndexChanged.connect(self._model_changed)
        self.task_combo.currentIndexChanged.connect(self._task_changed)
        self.tile_combo.currentIndexChanged.connect(self._changed)
        self.ensemble_combo.currentIndexChanged.connect(lambda _i: self.ensembleChanged.emit(self.ensemble()))

    # -- filling ------------------------------------------------------------------------------
    def set_catalog(self, models: list[ModelChoice], devices: list[DeviceChoice], model: str = "",
                    twin: str = "", device: str = "auto") -> None:
        self._blocking = True
        try:
            self._models = list(models)
            task = self.task()
            wanted = next((m.task for m in models if m.name == model), None)
            if task and wanted is not None and wanted != task:
                task = wanted  # the requested model must be in the list
            self._fill_tasks(task)
            self._fill_models()
            self._fill_devices(devices)
            self._select(self.model_combo, model)
            self._select(self.twin_combo, twin)
            self._select(self.device_combo, device)
            self.message.setText("" if models else NO_MODEL_TEXT)
            self.model_combo.setEnabled(bool(models))
        finally:
            self._blocking = False

    def _fill_tasks(self, task: str) -> None:
        """An "All tasks" entry, then each task of the catalog (first-seen order) with its model count."""
        self.task_combo.clear()
        self.task_combo.addItem(f"All tasks ({len(self._models)})", ALL_TASKS)
        tasks: dict[str, int] = {}
        for m in self._models:
            tasks[m.task] = tasks.get(m.task, 0) + 1
        for name, count in tasks.items():
            self.task_combo.addItem(f"{task_label(name)} ({count})", name)
            self.task_combo.setItemData(self.task_combo.count() - 1, name, Qt.ItemDataRole.ToolTipRole)
        self._select(self.task_combo, task)

    def _fill_models(self) -> None:
        """Model and twin lists: the catalog's models of the chosen task (all for "All tasks")."""
        task = self.task()
        shown = [m for m in self._models if not task or m.task == task]
        several = len({m.task for m in self._models}) > 1
        self.model_combo.clear()
        for m in shown:
            label = m.name if m.shipped else f"{m.name}  (imported)"
            if several and not task:
                label += f"  · {m.task}"  # which task each model serves, when all are listed
            self.model_combo.addItem(label, m.name)
            tip = f"{m.task}: {m.path}"
            if m.rain:
                tip += f"\nmade for {' and '.join(m.rain)} rain only"
            self.model_combo.setItemData(self.model_combo.count() - 1, tip, Qt.ItemDataRole.ToolTipRole)
        self.twin_combo.clear()
        self.twin_combo.addItem("model's own twin", AUTO_TWIN)
        self.twin_combo.addItem("no ANN twin", NO_TWIN)
        for m in shown:
            self.twin_combo.addItem(m.name, m.name)
        self.model_combo.setEnabled(bool(shown))

    def _fill_devices(self, devices: list[DeviceChoice]) -> None:
        self.device_combo.clear()
        self.device_combo.addItem("auto", "auto")
        self.device_combo.setItemData(0, "CUDA, then Apple MPS, then CPU", Qt.ItemDataRole.ToolTipRole)
        model = self.device_combo.model()
        for d in devices:
            note = "neuromorphic, not for the live view" if d.kind == "neuromorphic" else "unavailable"
            self.device_combo.addItem(d.name if d.available else f"{d.name} ({note})", d.name)
            index = self.device_combo.count() - 1
            self.device_combo.setItemData(index, d.detail, Qt.ItemDataRole.ToolTipRole)
            if not d.available and isinstance(model, QStandardItemModel):
                model.item(index).setEnabled(False)

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    def set_tile(self, tile: int) -> None:
        index = self.tile_combo.findData(tile)
        if index < 0:  # a size from an older settings file: keep it selectable
            self.tile_combo.addItem(_tile_label(tile), tile)
            index = self.tile_combo.count() - 1
        self.tile_combo.blockSignals(True)
        self.tile_combo.setCurrentIndex(index)
        self.tile_combo.blockSignals(False)

    def ensemble(self) -> int:
        return int(self.ensemble_combo.currentData())

    def set_ensemble(self, copies: int) -> None:
        """Select ``copies`` without emitting (an unknown value from an old settings file: off)."""
        self.ensemble_combo.blockSignals(True)
        self.ensemble_combo.setCurrentIndex(max(0, self.ensemble_combo.findData(copies)))
        self.ensemble_combo.blockSignals(False)

    def set_loaded(self, loaded: LoadedModels) -> None:
        self.t_label.setText(str(loaded.snn.timesteps) if loaded.snn.spiking else "1 (not spiking)")
        self.card.setMarkdown(card_markdown(loaded.snn, loaded.ann))
        self.message.setText("" if loaded.ann is not None else "This model has no ANN twin loaded.")

    def show_error(self, text: str) -> None:
        self.message.setText(text)

    # -- state --------------------------------------------------------------------------------
    def task(self) -> str:
        """The task the model list is filtered to, ``ALL_TASKS`` ("") for all."""
        return self.task_combo.currentData() or ALL_TASKS

    def set_task(self, task: str) -> None:
        """Filter the model list to ``task`` (a catalog task or ``ALL_TASKS``), as the user would."""
        index = self.task_combo.findData(task)
        if index >= 0:
            self.task_combo.setCurrentIndex(index)

    def selection(self) -> tuple[str, str, str, int]:
        return (
            self.model_combo.currentData() or "",
            self.twin_combo.currentData() or "",
            self.device_combo.currentData() or "auto",
            int(self.tile_combo.currentData()),
        )

    def _task_changed(self, _index: int) -> None:
        if self._blocking:
            return
        model, twin = self.model_combo.currentData() or "", self.twin_combo.currentData() or AUTO_TWIN
        self._blocking = True
        try:
            self._fill_models()
            self._select(self.model_combo, model)
            self._select(self.twin_combo, twin)
        finally:
            self._blocking = False
        if (self.model_combo.currentData() or "") != model:
            self._model_changed(self.model_combo.currentIndex())  # the old model is not of this task

    def _model_changed(self, _index: int) -> None:
        if not self._blocking:
            self.twin_combo.blockSignals(True)
            self._select(self.twin_combo, AUTO_TWIN)
            self.twin_combo.blockSignals(False)
            self._changed()

    def _changed(self, *_args) -> None:
        if not self._blocking:
            self.selectionChanged.emit(*self.selection())
