"""Video files in and out: :class:`VideoFileSource`, :class:`ImageSequenceSource` and
:class:`AtomicVideoWriter` (numpy + OpenCV only).

Frames are RGB ``uint8`` HWC arrays, sizes are ``(width, height)``. Reading goes through
OpenCV's FFmpeg backend. A file that cannot be opened, decodes no frame, or ends well before
the frame count its container announces (truncated download, cut copy) raises
:class:`~spikeview.errors.VideoError` with a one-line message naming the file.

Writing is atomic like every output of SpikeView: frames go to a hidden temporary file in
the target folder (same extension, because OpenCV picks the container from it) that is
renamed onto the target only by :meth:`AtomicVideoWriter.commit`. ``abort()``, an
exception inside ``with``, or leaving ``with`` without ``commit()`` delete the temporary
file, so a half-written video never appears under the final name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np

from spikeview.errors import ImageReadError, VideoError
from spikeview.media.frames import FrameSource, to_rgb_uint8

__all__ = [
    "VIDEO_EXTENSIONS",
    "VIDEO_OUTPUT_EXTENSIONS",
    "AtomicVideoWriter",
    "ImageSequenceSource",
    "VideoFileSource",
    "default_codec",
    "even_size",
]

log = logging.getLogger(__name__)

#: Extensions offered in file dialogs and accepted by ``spikeview video`` without a warning.
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv")

#: Extensions :class:`AtomicVideoWriter` can write with :func:`default_codec` (checked with
#: the OpenCV wheel's FFmpeg; H.264 needs an encoder most wheels lack, so MPEG-4 Part 2).
VIDEO_OUTPUT_EXTENSIONS: tuple[str, ...] = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")


def default_codec(path: str | os.PathLike[str]) -> str:
    """Four-character code that OpenCV's FFmpeg can write into ``path``'s container."""
    return "VP80" if Path(path).suffix.lower() == ".webm" else "mp4v"


# Same permissions as any file the user creates (mkstemp makes 0600 files).
_UMASK = os.umask(0)
os.umask(_UMASK)


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())
    except OSError:
        return False


_STILL_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"BM", "a BMP image"),
)


def _still_image_kind(path: Path) -> str | None:
    """Name of the still-image format ``path`` starts with (FFmpeg would open it as a
    one-frame video), or None. Animated GIFs are left to FFmpeg on purpose."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(16)
    except OSError:
        return None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "a WebP image"
    for magic, kind in _STILL_IMAGE_MAGIC:
        if head.startswith(magic):
            return kind
    return None


def even_size(size: tuple[int, int]) -> tuple[int, int]:
    """``(width, height)`` rounded up to even numbers (what MPEG-4 / H.264 can encode)."""
    w, h = size
    return w + (w & 1), h + (h & 1)


# --------------------------------------------------------------------------- reading


class VideoFileSource(FrameSource):
    """Frames of a video file, decoded with OpenCV/FFmpeg.

    ``open()`` checks the file and decodes the first frame, so an unreadable file fails
    there rather than in the middle of a job. ``size`` is the size of the decoded frames
    (after any rotation the file asks for). ``frame_count`` is what the container reports
    (None if it does not say).

    Truncation check: if decoding stops more than ``max(1, 2 %)`` of the frames before the
    announced count, iteration raises :class:`VideoError` instead of ending quietly (the
    small tolerance is for containers that only estimate the count from the duration).
    """

    is_live = False

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._cap: cv2.VideoCapture | None = None
        self._count: int | None = None
        self._pending: np.ndarray | None = None
        self._decoded = 0

    def _fail(self, why: str) -> VideoError:
        return VideoError(f"Cannot read video {self.path}: {why}")

    def _open(self) -> None:
        path = self.path
        if not path.exists():
            raise self._fail("file not found")
        if path.is_dir():
            raise self._fail("it is a folder, not a file")
        if not os.access(path, os.R_OK):
            raise self._fail("permission denied")
        if path.stat().st_size == 0:
            raise self._fail("the file is empty")
        still = _still_image_kind(path)
        if still:
            raise self._fail(f"it is {still}, not a video (restore it with 'spikeview derain')")
        cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            cap.release()
            raise self._fail("not a video file, or truncated/corrupt (FFmpeg cannot open it)")
        try:
            ok, bgr = cap.read()
            if not ok or bgr is None or bgr.size == 0:
                raise self._fail("no frame can be decoded (truncated or corrupt file)")
            fps = cap.get(cv2.CAP_PROP_FPS)
            count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        except BaseException:
            cap.release()
            raise
        self._cap = cap
        self._pending = to_rgb_uint8(bgr[..., ::-1])
        self._decoded = 1
        h, w = self._pending.shape[:2]
        self._size = (w, h)
        if not (fps and np.isfinite(fps) and 0 < fps < 1000):
            log.warning("%s does not state a usable frame rate (%r); assuming 25 fps", path, fps)
            fps = 25.0
        self._fps = float(fps)
        self._count = round(count) if count and np.isfinite(count) and count > 0 else None

    def _read(self) -> np.ndarray | None:
        if self._pending is not None:
            rgb, self._pending = self._pending, None
            return rgb
        assert self._cap is not None
        try:
            ok, bgr = self._cap.read()
        except cv2.error as exc:
            raise self._fail(f"decoder error after {self._decoded} frames ({exc})") from None
        if not ok or bgr is None:
            if self._count is not None:
                missing = self._count - self._decoded
                if missing > max(1, round(0.02 * self._count)):
                    raise self._fail(
                        f"decoding stopped after {self._decoded} of {self._count} frames "
                        "(the file is truncated or corrupt)"
                    )
            return None
        self._decoded += 1
        return to_rgb_uint8(bgr[..., ::-1])

    def _close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        self._pending = None

    @property
    def frame_count(self) -> int | None:
        return self._count


class ImageSequenceSource(FrameSource):
    """A folder (sorted, recursive) or an explicit list of image files played as a video.

    Images are read with :func:`spikeview.media.images.read_image`; 16-bit images are
    rounded to 8 bits, alpha is dropped. Every image must have the size of the first one;
    a different size or an unreadable image raises :class:`VideoError` naming the file.
    """

    is_live = False

    def __init__(
        self,
        folder_or_files: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        fps: float = 25.0,
        *,
        recursive: bool = True,
    ) -> None:
        super().__init__()
        if fps <= 0:
            raise ValueError("fps must be positive")
        self._nominal_fps = float(fps)
        self._spec = folder_or_files
        self._recursive = recursive
        self._files: Sequence[Path] = []
        self._pos = 0
        self._pending: np.ndarray | None = None

    def _list(self) -> list[Path]:
        from spikeview.media.images import list_images

        spec = self._spec
        if isinstance(spec, (str, os.PathLike)):
            try:
                return list_images(spec, recursive=self._recursive)
            except ImageReadError as exc:
                raise VideoError(str(exc)) from None
        return [Path(p) for p in spec]

    def _load(self, path: Path) -> np.ndarray:
        from spikeview.media.images import read_image

        try:
            return to_rgb_uint8(read_image(path))
        except ImageReadError as exc:
            raise VideoError(f"Image sequence: {exc}") from None

    def _open(self) -> None:
        self._files = self._list()
        if not self._files:
            raise VideoError(f"Cannot read image sequence {self._spec}: no image files found")
        self._pending = self._load(self._files[0])
        h, w = self._pending.shape[:2]
        self._size = (w, h)
        self._fps = self._nominal_fps
        self._pos = 1

    def _read(self) -> np.ndarray | None:
        if self._pending is not None:
            rgb, self._pending = self._pending, None
            return rgb
        if self._pos >= len(self._files):
            return None
        path = self._files[self._pos]
        self._pos += 1
        rgb = self._load(path)
        if (rgb.shape[1], rgb.shape[0]) != self._size:
            w, h = self._size
            raise VideoError(f"Image sequence: {path} is {rgb.shape[1]}x{rgb.shape[0]} but the sequence is {w}x{h}")
        return rgb

    def _close(self) -> None:
        self._pending = None

    @property
    def frame_count(self) -> int | None:
        return len(self._files) if self._opened else None


# --------------------------------------------------------------------------- writing


class AtomicVideoWriter:
    """Write RGB ``uint8`` frames to a video file that appears only on :meth:`commit`.

    ``size`` is ``(width, height)`` of the frames passed to :meth:`write`. Odd widths or
    heights are padded by one replicated column/row (MPEG-4 and H.264 encoders silently
    crop odd sizes), so the file's size is :func:`even_size` of ``size``.

    ``protected`` lists input paths the target must not be (raises :class:`VideoError`).
    Use as a context manager; leaving it without ``commit()`` aborts::

        with AtomicVideoWriter(out, fps, (w, h)) as sink:
            for rgb in frames:
                sink.write(rgb)
            sink.commit()
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float,
        size: tuple[int, int],
        codec: str = "mp4v",
        *,
        protected: Iterable[str | os.PathLike[str]] = (),
    ) -> None:
        self.path = Path(path)
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.encoded_size = even_size(self.size)
        self.codec = codec
        self.frames_written = 0
        self._writer: cv2.VideoWriter | None = None
        self._tmp: Path | None = None
        self._done = False
        where = f"Cannot write video {self.path}"
        if self.size[0] <= 0 or self.size[1] <= 0:
            raise ValueError(f"invalid frame size {self.size}")
        if not (0 < self.fps < 1000):
            raise ValueError(f"invalid fps {fps}")
        if len(codec) != 4:
            raise VideoError(f"{where}: codec must be a four-character code like 'mp4v', got {codec!r}")
        for p in protected:
            if _same_file(self.path, Path(p)):
                raise VideoError(f"{where}: it is an input file and would be overwritten")
        if self.path.is_dir():
            raise VideoError(f"{where}: it is a folder")
        if not self.path.suffix:
            raise VideoError(f"{where}: the file name needs an extension such as .mp4")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{self.path.stem}.", suffix=f".part{self.path.suffix}", dir=self.path.parent
            )
            os.close(fd)
        except OSError as exc:
            raise VideoError(f"{where}: {exc.strerror or exc}") from None
        self._tmp = Path(tmp)
        writer = cv2.VideoWriter(
            str(self._tmp), cv2.CAP_FFMPEG, cv2.VideoWriter_fourcc(*codec), self.fps, self.encoded_size
        )
        if not writer.isOpened():
            writer.release()
            self._remove_tmp()
            raise VideoError(
                f"{where}: OpenCV cannot encode codec {codec!r} into a {self.path.suffix} file on this machine"
            )
        self._writer = writer

    @property
    def temp_path(self) -> Path | None:
        """The hidden file being written (None after commit/abort)."""
        return self._tmp

    def write(self, rgb: np.ndarray) -> None:
        """Append one RGB ``uint8`` (H, W, 3) frame of exactly ``size``."""
        if self._writer is None:
            raise RuntimeError("AtomicVideoWriter is closed")
        rgb = np.asarray(rgb)
        w, h = self.size
        if rgb.dtype != np.uint8:
            raise TypeError(f"video frames must be uint8, got {rgb.dtype}")
        if rgb.shape != (h, w, 3):
            raise ValueError(f"frame has shape {rgb.shape}, the video expects {(h, w, 3)}")
        ew, eh = self.encoded_size
        if (ew, eh) != (w, h):
            rgb = np.pad(rgb, ((0, eh - h), (0, ew - w), (0, 0)), mode="edge")
        self._writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
        self.frames_written += 1

    def commit(self) -> Path:
        """Finish the file and move it onto the target; return the target path."""
        if self._done:
            raise RuntimeError("AtomicVideoWriter already committed or aborted")
        assert self._writer is not None and self._tmp is not None
        where = f"Cannot write video {self.path}"
        try:
            self._writer.release()
            self._writer = None
            if self.frames_written == 0:
                raise VideoError(f"{where}: no frames to write")
            if not self._tmp.exists() or self._tmp.stat().st_size == 0:
                raise VideoError(f"{where}: the encoder produced no data (disk full?)")
            os.chmod(self._tmp, 0o666 & ~_UMASK)
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self.abort()
            raise VideoError(f"{where}: {exc.strerror or exc}") from None
        except BaseException:
            self.abort()
            raise
        self._tmp = None
        self._done = True
        return self.path

    def abort(self) -> None:
        """Drop everything written so far (idempotent; safe after commit)."""
        if self._writer is not None:
            with contextlib.suppress(cv2.error):
                self._writer.release()
            self._writer = None
        self._remove_tmp()
        self._done = True

    def _remove_tmp(self) -> None:
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.unlink()
            self._tmp = None

    def __enter__(self) -> AtomicVideoWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._done:
            self.abort()

    def __del__(self) -> None:
        # Last resort (e.g. a worker thread died): never leave a hidden .part file behind.
        with contextlib.suppress(Exception):
            if not self._done:
                self.abort()
