"""The result grid: a list model over hits (with date sections), a thumbnail delegate, and an
icon view that fills its width and zooms.

- Relevance: hits below ``min_relevance`` (see core.relevance) are hidden; hits without one
  (browsing, tag and category lists) are always shown.
- Sections: a browse (newest first) gets a header row per month (per day within the past
  month). A header is an item as wide as the view, so the flow layout puts it on a line of its
  own; the view then lays out items of two sizes (measured: 0.27 s for 100k items, in batches,
  against 0.13 s with uniform sizes — only browsing pays it).
- Zoom: the cell size follows a zoom level (slider, Ctrl+wheel, Ctrl+plus/minus); cells are
  widened so the columns fill the width exactly; small photos are scaled up to their cell.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QModelIndex,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from photoclip.core.indexing.formats import kind
from photoclip.core.search.searcher import Hit
from photoclip.gui.file_urls import file_url, shown
from photoclip.gui.format import human_size
from photoclip.gui.thumbnails import ThumbnailCache

HitRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2
HeaderRole = Qt.ItemDataRole.UserRole + 3
OfflineRole = Qt.ItemDataRole.UserRole + 4
BadgeRole = Qt.ItemDataRole.UserRole + 5  # "RAW+JPEG": one shot in two files
ZOOM_MIN, ZOOM_MAX, ZOOM_STEP = 96, 384, 32
HEADER_HEIGHT = 34
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def section_of(hit: Hit, by_day: bool) -> str:
    """The header a photo goes under: "November 2026", or "Monday 23 November 2026"."""
    taken = hit.taken_at or ""
    try:
        d = date.fromisoformat(taken[:10])
    except ValueError:
        return "Date unknown"
    if by_day:
        return f"{d.strftime('%A')} {d.day} {MONTHS[d.month - 1]} {d.year}"
    return f"{MONTHS[d.month - 1]} {d.year}"


def _by_day(hits: list[Hit]) -> bool:
    """Day headers when the photos span a month or less, month headers otherwise."""
    dates = [h.taken_at[:10] for h in (hits[0], hits[-1]) if h.taken_at] if hits else []
    if len(dates) < 2:
        return False
    try:
        return (date.fromisoformat(dates[0]) - date.fromisoformat(dates[1])).days <= 31
    except ValueError:
        return False


class ResultsModel(QAbstractListModel):
    """Hits in rank (or date) order; rows are hits and, with sections, headers."""

    sections_changing = Signal(bool)  # before a reset that turns date headers on or off

    def __init__(self, thumbs: ThumbnailCache, parent=None):
        super().__init__(parent)
        self.thumbs = thumbs
        self._all: list[Hit] = []
        self._shown: list[Hit] = []
        self._rows: list[int | str] = []  # per row: an index into _shown, or a header
        self._row_of: dict[str, int] = {}
        self.min_relevance: float | None = None
        self.sections = False
        self._by_day = False
        self._last_section: str | None = None
        thumbs.ready.connect(self._thumb_ready)

    # -- content -----------------------------------------------------------------------------

    def set_hits(self, hits: list[Hit], sections: bool = False) -> None:
        if sections != self.sections:
            self.sections_changing.emit(sections)  # (the view changes its layout mode first)
        self.beginResetModel()
        self.thumbs.clear_pending()
        self._all = hits
        self.sections = sections
        self._by_day = sections and _by_day(hits)
        self._refilter()
        self.endResetModel()

    def extend_hits(self, more: list[Hit]) -> None:
        """Append hits below the current ones (the rest of a long browse) without a reset:
        the scroll position and the selection stay."""
        self._all = self._all + more
        keep = [h for h in more if self._passes(h)]
        if not keep:
            return
        first_hit = len(self._shown)
        self._shown.extend(keep)
        new_rows = self._layout(range(first_hit, len(self._shown)))
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new_rows) - 1)
        self._add_rows(new_rows)
        self.endInsertRows()

    def set_min_relevance(self, value: float | None) -> None:
        self.beginResetModel()
        self.min_relevance = value
        self._refilter()
        self.endResetModel()

    def _passes(self, h: Hit) -> bool:
        cut = self.min_relevance
        return cut is None or math.isnan(h.relevance) or h.relevance >= cut

    def _refilter(self) -> None:
        self._shown = [h for h in self._all if self._passes(h)]
        self._rows, self._row_of, self._last_section = [], {}, None
        self._add_rows(self._layout(range(len(self._shown))))

    def _layout(self, indexes) -> list[int | str]:
        if not self.sections:
            return list(indexes)
        rows: list[int | str] = []
        for i in indexes:
            title = section_of(self._shown[i], self._by_day)
            if title != self._last_section:
                rows.append(title)
                self._last_section = title
            rows.append(i)
        return rows

    def _add_rows(self, rows: list[int | str]) -> None:
        start = len(self._rows)
        self._rows.extend(rows)
        for r, entry in enumerate(rows, start):
            if isinstance(entry, int):
                self._row_of[self._shown[entry].path] = r

    def hit(self, row: int) -> Hit | None:
        if 0 <= row < len(self._rows):
            entry = self._rows[row]
            return self._shown[entry] if isinstance(entry, int) else None
        return None

    def hits(self) -> list[Hit]:
        return list(self._shown)

    def row_of(self, path: str) -> int | None:
        return self._row_of.get(path)

    def step(self, row: int, delta: int) -> int:
        """The row of the photo ``delta`` photos away from ``row`` (headers skipped), clamped
        to the first and last photo."""
        if not self._shown:
            return row
        entry = self._rows[row] if 0 <= row < len(self._rows) else 0
        i = entry if isinstance(entry, int) else 0
        target = self._shown[min(max(i + delta, 0), len(self._shown) - 1)]
        return self._row_of[target.path]

    def photo_number(self, row: int) -> int:
        """1 for the first photo shown (headers not counted); 0 for a header."""
        entry = self._rows[row] if 0 <= row < len(self._rows) else None
        return entry + 1 if isinstance(entry, int) else 0

    def first_photo_row(self) -> int:
        return self.step(0, 0) if self._shown else -1

    @property
    def total(self) -> int:
        """Hits received (shown or hidden by the relevance cut)."""
        return len(self._all)

    @property
    def shown(self) -> int:
        """Photos shown (headers not counted)."""
        return len(self._shown)

    def hidden_above(self, cut: float | None) -> int:
        """How many of the hidden hits would show with the cut lowered to ``cut``."""
        return sum(1 for h in self._all if not self._passes(h)
                   and (cut is None or h.relevance >= cut))

    # -- Qt model ----------------------------------------------------------------------------

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        entry = self._rows[index.row()]
        if not isinstance(entry, int):
            return entry if role in (HeaderRole, Qt.ItemDataRole.DisplayRole) else None
        hit = self._shown[entry]
        if role == Qt.ItemDataRole.DisplayRole:
            return shown(Path(hit.path).name)
        if role == Qt.ItemDataRole.DecorationRole:
            return None if hit.offline else self.thumbs.get(hit.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            return tooltip(hit)
        if role == HitRole:
            return hit
        if role == ScoreRole:
            return hit.score
        if role == OfflineRole:
            return hit.offline
        if role == BadgeRole:
            return pair_badge(hit)
        return None

    def flags(self, index):
        if index.isValid() and not isinstance(self._rows[index.row()], int):
            return Qt.ItemFlag.NoItemFlags  # a header: not selectable, skipped by the keys
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", "text/plain"]

    def mimeData(self, indexes) -> QMimeData:
        """Drag photos out to other apps as file URLs."""
        mime = QMimeData()
        paths = [h.path for h in (self.hit(i.row()) for i in indexes if i.isValid()) if h]
        mime.setUrls([file_url(p) for p in paths])
        mime.setText("\n".join(shown(p) for p in paths))
        return mime

    def _thumb_ready(self, path: str) -> None:
        row = self._row_of.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


def pair_badge(hit: Hit) -> str | None:
    """'RAW+JPEG' (or RAW+HEIC…) for a shot a camera saved as a RAW and a JPEG, else None."""
    return f"RAW+{kind(hit.path)}" if hit.companion else None


def tooltip(hit: Hit) -> str:
    lines = [shown(hit.path)]
    if hit.companion:
        lines.append(f"{pair_badge(hit)}: with {shown(Path(hit.companion).name)} (one photo; "
                     "tags go to both files' sidecars)")
    if hit.offline:
        lines.append("Offline: its drive or folder is not reachable now")
    if not math.isnan(hit.score):
        lines.append(f"score {hit.score:.3f}")
    if hit.width and hit.height:
        lines.append(f"{hit.width} × {hit.height}")
    if hit.size:
        lines.append(human_size(hit.size))
    if hit.taken_at:
        lines.append(hit.taken_at.replace("T", " "))
    return "\n".join(lines)


class ThumbnailDelegate(QStyledItemDelegate):
    """A square cell: the thumbnail fitted to it (small photos scaled up too), a placeholder
    while it loads, an "offline" badge; or a section header as wide as the view."""

    def __init__(self, view: ResultsView):
        super().__init__(view)
        self.view = view

    def sizeHint(self, option, index) -> QSize:
        if index.data(HeaderRole) is not None:
            return QSize(self.view.header_width(), HEADER_HEIGHT)
        c = self.view.cell
        return QSize(c, c)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        header = index.data(HeaderRole)
        if header is not None:
            self._paint_header(painter, option, header)
            return
        painter.save()
        r = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        painter.fillRect(r, pal.color(QPalette.ColorRole.AlternateBase))
        pm = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is not None and not pm.isNull():
            fitted = pm.width() <= r.width() and pm.height() <= r.height() and (
                pm.width() == r.width() or pm.height() == r.height())
            if not fitted:  # (larger, or smaller: small photos are scaled up too)
                pm = pm.scaled(r.size(), Qt.AspectRatioMode.KeepAspectRatio,
                               Qt.TransformationMode.SmoothTransformation)
            x = r.x() + (r.width() - pm.width()) // 2
            y = r.y() + (r.height() - pm.height()) // 2
            painter.drawPixmap(x, y, pm)
        if index.data(OfflineRole):
            self._paint_offline(painter, r, pal)
        badge_text = index.data(BadgeRole)
        if badge_text:
            self._paint_badge(painter, r, option.font, badge_text)
        if selected:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            pen = painter.pen()
            pen.setColor(pal.color(QPalette.ColorRole.Highlight))
            pen.setWidth(3)
            painter.setPen(pen)
            painter.drawRect(r.adjusted(1, 1, -2, -2))
        score = index.data(ScoreRole)
        hover = option.state & QStyle.StateFlag.State_MouseOver
        if score is not None and not math.isnan(score) and hover:
            badge = QRect(r.right() - 46, r.bottom() - 20, 44, 18)
            painter.fillRect(badge, QColor(0, 0, 0, 160))
            painter.setPen(QColor("white"))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, f"{score:.2f}")
        painter.restore()

    @staticmethod
    def _paint_badge(painter: QPainter, r: QRect, font: QFont, text: str) -> None:
        """A small label in the top-left corner ("RAW+JPEG")."""
        small = QFont(font)
        small.setPointSizeF(max(6.5, font.pointSizeF() * 0.75))
        small.setBold(True)
        painter.setFont(small)
        width = painter.fontMetrics().horizontalAdvance(text) + 10
        badge = QRect(r.x() + 4, r.y() + 4, min(r.width() - 8, width), 16)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor(20, 20, 20, 185))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(badge, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, text)
        painter.setFont(font)

    @staticmethod
    def _paint_offline(painter: QPainter, r: QRect, pal: QPalette) -> None:
        painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        painter.drawText(r.adjusted(8, 8, -8, -30), Qt.AlignmentFlag.AlignCenter
                         | Qt.TextFlag.TextWordWrap, "Not reachable now")
        badge = QRect(r.x() + 6, r.bottom() - 26, min(r.width() - 12, 84), 20)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(QColor(70, 70, 70, 210))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(badge, 9, 9)
        painter.setPen(QColor("white"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "⏏ offline")

    @staticmethod
    def _paint_header(painter: QPainter, option, text: str) -> None:
        painter.save()
        font = QFont(option.font)
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.setPen(option.palette.color(QPalette.ColorGroup.Active,
                                            QPalette.ColorRole.WindowText))
        painter.drawText(option.rect.adjusted(6, 0, -6, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, text)
        painter.restore()


class ResultsView(QListView):
    """Virtualised icon grid: only visible cells are painted; thumbnails load on demand.

    Space previews, Enter opens, Ctrl+C copies, Esc clears: handled here rather than as window
    shortcuts, so Space still types a space in the search bar. Ctrl+wheel and Ctrl+plus/minus
    zoom (``zoomed`` tells the zoom slider)."""

    preview_requested = Signal(int)
    open_requested = Signal(int)
    copy_requested = Signal()
    clear_requested = Signal()
    zoomed = Signal(int)

    def __init__(self, zoom: int, parent=None):
        super().__init__(parent)
        self.zoom = max(ZOOM_MIN, min(ZOOM_MAX, zoom))
        self.cell = self.zoom
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(500)
        self.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
        self.setDragEnabled(True)
        self.setDragDropMode(QListView.DragDropMode.DragOnly)
        self.setMouseTracking(True)
        self.setSpacing(0)
        self.setItemDelegate(ThumbnailDelegate(self))
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)

    # -- size --------------------------------------------------------------------------------

    def setModel(self, model) -> None:
        super().setModel(model)
        model.sections_changing.connect(self._sections_changing)

    def _sections_changing(self, sections: bool) -> None:
        self.setUniformItemSizes(not sections)  # headers are another size

    def columns(self) -> int:
        return max(1, round(self._width() / self.zoom))

    def _width(self) -> int:
        return max(self.viewport().width() - 1, 1)

    def header_width(self) -> int:
        return self._width()

    def _fit(self) -> bool:
        """Widen the cells so whole columns fill the width; True when the size changed."""
        cell = self._width() // self.columns()
        if cell == self.cell:
            return False
        self.cell = cell
        return True

    def zoom_step(self, direction: int) -> None:
        """One column fewer (zoom in, ``direction`` 1) or more (−1): every step shows."""
        columns = max(1, self.columns() - direction)
        target = max(ZOOM_MIN, min(ZOOM_MAX, self._width() // columns))
        if target == self.zoom:
            target += direction * ZOOM_STEP // 4  # (at the ends of the range)
        self.set_zoom(target)

    def set_zoom(self, zoom: int) -> None:
        zoom = max(ZOOM_MIN, min(ZOOM_MAX, zoom))
        if zoom == self.zoom:
            return
        current = self.currentIndex()
        self.zoom = zoom
        self._fit()
        self.scheduleDelayedItemsLayout()
        if current.isValid():
            self.scrollTo(current)
        self.zoomed.emit(zoom)

    def resizeEvent(self, event) -> None:
        model = self.model()
        if self._fit() or (isinstance(model, ResultsModel) and model.sections):
            self.scheduleDelayedItemsLayout()
        super().resizeEvent(event)

    def wheelEvent(self, event) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            delta = event.angleDelta().y()
            if delta:
                self.zoom_step(1 if delta > 0 else -1)
            event.accept()
            return
        super().wheelEvent(event)

    # -- keys --------------------------------------------------------------------------------

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if event.matches(QKeySequence.StandardKey.ZoomIn) or (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
                and key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal)):
            self.zoom_step(1)
        elif event.matches(QKeySequence.StandardKey.ZoomOut) or (
                event.modifiers() & Qt.KeyboardModifier.ControlModifier
                and key == Qt.Key.Key_Minus):
            self.zoom_step(-1)
        elif key == Qt.Key.Key_Space:
            self.preview_requested.emit(max(self.current_row(), 0))
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.open_requested.emit(self.current_row())
        elif event.matches(QKeySequence.StandardKey.Copy):
            self.copy_requested.emit()
        elif key == Qt.Key.Key_Escape:
            self.clear_requested.emit()
        else:
            super().keyPressEvent(event)

    def current_row(self) -> int:
        idx = self.currentIndex()
        return idx.row() if idx.isValid() else -1

    def selected_rows(self) -> list[int]:
        return sorted(i.row() for i in self.selectionModel().selectedIndexes())


__all__ = ["HitRole", "ResultsModel", "ResultsView", "ThumbnailDelegate", "section_of"]
