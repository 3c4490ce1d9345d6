"""Dark (default) and light themes: a Fusion palette plus colours for pyqtgraph widgets."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("dark", "light")


@dataclass(frozen=True)
class PlotColors:
    background: str
    foreground: str
    snn: str = "#f0a030"  # spiking: warm
    ann: str = "#4aa3df"  # ANN twin: cool
    accent: str = "#e04050"  # thresholds, markers
    muted: str = "#808080"


DARK = PlotColors(background="#1e1f22", foreground="#d0d0d0")
LIGHT = PlotColors(background="#ffffff", foreground="#202020", snn="#d07000", ann="#1f6fb0")


def plot_colors(name: str) -> PlotColors:
    return LIGHT if name == "light" else DARK


def _dark_palette() -> QPalette:
    p = QPalette()
    base, window, text = QColor("#1e1f22"), QColor("#2b2d30"), QColor("#dcdcdc")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor("#26282b"),
        QPalette.ColorRole.ToolTipBase: QColor("#3c3f41"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: QColor("#8a8a8a"),
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: window,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff5555"),
        QPalette.ColorRole.Link: QColor("#5aa9e6"),
        QPalette.ColorRole.Highlight: QColor("#2f65ca"),
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
    }
    for role, color in roles.items():
        p.setColor(role, color)
    disabled = QColor("#6e6e6e")
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def apply_theme(app: QApplication, name: str) -> PlotColors:
    """Fusion style with the named palette; returns the plot colours to give widgets."""
    app.setStyle("Fusion")
    if name == "light":
        app.setPalette(app.style().standardPalette())
    else:
        app.setPalette(_dark_palette())
    return plot_colors(name)
