"""The tag and category sidebars keep in step with the library and the search (issue 22,
items 12 and 17): the tag-set line says what is on photos now, a collapsed set stays
collapsed, and a highlight follows the search shown."""

from __future__ import annotations

import shutil

import pytest
from conftest import CIFAR_SAMPLE

pytest.importorskip("pytestqt")


def _set_tags(lib, name: str) -> int:
    counts = lib.tags.counts()
    return sum(counts.get(lb.id, 0) for lb in lib.tags.get_set(name).labels)


def _refreshed(qtbot, panel) -> None:
    """Refresh the sidebar and wait until the list was read again."""
    before = panel.tree.topLevelItem(0)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.tree.topLevelItem(0) is not before, timeout=30000)


def test_tag_set_line_says_what_is_on_photos_now(qtbot, copy_window, tmp_path):
    """'516 tags on 1,235 photos' was the last apply's report, forever: it counted tags the
    user took off and kept 1,235 photos after the library grew to 1,742."""
    from photoclip.core.tags.model import Label, TagSet

    w, lib = copy_window, copy_window.library
    panel = w.tag_panel
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    panel.refresh()
    qtbot.waitUntil(lambda: "Animals" in panel.sets, timeout=30000)
    panel.apply("Animals")
    qtbot.waitUntil(lambda: not panel._busy and "tags on photos now" in panel.status.text(),
                    timeout=30000)
    first = _set_tags(lib, "Animals")
    assert f"Animals: {first} tags on photos now" in panel.status.text(), panel.status.text()

    # a tag taken off by hand is no longer counted once the sidebar refreshes
    photo = next(p for p in (h.path for h in lib.search.browse()) if lib.tags.photo_tags(p))
    lib.tags.set([photo], lib.tags.photo_tags(photo)[0].tag_id, present=False)
    _refreshed(qtbot, panel)
    assert f"Animals: {first - 1} tags on photos now" in panel.status.text()

    # photos arrive and are tagged: the line follows
    for p in sorted((CIFAR_SAMPLE / "dog").iterdir())[20:30]:
        shutil.copy(p, tmp_path / "Pictures" / "dog" / p.name)
    lib.folders.index()
    lib.tags.tag_new_photos()
    now = _set_tags(lib, "Animals")
    assert now > first - 1
    _refreshed(qtbot, panel)
    assert f"Animals: {now} tags on photos now" in panel.status.text(), panel.status.text()


def test_a_collapsed_set_stays_collapsed_and_the_highlight_follows_the_search(
        qtbot, copy_window):
    from photoclip.core.tags.model import Label, TagSet

    w, lib = copy_window, copy_window.library
    panel = w.tag_panel
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    lib.tags.create_set(TagSet("Sea", [Label("ship"), Label("water")]))
    panel.refresh()
    qtbot.waitUntil(lambda: panel.label_item("Sea", "water") is not None, timeout=30000)
    animals = panel.label_item("Animals", "cat").parent()
    assert animals.isExpanded()
    panel.tree.collapseItem(animals)  # the user closes it
    panel.apply("Animals")
    qtbot.waitUntil(lambda: not panel._busy and "tags on photos now" in panel.status.text(),
                    timeout=30000)
    _refreshed(qtbot, panel)
    assert not panel.label_item("Animals", "cat").parent().isExpanded()
    assert panel.label_item("Sea", "water").parent().isExpanded()

    # the label of the search shown is highlighted, and nothing once the search is another
    panel.select_for_query('tag:"Animals/ship"')
    assert [i.text(0) for i in panel.tree.selectedItems()] == ["ship"]
    assert panel.tree.selectedItems()[0].parent().text(0) == "Animals"
    _refreshed(qtbot, panel)
    assert [i.text(0) for i in panel.tree.selectedItems()] == ["ship"]
    panel.select_for_query("tag:Sea/water truck")
    assert panel.tree.selectedItems() == []
    panel.select_for_query("dog")
    _refreshed(qtbot, panel)
    assert panel.tree.selectedItems() == []

    # the categories' list: the same
    lib.categories.create("Boats")
    ships = [h.path for h in lib.search.browse() if "/ship/" in h.path][:3]
    lib.categories.label("Boats", ships, True)
    lib.categories.create("Pets")
    cats = w.category_panel
    cats.refresh()
    qtbot.waitUntil(lambda: "Pets" in cats.names() and not cats.busy, timeout=60000)
    cats.select_for_query("category:boats")
    assert [i.text(0) for i in cats.tree.selectedItems()] == ["Boats"]
    assert cats.selected() == "Boats"
    cats.select_for_query("tag:Animals/ship")
    assert cats.tree.selectedItems() == []
    cats.refresh()
    qtbot.waitUntil(lambda: not cats.busy, timeout=60000)
    assert cats.tree.selectedItems() == []
    assert cats.selected() == "Boats"  # (its threshold and quality stay shown below)
