"""The window keeps in step with what the user did (issue 22, items 5-8, 17 and 18): counts
after a folder goes, the relevance slider between searches, a tag: search after a tag is taken
off in the preview, the sidebars' highlights, the grid's scroll and what the caption says."""

from __future__ import annotations

import pytest
from conftest import copy_cifar, make_library, open_window
from PySide6.QtCore import Qt

from photoclip.gui import status_text
from photoclip.gui.filters import GOOD_POSITION

pytest.importorskip("pytestqt")

WAIT = 60000


def search_for(qtbot, w, text: str) -> None:
    w.search.clear()
    qtbot.keyClicks(w.search, text)
    qtbot.waitUntil(lambda: (s := w.searching.shown) is not None and s.query == text
                    and s.similar is None, timeout=WAIT)


def drag_slider(slider, value: int) -> None:
    """What a mouse drag does to a QSlider: pressed, moved to ``value``, released."""
    slider.setSliderDown(True)
    slider.setSliderPosition(value)
    slider.setSliderDown(False)


def keyword_count(panel, name: str) -> str | None:
    tree = panel.tree
    for i in range(tree.topLevelItemCount()):
        top = tree.topLevelItem(i)
        for j in range(top.childCount()):
            if top.child(j).text(0) == name:
                return top.child(j).text(1)
    return None


@pytest.fixture
def two_folder_window(qtbot, tmp_path, cifar_encoder, monkeypatch):
    """Cats and dogs in one folder, ships in another; a category Boats taught with ships."""
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    pets = copy_cifar(tmp_path / "Pets", ("cat", "dog"), 10)
    boats = copy_cifar(tmp_path / "Boats", ("ship",), 10)
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(pets)
    lib.folders.add(boats)
    lib.folders.index()
    ships = sorted(str(p) for p in (boats / "ship").iterdir())
    lib.categories.create("Boats")
    lib.categories.label("Boats", ships[:3], True)
    lib.categories.label("Boats", sorted(str(p) for p in (pets / "cat").iterdir())[:2], False)
    lib.tags.set(ships[:4], "sea", present=True)
    w = open_window(qtbot, lib)
    yield w, pets, boats
    w.close()


def test_removing_a_folder_updates_the_tag_and_category_counts(qtbot, two_folder_window):
    """Issue 22, item 5: 'cat 262 shown, 143 real' until a restart."""
    w, _, boats = two_folder_window
    lib = w.library
    cats = w.category_panel
    qtbot.waitUntil(lambda: not cats.busy and cats.count("Boats") is not None
                    and keyword_count(w.tag_panel, "sea") == "4" and len(w._folders) == 2,
                    timeout=WAIT)
    before = cats.count("Boats")
    w.remove_folder(str(boats))
    qtbot.waitUntil(lambda: all(f.path != str(boats) for f in w._folders), timeout=WAIT)
    real = {r["name"]: r["members"] for r in lib.categories.overview(quality=False)}["Boats"]
    assert real < before
    qtbot.waitUntil(lambda: not cats.busy and cats.count("Boats") == real, timeout=WAIT)
    sea = lib.tags.counts().get(next(t for t, n in lib.tags.keywords() if n == "sea"), 0)
    qtbot.waitUntil(lambda: keyword_count(w.tag_panel, "sea") in (f"{sea:,}", None),
                    timeout=WAIT)


def test_a_new_search_starts_at_good_matches_and_the_slider_snaps_there(qtbot, copy_window):
    """Issue 22, item 6: a slider dragged to 'Closest only' stayed for every new search, the
    page said 'No good matches' without naming it, and dragging back missed 'Good matches'."""
    w = copy_window
    bar = w.filter_bar
    search_for(qtbot, w, "a photo of a ship")
    good = w.model.shown
    assert good > 0
    drag_slider(bar.slider, 100)  # by hand: the closest only
    assert bar.slider_label.text() == "Closest only"
    if w.model.shown == 0:  # nothing that close: the page names the slider and offers back
        text = w.results.empty_text.text()
        assert "Relevance" in text and "Closest only" in text, text
        assert w.results.empty_action.text() == \
            f"Show the {good:,} good match{'es' if good != 1 else ''}"
        w.results.empty_action.click()
        assert bar.slider.value() == GOOD_POSITION and w.model.shown == good
        drag_slider(bar.slider, 100)
    search_for(qtbot, w, "a photo of a dog")  # a new search: good matches again
    assert bar.slider.value() == GOOD_POSITION and bar.slider_label.text() == "Good matches"
    assert w.model.shown > 0
    for near in (GOOD_POSITION + 2, GOOD_POSITION - 2):  # dragging back lands on it
        drag_slider(bar.slider, 90)
        drag_slider(bar.slider, near)
        assert bar.slider.value() == GOOD_POSITION, near
        assert bar.slider_label.text() == "Good matches"
    bar.slider.setValue(GOOD_POSITION + 1)  # (the keys still step one by one)
    assert bar.slider.value() == GOOD_POSITION + 1


def test_no_good_matches_names_a_raised_slider():
    from photoclip.core.indexing.folders import FolderStatus
    from photoclip.gui.search_controller import SearchRequest

    def why(**kw):
        return status_text.empty_reason(
            SearchRequest("horse"), error=None, folders=[FolderStatus("/p/A", True, 9, 9, 0, 1)],
            counts={"photos": 9, "indexed": 9, "failed": 0, "pending": 0}, worker=None,
            model="ready", **kw)

    assert why(hidden=40) == "No good matches for “horse”."
    assert why(hidden=40, good=116, level="Closest only") == (
        "No matches for “horse” as close as the Relevance slider asks (“Closest only”); "
        "116 good matches are below it.")


def test_taking_a_tag_off_in_the_preview_updates_a_tag_search(qtbot, copy_window):
    """Issue 22, item 7: the ✕ on a tag in the preview left the tag: grid and caption stale."""
    from PySide6.QtWidgets import QToolButton

    w = copy_window
    lib = w.library
    ships = [h.path for h in lib.search.browse() if "/ship/" in h.path][:3]
    lib.tags.set(ships, "boat", present=True)
    search_for(qtbot, w, "tag:boat")
    qtbot.waitUntil(lambda: w.model.shown == 3, timeout=WAIT)
    dlg = w.preview(w.model.first_photo_row())
    first = dlg.hit.path
    qtbot.waitUntil(lambda: dlg.findChild(QToolButton, "tag-chip:boat") is not None,
                    timeout=WAIT)
    qtbot.mouseClick(dlg.findChild(QToolButton, "tag-chip:boat"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.model.shown == 2, timeout=WAIT)
    assert first not in [h.path for h in w.model.hits()]
    assert w.results.caption.text().endswith("— 2 photos"), w.results.caption.text()
    # the preview still shows the photo; → goes to the photo that came after it
    assert dlg.hit is None or dlg.hit.path != first or "no longer" in dlg.windowTitle()
    dlg.close()


def test_the_sidebars_highlight_the_search_shown(qtbot, copy_window):
    """Issue 22, item 17: 'dog' stayed highlighted on another search; a folder with 'All
    folders'."""
    w = copy_window
    lib = w.library
    ships = [h.path for h in lib.search.browse() if "/ship/" in h.path][:3]
    lib.tags.set(ships, "boat", present=True)
    w.tag_panel.refresh()
    tree = w.tag_panel.tree
    qtbot.waitUntil(lambda: keyword_count(w.tag_panel, "boat") is not None, timeout=WAIT)
    item = next(tree.topLevelItem(0).child(j) for j in range(tree.topLevelItem(0).childCount())
                if tree.topLevelItem(0).child(j).text(0) == "boat")
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(item).center())
    qtbot.waitUntil(lambda: w.searching.shown.query == "tag:boat", timeout=WAIT)
    assert [i.text(0) for i in tree.selectedItems()] == ["boat"]
    search_for(qtbot, w, "a photo of a dog")
    assert tree.selectedItems() == []

    folders = w.folder_list
    qtbot.mouseClick(folders.viewport(), Qt.MouseButton.LeftButton,
                     pos=folders.visualItemRect(folders.item(0)).center())
    qtbot.waitUntil(lambda: w.searching.shown.filters.folder is not None, timeout=WAIT)
    assert len(folders.selectedItems()) == 1
    w.filter_bar.folder.setCurrentIndex(0)  # All folders
    qtbot.waitUntil(lambda: w.searching.shown.filters.folder is None, timeout=WAIT)
    assert folders.selectedItems() == []


def test_a_paused_folder_says_paused():
    from photoclip.core.indexing.folders import FolderStatus
    from photoclip.core.indexing.worker import WorkerStatus

    f = FolderStatus("/p/A", True, 432, 432, 0, None)
    paused = WorkerStatus("paused", 432, 487, root="/p/A", job_done=432, job_total=487)
    assert status_text.folder_line(f, paused) == "A\npaused — 432 of 487 indexed"
    working = WorkerStatus("working", 432, 487, root="/p/A", job_done=432, job_total=487)
    assert status_text.folder_line(f, working) == "A\nindexing — 432 of 487"


def test_a_relevance_cut_shows_the_first_row(qtbot, copy_window):
    """Issue 22, item 17: after a cut to 16 photos the grid kept its scroll, top row cut off."""
    w = copy_window
    w.zoom.setValue(384)  # large thumbnails: a dozen photos are more than a screen
    search_for(qtbot, w, "a photo of a ship")
    good = w.model.shown
    drag_slider(w.filter_bar.slider, 0)  # every result
    assert w.model.shown > good
    bar = w.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=WAIT)
    bar.setValue(bar.maximum())
    drag_slider(w.filter_bar.slider, GOOD_POSITION)
    assert w.model.shown == good
    w.view.doItemsLayout()
    first = w.view.visualRect(w.model.index(w.model.first_photo_row()))
    assert first.top() >= 0 and bar.value() == 0


def test_the_caption_says_what_the_slider_shows_and_where_results_stop(qtbot, cifar_window):
    """Issue 22, item 18: 'Best matches' after 'Show weaker matches'; 'All results' stopped at
    500 of 1,000 without saying so."""
    w = cifar_window
    search_for(qtbot, w, "a photo of a ship")
    caption = w.results.caption
    assert caption.text().startswith("Best matches for “a photo of a ship” — ")
    w.results.weaker_btn.click()
    assert caption.text().startswith("Matches for “a photo of a ship”, weaker ones too — ")
    w.results.weaker_btn.click()  # every result: the first 500, and more on request
    assert w.model.shown == 500
    assert caption.text() == "All photos by likeness to “a photo of a ship” — the first 500", \
        caption.text()
    assert w.results.weaker_btn.isVisible() and w.results.weaker_btn.text() == "Show 500 more"
    w.results.weaker_btn.click()
    qtbot.waitUntil(lambda: w.model.shown == 1000, timeout=WAIT)
    assert caption.text() == "All photos by likeness to “a photo of a ship” — 1,000 photos"
    assert not w.results.weaker_btn.isVisible()
    search_for(qtbot, w, "a photo of a horse")  # a new search: good matches, 500 at most
    assert caption.text().startswith("Best matches for “a photo of a horse” — ")
    assert w.searching.limit == 500


def test_renaming_the_category_shown_renames_it_in_the_search(qtbot, two_folder_window,
                                                              monkeypatch):
    """Issue 22, item 8: renaming the category being viewed left category:OldName in the bar
    and "There is no category called Zorp"; the sidebar selection jumped to another one."""
    from PySide6.QtWidgets import QDialog

    from photoclip.core.search import query as grammar
    from photoclip.gui import categories

    w = two_folder_window[0]
    panel = w.category_panel
    qtbot.waitUntil(lambda: "Boats" in panel.names() and not panel.busy, timeout=WAIT)
    search_for(qtbot, w, grammar.category_term("Boats"))
    members = w.model.shown
    assert members > 0

    def rename(editor):
        editor.name.setText("Ships and boats")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(categories.CategoryEditor, "exec", rename)
    panel.edit("Boats")
    new = grammar.category_term("Ships and boats")
    qtbot.waitUntil(lambda: w.search.text() == new and "Ships and boats" in panel.names()
                    and not panel.busy, timeout=WAIT)
    qtbot.waitUntil(lambda: (s := w.searching.shown) is not None and s.query == new,
                    timeout=WAIT)
    assert w.searching.error is None or "no category" not in str(w.searching.error)
    assert w.model.shown == members
    assert panel.selected() == "Ships and boats"


def test_a_selected_category_never_squeezes_the_folder_list_to_one_row(qtbot,
                                                                         two_folder_window):
    """Issue 22, item 17: selecting a category (its threshold, quality sentence and buttons
    appear below it) squeezed the folder list to one row in a short window."""
    w = two_folder_window[0]
    panel = w.category_panel
    w.resize(1000, 560)
    qtbot.waitUntil(lambda: w.folder_list.count() == 2 and "Boats" in panel.names()
                    and not panel.busy, timeout=WAIT)
    panel.tree.setCurrentItem(panel.tree.topLevelItem(0))  # (Boats: the only one)
    qtbot.waitUntil(lambda: panel.threshold.isVisible(), timeout=WAIT)
    qtbot.wait(200)
    rows = w.folder_list.visualItemRect(w.folder_list.item(0)).height()
    assert w.folder_list.viewport().height() >= 2 * rows, (w.folder_list.viewport().height(),
                                                           rows)
