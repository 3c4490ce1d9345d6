"""Batch a folder (recursively) into an output folder, with a per-file result list."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from spikeview.gui.types import BatchRow, BatchSummary

STATUS_COLORS = {"done": "#4caf50", "skipped": "#9e9e9e", "failed": "#e53935", "cancelled": "#ffa000"}


class BatchPanel(QWidget):
    runRequested = Signal(list, str, str)  # inputs, output folder, suffix
    cancelRequested = Signal()
    outputChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._inputs: list[Path] = []
        self.inputs_label = QLabel("Inputs: the open folder/files")
        self.inputs_label.setWordWrap(True)
        self.input_button = QPushButton("Input folder…")
        self.input_button.clicked.connect(self._choose_input)
        self.output_edit = QLineEdit()
        self.output_edit.setPlaceholderText("output folder (sub-folder tree is kept; inputs are never overwritten)")
        self.output_button = QPushButton("Output folder…")
        self.output_button.clicked.connect(self._choose_output)
        self.suffix_edit = QLineEdit()
        self.suffix_edit.setPlaceholderText("file-name suffix, e.g. _derained")
        self.run_button = QPushButton("Run batch")
        self.run_button.setObjectName("run-batch")
        self.run_button.clicked.connect(self._run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        self.summary = QLabel("")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["File", "Status", "ms", "Output (in the output folder) / error"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 220)
        self.table.setColumnWidth(1, 80)
        self.table.setColumnWidth(2, 70)

        grid = QGridLayout()
        grid.addWidget(self.inputs_label, 0, 0, 1, 2)
        grid.addWidget(self.input_button, 0, 2)
        grid.addWidget(self.output_edit, 1, 0, 1, 2)
        grid.addWidget(self.output_button, 1, 2)
        grid.addWidget(self.suffix_edit, 2, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        grid.addLayout(buttons, 2, 1, 1, 2)
        root = QVBoxLayout(self)
        root.setContentsMargins(4, 4, 4, 4)
        root.addLayout(grid)
        root.addWidget(self.summary)
        root.addWidget(self.table, 1)

    # -- state -------------------------------------------------------------------------------
    def set_inputs(self, inputs: list[Path], label: str | None = None) -> None:
        self._inputs = list(inputs)
        text = label or (", ".join(p.name for p in inputs[:3]) + (" …" if len(inputs) > 3 else ""))
        self.inputs_label.setText(f"Inputs: {text}" if inputs else "Inputs: none — open a folder first")
        self.inputs_label.setToolTip("\n".join(str(p) for p in inputs[:50]))

    def inputs(self) -> list[Path]:
        return list(self._inputs)

    def set_output(self, folder: str) -> None:
        self.output_edit.setText(folder)

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def clear_rows(self) -> None:
        self.table.setRowCount(0)
        self.summary.setText("")

    def add_row(self, row: BatchRow) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        status = QTableWidgetItem(row.status)
        status.setForeground(QBrush(QColor(STATUS_COLORS.get(row.status, "#ffffff"))))
        detail = row.error or ""
        if not detail and row.output is not None:
            out_dir = Path(self.output_edit.text()) if self.output_edit.text() else None
            detail = str(row.output.relative_to(out_dir)) if out_dir and row.output.is_relative_to(out_dir) else str(
                row.output)
        cells = [QTableWidgetItem(row.input.name), status, QTableWidgetItem(f"{row.ms:.0f}" if row.ms else ""),
                 QTableWidgetItem(detail)]
        cells[0].setToolTip(str(row.input))
        cells[3].setToolTip(detail)
        cells[2].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for col, cell in enumerate(cells):
            self.table.setItem(r, col, cell)
        self.table.scrollToBottom()

    def rows(self) -> list[tuple[str, str]]:
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())]

    def set_summary(self, s: BatchSummary) -> None:
        verb = "Cancelled" if s.cancelled else "Finished"
        self.summary.setText(
            f"{verb}: {s.done} done, {s.skipped} skipped, {s.failed} failed of {s.total} "
            f"in {s.seconds:.1f} s → {s.out_dir}"
        )

    # -- actions -----------------------------------------------------------------------------
    def _choose_input(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Batch input folder")
        if folder:
            self.set_inputs([Path(folder)], folder)

    def _choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Batch output folder", self.output_edit.text())
        if folder:
            self.output_edit.setText(folder)
            self.outputChosen.emit(folder)

    def _run(self) -> None:
        out = self.output_edit.text().strip()
        if not self._inputs:
            self.summary.setText("Open a folder or files first (File > Open folder…).")
            return
        if not out:
            self._choose_output()
            out = self.output_edit.text().strip()
            if not out:
                return
        self.clear_rows()
        self.runRequested.emit([str(p) for p in self._inputs], out, self.suffix_edit.text())
