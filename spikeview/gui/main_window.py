"""The main window: composes panes, docks, menus, shortcuts and the status bar.

No model maths here: requests go to :class:`~spikeview.gui.controller.Controller`, results
come back as dataclasses and are handed to the widgets.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from spikeview.errors import SpikeViewError
from spikeview.gui.controller import Controller
from spikeview.gui.pairing import find_ground_truth, hide_ground_truths
from spikeview.gui.settings import Settings
from spikeview.gui.theme import THEMES, apply_theme, plot_colors
from spikeview.gui.types import BatchRow, BatchSummary, LoadedModels, RestoreOutcome
from spikeview.gui.widgets.activity_panel import ActivityPanel
from spikeview.gui.widgets.batch_panel import BatchPanel
from spikeview.gui.widgets.energy_panel import EnergyPanel
from spikeview.gui.widgets.file_list import FileList
from spikeview.gui.widgets.image_panes import MODES, ComparePanes
from spikeview.gui.widgets.job_status import JobStatus
from spikeview.gui.widgets.model_picker import NO_MODEL_TEXT, ModelPicker
from spikeview.media.images import IMAGE_EXTENSIONS

log = logging.getLogger(__name__)

NO_MODEL_PANE_TEXT = "No shipped model found.\nImport a checkpoint:\nFile > Import checkpoint…"


class MainWindow(QMainWindow):
    """``MainWindow(settings)``; ``open_paths`` opens files/folders; ``run`` restores the current image."""

    resultShown = Signal(object)  # RestoreOutcome, after the panes were updated

    def __init__(self, settings: Settings | None = None, controller: Controller | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or Settings()
        self.controller = controller or Controller(self)
        self.setWindowTitle("SpikeView — SNN image restoration")
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.resize(1500, 920)
        self._current: Path | None = None
        self._loaded: LoadedModels | None = None
        self._catalog_seen = False
        self._last_outcome: RestoreOutcome | None = None
        self._closing = False

        self.panes = ComparePanes()
        self.setCentralWidget(self.panes)
        self.file_list = FileList()
        self.picker = ModelPicker()
        self.activity = ActivityPanel()
        self.energy = EnergyPanel()
        self.batch = BatchPanel()
        self.docks: dict[str, QDockWidget] = {}
        self._add_dock("files", "Files", self.file_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("model", "Model", self.picker, Qt.DockWidgetArea.LeftDockWidgetArea)
        self._add_dock("energy", "Energy", self.energy, Qt.DockWidgetArea.RightDockWidgetArea)
        self._add_dock("activity", "Neuron activity", self.activity, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._add_dock("batch", "Batch", self.batch, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.docks["activity"], self.docks["batch"])
        self.docks["activity"].raise_()
        self.resizeDocks([self.docks["files"], self.docks["energy"]], [270, 330], Qt.Orientation.Horizontal)
        self.resizeDocks([self.docks["activity"]], [330], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["files"], self.docks["model"]], [260, 420], Qt.Orientation.Vertical)

        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._restore_settings()
        self.statusBar().showMessage("starting the engine (loading torch and the default model)…")
        self.controller.start()

    # -- construction ------------------------------------------------------------------------
    def _add_dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{key}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.docks[key] = dock

    def _build_status_bar(self) -> None:
        self.status = JobStatus(self.statusBar())
        self.status.cancel_button.clicked.connect(self.cancel)

    def _action(self, menu, text: str, slot, shortcuts=(), checkable: bool = False, name: str = "") -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setCheckable(checkable)
        action.setObjectName(name or text)
        action.triggered.connect(slot)
        menu.addAction(action)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_menus(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open image(s)…", self.open_images_dialog, ["Ctrl+O"])
        self._action(f, "Open &folder…", self.open_folder_dialog, ["Ctrl+Shift+O"])
        self.recent_menu = f.addMenu("Open &recent")
        self._action(f, "Open bundled &samples", self.open_samples)
        self._action(f, "Open &video…", self.open_video_dialog, ["Ctrl+Shift+V"])
        self._action(f, "&Webcam", lambda: self.start_webcam(0), ["Ctrl+Shift+W"])
        f.addSeparator()
        self._action(f, "&Import checkpoint…", self.import_checkpoint_dialog, ["Ctrl+I"])
        self._action(f, "&Save SNN output as…", self.save_output_dialog, ["Ctrl+S"])
        f.addSeparator()
        self._action(f, "&Quit", self.close, ["Ctrl+Q"])

        v = mb.addMenu("&View")
        self.mode_actions: dict[str, QAction] = {}
        group = QActionGroup(self)
        for i, (mode, label) in enumerate(zip(MODES, ("Side by side", "Split slider", "Difference"), strict=True)):
            a = self._action(v, label, lambda _c=False, m=mode: self.set_view_mode(m), [f"Ctrl+{i + 1}"], True,
                             name=f"mode-{mode}")
            group.addAction(a)
            self.mode_actions[mode] = a
        self._action(v, "&Fit to window", self.panes.fit, ["Ctrl+0"])
        v.addSeparator()
        self._action(v, "&Next image", lambda: self.file_list.step(1), ["PgDown", "Alt+Right"])
        self._action(v, "&Previous image", lambda: self.file_list.step(-1), ["PgUp", "Alt+Left"])
        v.addSeparator()
        theme_menu = v.addMenu("&Theme")
        tgroup = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for name in THEMES:
            a = self._action(theme_menu, name.capitalize(), lambda _c=False, n=name: self.set_theme(n), checkable=True,
                             name=f"theme-{name}")
            tgroup.addAction(a)
            self.theme_actions[name] = a
        panels = v.addMenu("&Panels")
        for dock in self.docks.values():
            panels.addAction(dock.toggleViewAction())
        self._action(v, "Full &screen", self._toggle_fullscreen, ["F11"])

        r = mb.addMenu("&Run")
        self._action(r, "&Restore current image", self.run, ["F5", "Ctrl+R"], name="run")
        self._action(r, "&Cancel", self.cancel, ["Esc"], name="cancel")
        self._action(r, "Run &batch…", self._start_batch_from_menu, ["Ctrl+B"])
        self._action(r, "&Stop video (keep output)", self.controller.stop_video, ["Shift+Esc"], name="stop-video")
        r.addSeparator()
        self.auto_run_action = self._action(r, "Restore on &select", self._toggle_auto_run, checkable=True)

        h = mb.addMenu("&Help")
        self._action(h, "&About SpikeView", self.show_about, ["F1"])
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, ["Ctrl+/"])
        self._action(h, "Open &log folder", self.open_log_folder)

    def _connect(self) -> None:
        c = self.controller
        c.catalogChanged.connect(self._on_catalog)
        c.modelsLoaded.connect(self._on_models_loaded)
        c.inputReady.connect(self._on_input)
        c.resultReady.connect(self._on_result)
        c.progressChanged.connect(self._on_progress)
        c.busyChanged.connect(self._on_busy)
        c.failed.connect(self._on_failed)
        c.batchFile.connect(self._on_batch_file)
        c.batchFinished.connect(self._on_batch_finished)
        c.videoFinished.connect(self._on_video_finished)
        c.notice.connect(lambda text: self.statusBar().showMessage(text, 10000))
        c.modelImported.connect(lambda m: self.statusBar().showMessage(f"imported {m.name} → {m.path}", 8000))
        self.file_list.fileSelected.connect(self._on_file_selected)
        self.picker.selectionChanged.connect(self._on_picker)
        self.picker.ensembleChanged.connect(self._on_ensemble)
        self.picker.importRequested.connect(self.import_checkpoint_dialog)
        self.panes.modeChanged.connect(self._on_mode_changed)
        self.activity.set_source(c.latest_activity, c.latest_firing_rates, c.latest_frame_rasters)
        self.activity.captureChanged.connect(self._on_capture)
        self.energy.presetChanged.connect(lambda p: self.settings.set("energy_preset", p))
        self.batch.runRequested.connect(self._on_batch_requested)
        self.batch.cancelRequested.connect(self.cancel)
        self.batch.outputChosen.connect(lambda d: self.settings.set("last_output_dir", d))

    def _restore_settings(self) -> None:
        s = self.settings
        geometry = s.get("geometry")
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = s.get("window_state")
        if not state.isEmpty():
            self.restoreState(state)
        self.set_theme(s.get("theme"), save=False)
        self.set_view_mode(s.get("view_mode"), save=False)
        self.energy.set_preset(s.get("energy_preset"))
        self.picker.set_tile(s.get("tile"))
        self.picker.set_ensemble(s.get("ensemble"))
        self.auto_run_action.setChecked(s.get("auto_run"))
        self.batch.set_output(s.get("last_output_dir"))
        self._rebuild_recent(s.get("recent_files"))

    def save_settings(self) -> None:
        model, twin, device, tile = self.picker.selection()
        if self._catalog_seen:
            self.settings.update(model=model, twin=twin, device=device)
        self.settings.update(tile=tile, geometry=self.saveGeometry(), window_state=self.saveState(),
                             view_mode=self.panes.mode)
        self.settings.sync()

    # -- opening -----------------------------------------------------------------------------
    def open_paths(self, paths: list[str | Path]) -> None:
        """Open image files and/or folders (folders recursively) into the file list."""
        from spikeview.media.video import VIDEO_EXTENSIONS

        files: list[Path] = []
        folders: list[Path] = []
        for p in map(Path, paths):
            if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS:
                self.open_video(p)  # a dropped/opened video streams into the panes (no output file)
                return
            if p.is_dir():
                folders.append(p)
            elif p.is_file():
                files.append(p)
            else:
                self._error("open", f"no such file or folder: {p}")
        if len(folders) == 1 and not files:
            self.open_folder(folders[0])
            return
        from spikeview.media.images import list_images

        for folder in folders:
            try:
                files += list_images(folder, recursive=True)
            except SpikeViewError as exc:
                self._error("open", str(exc))
        files = [f for f in files if f.suffix.lower() in IMAGE_EXTENSIONS]
        if not files:
            return
        for f in files[:1] + folders:
            self._remember(f)
        self._set_files(files, None, f"{len(files)} files")

    def open_folder(self, folder: str | Path) -> None:
        from spikeview.media.images import list_images

        folder = Path(folder)
        try:
            files = list_images(folder, recursive=True)
        except SpikeViewError as exc:
            self._error("open", str(exc))
            return
        self.settings.set("last_folder_dir", str(folder))
        self._remember(folder)
        self._set_files(files, folder, str(folder))

    def open_samples(self) -> bool:
        from spikeview.paths import samples_dir

        folder = samples_dir()
        if folder.is_dir() and any(folder.iterdir()):
            self.open_folder(folder)
            return True
        self.statusBar().showMessage(f"no bundled samples in {folder}", 8000)
        return False

    def _set_files(self, files: list[Path], root: Path | None, label: str) -> None:
        shown = hide_ground_truths(files)  # the clean half of a rain/clean pair is ground truth, not an input
        self.file_list.set_files(shown, root)
        flat = root is not None and all(f.parent == root for f in files)
        if root is not None and flat and len(shown) < len(files):
            # a flat folder of rain/clean pairs: batch the rainy ones, not the ground truths
            self.batch.set_inputs(shown, f"{root} ({len(shown)} inputs; paired ground truths skipped)")
        else:
            self.batch.set_inputs([root] if root else shown, label)

    def _remember(self, path: Path) -> None:
        self._rebuild_recent(self.settings.add_recent(path))

    def _rebuild_recent(self, recent: list[str]) -> None:
        self.recent_menu.clear()
        for entry in recent:
            action = self.recent_menu.addAction(entry)
            action.triggered.connect(lambda _c=False, e=entry: self.open_paths([e]))
        self.recent_menu.addSeparator()
        clear = self.recent_menu.addAction("Clear list")
        clear.triggered.connect(lambda: (self.settings.set("recent_files", []), self._rebuild_recent([])))
        self.recent_menu.setEnabled(True)

    def open_images_dialog(self) -> None:
        patterns = " ".join(f"*{e}" for e in IMAGE_EXTENSIONS)
        files, _ = QFileDialog.getOpenFileNames(self, "Open images", self.settings.get("last_open_dir"),
                                                f"Images ({patterns});;All files (*)")
        if files:
            self.settings.set("last_open_dir", str(Path(files[0]).parent))
            self.open_paths(files)

    def open_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder (sub-folders included)",
                                                  self.settings.get("last_folder_dir"))
        if folder:
            self.open_folder(folder)

    def import_checkpoint_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a SpikeView checkpoint", self.settings.get("last_open_dir"),
                                              "Checkpoints (*.pt *.pth);;All files (*)")
        if path:
            self.controller.import_checkpoint(path)

    def open_video_dialog(self) -> None:
        from spikeview.media.video import VIDEO_EXTENSIONS

        patterns = " ".join(f"*{e}" for e in VIDEO_EXTENSIONS)
        path, _ = QFileDialog.getOpenFileName(self, "Open video", self.settings.get("last_open_dir"),
                                              f"Videos ({patterns});;All files (*)")
        if not path:
            return
        self.settings.set("last_open_dir", str(Path(path).parent))
        start = str(Path(self.settings.get("last_output_dir") or Path(path).parent) / f"{Path(path).stem}_snn.mp4")
        output, _ = QFileDialog.getSaveFileName(self, "Save the restored video as… (Cancel: preview only)", start,
                                                "MP4 video (*.mp4);;AVI video (*.avi)")
        self.open_video(path, output or None)

    def open_video(self, path: str | Path, output: str | Path | None = None) -> None:
        """Restore a video frame by frame (SNN); frames stream into the panes, Esc cancels."""
        if self._loaded is None:
            self._error("video", NO_MODEL_TEXT)
            return
        self._remember(Path(path))
        self.setWindowTitle(f"SpikeView — {Path(path).name}")
        self.activity.raster_mode.setCurrentIndex(self.activity.raster_mode.findData("frames"))
        self.controller.run_video(path=path, output=output)

    def start_webcam(self, index: int = 0) -> None:
        if self._loaded is None:
            self._error("webcam", NO_MODEL_TEXT)
            return
        self.setWindowTitle(f"SpikeView — camera {index}")
        self.activity.raster_mode.setCurrentIndex(self.activity.raster_mode.findData("frames"))
        self.controller.run_video(camera=index, reduce_to=320)

    def save_output_dialog(self) -> None:
        o = self._last_outcome
        if o is None:
            self.statusBar().showMessage("nothing to save yet: restore an image first (F5)", 5000)
            return
        stem = o.source.stem if o.source else "restored"
        start = str(Path(self.settings.get("last_output_dir") or ".") / f"{stem}_snn.png")
        path, _ = QFileDialog.getSaveFileName(self, "Save SNN output", start, "PNG (*.png);;JPEG (*.jpg);;TIFF (*.tif)")
        if path:
            from spikeview.media.images import write_image

            try:
                write_image(path, o.snn, protected=[o.source] if o.source else ())
                self.statusBar().showMessage(f"saved {path}", 5000)
            except SpikeViewError as exc:
                self._error("save", str(exc))

    # -- running -----------------------------------------------------------------------------
    def current_path(self) -> Path | None:
        return self._current

    def run(self) -> None:
        if self._current is None:
            self.statusBar().showMessage("open an image first (Ctrl+O)", 5000)
            return
        if self._loaded is None:
            text = NO_MODEL_TEXT if not self.picker.model_combo.count() else "model loading…"
            self.statusBar().showMessage(text, 8000)
            return
        self.controller.restore(self._current, target=find_ground_truth(self._current))

    def cancel(self) -> None:
        if self.controller.busy:
            self.controller.cancel()
            self.statusBar().showMessage("cancelling…", 3000)

    def run_batch(self, inputs: list[str | Path], out_dir: str | Path, suffix: str = "") -> None:
        self.batch.clear_rows()
        self.batch.set_output(str(out_dir))
        self.batch.set_running(True)
        self.docks["batch"].raise_()
        self.settings.set("last_output_dir", str(out_dir))
        self.controller.run_batch(list(inputs), out_dir, suffix)

    def _start_batch_from_menu(self) -> None:
        self.docks["batch"].show()
        self.docks["batch"].raise_()
        self.batch._run()

    def _on_batch_requested(self, inputs: list, out_dir: str, suffix: str) -> None:
        self.run_batch(inputs, out_dir, suffix)

    def set_view_mode(self, mode: str, save: bool = True) -> None:
        if mode not in MODES:
            mode = "side"
        self.panes.set_mode(mode)
        self.mode_actions[mode].setChecked(True)
        if save:
            self.settings.set("view_mode", mode)

    def set_theme(self, name: str, save: bool = True) -> None:
        name = name if name in THEMES else "dark"
        app = QApplication.instance()
        colors = apply_theme(app, name) if app is not None else plot_colors(name)
        for w in (self.panes, self.activity, self.energy):
            w.apply_theme(colors)
        self.theme_actions[name].setChecked(True)
        if save:
            self.settings.set("theme", name)

    def _toggle_auto_run(self, checked: bool) -> None:
        self.settings.set("auto_run", bool(checked))

    def _toggle_fullscreen(self) -> None:
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    # -- help --------------------------------------------------------------------------------
    def show_about(self) -> None:
        from spikeview.gui.about import AboutDialog

        dialog = AboutDialog(self)
        dialog.open()

    def shortcut_table(self) -> list[tuple[str, str]]:
        """(action, keys) for every action that has a shortcut, in menu order."""
        rows = []
        for action in self.actions():
            keys = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts())
            if keys:
                rows.append((action.text().replace("&", "").rstrip("…"), keys))
        return rows

    def show_shortcuts(self) -> None:
        rows = "".join(f"<tr><td>{name}&nbsp;&nbsp;</td><td><b>{keys}</b></td></tr>"
                       for name, keys in self.shortcut_table())
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", f"<table>{rows}</table>",
                          QMessageBox.StandardButton.Close, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def open_log_folder(self) -> None:
        from spikeview.paths import user_log_dir

        folder = user_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # -- controller callbacks ------------------------------------------------------------------
    def _on_catalog(self, models: list, devices: list) -> None:
        s = self.settings
        first = not self._catalog_seen
        current = self.picker.selection() if self._catalog_seen else (s.get("model"), s.get("twin"), s.get("device"), 0)
        self.picker.set_catalog(models, devices, model=current[0], twin=current[1], device=current[2])
        self._catalog_seen = True
        if not models:
            self.statusBar().showMessage(NO_MODEL_TEXT)
            self.panes.panes[2].show(None, NO_MODEL_PANE_TEXT)
            return
        if first or self._loaded is None:
            self._request_load()

    def _request_load(self) -> None:
        model, twin, device, tile = self.picker.selection()
        self.controller.load_models(model, twin, device, None if tile < 0 else tile, self.picker.ensemble())

    def _on_ensemble(self, copies: int) -> None:
        self.settings.update(ensemble=copies)
        self._request_load()  # a quick reload; the current image is restored again when it is done

    def _on_picker(self, model: str, twin: str, device: str, tile: int) -> None:
        self.settings.update(model=model, twin=twin, device=device, tile=tile)
        self._request_load()

    def _on_models_loaded(self, loaded: LoadedModels) -> None:
        self._loaded = loaded
        self.picker.set_loaded(loaded)
        self.activity.set_layers(loaded.layers)
        layer, channel = self.activity.capture()
        self.controller.set_capture(layer, channel)
        self.status.show_device(loaded.device)
        twin = f" + twin {loaded.ann.name}" if loaded.ann else ""
        self.statusBar().showMessage(f"loaded {loaded.snn.name}{twin}", 5000)
        if self._current is not None and self.auto_run_action.isChecked():
            self.run()

    def _on_file_selected(self, path: Path) -> None:
        self._current = path
        self.setWindowTitle(f"SpikeView — {path.name}")
        if self._loaded is not None and self.auto_run_action.isChecked():
            self.run()
        elif self._loaded is None:
            self._preview_without_model(path)

    def _preview_without_model(self, path: Path) -> None:
        from spikeview.gui.controller import to_display
        from spikeview.media.images import read_image

        try:
            waiting = "model loading…" if self.picker.model_combo.count() else NO_MODEL_PANE_TEXT
            self.panes.set_input(to_display(read_image(path)), name=path.name, outputs_placeholder=waiting)
        except SpikeViewError as exc:
            self._error("open", str(exc))

    def _on_input(self, source, image, target) -> None:
        name = source.name if source else ""
        if self.controller.running_kind != "batch":
            self.panes.set_input(image, target, name)

    def _on_result(self, outcome: RestoreOutcome) -> None:
        self._last_outcome = outcome
        self.panes.set_outcome(outcome)
        if outcome.snn_energy is not None:
            self.energy.set_reports(outcome.snn_energy, outcome.ann_energy)
        self.activity.repaint_latest()
        self.activity.show_rates(outcome.firing_rates)
        self.status.show_result(outcome.snn_ms, outcome.ann_ms if outcome.ann is not None else None, outcome.tiles,
                                outcome.device, outcome.fps)
        if outcome.frame_index is not None:
            self.panes.set_frame_label(f"frame {outcome.frame_index + 1}")
        self.resultShown.emit(outcome)

    def _on_progress(self, done: int, total: int, message: str, eta: float) -> None:
        self.status.show_progress(done, total, message, eta)

    def _on_busy(self, busy: bool, kind: str) -> None:
        self.status.show_busy(busy)
        if not busy:
            self.batch.set_running(False)

    def _on_failed(self, kind: str, message: str) -> None:
        if kind == "load" and not self.picker.model_combo.count():
            message = NO_MODEL_TEXT
        if kind in ("load", "import"):
            self.picker.show_error(message)
        self._error(kind, message)

    def _on_batch_file(self, row: BatchRow) -> None:
        self.batch.add_row(row)

    def _on_batch_finished(self, summary: BatchSummary) -> None:
        self.batch.set_summary(summary)
        self.batch.set_running(False)
        self.statusBar().showMessage(self.batch.summary.text(), 10000)

    def _on_video_finished(self, summary) -> None:
        saved = f", saved {summary.output}" if summary.output else ""
        done = f"video: {summary.frames_processed} frames in {summary.elapsed_s:.1f} s ({summary.fps:.1f} FPS)"
        self.statusBar().showMessage(done + saved, 15000)

    def _on_capture(self, layer: str, channel: int) -> None:
        self.controller.set_capture(layer, channel)
        # re-run so the new layer/channel gets recorded; a running batch picks it up by itself
        if self.controller.running_kind != "batch" and self._current is not None and self._loaded is not None:
            self.run()

    def _on_mode_changed(self, mode: str) -> None:
        self.mode_actions[mode].setChecked(True)
        self.settings.set("view_mode", mode)

    def _error(self, kind: str, message: str) -> None:
        log.warning("%s: %s", kind, message)
        self.statusBar().showMessage(message, 15000)
        if self._closing:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "SpikeView", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # window-modal, does not block the event loop

    # -- Qt events ---------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    def closeEvent(self, event) -> None:
        self._closing = True
        self.save_settings()
        self.activity.timer.stop()
        self.file_list.stop()
        self.controller.shutdown()
        super().closeEvent(event)
