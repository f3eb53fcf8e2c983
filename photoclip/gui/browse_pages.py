"""The pages of a browse the grid holds (see core/search/browse.py for the layout).

A browse of the whole library is laid out from counts alone; its photos come a page at a
time, fetched off the GUI thread when the grid first asks for a row of the page, and the least
recently used pages are let go past :data:`KEEP_PAGES` — so the grid of a million photos holds
a few thousand hits, never the library.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from photoclip.core.search.browse import BrowseLayout
from photoclip.core.search.searcher import Hit

PAGE = 500  # photos per page fetched (one query: ~3 ms at a million photos)
KEEP_PAGES = 40  # pages held at most (20,000 hits)
FIRST_PAGES = 4  # fetched with the layout: what the first screens show, no placeholder

Done = Callable[[list[Hit]], None]
Failed = Callable[[Exception], None]
Fetch = Callable[[int, int, Done, Failed], None]  # (start, count, on_done, on_error)


class BrowsePages:
    """Hits by photo number: held pages, pages on their way, and which path is where."""

    def __init__(self, layout: BrowseLayout, fetch: Fetch,
                 loaded: Callable[[int, int], None]):
        self.layout = layout
        self._fetch = fetch
        self._loaded = loaded  # (first photo, last photo) of a page that arrived
        self._pages: OrderedDict[int, list[Hit]] = OrderedDict()
        self._pending: set[int] = set()
        self._photo_of: dict[str, int] = {}
        self.closed = False  # replaced by another browse: answers still on their way are dropped

    def put(self, start: int, hits: list[Hit]) -> None:
        """Hits fetched with the layout, from photo ``start`` (a page boundary)."""
        for i in range(0, len(hits), PAGE):
            self._store((start + i) // PAGE, hits[i:i + PAGE])

    def hit(self, photo: int, fetch: bool = True) -> Hit | None:
        """Photo number ``photo``, if its page is held; else None, and (``fetch``) its page is
        asked for."""
        page_no, k = divmod(photo, PAGE)
        page = self._pages.get(page_no)
        if page is None:
            if fetch:
                self.want(page_no)
            return None
        self._pages.move_to_end(page_no)
        return page[k] if k < len(page) else None

    def want(self, page_no: int) -> None:
        if page_no in self._pages or page_no in self._pending or page_no < 0 \
                or page_no * PAGE >= self.layout.total:
            return
        self._pending.add(page_no)
        self._fetch(page_no * PAGE, PAGE, lambda hits: self._arrived(page_no, hits),
                    lambda _err: self._pending.discard(page_no))

    def photo_of(self, path: str) -> int | None:
        return self._photo_of.get(path)

    def held(self) -> list[Hit]:
        """The hits held, in browse order."""
        return [h for n in sorted(self._pages) for h in self._pages[n]]

    def _arrived(self, page_no: int, hits: list[Hit]) -> None:
        if self.closed:
            return
        self._pending.discard(page_no)
        self._store(page_no, hits)
        if hits:
            self._loaded(page_no * PAGE, page_no * PAGE + len(hits) - 1)

    def _store(self, page_no: int, hits: list[Hit]) -> None:
        self._drop(page_no)
        self._pages[page_no] = hits
        for k, h in enumerate(hits):
            self._photo_of[h.path] = page_no * PAGE + k
        while len(self._pages) > KEEP_PAGES:
            self._drop(next(iter(self._pages)))

    def _drop(self, page_no: int) -> None:
        for h in self._pages.pop(page_no, ()):
            if self._photo_of.get(h.path, -1) // PAGE == page_no:
                del self._photo_of[h.path]


__all__ = ["FIRST_PAGES", "PAGE", "BrowsePages"]
