"""Video pipeline: frame source → restorer → video sink, on worker threads (no Qt).

Two regimes, chosen by ``source.is_live``:

- **File sources** (video files, image sequences): lossless and in order. A reader thread
  decodes into a bounded queue, the thread that called :meth:`VideoPipeline.run` restores,
  a writer thread encodes from a second bounded queue. Nothing is dropped; a slow stage
  just makes the others wait, so memory stays bounded.
- **Live sources** (cameras): latest frame wins. A capture thread reads the camera as fast
  as it delivers and keeps only the newest frame in a one-slot mailbox; when the restorer
  is slower than the camera the older frame is replaced and counted in ``dropped``.
  Frames are never queued without bound, and what is shown is never more than one frame
  old.

Results: ``on_frame(FrameResult)`` is called for every restored frame, from the thread
running :meth:`VideoPipeline.run`, in order. ``progress(done, total, message)`` follows the
project convention (``total`` is 0 when unknown / live).

Ending a run:

- end of the source, ``max_frames`` reached or :meth:`VideoPipeline.stop` (graceful, meant
  for live sources): the output is committed.
- :class:`~spikeview.progress.CancelToken` cancelled: raises
  :class:`~spikeview.progress.Cancelled`; any error (including a camera that disconnects
  with ``on_disconnect="raise"``): re-raised. In both cases the sink is aborted (no output
  file appears) and all threads are joined before :meth:`run` returns or raises.

Options: ``reduce_to`` (restore at a reduced size whose longer side is that many pixels,
then upscale back, so outputs always have the input size), ``side_by_side`` (write
``input | output`` concatenated horizontally), ``carry_state`` (keep LIF membrane state
between consecutive frames; set on the restorer for the run, restored afterwards).

Driving it from a GUI: build the pipeline in the GUI thread, call :meth:`VideoPipeline.run`
in a worker thread (``QThread``), and in ``on_frame`` hand results over with a
:class:`LatestMailbox` plus a queued signal emitted only when ``put`` returns True; the GUI
thread ``take()``-s and paints. Stop / cancel with :meth:`VideoPipeline.stop` /
:meth:`VideoPipeline.cancel` from any thread. ``run`` raises
:class:`~spikeview.errors.SpikeViewError` subclasses for user errors (show them),
:class:`~spikeview.progress.Cancelled` on cancel (ignore).
"""

from __future__ import annotations

import inspect
import logging
import os
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from spikeview.errors import VideoError
from spikeview.media.frames import ArraySource, Frame, FrameSink, FrameSource
from spikeview.progress import Cancelled, CancelToken, ProgressCallback, check_cancel, report

__all__ = [
    "FrameResult",
    "FrameStats",
    "LatestMailbox",
    "PipelineSummary",
    "SupportsRestore",
    "VideoPipeline",
    "measure_video_fps",
    "output_size",
    "run_pipeline",
    "synthetic_frames",
]

log = logging.getLogger(__name__)

_POLL_S = 0.05  # how often blocked threads look at the stop / cancel flags
_JOIN_TIMEOUT_S = 10.0


class SupportsRestore(Protocol):
    """What the pipeline needs from a restorer (``spikeview.inference.restorer.Restorer``).

    ``restore`` takes an RGB uint8 HWC array and returns either an array of the same
    shape/dtype or an object with ``.image`` and optionally ``.stats`` (``.ms``,
    ``.firing_rates``, ``.energy``). ``cancel`` / ``progress`` keyword arguments are passed
    only if the method accepts them; ``carry_state`` / ``reset_state()`` are used if present.
    """

    def restore(self, image: np.ndarray, /) -> Any: ...


@dataclass(frozen=True)
class FrameStats:
    """Statistics of one restored frame.

    ``ms``: wall time of the restore call (including ``reduce_to`` resizing);
    ``model_ms``: the restorer's own timing if it reports one; ``fps``: processed frames
    per second over the last ~2 s (what a live view should display); ``firing_rates``:
    layer name → mean spike rate in [0, 1] (empty for ANNs or plain restorers);
    ``energy``: the restorer's EnergyReport or None; ``run_stats``: the raw stats object.
    """

    ms: float
    fps: float
    model_ms: float | None = None
    firing_rates: dict[str, float] = field(default_factory=dict)
    energy: Any = None
    run_stats: Any = None

    @property
    def mean_firing_rate(self) -> float | None:
        if not self.firing_rates:
            return None
        return float(sum(self.firing_rates.values()) / len(self.firing_rates))


@dataclass(frozen=True, eq=False)
class FrameResult:
    """One restored frame as delivered to ``on_frame``.

    ``input`` / ``output`` are RGB uint8 HWC arrays of the same (full) size; ``written`` is
    what went to the sink (``output``, or ``input | output`` when side by side).
    ``dropped_so_far`` counts live frames skipped before this one (always 0 for files).
    """

    index: int
    timestamp_s: float
    input: np.ndarray
    output: np.ndarray
    stats: FrameStats
    dropped_so_far: int
    total: int | None = None

    @property
    def written(self) -> np.ndarray:  # computed lazily: the GUI rarely needs it
        return _concat_side_by_side(self.input, self.output)


@dataclass
class PipelineSummary:
    """What a finished run did. ``output`` is the committed file (None without one)."""

    frames_read: int = 0
    frames_processed: int = 0
    frames_written: int = 0
    dropped: int = 0
    elapsed_s: float = 0.0
    median_ms: float | None = None
    fps: float = 0.0
    output: Path | None = None
    stopped: bool = False
    disconnected: bool = False
    ms_per_frame: list[float] = field(default_factory=list, repr=False)


def output_size(input_size: tuple[int, int], side_by_side: bool) -> tuple[int, int]:
    """``(width, height)`` of written frames for an input of ``input_size``."""
    w, h = input_size
    return (2 * w, h) if side_by_side else (w, h)


def _concat_side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.concatenate([left, right], axis=1))


def _reduced_size(w: int, h: int, reduce_to: int) -> tuple[int, int]:
    scale = reduce_to / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


class _Restore:
    """Adapts any restorer to ``(rgb) -> (rgb, stats_or_None)`` with reduce_to applied.

    Keyword arguments (``cancel``, ``recorder``, ``energy``) are passed only if the
    restorer's ``restore`` accepts them. With a recorder, per-frame firing rates are the
    difference of its cumulative counts before and after the call (a recorder the GUI
    keeps across frames accumulates; the figures shown must be this frame's).
    """

    def __init__(
        self,
        restorer: SupportsRestore,
        reduce_to: int | None,
        cancel: CancelToken | None,
        *,
        recorder: Any = None,
        energy: bool = False,
    ) -> None:
        self.restorer = restorer
        self.reduce_to = reduce_to
        try:
            params = inspect.signature(restorer.restore).parameters
        except (TypeError, ValueError):
            params = {}
        accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())

        def accepts(name: str) -> bool:
            return name in params or accepts_any

        kwargs: dict[str, Any] = {}
        if cancel is not None and accepts("cancel"):
            kwargs["cancel"] = cancel
        if energy and accepts("energy"):
            kwargs["energy"] = True
        self.recorder = recorder if recorder is not None and accepts("recorder") else None
        if self.recorder is not None:
            kwargs["recorder"] = self.recorder
        self.kwargs = kwargs

    def _counts(self) -> tuple[dict[str, int], dict[str, int]]:
        return self.recorder.spike_counts(), self.recorder.element_counts()

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, Any]:
        import cv2

        h, w = rgb.shape[:2]
        small = rgb
        if self.reduce_to is not None and max(w, h) > self.reduce_to:
            small = cv2.resize(rgb, _reduced_size(w, h, self.reduce_to), interpolation=cv2.INTER_AREA)
        before = self._counts() if self.recorder is not None else None
        result = self.restorer.restore(small, **self.kwargs)
        if isinstance(result, np.ndarray):
            out, stats = result, None
        else:
            out, stats = np.asarray(result.image), getattr(result, "stats", None)
        if before is not None and stats is not None and hasattr(stats, "firing_rates"):
            spikes, elements = self._counts()
            stats.firing_rates = {
                name: (spikes[name] - before[0].get(name, 0)) / max(elements[name] - before[1].get(name, 0), 1)
                for name in spikes
                if elements[name] > before[1].get(name, 0)
            }
        if out.dtype != np.uint8:
            from spikeview.media.convert import to_uint8

            out = to_uint8(out)
        if out.shape[:2] != (h, w):
            out = cv2.resize(out, (w, h), interpolation=cv2.INTER_CUBIC)
        if out.shape != rgb.shape:
            raise ValueError(f"restorer returned shape {out.shape} for an input of shape {rgb.shape}")
        return np.ascontiguousarray(out), stats


class _LatestSlot:
    """One-frame mailbox: ``put`` replaces an unconsumed frame (and counts it as dropped)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Frame | None = None
        self._closed = False
        self.dropped = 0
        self.last_put = time.monotonic()  # when the source last delivered (stall watchdog)

    def put(self, frame: Frame) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = frame
            self.last_put = time.monotonic()
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def get(self, timeout: float) -> Frame | type[StopIteration] | None:
        """The newest frame; None on timeout; ``StopIteration`` when closed and empty."""
        with self._cond:
            if self._item is None and not self._closed:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            if item is None and self._closed:
                return StopIteration
            return item


class LatestMailbox:
    """Thread-safe one-item hand-over that keeps only the newest item.

    For GUIs: call :meth:`put` from ``on_frame`` (worker thread) and emit a wake-up signal
    only when it returns True (the box was empty); the GUI thread calls :meth:`take` and
    paints what it gets. However slow painting is, at most one result waits, so Qt's event
    queue never fills with frames. ``replaced`` counts results never taken (display drops).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._item: Any = None
        self._full = False
        self.replaced = 0

    def put(self, item: Any) -> bool:
        with self._lock:
            was_empty = not self._full
            if self._full:
                self.replaced += 1
            self._item, self._full = item, True
            return was_empty

    def take(self) -> Any:
        """The newest item, or None if nothing arrived since the last take."""
        with self._lock:
            item, self._item, self._full = self._item, None, False
            return item


class _End:
    """Queue sentinel: the producer finished (``error`` set if it failed)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class VideoPipeline:
    """Run ``source`` through ``restorer`` into an optional video file (see module docstring).

    ``output``: path of the video to write (None = only deliver results), written with
    :class:`~spikeview.media.video.AtomicVideoWriter` (``codec``, ``protected``) at the
    source's fps and :func:`output_size`; or pass ``sink_factory(fps, size) -> FrameSink``
    for another sink. ``max_frames``: stop (gracefully) after that many restored frames.
    ``queue_size``: bound of the file-mode queues and of the writer queue.
    ``fill_dropped`` (live sources with an output): write the previous restored frame
    again for every dropped camera frame, so the recording plays at the camera's pace
    (False: only restored frames are written and the recording plays faster).
    ``stall_timeout_s`` (live sources): a camera whose driver blocks instead of failing
    when unplugged is treated as disconnected after that many seconds without a frame
    (raises :class:`~spikeview.errors.VideoError`, or ends the run if the source was made
    with ``on_disconnect="end"``; ``summary.disconnected`` is True either way).

    Activity: ``record_activity=True`` (default) attaches a
    :class:`~spikeview.recording.ActivityRecorder` to spiking models so every frame's stats
    carry per-layer firing rates; pass your own ``recorder`` (e.g. the GUI's, to also get
    spike rasters over frames) to use it instead. ``energy=True`` asks the restorer for an
    energy estimate per frame.

    The pipeline opens the source if it is not open and always closes it at the end.
    One pipeline runs once.
    """

    def __init__(
        self,
        source: FrameSource,
        restorer: SupportsRestore,
        *,
        output: str | os.PathLike[str] | None = None,
        codec: str = "mp4v",
        protected: Iterable[str | os.PathLike[str]] = (),
        sink_factory: Callable[[float, tuple[int, int]], FrameSink] | None = None,
        reduce_to: int | None = None,
        side_by_side: bool = False,
        carry_state: bool | None = None,
        on_frame: Callable[[FrameResult], None] | None = None,
        progress: ProgressCallback | None = None,
        cancel: CancelToken | None = None,
        max_frames: int | None = None,
        queue_size: int = 4,
        fill_dropped: bool = True,
        stall_timeout_s: float | None = 10.0,
        record_activity: bool = True,
        recorder: Any = None,
        energy: bool = False,
    ) -> None:
        if reduce_to is not None and reduce_to < 8:
            raise ValueError("reduce_to must be at least 8 pixels")
        if queue_size < 1:
            raise ValueError("queue_size must be >= 1")
        if output is not None and sink_factory is not None:
            raise ValueError("pass either output or sink_factory, not both")
        self.source = source
        self.restorer = restorer
        self.output = Path(output) if output is not None else None
        self.codec = codec
        self.protected = list(protected)
        self.sink_factory = sink_factory
        self.reduce_to = reduce_to
        self.side_by_side = side_by_side
        self.carry_state = carry_state
        self.on_frame = on_frame
        self.progress = progress
        self.cancel_token = cancel if cancel is not None else CancelToken()
        self.max_frames = max_frames
        self.queue_size = queue_size
        self.fill_dropped = fill_dropped
        self.stall_timeout_s = stall_timeout_s
        self._stalled = False
        self.record_activity = record_activity
        self.recorder = recorder
        self.energy = energy
        self._stop = threading.Event()  # graceful stop requested (commit)
        # Reader / capture threads quit when either is set; the writer only on _abort, so
        # at an orderly end it still drains its queue.
        self._quit_producers = threading.Event()
        self._abort = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ran = False
        self.summary = PipelineSummary()

    # -- control (thread-safe) ----------------------------------------------------------
    def stop(self) -> None:
        """Finish after the frame in progress and commit the output (graceful)."""
        self._stop.set()

    def cancel(self) -> None:
        """Abort: :meth:`run` raises Cancelled and no output file is written."""
        self.cancel_token.cancel()

    @property
    def dropped(self) -> int:
        return self.summary.dropped

    # -- run ------------------------------------------------------------------------------
    def run(self) -> PipelineSummary:
        """Process the whole source; blocks until done. See the module docstring."""
        if self._ran:
            raise RuntimeError("a VideoPipeline runs only once")
        self._ran = True
        restorer = self.restorer
        old_carry = getattr(restorer, "carry_state", None)
        sink: FrameSink | None = None
        t0 = time.perf_counter()
        try:
            check_cancel(self.cancel_token)
            self.source.open()
            if self.carry_state is not None and hasattr(restorer, "carry_state"):
                restorer.carry_state = self.carry_state
            reset = getattr(restorer, "reset_state", None)
            if callable(reset):
                reset()  # a new video starts from rest, whatever ran before
            size = output_size(self.source.size, self.side_by_side)
            if self.sink_factory is not None:
                sink = self.sink_factory(self.source.fps, size)
            elif self.output is not None:
                from spikeview.media.video import AtomicVideoWriter

                protected = list(self.protected)
                if hasattr(self.source, "path"):
                    protected.append(self.source.path)
                sink = AtomicVideoWriter(self.output, self.source.fps, size, self.codec, protected=protected)
            self._process(sink)
            if sink is not None:
                committed = sink.commit()
                if isinstance(committed, (str, os.PathLike)):
                    self.summary.output = Path(committed)
                sink = None
        except BaseException:
            self._abort.set()
            self._quit_producers.set()
            self._join_threads()
            if sink is not None:
                sink.abort()
            raise
        finally:
            self._abort.set()
            self._quit_producers.set()
            self._join_threads()
            self._close_source()
            if self.carry_state is not None and old_carry is not None:
                restorer.carry_state = old_carry
            s = self.summary
            s.elapsed_s = time.perf_counter() - t0
            if s.ms_per_frame:
                s.median_ms = statistics.median(s.ms_per_frame)
            s.fps = s.frames_processed / s.elapsed_s if s.elapsed_s > 0 else 0.0
            s.disconnected = self._stalled or bool(getattr(self.source, "disconnected", False))
        return self.summary

    def _make_recorder(self) -> Any:
        if self.recorder is not None:
            return self.recorder
        model = getattr(self.restorer, "model", None)
        info = getattr(self.restorer, "info", None)
        if not self.record_activity or model is None or not getattr(info, "spiking", False):
            return None
        from spikeview.recording import ActivityRecorder

        # Small snapshots: only the counts are used here.
        return ActivityRecorder(model, max_side=32, raster_neurons=8, capacity=1, frame_capacity=1)

    def _close_source(self) -> None:
        alive = [t for t in self._threads if t.is_alive() and t.name != "spikeview-writer"]
        if alive:
            # Releasing a capture another thread is still blocked in can crash OpenCV:
            # leak it instead (the daemon thread dies with the process).
            log.warning("source thread did not stop in %.0f s; not closing the source", _JOIN_TIMEOUT_S)
            return
        self.source.close()

    def _join_threads(self) -> None:
        for t in self._threads:
            if t is not threading.current_thread():
                # A stalled camera's thread is stuck in the driver: do not wait for it long.
                stuck = self._stalled and t.name == "spikeview-capture"
                t.join(0.5 if stuck else _JOIN_TIMEOUT_S)

    def _start(self, target: Callable[..., None], name: str, *args: Any) -> None:
        t = threading.Thread(target=target, args=args, name=f"spikeview-{name}", daemon=True)
        self._threads.append(t)
        t.start()

    # -- producer threads -----------------------------------------------------------------
    def _put(self, q: queue.Queue, item: Any, *give_up: threading.Event) -> bool:
        """Blocking put that gives up when one of ``give_up`` is set; False if it gave up."""
        while not any(e.is_set() for e in give_up):
            try:
                q.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _reader(self, q: queue.Queue) -> None:
        error: BaseException | None = None
        try:
            for frame in self.source:
                if not self._put(q, frame, self._quit_producers, self._abort):
                    return
                if self._quit_producers.is_set():
                    return
        except BaseException as exc:
            error = exc
        self._put(q, _End(error), self._quit_producers, self._abort)

    def _capture(self, slot: _LatestSlot, errors: list[BaseException]) -> None:
        try:
            for frame in self.source:
                slot.put(frame)
                if self._quit_producers.is_set() or self._abort.is_set():
                    break
        except BaseException as exc:
            errors.append(exc)
        finally:
            slot.close()

    def _writer(self, q: queue.Queue, sink: FrameSink, errors: list[BaseException]) -> None:
        try:
            while True:
                if self._abort.is_set():
                    return
                try:
                    item = q.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if isinstance(item, _End) or self._abort.is_set():
                    return
                sink.write(item)
                self.summary.frames_written += 1
        except BaseException as exc:
            errors.append(exc)
            self._abort.set()  # unblock everybody; run() sees the error

    # -- main loop ------------------------------------------------------------------------
    def _process(self, sink: FrameSink | None) -> None:
        live = self.source.is_live
        total = self.source.frame_count or 0
        restore = _Restore(
            self.restorer, self.reduce_to, self.cancel_token, recorder=self._make_recorder(), energy=self.energy
        )
        writer_errors: list[BaseException] = []
        out_q: queue.Queue | None = None
        if sink is not None:
            out_q = queue.Queue(maxsize=self.queue_size)
            self._start(self._writer, "writer", out_q, sink, writer_errors)
        capture_errors: list[BaseException] = []
        if live:
            slot = _LatestSlot()
            self._start(self._capture, "capture", slot, capture_errors)
        else:
            in_q: queue.Queue = queue.Queue(maxsize=self.queue_size)
            self._start(self._reader, "reader", in_q)

        done_times: deque[float] = deque(maxlen=120)
        summary = self.summary
        last_written: np.ndarray | None = None
        dropped_at_write = 0
        report(self.progress, 0, total, "starting")
        while True:
            check_cancel(self.cancel_token)
            if writer_errors:
                raise writer_errors[0]
            if self._stop.is_set() or (self.max_frames is not None and summary.frames_processed >= self.max_frames):
                summary.stopped = True
                break
            # -- next frame
            if live:
                got = slot.get(_POLL_S)
                summary.dropped = slot.dropped
                if got is StopIteration:
                    if capture_errors:
                        raise capture_errors[0]
                    break
                if got is None:
                    silent = time.monotonic() - slot.last_put
                    if self.stall_timeout_s is not None and silent > self.stall_timeout_s:
                        self._stalled = True
                        log.warning("live source delivered no frame for %.1f s", silent)
                        if getattr(self.source, "on_disconnect", "raise") == "end":
                            break  # like a disconnect in "end" mode: keep what was recorded
                        raise VideoError(f"the camera delivered no frame for {silent:.0f} s (disconnected or frozen?)")
                    continue
                frame = got
            else:
                try:
                    item = in_q.get(timeout=_POLL_S)
                except queue.Empty:
                    continue
                if isinstance(item, _End):
                    if item.error is not None:
                        raise item.error
                    break
                frame = item
            summary.frames_read = frame.index + 1
            # -- restore
            t = time.perf_counter()
            out, stats = restore(frame.rgb)
            now = time.perf_counter()
            ms = (now - t) * 1000.0
            check_cancel(self.cancel_token)  # a restore cancelled mid-way may return junk
            summary.frames_processed += 1
            summary.ms_per_frame.append(ms)
            done_times.append(now)
            while len(done_times) > 2 and now - done_times[0] > 2.0:
                done_times.popleft()
            span = done_times[-1] - done_times[0]
            fps = (len(done_times) - 1) / span if span > 0 else 1000.0 / max(ms, 1e-6)
            result = FrameResult(
                index=frame.index,
                timestamp_s=frame.timestamp_s,
                input=frame.rgb,
                output=out,
                stats=_frame_stats(ms, fps, stats),
                dropped_so_far=summary.dropped,
                total=total or None,
            )
            # -- deliver
            if out_q is not None:
                to_write = _concat_side_by_side(frame.rgb, out) if self.side_by_side else out
                # Live + fill_dropped: hold the previous picture for the frames dropped
                # since, so the recording keeps the camera's timing (frames dropped before
                # the first restored one are held by that first picture).
                repeats = summary.dropped - dropped_at_write if live and self.fill_dropped else 0
                dropped_at_write = summary.dropped
                filler = last_written if last_written is not None else to_write
                items = [filler] * repeats + [to_write]
                last_written = to_write
                for item in items:
                    if not self._put(out_q, item, self._abort):
                        if writer_errors:
                            raise writer_errors[0]
                        check_cancel(self.cancel_token)
                        raise RuntimeError("video writer stopped unexpectedly")
            if self.on_frame is not None:
                self.on_frame(result)
            done = summary.frames_processed
            msg = f"frame {done}" + (f"/{total}" if total else "") + f", {fps:.1f} fps"
            if live:
                msg += f", {summary.dropped} dropped"
            report(self.progress, done, total, msg)

        # -- orderly end: stop producers, let the writer drain its queue
        self._quit_producers.set()
        if out_q is not None:
            self._put(out_q, _End(), self._abort)
            for t in self._threads:
                if t.name == "spikeview-writer":
                    t.join()
            if writer_errors:
                raise writer_errors[0]
        check_cancel(self.cancel_token)
        if summary.frames_processed == 0:
            if summary.stopped:
                raise Cancelled()  # stopped before the first frame: nothing to keep
            raise VideoError("the video source delivered no frames")


def _frame_stats(ms: float, fps: float, stats: Any) -> FrameStats:
    if stats is None:
        return FrameStats(ms=ms, fps=fps)
    rates = getattr(stats, "firing_rates", None) or {}
    return FrameStats(
        ms=ms,
        fps=fps,
        model_ms=getattr(stats, "ms", None),
        firing_rates={str(k): float(v) for k, v in dict(rates).items()},
        energy=getattr(stats, "energy", None),
        run_stats=stats,
    )


def run_pipeline(
    source: FrameSource,
    restorer: SupportsRestore,
    **kwargs: Any,
) -> PipelineSummary:
    """``VideoPipeline(source, restorer, **kwargs).run()``."""
    return VideoPipeline(source, restorer, **kwargs).run()


# ------------------------------------------------------------------------------ benchmark


def synthetic_frames(size: tuple[int, int] = (320, 240), frames: int = 30, seed: int = 0) -> list[np.ndarray]:
    """Deterministic moving test frames (RGB uint8, ``size`` = (width, height)).

    A colour gradient background, a bright bar sweeping left to right and slanted
    "rain" streaks falling down, so consecutive frames differ like a real scene.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([xx / max(w - 1, 1), yy / max(h - 1, 1), 0.5 * np.ones_like(xx)], axis=2) * 180.0
    streaks = np.zeros((h * 2, w), np.float32)
    for _ in range(max(1, w * h // 400)):
        x, y, n = int(rng.integers(0, w)), int(rng.integers(0, 2 * h)), int(rng.integers(4, 12))
        for k in range(n):
            if 0 <= y + k < 2 * h:
                streaks[y + k, min(w - 1, x + k // 3)] = 1.0
    out = []
    for i in range(frames):
        img = base.copy()
        bar = int(i * w / max(frames, 1)) % w
        img[:, bar : bar + max(2, w // 20)] = 240.0
        shift = (i * max(2, h // 15)) % (2 * h)
        rain = np.roll(streaks, shift, axis=0)[:h]
        img += rain[:, :, None] * 70.0
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def measure_video_fps(restorer: SupportsRestore, size: tuple[int, int] = (320, 240), frames: int = 30) -> dict:
    """Benchmark ``restorer`` on synthetic moving frames of ``size`` = (width, height).

    Returns a dict: ``size`` [w, h], ``frames``, ``median_ms`` (restore call alone, after
    one warm-up frame), ``restore_fps`` (1000 / median_ms), ``pipeline_fps`` (end to end
    through :class:`VideoPipeline` with reader and writer threads and an in-memory sink
    that copies frames, as a file run would) and ``pipeline_s``.
    """
    if frames < 2:
        raise ValueError("frames must be >= 2")
    clips = synthetic_frames(size, frames)
    restore = _Restore(restorer, None, None)
    reset = getattr(restorer, "reset_state", None)
    if callable(reset):
        reset()
    restore(clips[0])  # warm-up: lazy init, allocator, oneDNN kernels
    times = []
    for rgb in clips:
        t = time.perf_counter()
        restore(rgb)
        times.append((time.perf_counter() - t) * 1000.0)
    median_ms = statistics.median(times)

    class _NullSink:
        def __init__(self) -> None:
            self.n = 0

        def write(self, rgb: np.ndarray) -> None:
            rgb.copy()
            self.n += 1

        def commit(self) -> None:
            return None

        def abort(self) -> None:
            return None

    summary = VideoPipeline(ArraySource(clips, fps=25.0), restorer, sink_factory=lambda fps, sz: _NullSink()).run()
    return {
        "size": [int(size[0]), int(size[1])],
        "frames": frames,
        "median_ms": round(median_ms, 3),
        "restore_fps": round(1000.0 / median_ms, 3) if median_ms > 0 else float("inf"),
        "pipeline_fps": round(summary.fps, 3),
        "pipeline_s": round(summary.elapsed_s, 3),
    }
