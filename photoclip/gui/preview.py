"""The large preview: one photo with its facts.

Keys: ← → (and ↑ ↓) step, Home/End go to the first/last photo, Enter opens, F (or F11) full
screen, 0 fit / 1 actual size, + and − zoom, Esc/Space close. The photo zooms with the wheel
(around the pointer), pans by dragging, and a double-click switches between fit and 100 %.

The photo holds the keyboard focus: when the preview opens and whenever it is clicked. A text
field in a panel under it (the photo's tags) takes the keys only once the user clicks into it;
Esc there hands them back to the photo (a second Esc closes).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.indexing.imageio import DecodeError, open_upright
from photoclip.gui import executors
from photoclip.gui.executors import run_task
from photoclip.gui.file_urls import shown
from photoclip.gui.format import human_size

PREVIEW_SIDE = 4096  # decoded at most this big: 100 % is real pixels for most cameras' photos
ZOOM_LIMITS = (0.05, 16.0)


def _load(path: str) -> QImage:
    try:
        pil = open_upright(path, PREVIEW_SIDE)
    except DecodeError:
        return QImage()
    data = pil.tobytes("raw", "RGB")
    return QImage(data, pil.width, pil.height, 3 * pil.width,
                  QImage.Format.Format_RGB888).copy()


def describe(hit) -> str:
    parts = [shown(Path(hit.path).name)]
    if hit.taken_at:
        parts.append(hit.taken_at.replace("T", " "))
    if hit.width and hit.height:
        parts.append(f"{hit.width} × {hit.height}")
    if hit.size:
        parts.append(human_size(hit.size))
    if not math.isnan(hit.score):
        parts.append(f"score {hit.score:.3f}")
    return "   ·   ".join(parts)


class ImageCanvas(QWidget):
    """A photo fitted to the widget, or zoomed (``scale`` = screen pixels per photo pixel)
    and panned. ``fit`` is True while it follows the widget's size."""

    zoom_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixmap: QPixmap | None = None
        self.real_width = 0  # the photo's own width (the pixmap may be a smaller decode)
        self.message = ""
        self.fit = True
        self.scale = 1.0
        self.centre = QPointF()  # the photo point (in pixmap pixels) at the widget's centre
        self._drag: QPointF | None = None
        self.setMinimumSize(320, 240)
        self.setMouseTracking(True)
        # (a click takes the keys back from a text field; the keys themselves go on to the
        # window that shows the photo: its keyPressEvent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def set_pixmap(self, pm: QPixmap | None, real_width: int = 0, message: str = "") -> None:
        self.pixmap, self.message = pm, message
        self.real_width = real_width or (pm.width() if pm else 0)
        if self.fit or pm is None:
            self.fit = True
        self.centre = QPointF(pm.width() / 2, pm.height() / 2) if pm else QPointF()
        self.update()
        self.zoom_changed.emit()

    def fit_scale(self) -> float:
        pm = self.pixmap
        if pm is None or pm.isNull():
            return 1.0
        return min(self.width() / pm.width(), self.height() / pm.height())

    def current_scale(self) -> float:
        return self.fit_scale() if self.fit else self.scale

    def percent(self) -> int:
        """The zoom as a share of the photo's real pixels."""
        if self.pixmap is None or not self.real_width:
            return 100
        return round(100 * self.current_scale() * self.pixmap.width() / self.real_width)

    def show_fit(self) -> None:
        self.fit = True
        if self.pixmap is not None:
            self.centre = QPointF(self.pixmap.width() / 2, self.pixmap.height() / 2)
        self.update()
        self.zoom_changed.emit()

    def show_actual(self) -> None:
        if self.pixmap is None:
            return
        self.zoom_to(self.real_width / self.pixmap.width() if self.real_width else 1.0)

    def zoom_to(self, scale: float, anchor: QPointF | None = None) -> None:
        """Zoom keeping the photo point under ``anchor`` (a widget point) where it is."""
        if self.pixmap is None:
            return
        old = self.current_scale()
        scale = min(max(scale, ZOOM_LIMITS[0]), ZOOM_LIMITS[1])
        if anchor is not None:
            offset = anchor - QPointF(self.width() / 2, self.height() / 2)
            under = self.centre + offset / old
            self.centre = under - offset / scale
        self.fit, self.scale = False, scale
        self._clamp()
        self.update()
        self.zoom_changed.emit()

    def zoom_by(self, factor: float, anchor: QPointF | None = None) -> None:
        self.zoom_to(self.current_scale() * factor, anchor)

    def _clamp(self) -> None:
        pm, s = self.pixmap, self.current_scale()
        if pm is None:  # (a drag or resize while no photo is shown)
            return
        half_w, half_h = self.width() / (2 * s), self.height() / (2 * s)
        x = min(max(self.centre.x(), half_w), pm.width() - half_w) \
            if pm.width() > 2 * half_w else pm.width() / 2
        y = min(max(self.centre.y(), half_h), pm.height() - half_h) \
            if pm.height() > 2 * half_h else pm.height() / 2
        self.centre = QPointF(x, y)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        pm = self.pixmap
        if pm is None or pm.isNull():
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect().adjusted(20, 20, -20, -20),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
            return
        s = self.current_scale()
        w, h = pm.width() * s, pm.height() * s
        centre = self.centre if not self.fit else QPointF(pm.width() / 2, pm.height() / 2)
        x = self.width() / 2 - centre.x() * s
        y = self.height() / 2 - centre.y() * s
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, s < 2)
        p.drawPixmap(QRectF(x, y, w, h), pm, QRectF(pm.rect()))

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120
        if steps and self.pixmap is not None:
            self.zoom_by(1.25 ** steps, event.position())

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and not self.fit:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event) -> None:
        if self._drag is not None:
            delta = event.position() - self._drag
            self._drag = event.position()
            self.centre -= delta / self.current_scale()
            self._clamp()
            self.update()

    def mouseReleaseEvent(self, _event) -> None:
        self._drag = None
        self.unsetCursor()

    def mouseDoubleClickEvent(self, _event) -> None:
        if self.fit:
            self.show_actual()
        else:
            self.show_fit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if not self.fit and self.pixmap is not None:
            self._clamp()


def is_text_field(widget: QWidget | None) -> bool:
    """Whether ``widget`` takes typed text (its keys are not commands)."""
    return isinstance(widget, (QLineEdit, QPlainTextEdit, QTextEdit, QAbstractSpinBox))


class PreviewDialog(QDialog):
    open_requested = Signal(object)  # a path
    row_changed = Signal(int)

    def __init__(self, model, row: int, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Preview")
        self.model = model
        self.row = row
        self.path_shown: str | None = None
        self.gone = False  # the photo shown left the results (a tag taken off, a new cut)
        model.modelReset.connect(self._results_changed)
        model.loaded.connect(self._page_arrived)
        self._waiting: int | None = None  # a row stepped to whose photo is on its way
        self.pool = executors.preview_pool()
        self.canvas = ImageCanvas()
        self.canvas.zoom_changed.connect(self._zoom_shown)
        self.info = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.path.setStyleSheet("color: palette(mid);")
        self.fit_btn = QPushButton("Fit")
        self.fit_btn.setToolTip("Fit the photo to the window (0)")
        self.fit_btn.clicked.connect(self.canvas.show_fit)
        self.actual_btn = QPushButton("100 %")
        self.actual_btn.setToolTip("Actual size (1); the wheel zooms, dragging pans")
        self.actual_btn.clicked.connect(self.canvas.show_actual)
        self.full_btn = QPushButton("Full screen")
        self.full_btn.setToolTip("F")
        self.full_btn.clicked.connect(self.toggle_full_screen)
        self.zoom_label = QLabel()
        self.zoom_label.setStyleSheet("color: palette(mid);")
        hint = QLabel("← → step  ·  Home End  ·  wheel zoom  ·  F full screen  ·  Enter open  ·  "
                      "Esc close", alignment=Qt.AlignmentFlag.AlignCenter)
        hint.setStyleSheet("color: palette(mid); font-size: 11px;")
        tools = QHBoxLayout()
        tools.addWidget(self.fit_btn)
        tools.addWidget(self.actual_btn)
        tools.addWidget(self.zoom_label)
        tools.addStretch(1)
        tools.addWidget(hint)
        tools.addStretch(1)
        tools.addWidget(self.full_btn)
        lay = self._lay = QVBoxLayout(self)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.info)
        lay.addWidget(self.path)
        lay.addLayout(tools)
        for b in (self.fit_btn, self.actual_btn, self.full_btn):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # (the keys belong to the preview)
        self.resize(1000, 760)
        self.show_row(row)

    def add_panel(self, widget) -> None:
        """A strip under the photo (its tags)."""
        self._lay.insertWidget(2, widget)
        self.canvas.setFocus()  # (else the panel's first text field takes the keys)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.canvas.setFocus()

    @property
    def hit(self):
        """The photo shown (None once it left the results)."""
        return None if self.gone else self.model.hit(self.row)

    def show_row(self, row: int) -> None:
        hit = self.model.hit(row, fetch=True)
        if hit is None:  # a browse's page not fetched yet: shown once it arrives
            self._waiting = row
            return
        self._waiting = None
        self.row, self.path_shown, self.gone = row, hit.path, False
        self.info.setText(describe(hit))
        self.path.setText(shown(os.path.dirname(hit.path)))
        number = self.model.photo_number(row)
        self.setWindowTitle(f"{shown(Path(hit.path).name)} — {number:,} of {self.model.shown:,}")
        if hit.offline:
            self.canvas.set_pixmap(None, message=(
                "This photo's folder is not reachable now (an unplugged drive or a network "
                f"share that is not connected):\n{shown(os.path.dirname(hit.path))}\n\nIt stays "
                "in your library and shows again when the folder is back."))
        else:
            thumb = self.model.thumbs.get(hit.path)
            self.canvas.set_pixmap(thumb, hit.width or 0, "Loading…")
            path = hit.path

            def loaded(img: QImage) -> None:
                self._loaded(path, img)

            run_task(self.pool, lambda: _load(path), loaded)
        self.row_changed.emit(row)

    def _page_arrived(self, first: int, last: int) -> None:
        if self._waiting is not None and first <= self._waiting <= last:
            self.show_row(self._waiting)

    def _results_changed(self) -> None:
        """The grid's results changed under the preview: the photo shown keeps its place in
        them, or, gone from them, stays shown until the user steps (→ goes to the photo that
        came after it)."""
        if self.path_shown is None:
            return
        row = self.model.row_of(self.path_shown)
        if row is not None:
            self.row, self.gone = row, False
            number = self.model.photo_number(row)
            self.setWindowTitle(f"{shown(Path(self.path_shown).name)} — {number:,} of "
                                f"{self.model.shown:,}")
            return
        self.gone = True
        self.row = min(self.row, max(self.model.rowCount() - 1, 0))
        self.setWindowTitle(f"{shown(Path(self.path_shown).name)} — no longer in the results")

    def _step(self, delta: int) -> None:
        if self.gone and delta > 0:
            delta -= 1  # (the photo after the one gone has its row now)
        self.show_row(self.model.step(self.row, delta))

    def _loaded(self, path: str, image: QImage) -> None:
        hit = self.model.hit(self.row) if not self.gone else None
        if path != self.path_shown:
            return  # stepped on meanwhile
        if image.isNull():
            self.canvas.set_pixmap(None, message="This photo cannot be shown: it was moved, "
                                                 "deleted or is damaged.")
            return
        self.canvas.set_pixmap(QPixmap.fromImage(image),
                               (hit.width if hit is not None else 0) or image.width())

    def _zoom_shown(self) -> None:
        c = self.canvas
        self.zoom_label.setText("" if c.pixmap is None else
                                f"{c.percent()} %" + (" (fit)" if c.fit else ""))

    def toggle_full_screen(self) -> None:
        if self.isFullScreen():
            self.showNormal()
            self.full_btn.setText("Full screen")
        else:
            self.showFullScreen()
            self.full_btn.setText("Leave full screen")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if is_text_field(self.focusWidget()):
            # (what a text field leaves, Esc and Enter, is not the photo's: Enter after a
            # tag does not open the photo, Esc goes back to the photo and does not close)
            if key == Qt.Key.Key_Escape:
                self.canvas.setFocus()
            return
        steps: dict[int, int] = {Qt.Key.Key_Right: 1, Qt.Key.Key_Down: 1, Qt.Key.Key_Left: -1,
                 Qt.Key.Key_Up: -1, Qt.Key.Key_PageDown: 10, Qt.Key.Key_PageUp: -10}
        if key in steps:
            self._step(steps[key])
        elif key == Qt.Key.Key_Home:
            self.show_row(self.model.step(self.row, -self.model.shown))
        elif key == Qt.Key.Key_End:
            self.show_row(self.model.step(self.row, self.model.shown))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if self.path_shown is not None:
                self.open_requested.emit(self.path_shown)
        elif key in (Qt.Key.Key_F, Qt.Key.Key_F11):
            self.toggle_full_screen()
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.canvas.zoom_by(1.25)
        elif key == Qt.Key.Key_Minus:
            self.canvas.zoom_by(0.8)
        elif key == Qt.Key.Key_0:
            self.canvas.show_fit()
        elif key == Qt.Key.Key_1:
            self.canvas.show_actual()
        elif key == Qt.Key.Key_Escape and self.isFullScreen():
            self.toggle_full_screen()
        elif key in (Qt.Key.Key_Space, Qt.Key.Key_Escape):
            self.accept()
        else:
            super().keyPressEvent(event)

    def done(self, result: int) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        super().done(result)
