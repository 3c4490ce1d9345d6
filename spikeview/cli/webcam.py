"""``spikeview webcam``: restore a live camera stream and print live statistics.

Frames the model cannot keep up with are dropped (the newest frame always wins), so the
view stays live. Every second a line with FPS, time per frame, dropped frames and the mean
firing rate is printed. Ctrl-C stops and keeps the recording (``--record``); a second
Ctrl-C aborts without one. A camera that disconnects ends the run with an error after
saving what was recorded.
"""

from __future__ import annotations

import argparse

from spikeview.cli._common import add_model_options


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "webcam",
        help="restore a live camera stream",
        description="Restore frames from a camera as they come (dropping frames the model cannot keep up "
        "with), print FPS / ms / firing statistics every second, optionally record the result. "
        "Ctrl-C stops (the recording is kept).",
    )
    p.add_argument("--camera", default="0", metavar="INDEX|PATH", help="camera index or device path/URL (default: 0)")
    p.add_argument("--width", type=int, default=None, help="requested capture width")
    p.add_argument("--height", type=int, default=None, help="requested capture height")
    p.add_argument("--frames", type=int, default=None, metavar="N", help="stop after N restored frames")
    p.add_argument("--record", default=None, metavar="OUT", help="write the restored stream to this video file")
    p.add_argument("--side-by-side", action="store_true", help="record camera | restored next to each other")
    p.add_argument(
        "--reduce", type=int, default=None, metavar="PX", help="restore at a size whose longer side is PX, then upscale"
    )
    p.add_argument("--carry-state", action="store_true", help="carry spiking neuron state from frame to frame")
    p.add_argument("--overwrite", action="store_true", help="replace the --record file if it exists")
    add_model_options(p, tiling=False)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    import time
    from pathlib import Path

    from spikeview.cli._common import load_restorer
    from spikeview.cli.video import cancel_on_sigint, quiet_opencv
    from spikeview.errors import VideoError
    from spikeview.inference.pipeline import VideoPipeline
    from spikeview.media.video import VIDEO_OUTPUT_EXTENSIONS, default_codec
    from spikeview.media.webcam import CameraSource

    quiet_opencv(args)
    record = Path(args.record) if args.record else None
    if record is not None:
        if record.suffix.lower() not in VIDEO_OUTPUT_EXTENSIONS:
            raise VideoError(f"--record {record} must end in one of {', '.join(VIDEO_OUTPUT_EXTENSIONS)}")
        if record.exists() and not args.overwrite:
            raise VideoError(f"--record {record} already exists (use --overwrite to replace it)")
    if args.frames is not None and args.frames < 1:
        raise VideoError("--frames must be at least 1")
    if args.reduce is not None and args.reduce < 8:
        raise VideoError("--reduce must be at least 8 pixels")

    # With a recording, a disconnect ends the stream so what was recorded is kept; the
    # error is reported after saving.
    camera = CameraSource(args.camera, args.width, args.height, on_disconnect="end" if record is not None else "raise")
    camera.open()  # "no camera at index 0 ..." before loading the model
    try:
        restorer = load_restorer(args)
        info = restorer.info
        w, h = camera.size
        print(
            f"model {info.name} ({info.arch}) on {restorer.device}; camera {camera.device}: {w}x{h} "
            f"at {camera.fps:.3g} fps" + (f" → {record}" if record else "") + "; Ctrl-C stops"
        )
        printer = _StatsPrinter(time.perf_counter)
        pipeline = VideoPipeline(
            camera,
            restorer,
            output=record,
            codec=default_codec(record) if record else "mp4v",
            reduce_to=args.reduce,
            side_by_side=args.side_by_side,
            carry_state=args.carry_state,
            on_frame=printer,
            max_frames=args.frames,
        )

        def on_interrupt() -> None:
            print("stopping...", file=sys.stderr)
            pipeline.stop()

        with cancel_on_sigint(on_interrupt):
            summary = pipeline.run()
        printer.flush()
    finally:
        camera.close()
    text = (
        f"{summary.frames_processed} frames in {summary.elapsed_s:.1f}s ({summary.fps:.2f} fps), "
        f"{summary.dropped} dropped, median {summary.median_ms or 0:.0f} ms per frame"
    )
    if summary.output is not None:
        text += f"; recorded {summary.frames_written} frames to {summary.output}"
        if summary.dropped:
            text += " (dropped camera frames repeat the previous restored frame, so it plays in real time)"
    print(text)
    if summary.disconnected and not summary.stopped:  # a disconnect after --frames was reached is no error
        raise VideoError(
            f"camera {camera.device} disconnected after {camera.frames_read} frames"
            + (f"; the recording up to then was saved to {summary.output}" if summary.output else "")
        )
    return 0


class _StatsPrinter:
    """Collects per-frame stats and prints one line per second of wall time."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.start = clock()
        self.window_start = self.start
        self.ms: list[float] = []
        self.firing: list[float] = []
        self.frames = 0
        self.dropped = 0
        self.dropped_at_window = 0

    def __call__(self, result) -> None:
        stats = result.stats
        self.ms.append(stats.ms)
        if stats.mean_firing_rate is not None:
            self.firing.append(stats.mean_firing_rate)
        self.frames += 1
        self.dropped = result.dropped_so_far
        if self.clock() - self.window_start >= 1.0:
            self.flush()

    def flush(self) -> None:
        if not self.ms:
            return
        now = self.clock()
        span = max(now - self.window_start, 1e-6)
        line = (
            f"{now - self.start:6.1f}s  {len(self.ms) / span:5.1f} fps  {sum(self.ms) / len(self.ms):7.1f} ms/frame  "
            f"dropped {self.dropped - self.dropped_at_window:3d} (total {self.dropped})"
        )
        if self.firing:
            line += f"  mean firing rate {sum(self.firing) / len(self.firing):.3f}"
        print(line, flush=True)
        self.window_start = now
        self.ms.clear()
        self.firing.clear()
        self.dropped_at_window = self.dropped
