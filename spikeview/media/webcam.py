"""Live cameras as a :class:`~spikeview.media.frames.FrameSource` (numpy + OpenCV only).

:class:`CameraSource` opens a camera by index (``0`` = default camera) or a device path /
stream URL (``"/dev/video2"``, ``"rtsp://..."``). It is *live*: frames arrive at the
camera's pace and ``frame_count`` is None; ``timestamp_s`` is the time since ``open()``.

Errors (all :class:`~spikeview.errors.VideoError`, one line):

- no camera: ``open()`` raises ``"no camera at index 0 (...)"``;
- a camera that opens but never delivers a frame raises on ``open()`` as well;
- disconnect mid-stream: after ``max_failures`` consecutive failed reads the camera is
  considered gone. With ``on_disconnect="raise"`` (default) iteration raises
  ``"camera 0 disconnected after N frames"``; with ``on_disconnect="end"`` iteration just
  ends. Either way :attr:`CameraSource.disconnected` becomes True, so a caller that chose
  ``"end"`` (e.g. to keep a recording) can still tell a disconnect from a normal stop.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Literal

import cv2
import numpy as np

from spikeview.errors import VideoError
from spikeview.media.frames import FrameSource, to_rgb_uint8

__all__ = ["CameraSource"]

log = logging.getLogger(__name__)


class CameraSource(FrameSource):
    """A webcam / capture device / network stream read with OpenCV.

    ``width`` / ``height`` request a capture size; the camera may pick another one, and
    :attr:`size` is always the size of the frames actually delivered. ``fps`` is what the
    driver reports, or 30 when it reports nothing usable.
    """

    is_live = True

    def __init__(
        self,
        index_or_path: int | str | os.PathLike[str] = 0,
        width: int | None = None,
        height: int | None = None,
        *,
        max_failures: int = 10,
        retry_delay_s: float = 0.02,
        on_disconnect: Literal["raise", "end"] = "raise",
        api_preference: int = cv2.CAP_ANY,
    ) -> None:
        super().__init__()
        if isinstance(index_or_path, str) and index_or_path.strip().isdigit():
            index_or_path = int(index_or_path)
        self.device: int | str = index_or_path if isinstance(index_or_path, int) else os.fspath(index_or_path)
        self.requested_size = (width, height)
        if max_failures < 1:
            raise ValueError("max_failures must be >= 1")
        if on_disconnect not in ("raise", "end"):
            raise ValueError("on_disconnect must be 'raise' or 'end'")
        self.max_failures = max_failures
        self.retry_delay_s = retry_delay_s
        self.on_disconnect = on_disconnect
        self.api_preference = api_preference
        #: True once the camera stopped delivering frames (see the module docstring).
        self.disconnected = False
        self.frames_read = 0
        self._cap: cv2.VideoCapture | None = None
        self._pending: np.ndarray | None = None
        self._t0 = 0.0

    @property
    def name(self) -> str:
        return f"index {self.device}" if isinstance(self.device, int) else repr(self.device)

    def _open(self) -> None:
        self.disconnected = False
        self.frames_read = 0
        cap = cv2.VideoCapture(self.device, self.api_preference)
        if not cap.isOpened():
            cap.release()
            raise VideoError(
                f"no camera at {self.name} (is it connected, switched on and not used by another program?)"
            )
        try:
            w, h = self.requested_size
            if w:
                cap.set(cv2.CAP_PROP_FRAME_WIDTH, float(w))
            if h:
                cap.set(cv2.CAP_PROP_FRAME_HEIGHT, float(h))
            first = None
            # Some cameras deliver a few empty frames while they start up.
            for _ in range(self.max_failures):
                ok, bgr = cap.read()
                if ok and bgr is not None and bgr.size:
                    first = bgr
                    break
                time.sleep(self.retry_delay_s)
            if first is None:
                raise VideoError(f"camera at {self.name} opened but delivers no frames")
            fps = cap.get(cv2.CAP_PROP_FPS)
        except BaseException:
            cap.release()
            raise
        self._cap = cap
        self._pending = to_rgb_uint8(first[..., ::-1])
        h, w = self._pending.shape[:2]
        self._size = (w, h)
        self._fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 30.0
        self._t0 = time.monotonic()

    def _read(self) -> np.ndarray | None:
        if self._pending is not None:
            rgb, self._pending = self._pending, None
            self.frames_read += 1
            return rgb
        if self._cap is None or self.disconnected:
            return None
        failures = 0
        while True:
            try:
                ok, bgr = self._cap.read()
            except cv2.error:
                ok, bgr = False, None
            if ok and bgr is not None and bgr.size:
                break
            failures += 1
            if failures >= self.max_failures:
                self.disconnected = True
                log.info("camera %s stopped delivering frames after %d frames", self.name, self.frames_read)
                if self.on_disconnect == "raise":
                    raise VideoError(
                        f"camera {self.device} disconnected after {self.frames_read} frames "
                        f"({failures} reads in a row failed)"
                    )
                return None
            time.sleep(self.retry_delay_s)
        rgb = to_rgb_uint8(bgr[..., ::-1])
        if (rgb.shape[1], rgb.shape[0]) != self._size:
            # A camera that changes resolution mid-stream (rare) would break the sink.
            rgb = cv2.resize(rgb, self._size, interpolation=cv2.INTER_AREA)
        self.frames_read += 1
        return rgb

    def _timestamp(self, index: int) -> float:
        return time.monotonic() - self._t0

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._pending = None
