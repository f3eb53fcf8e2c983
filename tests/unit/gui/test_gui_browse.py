"""Browsing a library bigger than a screen (issue 24): the grid pages photos in as it scrolls,
holds a bounded number of them, and the user sees the same library, in the same order, with
the same headers, as if it held them all."""

from __future__ import annotations

import pytest
from conftest import make_library, open_window
from PySide6.QtCore import Qt

from photoclip.core.store.catalog import PhotoRecord
from photoclip.gui import browse_pages
from photoclip.gui.browse_pages import PAGE
from photoclip.gui.results_grid import HeaderRole

pytest.importorskip("pytestqt")

N = 5 * PAGE + 123  # five pages and a bit: past what is fetched with the layout


@pytest.fixture
def big_window(qtbot, tmp_path, tiny_encoder, monkeypatch):
    """A window on N catalogued photos over 14 months (their drive unplugged: rows only)."""
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    lib = make_library(tmp_path / "home", tiny_encoder)
    folder = lib.catalog.add_folder(str(tmp_path / "Unplugged"))
    with lib.catalog.transaction() as tx:
        for i in range(N):
            month = 12 - (i * 14 // N)  # newest first: Dec 2024 … Nov 2023
            year, month = (2024, month) if month > 0 else (2023, month + 12)
            lib.catalog.upsert_photo(tx, PhotoRecord(
                f"{folder.path}/IMG_{i:05d}.jpg", folder.id, 1000, i, f"{i:032x}", 40, 30,
                f"{year}-{month:02d}-15T12:{i % 60:02d}:00"))
    w = open_window(qtbot, lib)
    qtbot.waitUntil(lambda: w.model.shown == N, timeout=30000)
    yield w
    w.close()


def photo_rows(w) -> list[int]:
    return [r for r in range(w.model.rowCount()) if w.model.data(w.model.index(r), HeaderRole)
            is None]


def test_the_grid_holds_pages_not_the_library(qtbot, big_window):
    w = big_window
    whole = w.library.search.browse()
    assert w.model.shown == len(whole) == N
    held = w.model.hits()
    assert len(held) == browse_pages.FIRST_PAGES * PAGE < N  # the first screens, no more
    assert [h.path for h in held] == [h.path for h in whole[:len(held)]]
    headers = [w.model.data(w.model.index(r), HeaderRole) for r in range(w.model.rowCount())]
    assert [h for h in headers if h][:2] == ["December 2024", "November 2024"]
    assert len([h for h in headers if h]) == 14  # every month's header, from counts alone
    assert f"{N:,} photos" in w.results.caption.text()

    # scrolled to the end (as a user drags the scroll bar): the oldest photos come in
    last = w.model.rowCount() - 1

    def at_the_end() -> bool:
        w.view.scrollToBottom()
        return w.model.hit(last) is not None

    qtbot.waitUntil(at_the_end, timeout=30000)
    assert w.model.hit(last).path == whole[-1].path
    assert w.model.photo_number(last) == N


def test_pages_let_go_past_the_limit(qtbot, big_window, monkeypatch):
    monkeypatch.setattr(browse_pages, "KEEP_PAGES", 2)
    w = big_window
    w.searching.refresh()  # (a new browse, under the smaller limit)
    qtbot.waitUntil(lambda: len(w.model.hits()) <= 2 * PAGE, timeout=10000)
    rows = photo_rows(w)
    for photo in (0, 3 * PAGE, 5 * PAGE, PAGE):
        w.model.want(rows[photo])
        qtbot.waitUntil(lambda photo=photo: w.model.hit(rows[photo]) is not None, timeout=10000)
        assert len(w.model.hits()) <= 2 * PAGE
    assert w.model.hit(rows[3 * PAGE]) is None  # let go: the oldest used
    assert w.model.row_of(w.library.search.browse()[PAGE].path) == rows[PAGE]


def test_the_preview_steps_into_a_page_not_fetched_yet(qtbot, big_window):
    w = big_window
    whole = w.library.search.browse()
    rows = photo_rows(w)
    start = browse_pages.FIRST_PAGES * PAGE - 1  # the last photo held
    dlg = w.preview(rows[start])
    qtbot.keyClick(dlg, Qt.Key.Key_Right)  # → the first photo of a page not fetched
    qtbot.waitUntil(lambda: dlg.path_shown == whole[start + 1].path, timeout=10000)
    assert f"{start + 2:,} of {N:,}" in dlg.windowTitle()
    qtbot.keyClick(dlg, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: dlg.path_shown == whole[-1].path, timeout=10000)
    dlg.close()


def test_results_brought_up_to_date_keep_the_photo_deep_in_the_library(qtbot, big_window):
    """While indexing, a browse is re-run now and then: the photo the user is at, pages past
    what the first fetch holds, stays current and in view."""
    w = big_window
    whole = w.library.search.browse()
    rows = photo_rows(w)
    target = 4 * PAGE + 50
    w.model.want(rows[target])
    qtbot.waitUntil(lambda: w.model.hit(rows[target]) is not None, timeout=10000)
    w.view.setCurrentIndex(w.model.index(rows[target]))

    def in_view() -> bool:
        w.view.scrollTo(w.view.currentIndex())  # (once the batched layout got that far)
        return w.view.viewport().rect().intersects(w.view.visualRect(w.view.currentIndex()))

    qtbot.waitUntil(in_view, timeout=10000)
    with qtbot.waitSignal(w.searching.done, timeout=10000):
        w.searching.refresh()
    assert w.model.hit(w.view.current_row()).path == whole[target].path
    qtbot.waitUntil(lambda: w.view.viewport().rect().intersects(
        w.view.visualRect(w.view.currentIndex())), timeout=10000)  # (the scroll kept)
