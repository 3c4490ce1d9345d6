"""The video pipeline on real video files and on a fake camera (no timed assertions)."""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest

from spikeview.errors import VideoError
from spikeview.inference.pipeline import (
    FrameResult,
    LatestMailbox,
    VideoPipeline,
    measure_video_fps,
    output_size,
    run_pipeline,
    synthetic_frames,
)
from spikeview.media.frames import ArraySource, FrameSource
from spikeview.media.video import VideoFileSource
from spikeview.progress import Cancelled, CancelToken

W, H, N, FPS = 64, 48, 12, 10.0


def moving_frame(i: int, w: int = W, h: int = H) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 1] = np.linspace(0, 100, w, dtype=np.uint8)[None, :]
    x = (i * 5) % (w - 8)
    img[:, x : x + 8] = (250, 220, 30)
    return img


def make_video(path: Path, n: int = N, fps: float = FPS) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (W, H))
    assert writer.isOpened()
    for i in range(n):
        writer.write(cv2.cvtColor(moving_frame(i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def read_all(path: Path) -> tuple[VideoFileSource, list[np.ndarray]]:
    src = VideoFileSource(path)
    with src:
        frames = [f.rgb for f in src]
    return src, frames


def pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("spikeview-")]


class Invert:
    """A restorer that inverts colours and remembers the sizes it was given."""

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def restore(self, image: np.ndarray) -> np.ndarray:
        self.shapes.append(image.shape)
        return 255 - image


class FakeCamera(FrameSource):
    """Behaves like a device: frames come at its own pace (``interval_s``) whether or not
    anybody consumes them; after ``disconnect_after`` frames reads fail with the error a
    real unplugged camera gives. Tracks which of its frames are still alive in memory."""

    is_live = True

    def __init__(
        self,
        frames: int = 60,
        interval_s: float = 0.002,
        disconnect_after: int | None = None,
        freeze_after: int | None = None,
    ) -> None:
        super().__init__()
        self.freeze_after = freeze_after  # then reads block (a driver that hangs when unplugged)
        self.unfreeze = threading.Event()
        self.frames = frames
        self.interval_s = interval_s
        self.disconnect_after = disconnect_after
        self.produced = 0
        self.ended = False
        self.closed = False
        self.disconnected = False
        self.alive = 0  # frames produced and not yet garbage-collected
        self.cond = threading.Condition()

    def _open(self) -> None:
        self._fps = 1.0 / self.interval_s
        self._size = (W, H)

    def _read(self) -> np.ndarray | None:
        if self.disconnect_after is not None and self.produced >= self.disconnect_after:
            self.disconnected = True
            self._finish()
            raise VideoError(f"camera 0 disconnected after {self.produced} frames")
        if self.freeze_after is not None and self.produced >= self.freeze_after:
            self.unfreeze.wait(30)
            self._finish()
            return None
        if self.produced >= self.frames:
            self._finish()
            return None
        time.sleep(self.interval_s)
        frame = moving_frame(self.produced)
        with self.cond:
            self.alive += 1
        weakref.finalize(frame, self._freed)
        with self.cond:
            self.produced += 1
            self.cond.notify_all()
        return frame

    def _freed(self) -> None:
        with self.cond:
            self.alive -= 1

    def _finish(self) -> None:
        with self.cond:
            self.ended = True
            self.cond.notify_all()

    def _close(self) -> None:
        self.closed = True

    def wait_for(self, n: int) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.produced >= n or self.ended, timeout=10)


class SlowerThanCamera:
    """Restorer that finishes a frame only after the camera delivered 3 more: the camera
    always outruns it, without depending on timing."""

    def __init__(self, cam: FakeCamera) -> None:
        self.cam = cam
        self.max_alive = 0

    def restore(self, image: np.ndarray) -> np.ndarray:
        self.max_alive = max(self.max_alive, self.cam.alive)
        self.cam.wait_for(self.cam.produced + 3)
        return 255 - image


# ---------------------------------------------------------------------------- file sources


def test_file_pipeline_inverts_every_frame_in_order(tmp_path):
    src_path = make_video(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    results: list[FrameResult] = []
    progress: list[tuple[int, int]] = []
    summary = run_pipeline(
        VideoFileSource(src_path),
        Invert(),
        output=out,
        on_frame=results.append,
        progress=lambda done, total, msg: progress.append((done, total)),
    )
    assert summary.output == out and summary.frames_processed == summary.frames_written == N
    assert summary.dropped == 0 and not summary.stopped
    assert [r.index for r in results] == list(range(N))
    assert progress[-1] == (N, N)
    np.testing.assert_array_equal(results[4].output, 255 - results[4].input)

    _, frames_in = read_all(src_path)
    written, frames_out = read_all(out)
    assert (written.fps, written.size, written.frame_count) == (pytest.approx(FPS), (W, H), N)
    assert len(frames_out) == N
    for a, b in zip(frames_in, frames_out, strict=True):
        assert np.abs((255 - a.astype(int)) - b.astype(int)).mean() < 12  # inverted (lossy codec)
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 60  # and so clearly changed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]
    assert pipeline_threads() == []


def test_cancel_midway_leaves_no_output(tmp_path):
    src_path = make_video(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    token = CancelToken()
    seen = []

    def on_frame(result: FrameResult) -> None:
        seen.append(result.index)
        if result.index == 4:
            token.cancel()

    source = VideoFileSource(src_path)
    with pytest.raises(Cancelled):
        run_pipeline(source, Invert(), output=out, on_frame=on_frame, cancel=token)
    assert seen == [0, 1, 2, 3, 4]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]  # no output, no temp file
    assert not source.opened
    assert pipeline_threads() == []


def test_restorer_error_aborts_output(tmp_path):
    src_path = make_video(tmp_path / "in.mp4")

    class Breaks:
        calls = 0

        def restore(self, image):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("model exploded")
            return image

    with pytest.raises(RuntimeError, match="exploded"):
        run_pipeline(VideoFileSource(src_path), Breaks(), output=tmp_path / "out.mp4")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    assert pipeline_threads() == []


def test_sink_error_aborts_and_propagates(tmp_path):
    class BadSink:
        aborted = committed = False
        n = 0

        def write(self, rgb):
            self.n += 1
            if self.n == 2:
                raise OSError("disk full")

        def commit(self):
            self.committed = True

        def abort(self):
            self.aborted = True

    sink = BadSink()
    frames = [moving_frame(i) for i in range(30)]
    with pytest.raises(OSError, match="disk full"):
        run_pipeline(ArraySource(frames), Invert(), sink_factory=lambda fps, size: sink, queue_size=1)
    assert sink.aborted and not sink.committed
    assert pipeline_threads() == []


def test_truncated_input_is_an_error_with_no_output(tmp_path):
    # AVI opens without its index, so the cut shows up as frames running out mid-way.
    full = tmp_path / "full.avi"
    cv2_writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (W, H))
    for i in range(N):
        cv2_writer.write(moving_frame(i))
    cv2_writer.release()
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.85)])
    with pytest.raises(VideoError, match="truncated"):
        run_pipeline(VideoFileSource(cut), Invert(), output=tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    assert not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_output_never_overwrites_input(tmp_path):
    src_path = make_video(tmp_path / "in.mp4")
    before = src_path.read_bytes()
    with pytest.raises(VideoError, match="input file"):
        run_pipeline(VideoFileSource(src_path), Invert(), output=src_path)
    assert src_path.read_bytes() == before


def test_side_by_side_doubles_width(tmp_path):
    src_path = make_video(tmp_path / "in.mp4", n=4)
    out = tmp_path / "sbs.mp4"
    summary = run_pipeline(VideoFileSource(src_path), Invert(), output=out, side_by_side=True)
    assert summary.frames_written == 4
    assert output_size((W, H), True) == (2 * W, H)
    written, frames = read_all(out)
    assert written.size == (2 * W, H) and written.frame_count == 4
    left, right = frames[1][:, :W].astype(int), frames[1][:, W:].astype(int)
    assert np.abs((255 - left) - right).mean() < 15  # input | inverted input


def test_side_by_side_with_odd_width_is_padded_not_cropped(tmp_path):
    frames = [moving_frame(i, 33, 21) for i in range(3)]
    out = tmp_path / "odd.mp4"
    run_pipeline(ArraySource(frames, fps=5), Invert(), output=out, side_by_side=True)
    written, decoded = read_all(out)
    assert written.size == (66, 22)  # 2 x 33 is even; the odd height gets one padded row
    assert len(decoded) == 3


def test_reduce_to_restores_small_and_returns_full_size(tmp_path):
    src_path = make_video(tmp_path / "in.mp4", n=3)
    inv = Invert()
    results = []
    run_pipeline(VideoFileSource(src_path), inv, output=tmp_path / "out.mp4", reduce_to=32, on_frame=results.append)
    assert inv.shapes == [(24, 32, 3)] * 3  # longer side 64 -> 32, aspect kept
    assert all(r.output.shape == (H, W, 3) and r.input.shape == (H, W, 3) for r in results)
    written, _ = read_all(tmp_path / "out.mp4")
    assert written.size == (W, H)
    # No reduction when the frame is already small enough.
    inv2 = Invert()
    run_pipeline(ArraySource([moving_frame(0)]), inv2, reduce_to=100)
    assert inv2.shapes == [(H, W, 3)]


def test_carry_state_is_set_for_the_run_and_restored():
    class Stateful:
        def __init__(self) -> None:
            self.carry_state = False
            self.resets = 0
            self.seen: list[bool] = []

        def reset_state(self) -> None:
            self.resets += 1

        def restore(self, image, *, cancel=None, progress=None):
            self.seen.append(self.carry_state)
            assert cancel is not None  # passed because the signature accepts it
            return image

    r = Stateful()
    run_pipeline(ArraySource([moving_frame(i) for i in range(3)]), r, carry_state=True)
    assert r.seen == [True, True, True] and r.carry_state is False and r.resets == 1


# ---------------------------------------------------------------------------- live sources


def test_live_latest_frame_wins_drops_and_stays_bounded(tmp_path):
    cam = FakeCamera(frames=60)
    slow = SlowerThanCamera(cam)
    seen: list[tuple[int, int]] = []  # (index, dropped_so_far); keeping frames would defeat the memory check
    out = tmp_path / "rec.mp4"
    summary = run_pipeline(cam, slow, output=out, on_frame=lambda r: seen.append((r.index, r.dropped_so_far)))
    assert cam.closed
    assert summary.dropped > 0
    # Every produced frame was either processed or dropped, none queued and lost.
    assert summary.frames_processed + summary.dropped == cam.produced == 60
    indices = [i for i, _ in seen]
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert max(b - a for a, b in itertools.pairwise(indices)) > 1  # it skipped ahead
    drops = [d for _, d in seen]
    assert drops == sorted(drops)
    # Memory bounded: a handful of frames alive at any time, not the backlog (~45 here).
    assert slow.max_alive <= 6
    # Normal end of a live source commits the recording; dropped frames are filled with
    # the previous restored frame, so it has the camera's frame count (real-time playback).
    _, frames = read_all(out)
    assert len(frames) == summary.frames_written == 60
    assert pipeline_threads() == []


def test_live_disconnect_is_a_clear_error_and_shuts_down_cleanly(tmp_path):
    cam = FakeCamera(frames=100, disconnect_after=8)
    results = []
    out = tmp_path / "rec.mp4"
    with pytest.raises(VideoError, match="disconnected after 8 frames"):
        run_pipeline(cam, Invert(), output=out, on_frame=results.append)
    assert cam.closed and cam.disconnected
    assert 1 <= len(results) <= 8
    assert list(tmp_path.iterdir()) == []  # recording aborted, no temp file left
    assert pipeline_threads() == []


def test_live_stop_and_max_frames_commit(tmp_path):
    cam = FakeCamera(frames=10_000)
    out = tmp_path / "rec.mp4"
    summary = run_pipeline(cam, Invert(), output=out, max_frames=5)
    assert summary.stopped and summary.frames_processed == 5
    assert len(read_all(out)[1]) == 5
    assert cam.closed and cam.produced < 10_000

    cam = FakeCamera(frames=10_000)
    pipe = VideoPipeline(cam, Invert(), on_frame=lambda r: pipe.stop() if r.index >= 2 else None)
    summary = pipe.run()
    assert summary.stopped and summary.frames_processed >= 1 and cam.closed
    assert pipeline_threads() == []


def test_live_cancel_from_another_thread(tmp_path):
    cam = FakeCamera(frames=10_000)
    out = tmp_path / "rec.mp4"
    pipe = VideoPipeline(cam, Invert(), output=out)
    started = threading.Event()
    pipe.on_frame = lambda r: started.set()
    errors = []

    def worker():  # how the GUI runs it: a worker thread, cancel from the UI thread
        try:
            pipe.run()
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=worker)
    t.start()
    assert started.wait(10)
    pipe.cancel()
    t.join(10)
    assert not t.is_alive() and len(errors) == 1 and isinstance(errors[0], Cancelled)
    assert list(tmp_path.iterdir()) == []
    assert pipeline_threads() == []


# ---------------------------------------------------------------------------- real model


@pytest.fixture(scope="module")
def tiny_restorer():
    torch = pytest.importorskip("torch")
    from spikeview.archs import build_arch
    from spikeview.inference.restorer import Restorer

    # One intra-op thread: on a shared 2-core machine two spinning torch threads are
    # ~10x slower than one, and these tests check behaviour, not speed.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    kwargs = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 2}
    yield Restorer.from_model(build_arch("esdnet", **kwargs), "esdnet", arch_kwargs=kwargs, device="cpu")
    torch.set_num_threads(threads)


def test_real_restorer_with_carry_state_and_firing_rates(tmp_path, tiny_restorer):
    frames = synthetic_frames((32, 24), 3)
    results: list[FrameResult] = []
    out = tmp_path / "out.mp4"
    summary = run_pipeline(
        ArraySource(frames, fps=5), tiny_restorer, output=out, carry_state=True, on_frame=results.append
    )
    assert summary.frames_written == 3 and tiny_restorer.carry_state is False
    stats = results[-1].stats
    assert stats.firing_rates and all(0.0 <= v <= 1.0 for v in stats.firing_rates.values())
    assert stats.model_ms is not None and stats.ms >= stats.model_ms
    assert results[0].output.shape == (24, 32, 3) and results[0].output.dtype == np.uint8
    assert read_all(out)[0].frame_count == 3


def test_measure_video_fps(tiny_restorer):
    report = measure_video_fps(tiny_restorer, size=(32, 24), frames=3)
    assert report["size"] == [32, 24] and report["frames"] == 3
    assert report["median_ms"] > 0 and report["restore_fps"] > 0 and report["pipeline_fps"] > 0
    frames = synthetic_frames((40, 30), 4)
    assert frames[0].shape == (30, 40, 3) and not np.array_equal(frames[0], frames[1])


def test_latest_mailbox_keeps_only_the_newest():
    box = LatestMailbox()
    assert box.take() is None
    assert box.put(1) is True  # empty: the consumer needs a wake-up
    assert box.put(2) is False  # already signalled
    assert box.take() == 2 and box.replaced == 1
    assert box.take() is None and box.put(3) is True


def test_real_camera_class_through_the_live_path(tmp_path):
    from spikeview.media.webcam import CameraSource

    clip = make_video(tmp_path / "stream.mp4", n=8)
    cam = CameraSource(str(clip), max_failures=2, retry_delay_s=0.0, on_disconnect="end")
    seen = []
    summary = run_pipeline(cam, Invert(), output=tmp_path / "rec.mp4", on_frame=lambda r: seen.append(r.index))
    assert summary.disconnected and not summary.stopped
    assert summary.frames_processed + summary.dropped == 8 == len(seen) + summary.dropped
    assert len(read_all(tmp_path / "rec.mp4")[1]) == summary.frames_written == 8
    assert pipeline_threads() == []


def test_live_frames_dropped_before_the_first_restore_are_filled_too(tmp_path):
    # The main loop is held at its "starting" progress report until the camera has sent
    # every frame, so all but the newest are dropped before anything is restored; the
    # recording still has the camera's frame count (the first picture held).
    cam = FakeCamera(frames=6, interval_s=0.02)

    def progress(done, total, message):
        if done == 0:
            with cam.cond:
                cam.cond.wait_for(lambda: cam.ended, timeout=10)

    out = tmp_path / "rec.mp4"
    summary = run_pipeline(cam, Invert(), output=out, progress=progress)
    assert summary.dropped == 5 and summary.frames_processed == 1
    _, frames = read_all(out)
    assert len(frames) == summary.frames_written == cam.produced == 6
    assert pipeline_threads() == []


def test_live_recording_without_fill_has_only_restored_frames(tmp_path):
    cam = FakeCamera(frames=30)
    out = tmp_path / "rec.mp4"
    summary = run_pipeline(cam, SlowerThanCamera(cam), output=out, fill_dropped=False)
    assert summary.dropped > 0 and summary.frames_written == summary.frames_processed < 30
    assert len(read_all(out)[1]) == summary.frames_processed


@pytest.mark.parametrize("on_disconnect", ["raise", "end"])
def test_live_frozen_camera_is_detected(tmp_path, on_disconnect):
    cam = FakeCamera(frames=100, freeze_after=3)
    cam.on_disconnect = on_disconnect  # what CameraSource(on_disconnect=...) sets
    out = tmp_path / "rec.mp4"
    try:
        if on_disconnect == "raise":
            with pytest.raises(VideoError, match="no frame for"):
                run_pipeline(cam, Invert(), output=out, stall_timeout_s=0.3)
            assert list(tmp_path.iterdir()) == []
        else:
            summary = run_pipeline(cam, Invert(), output=out, stall_timeout_s=0.3)
            assert summary.disconnected and summary.frames_processed >= 1
            assert len(read_all(out)[1]) == summary.frames_written
    finally:
        cam.unfreeze.set()  # let the stuck "driver" call return
    for t in pipeline_threads():
        t.join(5)
    assert pipeline_threads() == []


def test_stop_before_the_first_frame_is_a_cancel(tmp_path):
    pipe = VideoPipeline(FakeCamera(frames=100), Invert(), output=tmp_path / "rec.mp4")
    pipe.stop()
    with pytest.raises(Cancelled):
        pipe.run()
    assert list(tmp_path.iterdir()) == []
