"""The result grid: a list model over hits, a thumbnail delegate, a virtualised icon view."""

from __future__ import annotations

import math
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
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from photoclip.core.search import Hit
from photoclip.gui.paths import file_url, show
from photoclip.gui.thumbnails import ThumbnailCache

HitRole = Qt.ItemDataRole.UserRole + 1
ScoreRole = Qt.ItemDataRole.UserRole + 2


class ResultsModel(QAbstractListModel):
    """Hits in rank order; those under ``min_score`` are hidden (the relevance slider)."""

    def __init__(self, thumbs: ThumbnailCache, parent=None):
        super().__init__(parent)
        self.thumbs = thumbs
        self._all: list[Hit] = []
        self._shown: list[Hit] = []
        self._row_of: dict[str, int] = {}
        self.min_score: float | None = None
        thumbs.ready.connect(self._thumb_ready)

    # -- content -----------------------------------------------------------------------------

    def set_hits(self, hits: list[Hit]) -> None:
        self.beginResetModel()
        self.thumbs.clear_pending()
        self._all = hits
        self._refilter()
        self.endResetModel()

    def extend_hits(self, more: list[Hit]) -> None:
        """Append hits below the current ones (the rest of a long browse) without a reset:
        the scroll position and the selection stay."""
        cut = self.min_score
        keep = [h for h in more if cut is None or math.isnan(h.score) or h.score >= cut]
        self._all = self._all + more
        if not keep:
            return
        first = len(self._shown)
        self.beginInsertRows(QModelIndex(), first, first + len(keep) - 1)
        self._shown.extend(keep)
        for i, h in enumerate(keep, first):
            self._row_of[h.path] = i
        self.endInsertRows()

    def set_min_score(self, value: float | None) -> None:
        self.beginResetModel()
        self.min_score = value
        self._refilter()
        self.endResetModel()

    def _refilter(self) -> None:
        cut = self.min_score
        self._shown = [h for h in self._all
                       if cut is None or math.isnan(h.score) or h.score >= cut]
        self._row_of = {h.path: i for i, h in enumerate(self._shown)}

    def hit(self, row: int) -> Hit | None:
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def hits(self) -> list[Hit]:
        return list(self._shown)

    @property
    def total(self) -> int:
        return len(self._all)

    # -- Qt model ----------------------------------------------------------------------------

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else len(self._shown)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._shown):
            return None
        hit = self._shown[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return show(Path(hit.path).name)
        if role == Qt.ItemDataRole.DecorationRole:
            return self.thumbs.get(hit.path)
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [show(hit.path)]
            if not math.isnan(hit.score):
                lines.append(f"score {hit.score:.3f}")
            if hit.width and hit.height:
                lines.append(f"{hit.width} × {hit.height}")
            if hit.taken_at:
                lines.append(hit.taken_at.replace("T", " "))
            return "\n".join(lines)
        if role == HitRole:
            return hit
        if role == ScoreRole:
            return hit.score
        return None

    def flags(self, index):
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsDragEnabled if index.isValid() else base

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", "text/plain"]

    def mimeData(self, indexes) -> QMimeData:
        """Drag photos out to other apps as file URLs."""
        mime = QMimeData()
        paths = [self._shown[i.row()].path for i in indexes if i.isValid()]
        mime.setUrls([file_url(p) for p in paths])
        mime.setText("\n".join(show(p) for p in paths))
        return mime

    def _thumb_ready(self, path: str) -> None:
        row = self._row_of.get(path)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class ThumbnailDelegate(QStyledItemDelegate):
    """A square cell: the thumbnail centred, a subtle placeholder while it loads."""

    def __init__(self, cell: int, parent=None):
        super().__init__(parent)
        self.cell = cell

    def sizeHint(self, option, index) -> QSize:
        return QSize(self.cell + 8, self.cell + 8)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index) -> None:
        painter.save()
        r = option.rect.adjusted(4, 4, -4, -4)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        pal = option.palette
        painter.fillRect(r, pal.color(QPalette.ColorRole.AlternateBase))
        pm = index.data(Qt.ItemDataRole.DecorationRole)
        if pm is not None and not pm.isNull():
            scaled = pm if max(pm.width(), pm.height()) <= r.width() else pm.scaled(
                r.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation)
            x = r.x() + (r.width() - scaled.width()) // 2
            y = r.y() + (r.height() - scaled.height()) // 2
            painter.drawPixmap(x, y, scaled)
        if selected:
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


class ResultsView(QListView):
    """Virtualised icon grid: only visible cells are painted; thumbnails load on demand.

    Space previews, Enter opens, Ctrl+C copies, Esc clears: handled here rather than as window
    shortcuts, so Space still types a space in the search bar."""

    preview_requested = Signal(int)
    open_requested = Signal(int)
    copy_requested = Signal()
    clear_requested = Signal()

    def __init__(self, cell: int, parent=None):
        super().__init__(parent)
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
        self.setSpacing(2)
        self.setItemDelegate(ThumbnailDelegate(cell, self))
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space:
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


__all__ = ["HitRole", "ResultsModel", "ResultsView", "ThumbnailDelegate"]
