"""The large preview: one photo with its facts; arrows step, Enter opens, Esc/Space closes."""

from __future__ import annotations

import math
import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QDialog, QLabel, QSizePolicy, QVBoxLayout

from photoclip.core.imageio import DecodeError, open_upright
from photoclip.gui.bridge import make_pool, run_task
from photoclip.gui.paths import show

PREVIEW_SIDE = 2048


def _load(path: str) -> QImage:
    try:
        pil = open_upright(path, PREVIEW_SIDE)
    except DecodeError:
        return QImage()
    data = pil.tobytes("raw", "RGB")
    return QImage(data, pil.width, pil.height, 3 * pil.width,
                  QImage.Format.Format_RGB888).copy()


def describe(hit) -> str:
    parts = [show(Path(hit.path).name)]
    if hit.taken_at:
        parts.append(hit.taken_at.replace("T", " "))
    if hit.width and hit.height:
        parts.append(f"{hit.width} × {hit.height}")
    if hit.size:
        mb = hit.size / 2**20
        parts.append(f"{mb:.1f} MB" if mb >= 1 else f"{hit.size // 1024} KB")
    if not math.isnan(hit.score):
        parts.append(f"score {hit.score:.3f}")
    return "   ·   ".join(parts)


class PreviewDialog(QDialog):
    open_requested = Signal(object)  # a path
    row_changed = Signal(int)

    def __init__(self, model, row: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preview")
        self.model = model
        self.row = row
        self.pool = make_pool(1, "photoclip-preview")
        self._pixmap: QPixmap | None = None
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.image.setMinimumSize(320, 240)
        self.info = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.path.setStyleSheet("color: palette(mid);")
        hint = QLabel("← → step   ·   Enter open   ·   Esc close",
                      alignment=Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("color: palette(mid); font-size: 11px;")
        lay = QVBoxLayout(self)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.info)
        lay.addWidget(self.path)
        lay.addWidget(hint)
        self.resize(1000, 760)
        self.show_row(row)

    def add_panel(self, widget) -> None:
        """A strip under the photo (its tags)."""
        self.layout().insertWidget(2, widget)

    @property
    def hit(self):
        return self.model.hit(self.row)

    def show_row(self, row: int) -> None:
        hit = self.model.hit(row)
        if hit is None:
            return
        self.row = row
        self.info.setText(describe(hit))
        self.path.setText(show(os.path.dirname(hit.path)))
        self.setWindowTitle(f"{show(Path(hit.path).name)} — {row + 1} of {self.model.rowCount()}")
        thumb = self.model.thumbs.get(hit.path)
        self._pixmap = thumb
        self._fit()
        path = hit.path
        run_task(self.pool, lambda: _load(path), lambda img, p=path: self._loaded(p, img))
        self.row_changed.emit(row)

    def _loaded(self, path: str, image: QImage) -> None:
        hit = self.hit
        if hit is None or hit.path != path:
            return  # stepped on meanwhile
        if image.isNull():
            self.image.setText("This photo cannot be shown (it may have been moved or damaged).")
            self._pixmap = None
            return
        self._pixmap = QPixmap.fromImage(image)
        self._fit()

    def _fit(self) -> None:
        if self._pixmap is None or self._pixmap.isNull():
            return
        self.image.setPixmap(self._pixmap.scaled(
            self.image.size(), Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key in (Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.show_row(min(self.row + 1, self.model.rowCount() - 1))
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.show_row(max(self.row - 1, 0))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.hit is not None:
                self.open_requested.emit(self.hit.path)
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.accept()
        else:
            super().keyPressEvent(event)
