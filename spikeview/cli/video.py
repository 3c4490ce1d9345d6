"""``spikeview video IN -o OUT.mp4``: restore every frame of a video file (or image folder).

The output keeps the input's frame rate and frame count (side by side doubles the width;
odd sizes are padded to even by one pixel). It is written atomically: Ctrl-C, an error or
a broken input leave no output file. The input is never overwritten.
"""

from __future__ import annotations

import argparse

from spikeview.cli._common import add_model_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "video",
        help="restore a video file frame by frame",
        description="Restore every frame of a video file (or a folder of images played as a video) with an "
        "SNN and write a new video with the same frame rate and frame count. Ctrl-C cancels and leaves no "
        "output file.",
    )
    p.add_argument("input", metavar="IN", help="video file (.mp4, .avi, .mov, .mkv, ...) or a folder of images")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output video (.mp4, .avi, .mkv, .mov, .webm)")
    add_model_options(p)
    p.add_argument("--side-by-side", action="store_true", help="write input | restored next to each other")
    p.add_argument(
        "--reduce", type=int, default=None, metavar="PX", help="restore at a size whose longer side is PX, then upscale"
    )
    p.add_argument("--carry-state", action="store_true", help="carry spiking neuron state from frame to frame")
    p.add_argument("--codec", default=None, help="four-character codec (default: mp4v, VP80 for .webm)")
    p.add_argument("--fps", type=float, default=25.0, help="frame rate when IN is a folder of images (default: 25)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument("--energy", action="store_true", help="estimate compute energy per frame")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from spikeview.cli._common import load_restorer
    from spikeview.errors import VideoError
    from spikeview.inference.pipeline import VideoPipeline
    from spikeview.media.video import VIDEO_OUTPUT_EXTENSIONS, ImageSequenceSource, VideoFileSource, default_codec
    from spikeview.progress import CancelToken

    quiet_opencv(args)
    src_path, out = Path(args.input), Path(args.output)
    if out.suffix.lower() not in VIDEO_OUTPUT_EXTENSIONS:
        raise VideoError(f"output {out} must end in one of {', '.join(VIDEO_OUTPUT_EXTENSIONS)}")
    if _same_file(src_path, out):
        raise VideoError(f"output {out} is the input file; choose another name")
    if out.exists() and not args.overwrite:
        raise VideoError(f"output {out} already exists (use --overwrite to replace it)")
    if args.reduce is not None and args.reduce < 8:
        raise VideoError("--reduce must be at least 8 pixels")

    source = ImageSequenceSource(src_path, fps=args.fps) if src_path.is_dir() else VideoFileSource(src_path)
    source.open()  # fail on a broken input before spending seconds loading the model
    try:
        restorer = load_restorer(args)
        info = restorer.info
        w, h = source.size
        count = source.frame_count
        print(
            f"model {info.name} ({info.arch}) on {restorer.device}; {src_path}: {w}x{h}, "
            f"{count if count is not None else '?'} frames at {source.fps:.3g} fps → {out}"
        )
        token = CancelToken()
        pipeline = VideoPipeline(
            source,
            restorer,
            output=out,
            codec=args.codec or default_codec(out),
            protected=[src_path],
            reduce_to=args.reduce,
            side_by_side=args.side_by_side,
            carry_state=args.carry_state,
            progress=ThrottledProgress("video"),
            cancel=token,
            energy=args.energy,
        )
        energy_uj: list[float] = []
        firing: list[float] = []

        def on_frame(result) -> None:
            if result.stats.energy is not None:
                energy_uj.append(float(result.stats.energy.energy_uj))
            if result.stats.mean_firing_rate is not None:
                firing.append(result.stats.mean_firing_rate)

        pipeline.on_frame = on_frame
        with cancel_on_sigint(token.cancel):
            summary = pipeline.run()
    finally:
        source.close()
    text = (
        f"wrote {summary.output} ({summary.frames_written} frames) in {summary.elapsed_s:.1f}s: "
        f"{summary.fps:.2f} fps end to end, median {summary.median_ms or 0:.0f} ms per frame"
    )
    if firing:
        text += f", mean firing rate {sum(firing) / len(firing):.3f}"
    if energy_uj:
        text += f", ~{sum(energy_uj) / len(energy_uj):.1f} µJ compute per frame (estimate)"
    print(text)
    return 0


def quiet_opencv(args: argparse.Namespace) -> None:
    """Hide OpenCV's own WARN lines (camera probing, codec fallbacks) unless ``-v``: the
    command prints one clear message of its own."""
    if getattr(args, "verbose", False):
        return
    import contextlib

    import cv2

    with contextlib.suppress(AttributeError):  # very old OpenCV builds lack cv2.utils.logging
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


def _same_file(a, b) -> bool:
    import os

    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)  # also catches hard links
        return os.path.realpath(a) == os.path.realpath(b)
    except OSError:
        return False


class ThrottledProgress:
    """:class:`~spikeview.cli._common.ProgressLine` at most twice a second (and the last
    frame), so a long video does not print thousands of lines when stderr is a file."""

    def __init__(self, label: str, interval_s: float = 0.5) -> None:
        import time

        from spikeview.cli._common import ProgressLine

        self._line = ProgressLine(label)
        self._clock = time.perf_counter
        self._interval = interval_s
        self._last = -1e9

    def __call__(self, done: int, total: int, message: str = "") -> None:
        now = self._clock()
        if done == 0 or (now - self._last < self._interval and not (total and done >= total)):
            return
        self._last = now
        if total <= 0:  # unknown length: no ETA
            import sys

            sys.stderr.write(f"{self._line.label} {done} {message}\n")
            sys.stderr.flush()
            return
        self._line(done, total, message)


class cancel_on_sigint:
    """Context manager: the first Ctrl-C calls ``on_interrupt`` (the job ends cleanly at the
    next frame); a second one raises KeyboardInterrupt as usual. No-op off the main thread."""

    def __init__(self, on_interrupt) -> None:
        self.on_interrupt = on_interrupt
        self._old = None
        self._hits = 0

    def _handler(self, signum, frame) -> None:
        self._hits += 1
        if self._hits > 1:
            raise KeyboardInterrupt
        self.on_interrupt()

    def __enter__(self) -> cancel_on_sigint:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc_info) -> None:
        import signal

        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
            self._old = None
