"""``spikeview video`` and ``spikeview webcam`` end to end with a tiny random-weight checkpoint."""

from __future__ import annotations

import re

import cv2
import numpy as np
import pytest

from spikeview.cli import main
from spikeview.inference.pipeline import synthetic_frames
from spikeview.media.video import VideoFileSource

torch = pytest.importorskip("torch")

W, H, N, FPS = 32, 24, 5, 8.0


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    from spikeview.archs import build_arch
    from spikeview.checkpoints import save_checkpoint

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # shared 2-core machines: one intra-op thread is much faster
    torch.manual_seed(0)
    kwargs = {"dim": 16, "en_num_blocks": [1, 1, 1, 1], "de_num_blocks": [1, 1, 1, 1], "T": 2}
    path = save_checkpoint(
        tmp_path_factory.mktemp("ckpt") / "tiny.pt", build_arch("esdnet", **kwargs), "esdnet", kwargs
    )
    yield path
    torch.set_num_threads(threads)


def make_clip(path, n=N):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (W, H))
    for rgb in synthetic_frames((W, H), n):
        writer.write(np.ascontiguousarray(rgb[:, :, ::-1]))
    writer.release()
    return path


def test_video_command_keeps_fps_and_frame_count(tmp_path, tiny_checkpoint, capsys):
    clip = make_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    assert main(["video", str(clip), "-o", str(out), "--checkpoint", str(tiny_checkpoint), "--carry-state"]) == 0
    with VideoFileSource(out) as src:
        assert (src.size, src.frame_count, src.fps) == ((W, H), N, pytest.approx(FPS))
    captured = capsys.readouterr()
    assert "wrote" in captured.out and f"{N}/{N}" in captured.err  # progress with ETA on stderr
    assert "ETA" in captured.err

    sbs = tmp_path / "sbs.mp4"
    assert (
        main(
            [
                "video",
                str(clip),
                "-o",
                str(sbs),
                "--checkpoint",
                str(tiny_checkpoint),
                "--side-by-side",
                "--reduce",
                "16",
            ]
        )
        == 0
    )
    with VideoFileSource(sbs) as src:
        assert (src.size, src.frame_count) == ((2 * W, H), N)


def test_video_command_refuses_input_and_existing_output(tmp_path, tiny_checkpoint, capsys):
    clip = make_clip(tmp_path / "in.mp4", n=2)
    before = clip.read_bytes()
    assert main(["video", str(clip), "-o", str(clip), "--checkpoint", str(tiny_checkpoint), "--overwrite"]) == 2
    assert "input file" in capsys.readouterr().err
    assert clip.read_bytes() == before
    other = tmp_path / "other.mp4"
    other.write_bytes(b"keep me")
    assert main(["video", str(clip), "-o", str(other), "--checkpoint", str(tiny_checkpoint)]) == 2
    assert "already exists" in capsys.readouterr().err and other.read_bytes() == b"keep me"


def test_video_command_on_broken_input_writes_nothing(tmp_path, tiny_checkpoint, capsys):
    clip = make_clip(tmp_path / "in.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(clip.read_bytes()[:-200])
    assert main(["video", str(broken), "-o", str(tmp_path / "out.mp4"), "--checkpoint", str(tiny_checkpoint)]) == 2
    err = capsys.readouterr().err
    assert "spikeview video: error: Cannot read video" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4", "in.mp4"]


def test_webcam_command_without_camera(capsys):
    assert main(["webcam", "--camera", "97"]) == 2
    err = capsys.readouterr().err
    assert "no camera at index 97" in err and len(err.strip().splitlines()) == 1


def test_webcam_command_records_from_a_stream(tmp_path, tiny_checkpoint, capsys):
    # OpenCV opens a file path like a stream URL: a stand-in for a real camera.
    clip = make_clip(tmp_path / "cam.mp4", n=20)
    rec = tmp_path / "rec.mp4"
    code = main(
        ["webcam", "--camera", str(clip), "--frames", "1", "--record", str(rec), "--checkpoint", str(tiny_checkpoint)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "1 frames" in out and "fps" in out
    # One restored frame, held once more for each camera frame dropped before it (a loaded
    # machine drops some while the model starts): the file has what the summary says.
    dropped = int(re.search(r"(\d+) dropped", out).group(1))
    written = int(re.search(r"recorded (\d+) frames", out).group(1))
    assert 1 <= written <= 1 + dropped
    with VideoFileSource(rec) as src:
        assert src.frame_count == written and src.size == (W, H)


def test_video_command_uses_the_default_model(tmp_path, tiny_checkpoint, tiny_models_dir, capsys):
    clip = make_clip(tmp_path / "in.mp4", n=2)
    out = tmp_path / "out.mkv"
    assert main(["video", str(clip), "-o", str(out)]) == 0
    assert "model tiny-snn" in capsys.readouterr().out
    with VideoFileSource(out) as src:
        assert src.frame_count == 2


def test_ctrl_c_cancels_video_without_partial_output(tmp_path, tiny_checkpoint):
    import os
    import signal
    import subprocess
    import sys

    clip = make_clip(tmp_path / "long.mp4", n=400)
    out = tmp_path / "out.mp4"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "spikeview", "video", str(clip), "-o", str(out), "--checkpoint", str(tiny_checkpoint)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for line in proc.stderr:  # wait until frames are being written
            lines.append(line)
            if line.startswith("video ") and "/400" in line:
                break
        proc.send_signal(signal.SIGINT)
        rest = proc.stderr.read()
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 130, "".join(lines) + rest
    assert "cancelled" in rest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4"]  # no output, no temp file
