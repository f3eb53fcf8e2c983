"""The search state of the window, in one object: what is shown, what waits, and running it.

A :class:`SearchRequest` is what the user asked for (the text in the bar, the filters, or a
photo to find similar ones to). :class:`SearchController` runs it off the GUI thread —
ranked searches in the search pool, one at a time with only the newest request waiting
(typing never queues a backlog); browsing in a pool of its own: the browse's layout and first
pages, then each page the grid scrolls to (gui/browse_pages.py) — and hands the hits to the
window's grid. It also knows when the results shown are stale (photos indexed or tagged
under them) and reruns them keeping the selection and the scroll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, QTimer, Signal

from photoclip.core.errors import explain, for_gui
from photoclip.core.search import query as grammar
from photoclip.core.search.browse import BrowseLayout
from photoclip.core.search.searcher import Filters, Hit
from photoclip.gui.browse_pages import FIRST_PAGES, PAGE, Done, Failed
from photoclip.gui.executors import run_task

if TYPE_CHECKING:
    from photoclip.core.search.service import SearchService
    from photoclip.gui.main_window import MainWindow

log = logging.getLogger(__name__)

RESULT_LIMIT = 500  # ranked results fetched for a search (browsing pages the whole library in)
SEARCH_DEBOUNCE_MS = 250
REFRESH_MS = 1500  # results are re-run this long after the library changed under them
BACK_LIMIT = 50  # photo searches in a row that ✕ / Esc can go back through


@dataclass(frozen=True)
class SearchRequest:
    """What the grid is asked to show."""

    query: str = ""  # the text in the search bar (the grammar: core/search/query.py)
    filters: Filters = field(default_factory=Filters)
    similar: tuple[int | str, str] | None = None  # (photo id or image file, name shown)

    @property
    def browsing(self) -> bool:
        """No query and no photo: the library, newest first."""
        return not self.query and self.similar is None


View = tuple[list[str], str | None, int]  # (selected paths, current path, scroll position)


class SearchController(QObject):
    """Runs the window's searches; ``shown`` is the request whose results are in the grid."""

    done = Signal()  # after each set of results is shown (tests, screenshots)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.w = window
        self.shown: SearchRequest | None = None
        self.error: str | None = None  # why the request shown has no results (a sentence)
        self.similar: tuple[int | str, str] | None = None  # the photo searched by, if any
        # what was asked for before each "find similar" of the chain shown (✕ / Esc go back)
        self.before_similar: list[tuple[SearchRequest, View]] = []
        self._seq = 0  # the newest request started; older answers are dropped
        self._busy = False  # a ranked search is running
        self._queued: tuple[SearchRequest, View | None] | None = None
        self._refresh_at = 0  # progress count at which a search shown during indexing reruns
        self.limit = RESULT_LIMIT  # ranked results fetched ("show 500 more" raises it)
        self.limited = False  # the results shown stopped at the limit: more are there
        self.debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self.debounce.timeout.connect(self.run)
        self.stale = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self.stale.timeout.connect(self.refresh)

    def request(self) -> SearchRequest:
        """What the window asks for now."""
        return SearchRequest(self.w.search.text().strip(), self.w.filters(), self.similar)

    def similar_to(self, photo: int | str, name: str) -> None:
        """Search by a photo; what was asked for until now (and where the grid was) is where
        ✕ / Esc go back to."""
        if len(self.before_similar) >= BACK_LIMIT:
            del self.before_similar[0]
        self.before_similar.append((self.request(), self.w.view_state()))
        self.similar = (photo, name)

    def back(self) -> tuple[SearchRequest, View | None]:
        """Leave the photo search shown: what was asked for before it and the grid's view
        then (the whole library, with the filters now, when nothing was)."""
        self.similar = None
        if not self.before_similar:
            return SearchRequest(filters=self.w.filters()), None
        request, view = self.before_similar.pop()
        self.similar = request.similar
        return request, view

    def forget_similar(self) -> None:
        """The user asked for something new: no photo search to go back from."""
        self.similar = None
        self.before_similar.clear()

    def showing_search(self) -> bool:
        """Whether the grid shows ranked results (not the library browsed)."""
        return self.shown is not None and not self.shown.browsing

    def run(self, keep_view: bool = False, view: View | None = None) -> None:
        """Start the search for the current query, filters and photo, off the GUI thread.
        ``keep_view``: the same results brought up to date (selection and scroll stay);
        ``view``: the selection and scroll to show the results with (going back)."""
        w = self.w
        self.debounce.stop()
        request = self.request()
        if not request.browsing and w.preparing:
            w.results.caption.setText("Preparing search…")  # run once ready: model_loaded
            return
        if not keep_view and request.query != (self.shown.query if self.shown else ""):
            w.filter_bar.reset_relevance()  # a new search starts from the good matches
        if not keep_view and (request.query, request.similar) != \
                ((self.shown.query, self.shown.similar) if self.shown else ("", None)):
            self.limit = RESULT_LIMIT
        keep = w.view_state() if keep_view else view
        if self._busy:
            self._queued = (request, keep)
            return
        self._start(request, keep)

    def more(self) -> None:
        """The next results past those fetched ("show 500 more"), keeping the view."""
        self.limit += RESULT_LIMIT
        self.run(keep_view=True)

    def refresh(self) -> None:
        """The library changed under the results shown: run them again, keeping the view."""
        if self.shown is not None:
            self.run(keep_view=True)

    def progress(self, done: int) -> None:
        """Indexing has done ``done`` photos: a search shown meanwhile reruns now and then."""
        if self._refresh_at and done >= self._refresh_at and self.showing_search():
            self._refresh_at = done + max(100, done // 4)
            self.stale.start()  # results of a partial index: bring them up to date

    def _start(self, request: SearchRequest, keep: View | None = None) -> None:
        w, lib = self.w, self.w.library
        self._seq += 1
        seq = self._seq
        pool = w.search_pool
        limit = self.limit + 1  # (one more than shown: whether the results stop there)
        if request.similar is not None:
            fn = partial(lib.search.similar, request.similar[0], limit=limit,
                         filters=request.filters)
        elif request.query and (w.model_ready or grammar.parse(request.query).by_name):
            fn = partial(lib.search.find, request.query, limit=limit, filters=request.filters)
        elif request.query:  # no model: the empty state says so
            self.shown, self.error, self.limited = request, None, False
            w.model.set_hits([])
            w.update_results()
            self.done.emit()
            return
        else:  # the browse's layout and its first pages (and those where the grid was)
            around = self._photo_in_view() if keep is not None else None
            fn = partial(_browse, lib.search, request.filters, around)
            pool = w.browse_pool  # (a browse never waits behind a search)
        serial = pool is w.search_pool
        if serial:
            self._busy = True
        status = w.worker_status
        self._refresh_at = status.done + 100 if status and status.state == "working" else 0
        run_task(pool, fn, lambda got: self._show(seq, got, request, serial, keep, limit - 1),
                 lambda err: self._failed(seq, err, request, serial))

    def _finish(self, serial: bool = True) -> None:
        if not serial:
            return
        self._busy = False
        if self._queued is not None:
            (request, keep), self._queued = self._queued, None
            self._start(request, keep)

    def _show(self, seq: int, result: list[Hit] | Browsed, request: SearchRequest,
              serial: bool = True, keep: View | None = None,
              limit: int = RESULT_LIMIT) -> None:
        w = self.w
        if seq == self._seq:
            self.shown, self.error = request, None
            if isinstance(result, tuple):
                layout, first, more = result
                self.limited = False
                w.model.set_browse(layout, first, self._fetcher(layout), more)
            else:
                self.limited = len(result) > limit
                w.model.set_hits(result[:limit] if self.limited else result)
            w.update_results()
            if keep is not None:
                w.restore_view(keep)
            elif w.model.shown:
                w.view.setCurrentIndex(w.model.index(w.model.first_photo_row()))
                w.view.scrollToTop()
        self._finish(serial)
        self.done.emit()

    def _fetcher(self, layout: BrowseLayout):
        """How the grid asks for a page of this browse: in the browse pool."""
        w = self.w

        def fetch(start: int, count: int, done: Done, failed: Failed) -> None:
            def fail(err: Exception) -> None:
                log.warning("browsing failed: %s", err)
                failed(err)

            run_task(w.browse_pool, partial(w.library.search.browse_page, layout, start, count),
                     done, fail)
        return fetch

    def _photo_in_view(self) -> int | None:
        """The number of the photo in the middle of the grid, when it shows a browse."""
        m, v = self.w.model, self.w.view
        if not m.sections or not m.shown:
            return None
        port = v.viewport()
        idx = v.indexAt(QPoint(port.width() // 2, port.height() // 2))
        row = idx.row() if idx.isValid() else v.current_row()
        return m.photo_number(m.step(row, 0)) - 1 if row >= 0 else None

    def _failed(self, seq: int, err: Exception, request: SearchRequest,
                serial: bool = True) -> None:
        w = self.w
        if seq == self._seq:
            explained = explain(err, w.library.home)
            msg = for_gui(explained) if explained is not None else f"Search failed: {err}"
            log.warning("search %r failed: %s", request.query or request.similar, err)
            self.shown, self.error, self.limited = request, msg, False
            w.model.set_hits([])
            w.update_results()
        self._finish(serial)
        self.done.emit()


Browsed = tuple[BrowseLayout, list[Hit], tuple[int, list[Hit]] | None]


def _browse(search: SearchService, filters: Filters, around: int | None) -> Browsed:
    """In the browse pool: the layout of a browse, its first pages, and (``around``: the
    photo the grid was at, for results brought up to date) the pages around that photo."""
    layout = search.browse_layout(filters)
    first = search.browse_page(layout, 0, FIRST_PAGES * PAGE)
    more = None
    if around is not None and around >= (FIRST_PAGES - 1) * PAGE:
        start = max((around // PAGE - 1) * PAGE, FIRST_PAGES * PAGE)
        more = (start, search.browse_page(layout, start, 3 * PAGE))
    return layout, first, more
