"""User categories in the app, driven like a user would (pytest-qt, a real widget tree):
select photos → Add to category → the sidebar counts its members → click it → review the
suggestions with Y and N."""

from __future__ import annotations

import pytest
from conftest import label_of
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QDialog, QMenu

pytest.importorskip("pytestqt")


def _action(menu: QMenu, *path: str):
    for text in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == text)
    return next(a for a in menu.actions() if a.text() == path[-1])


def test_select_add_count_show_and_review_with_keys(qtbot, copy_window, monkeypatch):
    from photoclip.gui import categories

    w, lib = copy_window, copy_window.library
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    ships = [w.model.row_of(h.path) for h in w.model.hits() if label_of(h.path) == "ship"][:4]
    sel = w.view.selectionModel()
    for r in ships:
        sel.select(w.model.index(r), QItemSelectionModel.SelectionFlag.Select)

    def fill(editor):
        editor.name.setText("Boats")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(categories.CategoryEditor, "exec", fill)
    menu = QMenu()
    paths = [w.model.hit(r).path for r in w.view.selected_rows()]
    categories.add_photo_actions(menu, w.category_panel, paths, w, w.categories_changed)
    _action(menu, "Add to category", "New category…").trigger()
    qtbot.waitUntil(lambda: "Boats" in w.category_panel.names()
                    and lib.categories.get("Boats").positives == 4, timeout=30000)

    panel = w.category_panel
    qtbot.waitUntil(lambda: (panel.count("Boats") or 0) >= 4 and not panel.busy, timeout=30000)
    members = panel.count("Boats")
    assert "quality" in panel.status.text().lower()
    assert "add at least 1 more example" in panel.status.text()

    # click the category: the grid shows its members, ships first
    item = panel.tree.topLevelItem(0)
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=panel.tree.visualItemRect(item).center())
    qtbot.waitUntil(lambda: w.searching.shown is not None
                    and w.searching.shown.query == "category:Boats", timeout=30000)
    shown = [h.path for h in w.model.hits()]
    assert len(shown) == members
    assert all(label_of(p) == "ship" for p in shown[:6])

    # review: Y says in, N says not in; each answer is saved and the sidebar follows
    dlg = panel.review("Boats")
    qtbot.waitUntil(lambda: dlg.current() is not None, timeout=30000)
    first = dlg.current()
    answers = {}
    for _ in range(4):
        hit = dlg.current()
        yes = label_of(hit.path) == "ship"
        qtbot.keyClick(dlg, Qt.Key.Key_Y if yes else Qt.Key.Key_N)
        answers[hit.id] = yes
    # (each answer is saved in the edit pool, in order)
    qtbot.waitUntil(lambda: (c := lib.categories.get("Boats")).positives + c.negatives == 8,
                    timeout=30000)
    cat = lib.categories.get("Boats")
    assert cat.positives + cat.negatives == 8
    for pid, yes in answers.items():
        assert lib.categories.photo_labels(pid) == {"Boats": yes}
    qtbot.keyClick(dlg, Qt.Key.Key_Left)  # back to what was answered
    assert dlg.current().id == list(answers)[-1] and "you said" in dlg.detail.text()
    assert first.id in answers
    qtbot.waitUntil(lambda: not panel.busy and panel.rows["Boats"]["positives"]
                    == cat.positives, timeout=60000)  # (each answer retrains: slow when loaded)
    dlg.close()

    # the threshold slider: stricter means fewer members
    panel.threshold.setValue(90)
    panel.threshold.sliderReleased.emit()
    qtbot.waitUntil(lambda: not panel.busy and panel.rows["Boats"]["threshold"] == 0.9,
                    timeout=30000)
    assert panel.count("Boats") <= members + cat.positives


def test_review_before_the_first_example_says_suggested_by_its_name(qtbot, copy_window):
    """A category with no examples showed arbitrary photos at '0 % likely': they are the
    photos its name describes best, with no probability yet."""
    w, lib = copy_window, copy_window.library
    lib.categories.create("Boats")
    panel = w.category_panel
    panel.refresh()
    qtbot.waitUntil(lambda: "Boats" in panel.names() and not panel.busy, timeout=30000)
    dlg = panel.review("Boats")
    qtbot.waitUntil(lambda: dlg.current() is not None, timeout=30000)
    assert "suggested by its name" in dlg.detail.text()
    assert "%" not in dlg.detail.text() and "likely" not in dlg.detail.text()
    dlg.close()
