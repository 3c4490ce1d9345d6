"""The list of opened images with thumbnails decoded off the GUI thread."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

THUMB = 64
PATH_ROLE = Qt.ItemDataRole.UserRole


class _ThumbSignals(QObject):
    ready = Signal(int, int, QImage)  # generation, row, thumbnail


class _ThumbJob(QRunnable):
    """Decode one file scaled down (QImageReader decodes JPEG at reduced size directly)."""

    def __init__(self, signals: _ThumbSignals, generation: int, row: int, path: Path) -> None:
        super().__init__()
        self.signals, self.generation, self.row, self.path = signals, generation, row, path

    def run(self) -> None:
        reader = QImageReader(str(self.path))
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid() and size.width() > 0 and size.height() > 0:
            reader.setScaledSize(size.scaled(THUMB * 2, THUMB * 2, Qt.AspectRatioMode.KeepAspectRatio))
        image = reader.read()
        if not image.isNull():
            self.signals.ready.emit(self.generation, self.row, image)


class FileList(QWidget):
    """Emits ``fileSelected(Path)`` when the current file changes."""

    fileSelected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel("No files open")
        self.header.setWordWrap(True)
        self.list = QListWidget()
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setUniformItemSizes(True)
        self.list.setAlternatingRowColors(True)
        self.list.currentRowChanged.connect(self._row_changed)
        root = QVBoxLayout(self)
        root.setContentsMargins(2, 2, 2, 2)
        root.addWidget(self.header)
        root.addWidget(self.list, 1)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # thumbnails must not compete with inference for the 2nd core
        self._signals = _ThumbSignals()
        self._signals.ready.connect(self._on_thumb)
        self._generation = 0
        self.root: Path | None = None
        placeholder = QPixmap(THUMB, THUMB)
        placeholder.fill(Qt.GlobalColor.darkGray)
        self._placeholder = QIcon(placeholder)

    def set_files(self, paths: list[Path], root: Path | None = None, select: int | None = 0) -> None:
        """Show ``paths`` (names relative to ``root`` when given) and start loading thumbnails."""
        self._generation += 1
        self._pool.clear()
        self.root = root
        self.list.blockSignals(True)
        self.list.clear()
        for row, path in enumerate(paths):
            name = str(path.relative_to(root)) if root and path.is_relative_to(root) else path.name
            item = QListWidgetItem(self._placeholder, name)
            item.setData(PATH_ROLE, str(path))
            item.setToolTip(str(path))
            self.list.addItem(item)
            self._pool.start(_ThumbJob(self._signals, self._generation, row, path))
        self.list.blockSignals(False)
        where = f" in {root}" if root else ""
        plural = "s" if len(paths) != 1 else ""
        self.header.setText(f"{len(paths)} image{plural}{where}" if paths else "No images found")
        if paths and select is not None:
            self.list.setCurrentRow(select)

    def paths(self) -> list[Path]:
        return [Path(self.list.item(i).data(PATH_ROLE)) for i in range(self.list.count())]

    def current_path(self) -> Path | None:
        item = self.list.currentItem()
        return Path(item.data(PATH_ROLE)) if item else None

    def step(self, delta: int) -> None:
        n = self.list.count()
        if n:
            self.list.setCurrentRow((self.list.currentRow() + delta) % n)

    def thumbnails_pending(self) -> bool:
        return self._pool.activeThreadCount() > 0

    def stop(self) -> None:
        self._pool.clear()
        self._pool.waitForDone(2000)

    @Slot(int, int, QImage)
    def _on_thumb(self, generation: int, row: int, image: QImage) -> None:
        if generation != self._generation or row >= self.list.count():
            return
        pix = QPixmap.fromImage(image).scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation)
        self.list.item(row).setIcon(QIcon(pix))

    def _row_changed(self, row: int) -> None:
        if row >= 0:
            self.fileSelected.emit(Path(self.list.item(row).data(PATH_ROLE)))
