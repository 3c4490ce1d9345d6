"""Status-bar widgets: job progress with ETA and Cancel, device, timings and FPS."""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

FPS_WINDOW_S = 5.0


def fmt_eta(seconds: float) -> str:
    if seconds < 0:
        return "ETA –"
    if seconds < 60:
        return f"ETA {seconds:.0f} s"
    return f"ETA {int(seconds // 60)} min {int(seconds % 60):02d} s"


class JobStatus:
    """Owns the permanent widgets of a status bar; the window calls the ``show_*`` methods."""

    def __init__(self, bar: QStatusBar) -> None:
        self.device_label = QLabel("device: –")
        self.ms_label = QLabel("SNN – ms · ANN – ms")
        self.fps_label = QLabel("– FPS")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.eta_label = QLabel("")
        self.cancel_button = QPushButton("Cancel (Esc)")
        self.cancel_button.setEnabled(False)
        for w in (self.progress, self.eta_label, self.cancel_button, self.device_label, self.ms_label, self.fps_label):
            bar.addPermanentWidget(w)
        self._result_times: deque[float] = deque(maxlen=64)

    def show_progress(self, done: int, total: int, message: str, eta: float) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        self.progress.setFormat(f"%p%  {message[:40]}")
        self.eta_label.setText(fmt_eta(eta))

    def show_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.progress.setVisible(False)
            self.eta_label.setText("")

    def show_device(self, device: str) -> None:
        self.device_label.setText(f"device: {device}")

    def show_result(self, snn_ms: float, ann_ms: float | None, tiles: int, device: str,
                    fps: float | None = None) -> None:
        """Timings of a finished image/frame; FPS from the pipeline or over the last few results."""
        ann = f" · ANN {ann_ms:.0f} ms" if ann_ms is not None else ""
        tiled = f" · {tiles} tiles" if tiles > 1 else ""
        self.ms_label.setText(f"SNN {snn_ms:.0f} ms{ann}{tiled}")
        self.show_device(device)
        now = time.perf_counter()
        self._result_times.append(now)
        recent = [t for t in self._result_times if now - t <= FPS_WINDOW_S]
        if not fps:
            if len(recent) > 1 and recent[-1] > recent[0]:
                fps = (len(recent) - 1) / (recent[-1] - recent[0])
            else:
                fps = 1000.0 / max(snn_ms + (ann_ms or 0.0), 1e-3)
        self.fps_label.setText(f"{fps:.2f} FPS")
