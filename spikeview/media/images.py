"""Reading, writing and listing image files.

Arrays at this boundary are RGB, layout HWC, dtype ``uint8`` or ``uint16`` (16-bit files
stay 16-bit). Grayscale becomes three identical channels. :func:`read_image` drops alpha;
:func:`read_image_with_alpha` returns it separately so :func:`write_image` can put it back.

Reading is defensive because files come from users:

- the format is recognised from the file's first bytes (not its extension) and must be
  PNG, JPEG, TIFF, BMP or WebP;
- width and height are parsed from the header *before* decoding, so a file claiming more
  than :data:`MAX_PIXELS` pixels (a decompression bomb) is refused without allocating;
- the file structure is validated before decoding, which is how truncation and corruption
  are detected independently of the OpenCV version (older OpenCV/libjpeg silently
  fill a cut JPEG with grey): PNG chunks must all be complete with correct CRCs and end
  with ``IEND``; a JPEG's marker segments and entropy-coded data must be complete up to
  ``EOI``; TIFF strips/tiles, BMP pixel data and the WebP RIFF container must lie inside
  the file.

EXIF orientation is applied to JPEGs (where cameras set it); other formats are returned
as stored. Every failure a user can cause raises :class:`~spikeview.errors.ImageReadError`
or :class:`~spikeview.errors.ImageWriteError` with a one-line message naming the file.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from spikeview.errors import ImageReadError, ImageWriteError
from spikeview.fileio import write_bytes_atomic
from spikeview.media.convert import to_uint8

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "list_images",
    "read_image",
    "read_image_with_alpha",
    "write_image",
]

log = logging.getLogger(__name__)

#: File extensions (lower case, with the dot) that are read, written and listed.
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")

#: Largest image (width x height) :func:`read_image` accepts. Read at call time, so it
#: can be changed at runtime (``spikeview.media.images.MAX_PIXELS = ...``).
MAX_PIXELS: int = 150_000_000

_FORMAT_NAMES = "PNG, JPEG, TIFF, BMP or WebP"
# Formats able to store 16 bits per channel / an alpha channel, when written by OpenCV.
_SIXTEEN_BIT_EXTS = frozenset({".png", ".tif", ".tiff"})
_ALPHA_EXTS = frozenset({".png", ".tif", ".tiff", ".webp"})


class _BadFile(Exception):
    """Internal: the file's structure is invalid; the message says why."""


@dataclass(frozen=True)
class _Header:
    format: str  # "PNG", "JPEG", ...
    width: int
    height: int


# --------------------------------------------------------------------------- header checks


def _u16be(data: bytes, pos: int) -> int:
    return struct.unpack_from(">H", data, pos)[0]


def _check_png(data: bytes) -> _Header:
    if len(data) < 8 + 25:
        raise _BadFile("truncated PNG file")
    view = memoryview(data)
    pos = 8
    width = height = None
    seen_idat = False
    while True:
        if pos + 12 > len(data):
            raise _BadFile("truncated PNG file (no IEND chunk)")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise _BadFile(f"truncated PNG file (chunk {ctype!r} is cut off)")
        body = view[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", data, pos + 8 + length)
        if zlib.crc32(body, zlib.crc32(ctype)) != crc:
            raise _BadFile(f"corrupt PNG file (bad checksum in chunk {ctype.decode('latin-1')!r})")
        if width is None:
            if ctype != b"IHDR" or length != 13:
                raise _BadFile("corrupt PNG file (first chunk is not IHDR)")
            width, height = struct.unpack_from(">II", body, 0)
        elif ctype == b"IDAT":
            seen_idat = True
        elif ctype == b"IEND":
            break
        pos = end
    if not seen_idat:
        raise _BadFile("corrupt PNG file (no image data)")
    return _Header("PNG", width, height)


# A marker inside JPEG entropy-coded data: 0xFF followed by neither a stuffed zero, a
# restart marker RST0-7 nor another (fill) 0xFF.
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
# Start-of-frame markers (C4 = DHT, C8 = JPG extension, CC = DAC are not frames).
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _check_jpeg(data: bytes) -> _Header:
    size = len(data)
    pos = 2  # after SOI
    width = height = None
    while True:
        if pos < size and data[pos] != 0xFF:
            # Stray bytes between segments: libjpeg skips them with a warning, so do we.
            pos = data.find(b"\xff", pos)
            if pos < 0:
                pos = size
        # Skip fill bytes in front of a marker.
        while pos + 1 < size and data[pos + 1] == 0xFF:
            pos += 1
        if pos + 2 > size:
            raise _BadFile("truncated JPEG file (no end-of-image marker)")
        marker = data[pos + 1]
        pos += 2
        if marker == 0xD9:  # EOI
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # segments without a length
            continue
        if pos + 2 > size:
            raise _BadFile("truncated JPEG file")
        length = _u16be(data, pos)
        if length < 2:
            raise _BadFile("corrupt JPEG file (bad segment length)")
        if pos + length > size:
            raise _BadFile("truncated JPEG file")
        if marker in _JPEG_SOF and width is None:
            if length < 8:
                raise _BadFile("corrupt JPEG file (bad frame header)")
            height, width = struct.unpack_from(">HH", data, pos + 3)
        pos += length
        if marker == 0xDA:  # SOS: entropy-coded data follows, up to the next real marker
            if width is None:
                raise _BadFile("corrupt JPEG file (scan before frame header)")
            m = _JPEG_MARKER.search(data, pos)
            if m is None:
                raise _BadFile("truncated JPEG file (image data is cut off)")
            pos = m.start()
    if width is None:
        raise _BadFile("corrupt JPEG file (no frame header)")
    return _Header("JPEG", width, height)


_TIFF_TYPES = {1: "B", 3: "H", 4: "I", 16: "Q"}  # BYTE, SHORT, LONG, LONG8 (BigTIFF only)


def _check_tiff(data: bytes) -> _Header:
    bo = "<" if data[:2] == b"II" else ">"
    size = len(data)
    if size < 8:
        raise _BadFile("truncated TIFF file")
    (magic,) = struct.unpack_from(bo + "H", data, 2)
    if magic == 43:
        raise _BadFile("BigTIFF files are not supported")
    (ifd,) = struct.unpack_from(bo + "I", data, 4)
    if ifd < 8 or ifd + 2 > size:
        raise _BadFile("truncated or corrupt TIFF file (directory outside the file)")
    (count,) = struct.unpack_from(bo + "H", data, ifd)
    if ifd + 2 + 12 * count > size:
        raise _BadFile("truncated TIFF file (directory is cut off)")
    tags: dict[int, np.ndarray] = {}
    for i in range(count):
        tag, typ, n = struct.unpack_from(bo + "HHI", data, ifd + 2 + 12 * i)
        code = _TIFF_TYPES.get(typ)
        if code is None or code == "Q":
            continue  # a type we do not need (rationals, ASCII...)
        itemsize = struct.calcsize(code)
        where = ifd + 2 + 12 * i + 8
        if n * itemsize > 4:
            (where,) = struct.unpack_from(bo + "I", data, where)
        if where + n * itemsize > size:
            raise _BadFile("truncated TIFF file (tag data outside the file)")
        tags[tag] = np.frombuffer(data, dtype=np.dtype(bo + code), count=n, offset=where)
    try:
        width, height = int(tags[256][0]), int(tags[257][0])
    except (KeyError, IndexError):
        raise _BadFile("corrupt TIFF file (no image size)") from None
    for offsets_tag, counts_tag in ((273, 279), (324, 325)):
        offsets, counts = tags.get(offsets_tag), tags.get(counts_tag)
        if (
            offsets is not None
            and counts is not None
            and len(offsets) == len(counts) > 0
            and int((offsets.astype(np.int64) + counts.astype(np.int64)).max()) > size
        ):
            raise _BadFile("truncated TIFF file (image data is cut off)")
    if 273 not in tags and 324 not in tags:
        raise _BadFile("corrupt TIFF file (no image data)")
    return _Header("TIFF", width, height)


def _check_bmp(data: bytes) -> _Header:
    size = len(data)
    if size < 26:
        raise _BadFile("truncated BMP file")
    (offset, dib_size) = struct.unpack_from("<II", data, 10)
    if dib_size == 12:  # OS/2 BITMAPCOREHEADER
        width, height, _planes, bpp = struct.unpack_from("<HHHH", data, 18)
        compression, image_size = 0, 0
    else:
        if size < 14 + 40 or dib_size < 40:
            raise _BadFile("truncated or corrupt BMP file")
        width, height, _planes, bpp, compression, image_size = struct.unpack_from("<iiHHII", data, 18)
    height = abs(height)  # negative height = rows stored top-down
    if width < 0:
        raise _BadFile("corrupt BMP file (negative width)")
    if compression in (0, 3, 6):  # uncompressed (optionally with bit masks)
        needed = offset + ((width * bpp + 31) // 32) * 4 * height
    else:  # RLE etc.: trust the stored data size
        needed = offset + image_size
    if needed > size:
        raise _BadFile("truncated BMP file (image data is cut off)")
    return _Header("BMP", width, height)


def _check_webp(data: bytes) -> _Header:
    size = len(data)
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if 8 + riff_size > size or size < 30:
        raise _BadFile("truncated WebP file")
    chunk = data[12:16]
    body = 20
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[body + 4 : body + 7], "little")
        height = 1 + int.from_bytes(data[body + 7 : body + 10], "little")
    elif chunk == b"VP8L":
        if data[body] != 0x2F:
            raise _BadFile("corrupt WebP file")
        (bits,) = struct.unpack_from("<I", data, body + 1)
        width, height = 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    elif chunk == b"VP8 ":
        if data[body + 3 : body + 6] != b"\x9d\x01\x2a":
            raise _BadFile("corrupt WebP file")
        w, h = struct.unpack_from("<HH", data, body + 6)
        width, height = w & 0x3FFF, h & 0x3FFF
    else:
        raise _BadFile("corrupt or unsupported WebP file")
    return _Header("WebP", width, height)


def _checker_for(head: bytes) -> Callable[[bytes], _Header] | None:
    """The structure checker for the format recognised from the first 12+ bytes, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _check_png
    if head.startswith(b"\xff\xd8\xff"):
        return _check_jpeg
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return _check_tiff
    if head.startswith(b"BM"):
        return _check_bmp
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return _check_webp
    return None


def _check_structure(data: bytes) -> _Header:
    """Recognise the format from the first bytes, validate the structure, return the size."""
    checker = _checker_for(data[:16])
    if checker is None:
        raise _BadFile(f"not an image file, or an unsupported format (supported: {_FORMAT_NAMES})")
    try:
        return checker(data)
    except (struct.error, IndexError) as exc:  # a field read past the end of the file
        raise _BadFile("truncated or corrupt image file") from exc


# --------------------------------------------------------------------------- reading


def _decode(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read and validate ``path``; return (RGB HWC, alpha HW or None), same dtype."""
    where = f"Cannot read image {path}"
    try:
        if path.is_dir():
            raise ImageReadError(f"{where}: it is a folder, not a file")
        if path.exists() and not path.is_file():
            raise ImageReadError(f"{where}: not a regular file")
        with path.open("rb") as fh:
            # Look at the signature first, so a large non-image file is not read entirely.
            head = fh.read(16)
            if head and _checker_for(head) is None:
                raise ImageReadError(
                    f"{where}: not an image file, or an unsupported format (supported: {_FORMAT_NAMES})"
                )
            data = head + fh.read()
    except FileNotFoundError:
        raise ImageReadError(f"{where}: file not found") from None
    except PermissionError:
        raise ImageReadError(f"{where}: permission denied") from None
    except OSError as exc:
        raise ImageReadError(f"{where}: {exc.strerror or exc}") from None
    if not data:
        raise ImageReadError(f"{where}: the file is empty")
    try:
        header = _check_structure(data)
    except _BadFile as exc:
        raise ImageReadError(f"{where}: {exc}") from None
    if header.width <= 0 or header.height <= 0:
        raise ImageReadError(f"{where}: image has zero size ({header.width}x{header.height})")
    pixels = header.width * header.height
    if pixels > MAX_PIXELS:
        raise ImageReadError(
            f"{where}: image is {header.width}x{header.height} ({pixels / 1e6:.0f} megapixels), "
            f"above the limit of {MAX_PIXELS / 1e6:.0f} megapixels"
        )

    # JPEG has no alpha: IMREAD_COLOR applies EXIF orientation and converts CMYK/YCCK and
    # grayscale to BGR. Other formats: IMREAD_UNCHANGED keeps 16 bits and alpha.
    flags = cv2.IMREAD_COLOR if header.format == "JPEG" else cv2.IMREAD_UNCHANGED
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "decoder error"
        raise ImageReadError(f"{where}: corrupt {header.format} file ({msg})") from None
    if img is None or img.size == 0:
        raise ImageReadError(f"{where}: corrupt or unsupported {header.format} file (decoding failed)")
    if img.shape[0] * img.shape[1] > MAX_PIXELS:  # in case the decoder disagrees with the header
        raise ImageReadError(f"{where}: image is {img.shape[1]}x{img.shape[0]}, above the pixel limit")
    if img.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(
            f"{where}: unsupported sample type {img.dtype} (only 8- and 16-bit integer images are supported)"
        )

    if img.ndim == 2:
        img = img[:, :, None]
    channels = img.shape[2]
    alpha = None
    # cv2.cvtColor is much faster than a numpy channel flip + copy on large images.
    if channels == 1:
        rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif channels == 2:  # gray + alpha
        rgb = cv2.cvtColor(np.ascontiguousarray(img[:, :, 0]), cv2.COLOR_GRAY2RGB)
        alpha = np.ascontiguousarray(img[:, :, 1])
    elif channels == 3:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    elif channels == 4:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
        alpha = np.ascontiguousarray(img[:, :, 3])
    else:
        raise ImageReadError(f"{where}: unsupported image with {channels} channels")
    return rgb, alpha


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as an RGB HWC array, ``uint8`` or ``uint16``.

    16-bit files stay ``uint16``; grayscale becomes three identical channels; paletted
    images are expanded; CMYK JPEGs are converted to RGB; alpha is dropped (see
    :func:`read_image_with_alpha`).

    Raises:
        ImageReadError: missing file, a folder, empty, not an image or an unsupported
            format, truncated or corrupt, zero-size, above :data:`MAX_PIXELS` pixels, or
            an unsupported sample type (e.g. float TIFF).
    """
    return _decode(Path(path))[0]


def read_image_with_alpha(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray | None]:
    """Like :func:`read_image`, plus the alpha channel (HW, same dtype as the image).

    Alpha is ``None`` when the file has none. Pass it to :func:`write_image` to keep it.
    """
    return _decode(Path(path))


# --------------------------------------------------------------------------- writing


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)  # also catches hard links
        return os.path.normcase(a.resolve()) == os.path.normcase(b.resolve())
    except OSError:
        return False


def _match_dtype(alpha: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if alpha.dtype == dtype:
        return alpha
    if dtype == np.uint8:
        return to_uint8(alpha)
    return alpha.astype(np.uint16) * np.uint16(257)  # uint8 -> uint16, 255 -> 65535


def write_image(
    path: str | os.PathLike[str],
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    *,
    protected: Iterable[str | os.PathLike[str]] = (),
    jpeg_quality: int = 95,
) -> Path:
    """Write an RGB HWC ``uint8``/``uint16`` image atomically; return the path written.

    The format comes from the extension (one of :data:`IMAGE_EXTENSIONS`, any case).
    ``uint16`` is kept for PNG and TIFF and converted to 8 bits (rounded) for JPEG, BMP
    and WebP. ``alpha`` (HW, ``uint8``/``uint16``) is written for PNG, TIFF and WebP and
    dropped for JPEG and BMP. WebP is written lossless (libwebp may change the colour of
    fully transparent pixels, which is invisible). Parent folders are created.

    The image is encoded in memory, written to a hidden temporary file in the target
    folder and moved into place with :func:`os.replace`, so the target is either the old
    file or the complete new one, and no temporary file is left behind on error.

    Raises:
        ImageWriteError: the target is the same file as a path in ``protected`` (inputs
            are never overwritten), the extension is not supported, or the file cannot be
            written (permissions, full disk, target is a folder...).
        ValueError / TypeError: ``rgb`` or ``alpha`` has the wrong shape or dtype (a bug).
    """
    target = Path(path)
    where = f"Cannot write image {target}"
    rgb = np.asarray(rgb)
    if rgb.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"write_image expects uint8 or uint16, got {rgb.dtype}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"write_image expects an RGB array of shape (H, W, 3), got {rgb.shape}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.ndim == 3 and alpha.shape[2] == 1:
            alpha = alpha[:, :, 0]
        if alpha.shape != rgb.shape[:2]:
            raise ValueError(f"alpha has shape {alpha.shape}, expected {rgb.shape[:2]}")
        if alpha.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"alpha must be uint8 or uint16, got {alpha.dtype}")

    ext = target.suffix.lower()
    if ext not in IMAGE_EXTENSIONS:
        supported = ", ".join(IMAGE_EXTENSIONS)
        raise ImageWriteError(f"{where}: unsupported extension {ext or '(none)'!r} (use one of {supported})")
    if isinstance(protected, (str, os.PathLike)):  # a single path, not an iterable of characters
        protected = [protected]
    for p in protected:
        if _same_file(target, Path(p)):
            raise ImageWriteError(f"{where}: it is an input file and would be overwritten")
    if target.is_dir():
        raise ImageWriteError(f"{where}: it is a folder")

    if ext not in _SIXTEEN_BIT_EXTS:
        rgb = to_uint8(rgb)
    if alpha is not None and ext not in _ALPHA_EXTS:
        log.debug("%s cannot hold alpha; dropping it for %s", ext, target)
        alpha = None
    if alpha is None:
        bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    else:
        bgr = cv2.merge([rgb[:, :, 2], rgb[:, :, 1], rgb[:, :, 0], _match_dtype(alpha, rgb.dtype)])
    params: list[int] = []
    if ext in (".jpg", ".jpeg"):
        params = [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
    elif ext == ".webp":
        params = [cv2.IMWRITE_WEBP_QUALITY, 101]  # > 100 means lossless
    try:
        ok, encoded = cv2.imencode(ext, bgr, params)
    except cv2.error as exc:
        raise ImageWriteError(f"{where}: encoder error ({str(exc).strip().splitlines()[-1]})") from None
    if not ok:
        raise ImageWriteError(f"{where}: the {ext} encoder failed")

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ImageWriteError(f"{where}: cannot create folder {target.parent} ({exc.strerror or exc})") from None
    try:
        write_bytes_atomic(target, encoded.tobytes())
    except OSError as exc:
        raise ImageWriteError(f"{where}: {exc.strerror or exc}") from None
    return target


# --------------------------------------------------------------------------- listing


def list_images(folder: str | os.PathLike[str], recursive: bool = True) -> list[Path]:
    """Image files in ``folder`` (and its sub-folders if ``recursive``), sorted by path.

    Files are recognised by extension (:data:`IMAGE_EXTENSIONS`, any case). Hidden files
    and hidden folders (name starting with ``.``) are skipped.

    Raises:
        ImageReadError: ``folder`` does not exist or is not a folder.
    """
    root = Path(folder)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise ImageReadError(f"Cannot list images in {root}: it {what}")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")] if recursive else []
        for name in filenames:
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
                found.append(Path(dirpath, name))
    return sorted(found)
