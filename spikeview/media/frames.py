"""Frames and frame sources: the common shape of video files, image sequences and cameras.

A :class:`FrameSource` is opened (or used as a context manager) and then iterated; every
item is a :class:`Frame` holding an RGB ``uint8`` HWC array. Sizes are ``(width, height)``
in pixels, like OpenCV's ``VideoWriter``. Sources are not thread-safe: one thread iterates a
source at a time (the pipeline's reader / capture thread).

Concrete sources live in :mod:`spikeview.media.video` (files, image sequences) and
:mod:`spikeview.media.webcam` (cameras); :class:`ArraySource` (frames already in memory) is
here because tests, benchmarks and the GUI's preview all need it.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from spikeview.media.convert import to_uint8


@dataclass(frozen=True, eq=False)  # arrays have no single truth value: compare by identity
class Frame:
    """One video frame.

    ``index`` counts frames delivered by the source from 0; ``timestamp_s`` is the
    presentation time in seconds (``index / fps`` for files, time since ``open()`` for live
    sources); ``rgb`` is an RGB ``uint8`` array of shape ``(height, width, 3)``.
    """

    index: int
    timestamp_s: float
    rgb: np.ndarray


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert a gray / RGB / RGBA ``uint8`` or ``uint16`` HWC image to RGB ``uint8`` HWC."""
    image = to_uint8(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    elif image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HWC image with 1, 3 or 4 channels, got shape {image.shape}")
    return np.ascontiguousarray(image)


class FrameSource(ABC):
    """Base class of every frame source.

    Subclasses implement :meth:`_open`, :meth:`_read` and :meth:`_close`, and set
    ``_fps`` / ``_size`` in ``_open``. Iterating an opened source yields :class:`Frame`
    objects until the source ends; errors (truncated file, camera unplugged) are raised as
    :class:`spikeview.errors.VideoError` from the iteration.
    """

    #: True for cameras and streams: frames come at the device's pace whether or not they
    #: are consumed, ``frame_count`` is None and the pipeline drops frames it cannot keep up with.
    is_live: bool = False

    def __init__(self) -> None:
        self._opened = False
        self._fps = 0.0
        self._size: tuple[int, int] = (0, 0)
        self._next_index = 0

    # -- subclass hooks -------------------------------------------------------------
    @abstractmethod
    def _open(self) -> None:
        """Open the underlying resource; set ``self._fps`` and ``self._size``."""

    @abstractmethod
    def _read(self) -> np.ndarray | None:
        """Return the next RGB uint8 HWC frame, or None at the normal end of the source."""

    @abstractmethod
    def _close(self) -> None:
        """Release the underlying resource (called once per successful ``_open``)."""

    def _timestamp(self, index: int) -> float:
        return index / self._fps if self._fps > 0 else 0.0

    # -- public API -----------------------------------------------------------------
    def open(self) -> FrameSource:
        """Open the source (idempotent). Raises :class:`~spikeview.errors.VideoError`."""
        if not self._opened:
            self._next_index = 0
            self._open()
            self._opened = True
        return self

    def close(self) -> None:
        """Release the source (idempotent)."""
        if self._opened:
            self._opened = False
            self._close()

    def __enter__(self) -> FrameSource:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def opened(self) -> bool:
        return self._opened

    @property
    def fps(self) -> float:
        """Nominal frames per second (known after ``open()``)."""
        return self._fps

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the frames in pixels (known after ``open()``)."""
        return self._size

    @property
    def frame_count(self) -> int | None:
        """Number of frames, None when unknown or live."""
        return None

    def read(self) -> Frame | None:
        """Next frame, or None at the end. The source must be open."""
        if not self._opened:
            raise RuntimeError(f"{type(self).__name__} is not open")
        rgb = self._read()
        if rgb is None:
            return None
        index = self._next_index
        self._next_index += 1
        return Frame(index, self._timestamp(index), rgb)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            frame = self.read()
            if frame is None:
                return
            yield frame


@runtime_checkable
class FrameSink(Protocol):
    """Where processed frames go: write frames, then ``commit()`` or ``abort()``."""

    def write(self, rgb: np.ndarray) -> None: ...

    def commit(self) -> object: ...

    def abort(self) -> None: ...


class ArraySource(FrameSource):
    """Frames already in memory (tests, benchmarks, previews).

    ``live=True`` makes it behave like a camera: it paces frames at ``fps`` in real time
    and reports ``is_live``; otherwise it yields all frames as fast as they are consumed.
    """

    def __init__(self, frames: Iterable[np.ndarray], fps: float = 25.0, *, live: bool = False) -> None:
        super().__init__()
        self._frames: Sequence[np.ndarray] = [to_rgb_uint8(np.asarray(f)) for f in frames]
        if not self._frames:
            raise ValueError("ArraySource needs at least one frame")
        shapes = {f.shape for f in self._frames}
        if len(shapes) != 1:
            raise ValueError(f"all frames must have the same shape, got {sorted(shapes)}")
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.is_live = live
        self._nominal_fps = float(fps)
        self._pos = 0
        self._t0 = 0.0

    def _open(self) -> None:
        h, w = self._frames[0].shape[:2]
        self._fps = self._nominal_fps
        self._size = (w, h)
        self._pos = 0
        self._t0 = time.monotonic()

    def _read(self) -> np.ndarray | None:
        if self._pos >= len(self._frames):
            return None
        if self.is_live:
            due = self._t0 + self._pos / self._fps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        frame = self._frames[self._pos]
        self._pos += 1
        return frame

    def _close(self) -> None:
        self._pos = len(self._frames)

    @property
    def frame_count(self) -> int | None:
        return None if self.is_live else len(self._frames)
