"""read_image / read_image_with_alpha / write_image / list_images on real files."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from spikeview import fileio
from spikeview.errors import ImageReadError, ImageWriteError, SpikeViewError
from spikeview.media import images
from spikeview.media.images import (
    IMAGE_EXTENSIONS,
    MAX_PIXELS,
    list_images,
    read_image,
    read_image_with_alpha,
    write_image,
)

H, W = 23, 37  # odd, non-square: catches swapped width/height and layout mistakes


def _rgb8(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _rgb16(h: int = H, w: int = W, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 65536, (h, w, 3), dtype=np.uint16)


def _smooth8(h: int = 64, w: int = 96) -> np.ndarray:
    """A smooth image (JPEG compresses it well, so lossy round trips stay close)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (h + w - 2)], axis=2).astype(np.uint8)


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def _crafted_png(width: int, height: int) -> bytes:
    """A structurally valid RGB PNG whose header claims width x height (tiny IDAT)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


@pytest.fixture
def no_decode(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything gets as far as decoding pixels."""

    def boom(*args, **kwargs):
        raise AssertionError("the image was decoded although its header should have been refused")

    monkeypatch.setattr(images.cv2, "imdecode", boom)


# --------------------------------------------------------------------------- reading


def test_read_8bit_png_is_rgb_hwc_uint8(tmp_path: Path) -> None:
    rgb = _rgb8()
    Image.fromarray(rgb).save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert out.dtype == np.uint8
    assert out.shape == (H, W, 3)
    np.testing.assert_array_equal(out, rgb)  # also checks R and B are not swapped
    assert out.flags.c_contiguous


def test_read_16bit_png_stays_16bit(tmp_path: Path) -> None:
    rgb = _rgb16()
    assert cv2.imwrite(str(tmp_path / "a.png"), rgb[:, :, ::-1])  # OpenCV writes BGR
    out = read_image(str(tmp_path / "a.png"))  # str paths work too
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, rgb)


def test_read_16bit_tiff_stays_16bit(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    rgb = _rgb16(seed=3)
    tifffile.imwrite(tmp_path / "a.tif", rgb, photometric="rgb")
    out = read_image(tmp_path / "a.tif")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out, rgb)


def test_grayscale_becomes_three_identical_channels(tmp_path: Path) -> None:
    gray = _rgb8()[:, :, 0]
    Image.fromarray(gray, mode="L").save(tmp_path / "g.png")
    out = read_image(tmp_path / "g.png")
    assert out.shape == (H, W, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], gray)


def test_grayscale_16bit_png(tmp_path: Path) -> None:
    gray = _rgb16()[:, :, 1]
    assert cv2.imwrite(str(tmp_path / "g16.png"), gray)
    out = read_image(tmp_path / "g16.png")
    assert out.dtype == np.uint16 and out.shape == (H, W, 3)
    np.testing.assert_array_equal(out[:, :, 2], gray)


def test_rgba_png_alpha_dropped_or_returned(tmp_path: Path) -> None:
    rgba = np.dstack([_rgb8(), _rgb8(seed=1)[:, :, 0]])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image(tmp_path / "a.png"), rgba[:, :, :3])
    rgb, alpha = read_image_with_alpha(tmp_path / "a.png")
    np.testing.assert_array_equal(rgb, rgba[:, :, :3])
    assert alpha is not None and alpha.shape == (H, W) and alpha.dtype == np.uint8
    np.testing.assert_array_equal(alpha, rgba[:, :, 3])


def test_alpha_is_none_without_alpha(tmp_path: Path) -> None:
    Image.fromarray(_rgb8()).save(tmp_path / "a.png")
    _, alpha = read_image_with_alpha(tmp_path / "a.png")
    assert alpha is None


def test_rgba_round_trip_through_write_image(tmp_path: Path) -> None:
    rgba = np.dstack([_rgb8(), _rgb8(seed=2)[:, :, 0]])
    Image.fromarray(rgba, mode="RGBA").save(tmp_path / "in.png")
    rgb, alpha = read_image_with_alpha(tmp_path / "in.png")
    for ext in (".png", ".tif", ".webp"):
        out = write_image(tmp_path / f"out{ext}", rgb, alpha)
        with Image.open(out) as im:  # an independent decoder sees the alpha
            assert im.mode == "RGBA"
            back = np.asarray(im)
        np.testing.assert_array_equal(back[:, :, 3], rgba[:, :, 3])
        visible = rgba[:, :, 3] > 0  # lossless WebP may alter fully transparent pixels
        np.testing.assert_array_equal(back[:, :, :3][visible], rgba[:, :, :3][visible])


def test_paletted_png_loads_as_rgb(tmp_path: Path) -> None:
    palette = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
    idx = (np.arange(H * W).reshape(H, W) % 4).astype(np.uint8)
    im = Image.fromarray(idx, mode="P")
    im.putpalette(palette)
    im.save(tmp_path / "p.png")
    out = read_image(tmp_path / "p.png")
    expected = np.array(palette, dtype=np.uint8).reshape(4, 3)[idx]
    np.testing.assert_array_equal(out, expected)


def test_paletted_png_with_transparency(tmp_path: Path) -> None:
    idx = (np.arange(H * W).reshape(H, W) % 2).astype(np.uint8)
    im = Image.fromarray(idx, mode="P")
    im.putpalette([200, 100, 50, 1, 2, 3])
    im.save(tmp_path / "pt.png", transparency=0)
    rgb, alpha = read_image_with_alpha(tmp_path / "pt.png")
    np.testing.assert_array_equal(rgb[idx == 1], np.tile([1, 2, 3], ((idx == 1).sum(), 1)))
    assert alpha is not None
    np.testing.assert_array_equal(alpha, np.where(idx == 0, 0, 255))


def test_la_png_loads_as_rgb_plus_alpha(tmp_path: Path) -> None:
    la = np.dstack([_rgb8()[:, :, 0], _rgb8(seed=5)[:, :, 0]])
    Image.fromarray(la, mode="LA").save(tmp_path / "la.png")
    rgb, alpha = read_image_with_alpha(tmp_path / "la.png")
    assert rgb.shape == (H, W, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], la[:, :, 0])
    np.testing.assert_array_equal(alpha, la[:, :, 1])


def test_cmyk_jpeg_loads_as_correct_rgb(tmp_path: Path) -> None:
    colours = np.array(
        [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [200, 120, 40]], dtype=np.uint8
    )
    rgb = np.repeat(np.repeat(colours[None], 16, axis=0), 16, axis=1)  # 16x96, 16x16 patches
    cmyk = Image.fromarray(rgb).convert("CMYK")
    cmyk.save(tmp_path / "c.jpg", quality=100)
    with Image.open(tmp_path / "c.jpg") as check:
        assert check.mode == "CMYK"  # really a 4-component JPEG
    out = read_image(tmp_path / "c.jpg")
    assert out.shape == rgb.shape and out.dtype == np.uint8
    centres = out[8, 8::16].astype(int)
    np.testing.assert_allclose(centres, colours.astype(int), atol=6)


def test_jpeg_exif_orientation_is_applied(tmp_path: Path) -> None:
    rgb = _smooth8(32, 64)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    Image.fromarray(rgb).save(tmp_path / "o.jpg", quality=95, exif=exif)
    out = read_image(tmp_path / "o.jpg")
    assert out.shape == (64, 32, 3)
    np.testing.assert_allclose(out.astype(int), np.rot90(rgb, k=-1).astype(int), atol=8)


def test_jpeg_with_trailing_bytes_is_accepted(tmp_path: Path) -> None:
    Image.fromarray(_smooth8()).save(tmp_path / "a.jpg", quality=95)
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "b.jpg").write_bytes(data + b"\x00\x00some trailing bytes")
    np.testing.assert_array_equal(read_image(tmp_path / "b.jpg"), read_image(tmp_path / "a.jpg"))


def test_jpeg_with_stray_bytes_between_segments_is_accepted(tmp_path: Path) -> None:
    # libjpeg skips "extraneous bytes before marker" with a warning; the validator must too.
    Image.fromarray(_smooth8()).save(tmp_path / "a.jpg", quality=95)
    data = (tmp_path / "a.jpg").read_bytes()
    i = data.index(b"\xff\xdb")  # first quantisation table
    (tmp_path / "b.jpg").write_bytes(data[:i] + b"\x00junk" + data[i:])
    np.testing.assert_array_equal(read_image(tmp_path / "b.jpg"), read_image(tmp_path / "a.jpg"))


def test_format_comes_from_content_not_extension(tmp_path: Path) -> None:
    rgb = _rgb8()
    Image.fromarray(rgb).save(tmp_path / "really_png.jpg", format="PNG")
    np.testing.assert_array_equal(read_image(tmp_path / "really_png.jpg"), rgb)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".bmp", ".webp"])
def test_header_size_parsed_for_every_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ext: str) -> None:
    path = tmp_path / f"a{ext}"
    Image.fromarray(_rgb8()).save(path)
    monkeypatch.setattr(images, "MAX_PIXELS", W * H)
    assert read_image(path).shape == (H, W, 3)  # exactly at the limit: accepted
    monkeypatch.setattr(images, "MAX_PIXELS", W * H - 1)
    with pytest.raises(ImageReadError, match=rf"{W}x{H}.*limit"):
        read_image(path)


def test_default_pixel_limit() -> None:
    assert MAX_PIXELS == 150_000_000


def test_huge_png_header_refused_without_decoding(tmp_path: Path, no_decode: None) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(_crafted_png(40000, 40000))
    assert path.stat().st_size < 200
    with pytest.raises(ImageReadError, match=r"bomb\.png.*40000x40000.*1600 megapixels.*150 megapixels"):
        read_image(path)


def test_huge_jpeg_header_refused_without_decoding(tmp_path: Path, no_decode: None) -> None:
    Image.fromarray(_smooth8()).save(tmp_path / "a.jpg", quality=90)
    data = bytearray((tmp_path / "a.jpg").read_bytes())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, 60000, 60000)  # height, width
    (tmp_path / "bomb.jpg").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=r"60000x60000"):
        read_image(tmp_path / "bomb.jpg")


def test_zero_size_image(tmp_path: Path, no_decode: None) -> None:
    (tmp_path / "zero.png").write_bytes(_crafted_png(0, 10))
    with pytest.raises(ImageReadError, match=r"zero\.png.*zero size"):
        read_image(tmp_path / "zero.png")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "JPEG-progressive"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_files_are_refused(tmp_path: Path, fmt: str, keep: float) -> None:
    rgb = _rgb8(128, 128)
    full = tmp_path / "full.img"
    if fmt == "PNG":
        Image.fromarray(rgb).save(full, format="PNG")
    else:
        Image.fromarray(rgb).save(full, format="JPEG", quality=90, progressive=fmt.endswith("progressive"))
    read_image(full)  # the complete file is fine
    data = full.read_bytes()
    cut = tmp_path / "cut.img"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ImageReadError, match=r"cut\.img.*truncated"):
        read_image(cut)


def test_png_without_iend_is_truncated(tmp_path: Path) -> None:
    Image.fromarray(_rgb8()).save(tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    assert data.endswith(_png_chunk(b"IEND", b""))
    (tmp_path / "b.png").write_bytes(data[:-12])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(tmp_path / "b.png")


def test_jpeg_without_eoi_is_truncated(tmp_path: Path) -> None:
    Image.fromarray(_smooth8()).save(tmp_path / "a.jpg", quality=90)
    data = (tmp_path / "a.jpg").read_bytes()
    assert data.endswith(b"\xff\xd9")
    (tmp_path / "b.jpg").write_bytes(data[:-2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(tmp_path / "b.jpg")


def test_corrupt_png_data_is_refused(tmp_path: Path) -> None:
    Image.fromarray(_rgb8()).save(tmp_path / "a.png")
    data = bytearray((tmp_path / "a.png").read_bytes())
    data[data.index(b"IDAT") + 20] ^= 0xFF
    (tmp_path / "b.png").write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match=r"b\.png.*corrupt"):
        read_image(tmp_path / "b.png")


@pytest.mark.parametrize("ext", [".tif", ".bmp", ".webp"])
def test_truncated_other_formats(tmp_path: Path, ext: str) -> None:
    Image.fromarray(_rgb8(64, 64)).save(tmp_path / f"a{ext}")
    data = (tmp_path / f"a{ext}").read_bytes()
    (tmp_path / f"b{ext}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="truncated"):
        read_image(tmp_path / f"b{ext}")


def test_random_bytes_with_png_extension(tmp_path: Path) -> None:
    path = tmp_path / "noise.png"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ImageReadError, match=r"noise\.png.*not an image"):
        read_image(path)


def test_random_bytes_after_png_signature(tmp_path: Path) -> None:
    path = tmp_path / "fake.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(ImageReadError, match=r"fake\.png"):
        read_image(path)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty\.jpg.*empty"):
        read_image(tmp_path / "empty.jpg")


def test_text_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not an image\n")
    with pytest.raises(ImageReadError, match=r"notes\.txt.*not an image"):
        read_image(tmp_path / "notes.txt")


def test_unsupported_format(tmp_path: Path) -> None:
    Image.fromarray(_rgb8()).save(tmp_path / "a.gif")
    with pytest.raises(ImageReadError, match="unsupported format"):
        read_image(tmp_path / "a.gif")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match=r"nope\.png.*not found"):
        read_image(tmp_path / "nope.png")


def test_folder(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageReadError, match=r"dir\.png.*folder"):
        read_image(tmp_path / "dir.png")


def test_float_tiff_is_unsupported(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(
        tmp_path / "f.tif", np.random.default_rng(0).random((H, W, 3), dtype=np.float32), photometric="rgb"
    )
    with pytest.raises(ImageReadError, match=r"f\.tif.*unsupported"):
        read_image(tmp_path / "f.tif")


def test_errors_are_one_line_spikeview_errors(tmp_path: Path) -> None:
    (tmp_path / "x.png").write_bytes(b"garbage")
    with pytest.raises(SpikeViewError) as info:
        read_image(tmp_path / "x.png")
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- writing


@pytest.mark.parametrize("ext", [".png", ".tif", ".tiff", ".bmp", ".webp", ".PNG"])
def test_lossless_round_trip_8bit(tmp_path: Path, ext: str) -> None:
    rgb = _rgb8()
    out = write_image(tmp_path / f"o{ext}", rgb)
    assert out == tmp_path / f"o{ext}"
    np.testing.assert_array_equal(read_image(out), rgb)


@pytest.mark.parametrize("ext", [".jpg", ".jpeg"])
def test_jpeg_round_trip_is_close(tmp_path: Path, ext: str) -> None:
    rgb = _smooth8()
    back = read_image(write_image(tmp_path / f"o{ext}", rgb))
    assert back.dtype == np.uint8
    assert np.abs(back.astype(int) - rgb.astype(int)).mean() < 2.0
    with Image.open(tmp_path / f"o{ext}") as im:
        assert im.format == "JPEG"


@pytest.mark.parametrize("ext", [".png", ".tif"])
def test_uint16_kept_for_png_and_tiff(tmp_path: Path, ext: str) -> None:
    rgb = _rgb16()
    back = read_image(write_image(tmp_path / f"o{ext}", rgb))
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, rgb)


@pytest.mark.parametrize("ext", [".bmp", ".webp", ".jpg"])
def test_uint16_rounded_to_8bit_for_other_formats(tmp_path: Path, ext: str) -> None:
    # 32896 = 128 * 257 exactly; 32767 / 257 = 127.5 - epsilon; 65535 -> 255; 129 / 257 -> 1.
    values = np.array([0, 129, 128, 32767, 32896, 65535], dtype=np.uint16)
    expected = np.array([0, 1, 0, 127, 128, 255])
    rgb = np.repeat(np.repeat(values[None, :, None], 3, axis=2), 16, axis=0).repeat(16, axis=1)
    back = read_image(write_image(tmp_path / f"o{ext}", rgb))
    assert back.dtype == np.uint8
    tol = 3 if ext == ".jpg" else 0
    np.testing.assert_allclose(back[8, 8::16, 0].astype(int), expected, atol=tol)


def test_uint16_image_with_uint8_alpha(tmp_path: Path) -> None:
    rgb = _rgb16()
    alpha = np.full((H, W), 255, np.uint8)
    alpha[0, 0] = 0
    back, back_alpha = read_image_with_alpha(write_image(tmp_path / "o.png", rgb, alpha))
    assert back_alpha is not None and back_alpha.dtype == np.uint16
    assert back_alpha[0, 0] == 0 and back_alpha[1, 1] == 65535
    np.testing.assert_array_equal(back, rgb)


def test_alpha_dropped_for_jpeg(tmp_path: Path) -> None:
    _, alpha = read_image_with_alpha(write_image(tmp_path / "o.jpg", _smooth8(), np.zeros((64, 96), np.uint8)))
    assert alpha is None


def test_creates_parent_folders(tmp_path: Path) -> None:
    out = write_image(tmp_path / "a" / "b" / "c.png", _rgb8())
    assert out.is_file()


def test_writing_over_protected_input_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "in" / "rain.png"
    src.parent.mkdir()
    Image.fromarray(_rgb8()).save(src)
    before = src.read_bytes()
    other = _rgb8(seed=9)
    spellings = [src, str(src), tmp_path / "in" / ".." / "in" / "rain.png"]
    for target in spellings:
        with pytest.raises(ImageWriteError, match=r"rain\.png.*input"):
            write_image(target, other, protected=[tmp_path / "x.png", src])
    link = tmp_path / "link.png"
    os.symlink(src, link)
    with pytest.raises(ImageWriteError):
        write_image(link, other, protected=[src])
    hard = tmp_path / "hard.png"
    os.link(src, hard)
    with pytest.raises(ImageWriteError):
        write_image(hard, other, protected=[src])
    with pytest.raises(ImageWriteError):
        write_image(src, other, protected=str(src))  # a single path, not a list
    assert src.read_bytes() == before
    assert sorted(p.name for p in src.parent.iterdir()) == ["rain.png"]


def test_protected_does_not_block_other_files(tmp_path: Path) -> None:
    src = tmp_path / "rain.png"
    Image.fromarray(_rgb8()).save(src)
    out = write_image(tmp_path / "rain_derained.png", _rgb8(seed=1), protected=[src])
    np.testing.assert_array_equal(read_image(out), _rgb8(seed=1))


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "o.png"
    write_image(target, _rgb8())
    write_image(target, _rgb8(seed=1))  # overwrite an existing output
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]
    np.testing.assert_array_equal(read_image(target), _rgb8(seed=1))
    mode = target.stat().st_mode & 0o777
    assert mode & 0o044 == 0o044 & ~fileio._UMASK  # not the 0600 of a raw temp file


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "o.png"
    write_image(target, _rgb8())
    before = target.read_bytes()

    def fail_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(images.os, "replace", fail_replace)
    with pytest.raises(ImageWriteError, match=r"o\.png.*No space left"):
        write_image(target, _rgb8(seed=1))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]


def test_unsupported_extension(tmp_path: Path) -> None:
    with pytest.raises(ImageWriteError, match=r"\.gif"):
        write_image(tmp_path / "o.gif", _rgb8())
    with pytest.raises(ImageWriteError, match="none"):
        write_image(tmp_path / "noext", _rgb8())
    assert list(tmp_path.iterdir()) == []


def test_unwritable_targets(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ImageWriteError, match="folder"):
        write_image(tmp_path / "afile" / "o.png", _rgb8())  # parent is a file
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageWriteError, match="folder"):
        write_image(tmp_path / "dir.png", _rgb8())


def test_bad_arrays_are_programming_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        write_image(tmp_path / "o.png", np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ValueError):
        write_image(tmp_path / "o.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError):
        write_image(tmp_path / "o.png", np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8))


# --------------------------------------------------------------------------- listing


def test_list_images(tmp_path: Path) -> None:
    for rel in [
        "b.png",
        "a.JPG",
        "c.tiff",
        "notes.txt",
        ".hidden.png",
        "sub/d.webp",
        "sub/e.bmp",
        ".cache/f.png",
        "sub/deeper/g.jpeg",
        "sub/.h.png",
        "noext",
    ]:
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    rel = [p.relative_to(tmp_path).as_posix() for p in list_images(tmp_path)]
    assert rel == ["a.JPG", "b.png", "c.tiff", "sub/d.webp", "sub/deeper/g.jpeg", "sub/e.bmp"]
    flat = [p.name for p in list_images(str(tmp_path), recursive=False)]
    assert flat == ["a.JPG", "b.png", "c.tiff"]
    assert all(isinstance(p, Path) for p in list_images(tmp_path))


def test_list_images_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="does not exist"):
        list_images(tmp_path / "missing")
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(ImageReadError, match="not a folder"):
        list_images(tmp_path / "f.png")


def test_image_extensions() -> None:
    assert isinstance(IMAGE_EXTENSIONS, tuple)
    assert {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"} == set(IMAGE_EXTENSIONS)
    assert all(e == e.lower() and e.startswith(".") for e in IMAGE_EXTENSIONS)


# --------------------------------------------------------------------------- robustness


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ImageReadError, match="not a regular file"):
        read_image(tmp_path / "pipe.png")


def test_mangled_files_raise_only_image_read_error(tmp_path: Path) -> None:
    """Random byte changes and cuts of valid files: either a valid RGB image or ImageReadError."""
    rng = np.random.default_rng(1234)
    rgb = _rgb8(24, 32)
    sources = []
    for ext in (".png", ".jpg", ".tif", ".bmp", ".webp"):
        Image.fromarray(rgb).save(tmp_path / f"src{ext}")
        sources.append((ext, (tmp_path / f"src{ext}").read_bytes()))
    outcomes = {"ok": 0, "error": 0}
    for i in range(200):
        ext, data = sources[i % len(sources)]
        buf = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            where = int(rng.integers(0, min(len(buf), 80) if i % 2 else len(buf)))  # favour headers
            buf[where] = int(rng.integers(0, 256))
        if i % 3 == 0:
            buf = buf[: int(rng.integers(1, len(buf)))]
        path = tmp_path / f"m{i}{ext}"
        path.write_bytes(bytes(buf))
        try:
            out = read_image(path)
        except ImageReadError as exc:
            assert "\n" not in str(exc) and path.name in str(exc)
            outcomes["error"] += 1
        else:
            assert out.ndim == 3 and out.shape[2] == 3 and out.dtype in (np.uint8, np.uint16)
            outcomes["ok"] += 1
    assert outcomes["error"] > 50  # the mangling really produced broken files
