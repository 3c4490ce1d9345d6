"""Help > About: version, packages, devices, models and paths (the ``spikeview info`` text)."""

from __future__ import annotations

import logging
import platform
import sys
from importlib import metadata

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

log = logging.getLogger(__name__)


def system_info() -> str:
    """``spikeview.environment.environment_report()``, or versions from package metadata."""
    qt = ""
    try:
        from PySide6 import QtCore

        qt = f"\nQt {QtCore.qVersion()}, platform plugin {QGuiApplication.platformName()}"
    except Exception:  # pragma: no cover - informational only
        pass
    try:
        from spikeview.environment import environment_report

        return environment_report() + qt
    except Exception as exc:  # the report must never stop the About box
        log.warning("environment report failed: %s", exc)
    lines = [f"Python {sys.version.split()[0]} on {platform.platform()}"]
    for dist in ("spikeview", "torch", "numpy", "PySide6-Essentials", "pyqtgraph", "opencv-python-headless"):
        try:
            lines.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            lines.append(f"{dist} not installed")
    return "\n".join(lines) + qt


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About SpikeView")
        self.resize(720, 460)
        title = QLabel(
            "<h2>SpikeView</h2><p>Image restoration with spiking neural networks and their ANN twins: "
            "input | ANN | SNN side by side, live membrane potentials, spike rasters and energy estimates.</p>"
        )
        title.setWordWrap(True)
        self.text = QPlainTextEdit(system_info())
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy system info")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text.toPlainText()))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
