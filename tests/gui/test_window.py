"""The real main window, offscreen, with tiny real models run by the real worker thread."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui

TIMEOUT = 60_000


def _restore_current(qtbot, window):
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.run()
    return blocker.args[0]


def test_opens_samples_and_restores_with_snn_and_ann(make_window, qtbot, gui_samples):
    window = make_window()
    assert window.open_samples()
    names = [p.name for p in window.file_list.paths()]
    assert names == ["scene_rain.png", "street_rain.png"]  # the clean half of the pair is ground truth
    outcome = _restore_current(qtbot, window)

    assert outcome.snn.shape == outcome.image.shape == (48, 64, 3)
    assert outcome.ann is not None and outcome.ann.dtype == np.uint8
    shown = window.panes.current_images()
    assert shown["left"] is not None and np.array_equal(shown["right"], outcome.snn)
    assert np.array_equal(shown["middle"], outcome.ann)
    # ground truth paired by name → PSNR/SSIM overlays on all three panes
    assert set(outcome.quality) == {"input", "ann", "snn"}
    assert all("PSNR" in p.overlay.toPlainText() for p in window.panes.panes)
    assert "ms" in window.status.ms_label.text() and "FPS" in window.status.fps_label.text()
    assert window.status.device_label.text() == "device: cpu"


def test_three_panes_share_one_view_range(make_window, qtbot):
    window = make_window()
    window.open_samples()
    _restore_current(qtbot, window)
    boxes = [p.vb for p in window.panes.panes]
    boxes[2].setRange(xRange=(10, 30), yRange=(5, 20), padding=0)
    qtbot.wait(50)
    ref = boxes[2].viewRange()
    # zoomed in around what was asked (the aspect lock may widen one axis to keep pixels square)
    assert ref[0][0] <= 10.01 and ref[0][1] >= 29.99 and ref[0][1] - ref[0][0] < 40
    for vb in boxes[:2]:
        assert np.allclose(vb.viewRange(), ref, atol=1e-3)
    boxes[1].scaleBy((2.0, 2.0))
    qtbot.wait(50)
    ranges = [vb.viewRange() for vb in boxes]
    assert np.allclose(ranges[0], ranges[1], atol=1e-3) and np.allclose(ranges[0], ranges[2], atol=1e-3)


def test_split_slider_and_difference_views(make_window, qtbot):
    from spikeview.gui.widgets.image_panes import abs_diff

    window = make_window()
    window.open_samples()
    outcome = _restore_current(qtbot, window)
    window.findChild(type(window.mode_actions["split"]), "mode-split").trigger()  # Ctrl+2
    assert window.panes.mode == "split"
    window.panes.set_split_fraction(0.25)
    over = window.panes._split_over.image
    assert over.shape[1] == 64 - 16 and np.array_equal(over, outcome.snn[:, 16:])
    window.mode_actions["diff"].trigger()  # Ctrl+3
    shown = window.panes.current_images()
    assert np.array_equal(shown["middle"], abs_diff(outcome.image, outcome.snn))
    assert np.array_equal(shown["right"], abs_diff(outcome.ann, outcome.snn))
    qtbot.wait(50)
    widths = [p.vb.width() for p in window.panes.panes]
    assert max(widths) - min(widths) <= 2  # long titles must not make one pane wider (square pixels)
    window.mode_actions["side"].trigger()
    assert window.settings.get("view_mode") == "side"


def test_activity_and_energy_docks_receive_data(make_window, qtbot):
    window = make_window()
    window.open_samples()
    outcome = _restore_current(qtbot, window)
    act = window.activity
    qtbot.waitUntil(lambda: act.repaints > 0, timeout=5000)
    assert act.layer_combo.count() == len(window._loaded.layers) > 3
    heat = act.heat_image.image
    assert heat is not None and heat.ndim == 2
    assert act.raster_image.image.shape[1] == 4  # T = 4 time steps
    assert len(act._rates_shown) == len(outcome.firing_rates) > 0
    assert act.threshold_line.value() > 0
    counts = window.controller.latest_activity().membrane_hist[0]
    assert act.hist_plot.viewRange()[1][1] >= counts.max()  # the whole histogram is in view

    # another channel is captured on the next run
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        act.channel_spin.setValue(3)
    qtbot.waitUntil(lambda: window.controller.latest_activity().channel == 3, timeout=5000)

    energy = window.energy
    assert energy.summary()["ratio"] > 0
    fp32 = energy.snn_label.text()
    energy.set_preset("45nm-int8")
    assert energy.snn_label.text() != fp32
    assert "compute-only estimate" in energy.caveat_label.text() and energy.caveat_label.isVisible()


def test_batch_with_result_list_and_resume(make_window, qtbot, image_folder, tmp_path):
    window = make_window()
    out = tmp_path / "out"
    with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT * 2) as blocker:
        window.run_batch([image_folder], out)
    summary = blocker.args[0]
    assert (summary.done, summary.failed, summary.cancelled) == (10, 0, False)
    assert len(window.batch.rows()) == 10
    assert (out / "sub" / "img01.png").is_file()  # the sub-folder tree is kept
    with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT) as blocker:
        window.run_batch([image_folder], out)
    assert blocker.args[0].skipped == 10  # resume: finished outputs are not redone


def test_cancel_batch_midway_leaves_no_partial_files(make_window, qtbot, image_folder, tmp_path):
    from spikeview.media.images import read_image

    window = make_window()
    out = tmp_path / "out"
    rows = []

    def on_file(row):
        if not rows:
            window.cancel()  # Esc, while the worker is already on the next file
        rows.append(row)

    window.controller.batchFile.connect(on_file)
    with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT) as blocker:
        window.run_batch([image_folder], out)
    summary = blocker.args[0]
    assert summary.cancelled and summary.done < 10
    written = [p for p in out.rglob("*") if p.is_file()]
    assert len(written) == summary.done
    for path in written:  # every file that exists is complete; no temporaries left over
        assert not path.name.startswith(".")
        assert read_image(path).shape == (64, 64, 3)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    assert window.batch.rows()[-1][1] == "cancelled"
    assert "Cancelled" in window.batch.summary.text()


def test_switch_models_and_devices(make_window, qtbot):
    window = make_window()
    picker = window.picker
    assert window._loaded.snn.name == "tiny-snn" and window._loaded.snn.timesteps == 4
    assert "Tiny SNN A" in picker.card.toPlainText() and "psnr" in picker.card.toPlainText()
    with qtbot.waitSignal(window.controller.modelsLoaded, timeout=TIMEOUT) as blocker:
        picker.model_combo.setCurrentIndex(picker.model_combo.findData("tiny-snn-t2"))
    assert blocker.args[0].snn.name == "tiny-snn-t2" and blocker.args[0].ann.name == "tiny-ann"
    assert picker.t_label.text() == "2"

    # devices: unavailable ones are disabled with the reason as tooltip
    model = picker.device_combo.model()
    cuda = picker.device_combo.findData("cuda")
    assert cuda >= 0
    from spikeview.inference.device import available_devices

    cuda_info = next(d for d in available_devices() if d.name == "cuda")
    assert model.item(cuda).isEnabled() == cuda_info.available
    assert picker.device_combo.itemData(cuda, 3) == cuda_info.detail  # 3 = ToolTipRole
    with qtbot.waitSignal(window.controller.modelsLoaded, timeout=TIMEOUT) as blocker:
        picker.device_combo.setCurrentIndex(picker.device_combo.findData("cpu"))
    assert blocker.args[0].device == "cpu"
    assert window.settings.get("device") == "cpu" and window.settings.get("model") == "tiny-snn-t2"

    with qtbot.waitSignal(window.controller.modelsLoaded, timeout=TIMEOUT) as blocker:
        picker.twin_combo.setCurrentIndex(picker.twin_combo.findData("(none)"))
    assert blocker.args[0].ann is None

    with qtbot.waitSignal(window.controller.modelsLoaded, timeout=TIMEOUT) as blocker:
        picker.tile_combo.setCurrentIndex(picker.tile_combo.findData(128))
    assert blocker.args[0].tile == 128 and window.settings.get("tile") == 128

    with qtbot.waitSignal(window.controller.modelsLoaded, timeout=TIMEOUT) as blocker:
        picker.ensemble_combo.setCurrentIndex(picker.ensemble_combo.findData(4))
    assert blocker.args[0].ensemble == 4 and window.settings.get("ensemble") == 4
    assert window.controller._worker.snn.ensemble == 4  # the engine's restorer, not just the label


def test_settings_survive_a_restart(make_window, qtbot, tmp_path):
    path = tmp_path / "persist.ini"
    first = make_window(settings_path=path)
    first.set_theme("light")
    first.set_view_mode("diff")
    first.docks["energy"].hide()  # window state (dock layout) is saved too
    with qtbot.waitSignal(first.controller.modelsLoaded, timeout=TIMEOUT):
        first.picker.device_combo.setCurrentIndex(first.picker.device_combo.findData("cpu"))
    with qtbot.waitSignal(first.controller.modelsLoaded, timeout=TIMEOUT):
        first.picker.ensemble_combo.setCurrentIndex(first.picker.ensemble_combo.findData(2))
    first.open_samples()
    first.close()

    second = make_window(settings_path=path)
    assert second.theme_actions["light"].isChecked()
    assert second.panes.mode == "diff"
    assert second.picker.selection()[2] == "cpu"
    assert second.picker.ensemble() == 2 and second._loaded.ensemble == 2  # loaded with it, too
    assert second.docks["energy"].isHidden() and not second.docks["activity"].isHidden()
    assert not second.settings.get("geometry").isEmpty()
    assert second.settings.get("recent_files")[0].endswith("samples")
    assert second.recent_menu.actions()[0].text().endswith("samples")
    second.set_theme("dark")


def test_no_shipped_model_then_import_checkpoint(make_window, qtbot, tmp_path, monkeypatch, gui_models):
    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("SPIKEVIEW_MODELS", str(empty))
    window = make_window(wait_loaded=False)
    qtbot.waitUntil(lambda: window._catalog_seen, timeout=TIMEOUT)
    assert "no shipped model found" in window.picker.message.text().lower()
    assert "import a checkpoint" in window.statusBar().currentMessage().lower()
    # the window still works without a model: opening shows the input
    window.open_samples()
    assert window.panes.current_images()["left"] is not None

    with qtbot.waitSignal(window.controller.modelImported, timeout=TIMEOUT) as blocker:
        window.controller.import_checkpoint(gui_models / "snn_a.pt")
    imported = blocker.args[0]
    assert imported.path.is_file() and imported.path.parent != gui_models
    qtbot.waitUntil(lambda: window._loaded is not None, timeout=TIMEOUT)
    assert window._loaded.snn.name == "snn_a" and window._loaded.ann is None

    # a broken file is refused with a readable message, nothing is copied
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(window.controller.failed, timeout=TIMEOUT) as blocker:
        window.controller.import_checkpoint(bad)
    assert blocker.args[0] == "import" and "broken.pt" in blocker.args[1]
    assert not (imported.path.parent / "broken.pt").exists()


def test_restore_is_off_the_gui_thread_and_cancellable(make_window, qtbot):
    window = make_window()
    window.open_samples()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    finished = []
    window.controller.jobFinished.connect(lambda kind, cancelled: finished.append((kind, cancelled)))
    window.run()
    assert window.controller.busy  # run() returned at once; the worker is busy
    window.cancel()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    assert finished[-1][0] == "restore"


def test_about_shows_system_info(make_window, qtbot):
    from spikeview.gui.about import AboutDialog

    window = make_window(wait_loaded=False)
    dialog = AboutDialog(window)
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    assert "SpikeView" in text and "torch" in text


def test_drop_folder_and_keyboard_shortcuts(make_window, qtbot, image_folder):
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(image_folder))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)
    assert len(window.file_list.paths()) == 10  # folders are opened recursively
    assert window.file_list.header.text().startswith("10 images")
    first = window.current_path()

    window.activateWindow()
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.panes.mode == "split"
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.panes.mode == "diff"
    qtbot.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.panes.mode == "side"
    qtbot.keyClick(window, Qt.Key.Key_PageDown)
    assert window.current_path() != first
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    shortcuts = {a.objectName(): [k.toString() for k in a.shortcuts()] for a in window.actions()}
    assert shortcuts["run"] == ["F5", "Ctrl+R"] and shortcuts["cancel"] == ["Esc"]
    table = dict(window.shortcut_table())
    assert table["Open image(s)"] == "Ctrl+O" and table["Open folder"] == "Ctrl+Shift+O"
    assert table["Fit to window"] == "Ctrl+0" and table["Split slider"] == "Ctrl+2"


def test_video_streams_frames_and_writes_output(make_window, qtbot, tmp_path, write_test_video):
    import cv2

    src = write_test_video(tmp_path / "rainy clip.mp4", frames=6, size=(64, 48))
    out = tmp_path / "restored.mp4"
    window = make_window()
    shown = []
    window.resultShown.connect(shown.append)
    with qtbot.waitSignal(window.controller.videoFinished, timeout=TIMEOUT) as blocker:
        window.open_video(src, out)
    summary = blocker.args[0]
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    assert summary.frames_processed == 6 and summary.output == out
    assert shown and shown[-1].frame_index is not None and shown[-1].ann is None
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    cap.release()
    # the raster over frames has one block of T steps per frame (bounded ring buffer)
    assert len(window.controller.latest_frame_rasters()) >= 6
    assert "video: the ANN twin" in window.panes.panes[1].placeholder.toPlainText()


def test_webcam_without_camera_reports_an_error(make_window, qtbot):
    window = make_window()
    with qtbot.waitSignal(window.controller.failed, timeout=TIMEOUT) as blocker:
        window.start_webcam(7)
    assert blocker.args[0] == "video"
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)


def test_idle_window_does_not_keep_repainting(make_window, qtbot, monkeypatch):
    """An idle window paints nothing: no item may schedule its own repaint forever."""
    import pyqtgraph as pg

    window = make_window()
    window.open_samples()
    _restore_current(qtbot, window)
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    qtbot.wait(300)
    paints = []
    original = pg.GraphicsView.paintEvent

    def counting(self, event):
        paints.append(self)
        return original(self, event)

    monkeypatch.setattr(pg.GraphicsView, "paintEvent", counting)
    qtbot.wait(1000)
    assert len(paints) <= 5


def test_opening_a_video_file_streams_it(make_window, qtbot, tmp_path, write_test_video):
    src = write_test_video(tmp_path / "clip.mp4", frames=3)
    window = make_window()
    with qtbot.waitSignal(window.controller.videoFinished, timeout=TIMEOUT) as blocker:
        window.open_paths([src])
    assert blocker.args[0].frames_processed == 3 and blocker.args[0].output is None


def test_batch_of_a_sample_folder_skips_paired_ground_truths(make_window, qtbot, tmp_path):
    window = make_window()
    window.open_samples()
    inputs = window.batch.inputs()
    assert sorted(p.name for p in inputs) == ["scene_rain.png", "street_rain.png"]
    with qtbot.waitSignal(window.controller.batchFinished, timeout=TIMEOUT) as blocker:
        window.run_batch(inputs, tmp_path / "out")
    assert blocker.args[0].done == 2
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["scene_rain.png", "street_rain.png"]
    assert window.batch.table.item(0, 3).text() == "scene_rain.png"  # shown relative to the output folder


def test_out_of_memory_retries_with_smaller_tiles(make_window, qtbot):
    window = make_window()
    window.open_samples()
    qtbot.waitUntil(lambda: not window.controller.busy, timeout=TIMEOUT)
    snn = window.controller._worker.snn
    real = snn.restore
    calls = []

    def flaky(image, **kw):  # the first call fails like a CUDA allocation would
        calls.append(snn.tile)
        if len(calls) == 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(image, **kw)

    snn.restore = flaky
    notices = []
    window.controller.notice.connect(notices.append)
    image = np.full((160, 192, 3), 120, np.uint8)
    with qtbot.waitSignal(window.resultShown, timeout=TIMEOUT) as blocker:
        window.controller.restore(image=image)
    assert blocker.args[0].snn.shape == image.shape
    assert calls[0] is None and calls[1] == 96  # half of the untiled side (192)
    assert notices and "96 px tiles" in notices[0]
    assert snn.tile == 96  # kept for the next images
