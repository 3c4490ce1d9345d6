"""Video files, image sequences, cameras and the atomic video writer, with real encode/decode."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from spikeview.errors import VideoError
from spikeview.media.frames import ArraySource, Frame, FrameSource
from spikeview.media.images import write_image
from spikeview.media.video import AtomicVideoWriter, ImageSequenceSource, VideoFileSource, even_size
from spikeview.media.webcam import CameraSource

W, H, N, FPS = 64, 48, 12, 10.0


def moving_frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    """RGB uint8: dark gradient with a bright bar that moves 5 px per frame."""
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 2] = np.linspace(0, 120, w, dtype=np.uint8)[None, :]
    x = (i * 5) % (w - 8)
    img[:, x : x + 8] = (255, 200, 40)
    return img


def make_video(path: Path, n: int = N, fps: float = FPS, size: tuple[int, int] = (W, H), fourcc: str = "mp4v") -> Path:
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (w, h))
    assert writer.isOpened()
    for i in range(n):
        writer.write(cv2.cvtColor(moving_frame(i, w, h), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_read_back_real_video(tmp_path):
    path = make_video(tmp_path / "clip.mp4")
    src = VideoFileSource(path)
    with src:
        assert src.fps == pytest.approx(FPS)
        assert src.size == (W, H)
        assert src.frame_count == N
        assert not src.is_live
        frames = list(src)
    assert not src.opened
    assert [f.index for f in frames] == list(range(N))
    assert frames[3].timestamp_s == pytest.approx(0.3)
    for f in frames:
        assert isinstance(f, Frame)
        assert f.rgb.dtype == np.uint8 and f.rgb.shape == (H, W, 3)
    # Colours survive as RGB (not BGR): the bar is orange-ish, red > blue.
    bar = frames[0].rgb[H // 2, 4]
    assert int(bar[0]) > 200 and int(bar[2]) < 120
    # The bar moves, so consecutive frames differ.
    assert np.abs(frames[0].rgb.astype(int) - frames[1].rgb.astype(int)).mean() > 5


def test_truncated_mp4_is_a_clear_error(tmp_path):
    path = make_video(tmp_path / "full.mp4")
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(VideoError, match=r"cut\.mp4.*(truncated|corrupt)"), VideoFileSource(cut) as src:
        list(src)


def test_truncated_avi_fails_when_frames_run_out(tmp_path):
    # AVI is readable without its index, so the cut file opens and claims all frames:
    # the shortfall must surface as an error, not as a quietly shorter video.
    path = make_video(tmp_path / "full.avi", fourcc="MJPG")
    data = path.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.85)])
    with pytest.raises(VideoError, match=r"cut\.avi.*(truncated|corrupt)"), VideoFileSource(cut) as src:
        list(src)


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("notes.mp4", b"this is not a video at all\n" * 20, "not a video"),
        ("empty.mp4", b"", "empty"),
    ],
)
def test_non_video_files(tmp_path, name, content, why):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(VideoError, match=why):
        VideoFileSource(path).open()


def test_image_file_is_not_a_video(tmp_path):
    # FFmpeg would open a PNG as a one-frame "video"; a still image is refused by name.
    path = write_image(tmp_path / "still.png", moving_frame(0))
    with pytest.raises(VideoError, match="PNG image, not a video"):
        VideoFileSource(path).open()


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(VideoError, match="not found"):
        VideoFileSource(tmp_path / "nope.mp4").open()
    with pytest.raises(VideoError, match="folder"):
        VideoFileSource(tmp_path).open()


def test_atomic_writer_commit_round_trip(tmp_path):
    out = tmp_path / "sub" / "out.mp4"
    with AtomicVideoWriter(out, FPS, (W, H)) as sink:
        for i in range(N):
            sink.write(moving_frame(i))
        tmp = sink.temp_path
        assert tmp is not None and tmp.parent == out.parent and tmp.suffix == ".mp4"
        assert not out.exists()  # nothing under the final name before commit
        assert sink.commit() == out
    assert out.exists() and not tmp.exists()
    assert [p.name for p in out.parent.iterdir()] == ["out.mp4"]
    with VideoFileSource(out) as src:
        assert (src.size, src.frame_count, src.fps) == ((W, H), N, pytest.approx(FPS))
        first = next(iter(src)).rgb
    # mp4v is lossy; the content must still be close.
    assert np.abs(first.astype(int) - moving_frame(0).astype(int)).mean() < 12


def test_atomic_writer_abort_and_exception_leave_nothing(tmp_path):
    out = tmp_path / "aborted.mp4"
    sink = AtomicVideoWriter(out, FPS, (W, H))
    for i in range(5):
        sink.write(moving_frame(i))
    sink.abort()
    assert list(tmp_path.iterdir()) == []

    with pytest.raises(RuntimeError, match="boom"), AtomicVideoWriter(out, FPS, (W, H)) as sink:
        sink.write(moving_frame(0))
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []

    with AtomicVideoWriter(out, FPS, (W, H)) as sink:  # leaving without commit = abort
        sink.write(moving_frame(0))
    assert list(tmp_path.iterdir()) == []


def test_atomic_writer_keeps_old_file_until_commit(tmp_path):
    out = make_video(tmp_path / "existing.mp4", n=3)
    before = out.read_bytes()
    with AtomicVideoWriter(out, FPS, (W, H)) as sink:
        sink.write(moving_frame(0))
        sink.abort()
    assert out.read_bytes() == before


def test_atomic_writer_refuses_inputs_and_bad_frames(tmp_path):
    src = make_video(tmp_path / "in.mp4", n=2)
    with pytest.raises(VideoError, match="input file"):
        AtomicVideoWriter(tmp_path / "." / "in.mp4", FPS, (W, H), protected=[src])
    sink = AtomicVideoWriter(tmp_path / "o.mp4", FPS, (W, H))
    with pytest.raises(ValueError, match="shape"):
        sink.write(np.zeros((H, W + 2, 3), np.uint8))
    with pytest.raises(TypeError):
        sink.write(np.zeros((H, W, 3), np.float32))
    with pytest.raises(VideoError, match="no frames"):
        sink.commit()
    assert not (tmp_path / "o.mp4").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_atomic_writer_pads_odd_sizes(tmp_path):
    assert even_size((63, 47)) == (64, 48)
    out = tmp_path / "odd.mp4"
    frame = np.full((47, 63, 3), 200, np.uint8)
    with AtomicVideoWriter(out, FPS, (63, 47)) as sink:
        for _ in range(3):
            sink.write(frame)
        sink.commit()
    with VideoFileSource(out) as src:
        assert src.size == (64, 48)  # nothing cropped away by the encoder
        assert src.frame_count == 3


def test_image_sequence_source(tmp_path):
    folder = tmp_path / "seq"
    for i in range(5):
        write_image(folder / f"f{i:03d}.png", moving_frame(i))
    src = ImageSequenceSource(folder, fps=12.5)
    with src:
        assert (src.size, src.fps, src.frame_count) == ((W, H), 12.5, 5)
        frames = list(src)
    assert len(frames) == 5
    np.testing.assert_array_equal(frames[2].rgb, moving_frame(2))  # PNG is lossless

    write_image(folder / "f999.png", np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(VideoError, match=r"f999\.png is 10x10"), ImageSequenceSource(folder) as src:
        list(src)
    (tmp_path / "empty").mkdir()
    with pytest.raises(VideoError, match="no image files"):
        ImageSequenceSource(tmp_path / "empty").open()
    with pytest.raises(VideoError, match="does not exist"):
        ImageSequenceSource(tmp_path / "missing").open()


def test_image_sequence_from_list_with_16bit(tmp_path):
    a = write_image(tmp_path / "a.png", (moving_frame(0).astype(np.uint16) * 257))
    b = write_image(tmp_path / "b.png", moving_frame(1))
    with ImageSequenceSource([a, b], fps=5) as src:
        frames = list(src)
    assert frames[0].rgb.dtype == np.uint8
    np.testing.assert_array_equal(frames[0].rgb, moving_frame(0))


def test_no_camera_is_a_clear_error():
    # No machine has 98 cameras: the message must say so in words.
    with pytest.raises(VideoError, match="no camera at index 97"):
        CameraSource(97).open()
    with pytest.raises(VideoError, match="no camera at index 97"):
        CameraSource("97").open()


def test_camera_disconnect_raises_or_ends(tmp_path):
    # OpenCV opens a video file like a capture device; when it runs out, reads fail like
    # an unplugged camera's.
    path = make_video(tmp_path / "cam.mp4", n=6)
    cam = CameraSource(str(path), max_failures=3, retry_delay_s=0.0)
    assert cam.is_live and cam.frame_count is None
    with pytest.raises(VideoError, match="disconnected after 6 frames"), cam:
        for _ in cam:
            pass
    assert cam.disconnected and not cam.opened

    cam = CameraSource(str(path), max_failures=2, retry_delay_s=0.0, on_disconnect="end")
    with cam:
        frames = list(cam)
        assert cam.size == (W, H)
    assert len(frames) == 6 and cam.disconnected
    assert frames[-1].timestamp_s >= frames[0].timestamp_s >= 0.0


def test_array_source_and_protocol():
    frames = [moving_frame(i) for i in range(4)]
    src = ArraySource(frames, fps=8)
    assert isinstance(src, FrameSource)
    with pytest.raises(RuntimeError):
        src.read()
    with src:
        got = list(src)
        assert src.frame_count == 4 and src.size == (W, H)
    assert [f.index for f in got] == [0, 1, 2, 3]
    assert ArraySource(frames, live=True).frame_count is None
