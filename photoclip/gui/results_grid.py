"""The result grid: a list model over hits (with date sections), a thumbnail delegate, and an
icon view that fills its width and zooms.

- Relevance: hits below ``min_relevance`` (see core.relevance) are hidden; hits without one
  (browsing, tag and category lists) are always shown.
- Browsing (nothing searched) is paged: the model holds the browse's layout (date sections
  and their counts, core/search/browse.py) and the pages of photos the grid has asked for
  (gui/browse_pages.py); a row whose page is not here yet paints as a placeholder until it
  arrives. Ranked results (at most a few thousand) are held whole.
- Sections: a browse gets a header row per month (per day when it spans a month or less).
  A header is an item as wide as the view, so the flow layout puts it on a line of its own;
  the view then lays out items of two sizes (measured: 0.27 s for 100k items, in batches,
  against 0.13 s with uniform sizes — only browsing pays it).
- Zoom: the cell size follows a zoom level (slider, Ctrl+wheel, Ctrl+plus/minus); cells are
  widened so the columns fill the width exactly; small photos are scaled up to their cell.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QMimeData,
    QRect,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QPainter, QPalette
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from photoclip.core.indexing.formats import kind
from photoclip.core.search.browse import BrowseLayout, Section
from photoclip.core.search.searcher import Hit
from photoclip.gui.browse_pages import BrowsePages, Fetch
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


class ResultsModel(QAbstractListModel):
    """What the grid shows: ranked hits held whole (``set_hits``: rows are hits, best first),
    or a browse of the library paged in (``set_browse``: rows are date headers and photos)."""

    sections_changing = Signal(bool)  # before a reset that turns date headers on or off
    loaded = Signal(int, int)  # rows first..last got their photos (a page arrived)

    def __init__(self, thumbs: ThumbnailCache, parent=None):
        super().__init__(parent)
        self.thumbs = thumbs
        self._all: list[Hit] = []
        self._shown: list[Hit] = []
        self._row_of: dict[str, int] = {}
        self._pages: BrowsePages | None = None  # a browse, paged
        self._rows = 0
        self._headers: dict[int, str] = {}  # row → a browse's section header
        self.min_relevance: float | None = None
        thumbs.ready.connect(self._thumb_ready)

    @property
    def sections(self) -> bool:
        """Whether rows include date headers (a browse)."""
        return self._pages is not None

    @property
    def layout(self) -> BrowseLayout | None:
        return self._pages.layout if self._pages is not None else None

    # -- content -----------------------------------------------------------------------------

    def set_hits(self, hits: list[Hit]) -> None:
        """Ranked results (or none)."""
        self._reset(None, hits)

    def set_browse(self, layout: BrowseLayout, first: list[Hit], fetch: Fetch,
                   more: tuple[int, list[Hit]] | None = None) -> None:
        """The library browsed as ``layout`` lays it out: ``first`` are its first photos,
        ``more`` (start, hits) others fetched with them (where the grid was); the rest are
        asked of ``fetch`` as the grid reaches them."""
        pages = BrowsePages(layout, fetch, self._page_arrived)
        pages.put(0, first)
        if more is not None:
            pages.put(*more)
        self._reset(pages, [])

    def _reset(self, pages: BrowsePages | None, hits: list[Hit]) -> None:
        if (pages is not None) != self.sections:
            self.sections_changing.emit(pages is not None)  # (the view changes layout first)
        self.beginResetModel()
        self.thumbs.clear_pending()
        if self._pages is not None:
            self._pages.closed = True
        self._pages = pages
        self._all = hits
        self._headers = {}
        if pages is not None:
            sections = pages.layout.sections
            self._headers = {pages.layout.row_of(s.first) - 1: s.title for s in sections}
        self._refilter()
        self.endResetModel()

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
        self._row_of = {h.path: r for r, h in enumerate(self._shown)}
        self._rows = self._pages.layout.rows() if self._pages is not None else len(self._shown)

    def header_at(self, row: int) -> str | None:
        """The header shown at ``row``, if it is one (asked of every row by the layout: a
        lookup, no more — laying out a million rows calls it a million times)."""
        return self._headers.get(row)

    def _page_arrived(self, first: int, last: int) -> None:
        layout = self.layout
        if layout is None:
            return
        top, bottom = layout.row_of(first), layout.row_of(last)
        self.dataChanged.emit(self.index(top), self.index(bottom))
        self.loaded.emit(top, bottom)

    def _entry(self, row: int) -> int | Section | None:
        """A photo's number, a header, or None (no such row)."""
        if not 0 <= row < self._rows:
            return None
        return self._pages.layout.entry(row) if self._pages is not None else row

    def hit(self, row: int, fetch: bool = False) -> Hit | None:
        """The photo at ``row``: None for a header, or (browsing) a photo whose page is not
        here yet — ``fetch`` asks for it."""
        entry = self._entry(row)
        if not isinstance(entry, int):
            return None
        return self._pages.hit(entry, fetch) if self._pages is not None else self._shown[entry]

    def want(self, row: int) -> None:
        """Have the photo at ``row`` fetched if it is not here (``loaded`` tells when it is)."""
        self.hit(row, fetch=True)

    def hits(self) -> list[Hit]:
        """The photos held: every result shown; of a browse, the pages fetched so far."""
        return self._pages.held() if self._pages is not None else list(self._shown)

    def row_of(self, path: str) -> int | None:
        if self._pages is None:
            return self._row_of.get(path)
        photo = self._pages.photo_of(path)
        return self._pages.layout.row_of(photo) if photo is not None else None

    def _photo_row(self, photo: int) -> int:
        return self._pages.layout.row_of(photo) if self._pages is not None else photo

    def step(self, row: int, delta: int) -> int:
        """The row of the photo ``delta`` photos away from ``row`` (headers skipped), clamped
        to the first and last photo."""
        if not self.shown:
            return row
        entry = self._entry(row)
        photo = entry.first if isinstance(entry, Section) else entry or 0
        return self._photo_row(min(max(photo + delta, 0), self.shown - 1))

    def photo_number(self, row: int) -> int:
        """1 for the first photo shown (headers not counted); 0 for a header."""
        entry = self._entry(row)
        return entry + 1 if isinstance(entry, int) else 0

    def first_photo_row(self) -> int:
        return self._photo_row(0) if self.shown else -1

    @property
    def total(self) -> int:
        """Hits received (shown or hidden by the relevance cut); of a browse, its photos."""
        return self._pages.layout.total if self._pages is not None else len(self._all)

    @property
    def shown(self) -> int:
        """Photos shown (headers not counted)."""
        return self._pages.layout.total if self._pages is not None else len(self._shown)

    def hidden_above(self, cut: float | None) -> int:
        """How many of the hidden hits would show with the cut lowered to ``cut``."""
        return sum(1 for h in self._all if not self._passes(h)
                   and (cut is None or h.relevance >= cut))

    # -- Qt model ----------------------------------------------------------------------------

    def rowCount(self, parent=None) -> int:
        return 0 if parent is not None and parent.isValid() else self._rows

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == HeaderRole:
            return self._headers.get(index.row())
        if not index.isValid():
            return None
        entry = self._entry(index.row())
        if entry is None:
            return None
        if isinstance(entry, Section):
            return entry.title if role in (HeaderRole, Qt.ItemDataRole.DisplayRole) else None
        hit = self._pages.hit(entry) if self._pages is not None else self._shown[entry]
        if hit is None:  # its page is on its way: a placeholder cell
            return None
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
        if index.isValid() and isinstance(self._entry(index.row()), Section):
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
        row = self.row_of(path)
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
        if self.view.is_header(index.row()):
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
        self._scroll_target: int | None = None  # where to scroll once laid out that far
        self.verticalScrollBar().rangeChanged.connect(self._range_grew)

    # -- size --------------------------------------------------------------------------------

    def setModel(self, model) -> None:
        super().setModel(model)
        model.sections_changing.connect(self._sections_changing)
        model.modelReset.connect(self._forget_scroll)

    def scroll_to(self, value: int) -> None:
        """Scroll to ``value`` — once the batched layout has reached it (a million rows take
        seconds to lay out, and the scroll range grows as they are)."""
        bar = self.verticalScrollBar()
        self._scroll_target = value if value > bar.maximum() else None
        bar.setValue(value)

    def _range_grew(self, _low: int, high: int) -> None:
        target = self._scroll_target
        if target is not None:
            if target <= high:
                self._scroll_target = None
            self.verticalScrollBar().setValue(min(target, high))

    def _forget_scroll(self) -> None:
        self._scroll_target = None

    def _sections_changing(self, sections: bool) -> None:
        self.setUniformItemSizes(not sections)  # headers are another size

    def columns(self) -> int:
        return max(1, round(self._width() / self.zoom))

    def _width(self) -> int:
        return max(self.viewport().width() - 1, 1)

    def is_header(self, row: int) -> bool:
        model = self.model()
        return isinstance(model, ResultsModel) and model.header_at(row) is not None

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


__all__ = ["HitRole", "ResultsModel", "ResultsView", "ThumbnailDelegate"]
