"""The GUI's only door to the engine: a worker ``QThread`` that owns the models.

:class:`Controller` lives in the GUI thread and turns requests (load models, restore an
image, batch a folder, import a checkpoint) into jobs for :class:`_Worker`, which runs them
one at a time in its own thread and answers with signals carrying numpy arrays and the
dataclasses of :mod:`spikeview.gui.types`. Nothing here blocks the GUI thread.

Job policy (latest request wins, nothing piles up): a new restore cancels a running restore
and replaces a pending one; a model load cancels a running restore; a batch runs until it
ends or :meth:`Controller.cancel` is called. Cancelling sets a :class:`CancelToken` that the
engine checks between tiles and files.

Live activity is *pulled*: the worker keeps the current ``ActivityRecorder`` (thread-safe
readers, bounded ring buffers) and the activity dock asks :meth:`Controller.latest_activity`
on its repaint timer, so a fast model can never flood the GUI with signals.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from spikeview.errors import SpikeViewError
from spikeview.gui.types import (
    BatchRow,
    BatchSummary,
    DeviceChoice,
    LayerChoice,
    LoadedModels,
    ModelCard,
    ModelChoice,
    RestoreOutcome,
)
from spikeview.progress import Cancelled, CancelToken

log = logging.getLogger(__name__)

NO_TWIN = "(none)"
_PROGRESS_INTERVAL_S = 0.05


@dataclass
class _Job:
    kind: str  # init | load | restore | batch | import
    args: dict[str, Any] = field(default_factory=dict)
    token: CancelToken = field(default_factory=CancelToken)
    started: float = 0.0


def to_display(image: np.ndarray) -> np.ndarray:
    """RGB uint8/uint16 HWC → C-contiguous RGB uint8 HWC for the panes."""
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
    return np.ascontiguousarray(image.astype(np.uint8, copy=False))


def _card_text(path: Path | None) -> str:
    if path is None or not path.is_file():
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read model card %s: %s", path, exc)
        return ""


def _model_card(restorer: Any, card_path: Path | None) -> ModelCard:
    info = restorer.info
    return ModelCard(
        name=info.name,
        arch=info.arch,
        spiking=info.spiking,
        timesteps=info.timesteps,
        task=info.task,
        parameters=info.parameters,
        metrics=dict(info.metrics),
        metadata=dict(info.metadata),
        path=info.path,
        card_markdown=_card_text(card_path),
    )


def _neuromorphic_choices() -> list[DeviceChoice]:
    """Neuromorphic backends for the device picker: shown with why they are (un)available, never
    selectable, because they run tile-sized NIR graphs (``spikeview export``), not the live view."""
    from spikeview.backends import available_backends

    choices = []
    for backend in available_backends():
        if backend.kind != "neuromorphic":
            continue
        status = backend.status()
        detail = status.reason if not status.available else f"{status.reason}; runs exported NIR graphs per tile"
        choices.append(DeviceChoice(backend.name, False, detail, kind="neuromorphic"))
    return choices


class _Worker(QObject):
    """Runs jobs in the worker thread. Created without a parent (``moveToThread``)."""

    catalog = Signal(object, object)  # list[ModelChoice], list[DeviceChoice]
    loaded = Signal(object)  # LoadedModels
    inputReady = Signal(object, object, object)  # source Path, display image, target image | None
    restored = Signal(object)  # RestoreOutcome
    batchFile = Signal(object)  # BatchRow
    batchDone = Signal(object)  # BatchSummary
    imported = Signal(object)  # ModelChoice
    frameWaiting = Signal()  # a video frame is in the mailbox (emitted only when it was empty)
    videoDone = Signal(object)  # PipelineSummary
    progress = Signal(int, int, str)
    notice = Signal(str)  # something the user should know that is not an error
    failed = Signal(str, str)  # job kind, one-line message
    jobDone = Signal(str, bool)  # job kind, cancelled

    def __init__(self) -> None:
        super().__init__()
        self.snn: Any = None
        self.ann: Any = None
        self.recorder: Any = None  # read from the GUI thread: ActivityRecorder readers are locked
        self.capture: tuple[str | None, int] = (None, 0)
        self._last_progress = 0.0
        self.mailbox: Any = None  # LatestMailbox of video frames: at most one waits for the GUI
        self.pipeline: Any = None
        self._layer_names: set[str] = set()

    # -- plumbing --------------------------------------------------------------------------
    @Slot(object)
    def run_job(self, job: _Job) -> None:
        cancelled = False
        try:
            if job.token.cancelled:
                raise Cancelled()
            getattr(self, f"_do_{job.kind}")(job)
        except Cancelled:
            cancelled = True
        except SpikeViewError as exc:
            self.failed.emit(job.kind, str(exc))
        except MemoryError:
            self.failed.emit(job.kind, "out of memory: choose a smaller tile size (Model > Tile)")
        except RuntimeError as exc:
            if "out of memory" not in str(exc).lower():  # torch.OutOfMemoryError is a RuntimeError
                log.exception("%s job failed", job.kind)
                self.failed.emit(job.kind, f"internal error (RuntimeError: {exc}); see the log")
            else:
                self.failed.emit(job.kind, "out of memory on the device: choose a smaller tile size or the CPU")
        except Exception as exc:  # a bug: keep the traceback in the log, tell the user
            log.exception("%s job failed", job.kind)
            self.failed.emit(job.kind, f"internal error ({type(exc).__name__}: {exc}); see the log")
        finally:
            self.jobDone.emit(job.kind, cancelled)

    def _progress(self, done: int, total: int, message: str, force: bool = False) -> None:
        now = time.perf_counter()
        if force or done >= total or now - self._last_progress >= _PROGRESS_INTERVAL_S:
            self._last_progress = now
            self.progress.emit(int(done), int(total), message)

    def _restore(self, restorer: Any, image: np.ndarray, **kw: Any) -> Any:
        """``restorer.restore``; on out-of-memory retry with tiles half as large (down to 64 px)."""
        while True:
            try:
                return restorer.restore(image, **kw)
            except RuntimeError as exc:
                if "out of memory" not in str(exc).lower():
                    raise
                h, w = image.shape[:2]
                current = restorer.auto_tile(h, w) or max(h, w)
                smaller = max(64, (current // 2) // 8 * 8)
                if smaller >= current:
                    raise
                import torch

                if torch.cuda.is_available():
                    torch.cuda.empty_cache()
                restorer.tile = smaller  # kept for the next images too
                log.warning("out of memory with %s px tiles; retrying with %d px", current, smaller)
                self.notice.emit(f"out of memory: retrying {restorer.info.name} with {smaller} px tiles")

    def _new_recorder(self) -> Any:
        if self.snn is None or not self.snn.info.spiking:
            return None
        from spikeview.recording import ActivityRecorder

        layer, channel = self.capture
        if layer not in self._layer_names:  # a layer of the previous model: use the first one
            layer = None
        rec = ActivityRecorder(self.snn.model, capture_layer=layer, capture_channel=channel, capacity=2,
                               frame_capacity=64)
        self.recorder = rec
        return rec

    def set_capture(self, layer: str | None, channel: int) -> None:
        self.capture = (layer, channel)
        rec = self.recorder
        if rec is not None:
            try:
                rec.set_capture(layer, channel)
            except SpikeViewError as exc:
                log.info("capture not changed: %s", exc)

    # -- jobs --------------------------------------------------------------------------------
    def _do_init(self, job: _Job) -> None:
        import torch

        from spikeview.catalog import list_models
        from spikeview.inference.device import available_devices

        # leave a core to the GUI thread; an oversubscribed OpenMP pool is also many times
        # slower on a busy machine (measured 40x on 2 cores under load)
        threads = int(os.environ.get("SPIKEVIEW_THREADS", "0")) or max(1, (os.cpu_count() or 2) - 1)
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
            log.info("torch uses %d threads", threads)

        models = [ModelChoice(e.name, e.path, e.task, e.twin, e.card, e.shipped, e.rain) for e in list_models()]
        devices = [DeviceChoice(d.name, d.available, d.detail) for d in available_devices()]
        devices += _neuromorphic_choices()
        self.catalog.emit(models, devices)

    def _do_load(self, job: _Job) -> None:
        from spikeview.catalog import default_model_name, find_model
        from spikeview.errors import ModelNotFoundError
        from spikeview.inference.restorer import Restorer
        from spikeview.recording import spiking_layers

        name = job.args.get("model") or default_model_name()
        if not name:
            raise ModelNotFoundError("no shipped model found — import a checkpoint (File > Import checkpoint)")
        kw = {"device": job.args.get("device", "auto"), "tile": job.args.get("tile"),
              "ensemble": job.args.get("ensemble", 1)}
        self._progress(0, 2, f"loading {name}", force=True)
        entry = find_model(name)
        snn = Restorer.from_entry(entry, **kw)
        twin_name = job.args.get("twin") or entry.twin
        ann, ann_entry = None, None
        if twin_name and twin_name != NO_TWIN:
            job.token.raise_if_cancelled()
            self._progress(1, 2, f"loading twin {twin_name}", force=True)
            try:
                ann_entry = find_model(twin_name)
                ann = Restorer.from_entry(ann_entry, **kw)
            except SpikeViewError as exc:
                log.warning("ANN twin not loaded: %s", exc)
                self.failed.emit("load", f"ANN twin not loaded: {exc}")
        self.snn, self.ann, self.recorder = snn, ann, None
        layers = ()
        if snn.info.spiking:
            layers = tuple(LayerChoice(li.name, li.channels) for li in spiking_layers(snn.model))
        self._layer_names = {layer.name for layer in layers}
        self._progress(2, 2, "models loaded", force=True)
        self.loaded.emit(
            LoadedModels(
                snn=_model_card(snn, entry.card),
                ann=_model_card(ann, ann_entry.card) if ann is not None else None,
                device=str(snn.device),
                layers=layers,
                tile=snn.tile,
                ensemble=snn.ensemble,
            )
        )

    def _do_restore(self, job: _Job) -> None:
        from spikeview.inference.tiling import count_tiles
        from spikeview.media.images import read_image
        from spikeview.metrics import image_quality

        if self.snn is None:
            raise SpikeViewError("no model loaded — pick a model or import a checkpoint first")
        source: Path | None = job.args.get("path")
        image = job.args.get("image")
        if image is None:
            image = read_image(source)
        target_path = job.args.get("target")
        target = read_image(target_path) if target_path else None
        if target is not None and target.shape != image.shape:
            log.info("ground truth %s has another size; not used", target_path)
            target = None
        display = to_display(image)
        self.inputReady.emit(source, display, to_display(target) if target is not None else None)

        h, w = image.shape[:2]
        units_snn = count_tiles(h, w, self.snn.auto_tile(h, w), self.snn.overlap)
        units_ann = count_tiles(h, w, self.ann.auto_tile(h, w), self.ann.overlap) if self.ann else 0
        total = units_snn + units_ann
        name = source.name if source else "image"

        def snn_progress(done: int, _total: int, msg: str) -> None:
            self._progress(done, total, f"SNN {name}: {msg}")

        def ann_progress(done: int, _total: int, msg: str) -> None:
            self._progress(units_snn + done, total, f"ANN {name}: {msg}")

        self._progress(0, total, f"SNN {name}", force=True)
        rec = self._new_recorder()
        snn_res = self._restore(self.snn, image, progress=snn_progress, cancel=job.token, recorder=rec, energy=True)
        ann_res = None
        if self.ann is not None:
            ann_res = self._restore(self.ann, image, progress=ann_progress, cancel=job.token, energy=True)
        outcome = RestoreOutcome(
            source=source,
            image=display,
            snn=to_display(snn_res.image),
            ann=to_display(ann_res.image) if ann_res else None,
            target=to_display(target) if target is not None else None,
            snn_ms=snn_res.stats.ms,
            ann_ms=ann_res.stats.ms if ann_res else 0.0,
            device=snn_res.stats.device,
            tiles=snn_res.stats.tiles,
            snn_energy=snn_res.stats.energy,
            ann_energy=ann_res.stats.energy if ann_res else None,
            firing_rates=dict(snn_res.stats.firing_rates),
            snn_name=self.snn.info.name,
            ann_name=self.ann.info.name if self.ann else "",
            timesteps=self.snn.info.timesteps,
        )
        if target is not None:
            outcome.quality["input"] = image_quality(image, target)
            outcome.quality["snn"] = image_quality(snn_res.image, target)
            if ann_res is not None:
                outcome.quality["ann"] = image_quality(ann_res.image, target)
        self.restored.emit(outcome)

    def _do_batch(self, job: _Job) -> None:
        from spikeview.inference.batch import plan_batch, run_batch

        if self.snn is None:
            raise SpikeViewError("no model loaded — pick a model or import a checkpoint first")
        out_dir = Path(job.args["out_dir"])
        jobs = plan_batch(job.args["inputs"], out_dir, suffix=job.args.get("suffix", ""))
        if not jobs:
            raise SpikeViewError("no images found in the batch inputs")
        total = len(jobs)
        scale = 1000
        state = {"index": 0, "name": ""}
        counts = {"done": 0, "skipped": 0, "failed": 0}
        start = time.perf_counter()
        rec = self._new_recorder()
        last_preview = [0.0]

        def tile_progress(done: int, tiles: int, _msg: str) -> None:
            frac = done / max(tiles, 1)
            self._progress(int((state["index"] + frac) * scale), total * scale,
                           f"{state['index'] + 1}/{total} {state['name']}")

        def restore(image: np.ndarray, **kw: Any) -> Any:
            state["name"] = jobs[state["index"]].input.name
            result = self._restore(self.snn, image, progress=tile_progress, **kw)
            now = time.perf_counter()
            if now - last_preview[0] > 0.5:  # a preview now and then, not every file
                last_preview[0] = now
                self.restored.emit(
                    RestoreOutcome(
                        source=jobs[state["index"]].input,
                        image=to_display(image),
                        snn=to_display(result.image),
                        snn_ms=result.stats.ms,
                        device=result.stats.device,
                        tiles=result.stats.tiles,
                        firing_rates=dict(result.stats.firing_rates),
                        snn_name=self.snn.info.name,
                        timesteps=self.snn.info.timesteps,
                    )
                )
            return result

        def on_file(res: Any) -> None:
            if res.status in counts:
                counts[res.status] += 1
            self.batchFile.emit(BatchRow(res.input, res.output, res.status, res.error, res.ms))
            state["index"] = min(state["index"] + 1, total - 1)

        def file_progress(done: int, _total: int, msg: str) -> None:
            self._progress(done * scale, total * scale, f"{done}/{total} {msg}", force=True)

        cancelled = False
        try:
            run_batch(restore, jobs, progress=file_progress, cancel=job.token, on_file=on_file,
                      restore_kwargs={"recorder": rec} if rec is not None else None)
        except Cancelled:
            cancelled = True
        self.batchDone.emit(
            BatchSummary(out_dir, total, counts["done"], counts["skipped"], counts["failed"], cancelled,
                         time.perf_counter() - start)
        )
        if cancelled:
            raise Cancelled()

    def _do_video(self, job: _Job) -> None:
        from spikeview.inference.pipeline import LatestMailbox, VideoPipeline

        if self.snn is None:
            raise SpikeViewError("no model loaded — pick a model or import a checkpoint first")
        camera = job.args.get("camera")
        if camera is not None:
            from spikeview.media.webcam import CameraSource

            source = CameraSource(int(camera), on_disconnect="end")
        else:
            from spikeview.media.video import VideoFileSource

            source = VideoFileSource(job.args["path"])
        self.mailbox = LatestMailbox()
        rec = self._new_recorder()

        def on_frame(result: Any) -> None:
            if self.mailbox.put(result):
                self.frameWaiting.emit()

        self.pipeline = VideoPipeline(
            source, self.snn, output=job.args.get("output"), reduce_to=job.args.get("reduce_to"),
            on_frame=on_frame, progress=lambda d, t, m: self._progress(d, t, m), cancel=job.token,
            recorder=rec, energy=False,
            protected=[job.args["path"]] if job.args.get("path") else (),
        )
        try:
            summary = self.pipeline.run()
        finally:
            self.pipeline = None
        self.videoDone.emit(summary)

    def stop_video(self) -> None:
        """Graceful end of a video/webcam run (the output is committed)."""
        pipeline = self.pipeline
        if pipeline is not None:
            pipeline.stop()

    def _do_import(self, job: _Job) -> None:
        from spikeview.checkpoints import load_checkpoint
        from spikeview.paths import user_models_dir

        source = Path(job.args["path"])
        load_checkpoint(source)  # raises CheckpointError with a readable message
        folder = user_models_dir()
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / (source.stem + ".pt")
        n = 1
        while target.exists():
            n += 1
            target = folder / f"{source.stem}-{n}.pt"
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.imported.emit(ModelChoice(target.stem, target, "derain", None, None, False))
        self._do_init(job)


class Controller(QObject):
    """GUI-thread facade over the worker. Signals carry numpy arrays and dataclasses."""

    catalogChanged = Signal(object, object)  # list[ModelChoice], list[DeviceChoice]
    modelsLoaded = Signal(object)  # LoadedModels
    inputReady = Signal(object, object, object)  # source, display image, target | None
    resultReady = Signal(object)  # RestoreOutcome
    progressChanged = Signal(int, int, str, float)  # done, total, message, ETA seconds (-1 unknown)
    busyChanged = Signal(bool, str)  # busy, job kind
    failed = Signal(str, str)  # job kind, message
    batchFile = Signal(object)  # BatchRow
    batchFinished = Signal(object)  # BatchSummary
    modelImported = Signal(object)  # ModelChoice
    videoFinished = Signal(object)  # PipelineSummary
    notice = Signal(str)  # a message for the status bar (e.g. an out-of-memory retry)
    jobFinished = Signal(str, bool)  # kind, cancelled

    _dispatch = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("spikeview-worker")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._dispatch.connect(self._worker.run_job)
        w = self._worker
        w.catalog.connect(self._on_catalog)
        w.loaded.connect(self._on_loaded)
        w.inputReady.connect(self._on_input)
        w.restored.connect(self._on_restored)
        w.batchFile.connect(self._on_batch_file)
        w.batchDone.connect(self._on_batch_done)
        w.imported.connect(self._on_imported)
        w.frameWaiting.connect(self._on_frame_waiting)
        w.videoDone.connect(self.videoFinished)
        w.notice.connect(self.notice)
        w.progress.connect(self._on_progress)
        w.failed.connect(self._on_failed)
        w.jobDone.connect(self._on_job_done)
        self._running: _Job | None = None
        self._pending: list[_Job] = []
        self.loaded: LoadedModels | None = None
        self._started = False

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        if not self._started:
            self._thread.start()
            self._started = True
            self._submit(_Job("init"))

    def shutdown(self, timeout_ms: int = 30000) -> None:
        """Cancel everything and stop the thread (call before the app quits)."""
        self._pending.clear()
        if self._running is not None:
            self._running.token.cancel()
        if self._started:
            self._thread.quit()
            if not self._thread.wait(timeout_ms):
                log.warning("worker thread did not stop within %d ms", timeout_ms)
            self._started = False

    @property
    def busy(self) -> bool:
        return self._running is not None

    @property
    def running_kind(self) -> str | None:
        return self._running.kind if self._running else None

    # -- requests ------------------------------------------------------------------------
    def refresh_catalog(self) -> None:
        self._submit(_Job("init"))

    def load_models(self, model: str | None, twin: str | None = None, device: str = "auto",
                    tile: int | None = None, ensemble: int = 1) -> None:
        """Load ``model`` (``None``/"" = shipped default) and its twin (``None`` = the catalog's);
        ``ensemble`` mirrored passes are averaged per image (both models)."""
        self._pending = [j for j in self._pending if j.kind != "load"]
        if self._running is not None and self._running.kind == "restore":
            self._running.token.cancel()
        self._submit(_Job("load", {"model": model or None, "twin": twin or None, "device": device, "tile": tile,
                                   "ensemble": ensemble}))

    def restore(self, path: str | Path | None = None, image: np.ndarray | None = None,
                target: str | Path | None = None) -> None:
        """Restore a file (read in the worker) or an RGB array with the SNN and its twin."""
        self._pending = [j for j in self._pending if j.kind != "restore"]
        if self._running is not None and self._running.kind == "restore":
            self._running.token.cancel()
        self._submit(_Job("restore", {"path": Path(path) if path else None, "image": image,
                                      "target": Path(target) if target else None}))

    def run_batch(self, inputs: list[str | Path], out_dir: str | Path, suffix: str = "") -> None:
        self._submit(_Job("batch", {"inputs": [Path(p) for p in inputs], "out_dir": Path(out_dir), "suffix": suffix}))

    def run_video(self, path: str | Path | None = None, camera: int | None = None, output: str | Path | None = None,
                  reduce_to: int | None = None) -> None:
        """Restore a video file (or camera ``camera``) frame by frame with the SNN; frames stream to the panes."""
        self._pending = [j for j in self._pending if j.kind != "restore"]
        if self._running is not None and self._running.kind == "restore":
            self._running.token.cancel()
        self._submit(_Job("video", {"path": Path(path) if path else None, "camera": camera,
                                    "output": Path(output) if output else None, "reduce_to": reduce_to}))

    def stop_video(self) -> None:
        self._worker.stop_video()

    def import_checkpoint(self, path: str | Path) -> None:
        self._submit(_Job("import", {"path": Path(path)}))

    def cancel(self) -> None:
        """Cancel the running job and drop pending restores/batches (loads still happen)."""
        self._pending = [j for j in self._pending if j.kind in ("load", "init", "import")]
        if self._running is not None:
            self._running.token.cancel()

    def set_capture(self, layer: str | None, channel: int) -> None:
        """Which layer/channel the activity recorder snapshots (applies to the running job too)."""
        self._worker.set_capture(layer, channel)

    # -- live data (pulled by timers) ----------------------------------------------------------
    def latest_activity(self) -> Any:
        """The newest ActivitySnapshot of the capture layer, or None."""
        rec = self._worker.recorder
        return rec.latest() if rec is not None else None

    def latest_frame_rasters(self) -> list[np.ndarray]:
        """Raster ``[T, n]`` arrays of the latest calls (tiles / frames), oldest first."""
        rec = self._worker.recorder
        if rec is None:
            return []
        return rec.frame_rasters.snapshot()

    def latest_firing_rates(self) -> dict[str, float]:
        rec = self._worker.recorder
        return rec.firing_rates() if rec is not None else {}

    # -- internals -----------------------------------------------------------------------------
    def _submit(self, job: _Job) -> None:
        self._pending.append(job)
        self._next()

    def _next(self) -> None:
        if self._running is not None or not self._pending or not self._started:
            return
        order = {"init": 0, "import": 1, "load": 2, "restore": 3, "batch": 4, "video": 5}
        self._pending.sort(key=lambda j: order.get(j.kind, 9))
        job = self._pending.pop(0)
        job.started = time.perf_counter()
        self._running = job
        self.busyChanged.emit(True, job.kind)
        self._dispatch.emit(job)

    @Slot(object, object)
    def _on_catalog(self, models: list, devices: list) -> None:
        self.catalogChanged.emit(models, devices)

    @Slot(object)
    def _on_loaded(self, loaded: LoadedModels) -> None:
        self.loaded = loaded
        self.modelsLoaded.emit(loaded)

    @Slot(object, object, object)
    def _on_input(self, source: Any, image: Any, target: Any) -> None:
        self.inputReady.emit(source, image, target)

    @Slot(object)
    def _on_restored(self, outcome: RestoreOutcome) -> None:
        self.resultReady.emit(outcome)

    @Slot(object)
    def _on_batch_file(self, row: BatchRow) -> None:
        self.batchFile.emit(row)

    @Slot(object)
    def _on_batch_done(self, summary: BatchSummary) -> None:
        self.batchFinished.emit(summary)

    @Slot(object)
    def _on_imported(self, choice: ModelChoice) -> None:
        self.modelImported.emit(choice)

    @Slot()
    def _on_frame_waiting(self) -> None:
        box = self._worker.mailbox
        result = box.take() if box is not None else None
        if result is None:
            return
        from spikeview.gui.types import RestoreOutcome

        stats = result.stats
        snn = self._worker.snn
        self.resultReady.emit(
            RestoreOutcome(
                source=None,
                image=to_display(result.input),
                snn=to_display(result.output),
                snn_ms=stats.model_ms or stats.ms,
                device=str(snn.device) if snn is not None else "",
                firing_rates=dict(stats.firing_rates),
                snn_name=snn.info.name if snn is not None else "",
                timesteps=snn.info.timesteps if snn is not None else 1,
                frame_index=result.index,
                fps=stats.fps,
            )
        )

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, message: str) -> None:
        eta = -1.0
        job = self._running
        if job is not None and 0 < done < total:
            elapsed = time.perf_counter() - job.started
            eta = elapsed / done * (total - done)
        elif done >= total:
            eta = 0.0
        self.progressChanged.emit(done, total, message, eta)

    @Slot(str, str)
    def _on_failed(self, kind: str, message: str) -> None:
        self.failed.emit(kind, message)

    @Slot(str, bool)
    def _on_job_done(self, kind: str, cancelled: bool) -> None:
        self._running = None
        self.jobFinished.emit(kind, cancelled)
        if not self._pending:
            self.busyChanged.emit(False, kind)
        self._next()
