"""The dialogs as a user sees them (pytest-qt, a real widget tree): every line of their text
whole, nothing drawn over anything else, and what they say fitting how they were opened."""

from __future__ import annotations

import pytest
from conftest import label_of
from driving import click_entry, right_click
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QToolButton,
    QWidget,
)

pytest.importorskip("pytestqt")


def cut_labels(window: QWidget) -> list[str]:
    """The word-wrapped labels of ``window`` shown shorter than their text needs."""
    return [f"{label.text()[:50]!r}: {label.height()} px of {need}"
            for label in window.findChildren(QLabel)
            if label.wordWrap() and label.isVisible() and label.text()
            and label.height() < (need := label.heightForWidth(label.width()))]


def settle(qtbot, window: QWidget) -> None:
    """Let ``window`` lay itself out (a layout request, then the size that follows)."""
    qtbot.wait(50)
    qtbot.waitUntil(lambda: not cut_labels(window), timeout=5000)


def test_settings_help_lines_are_whole(qtbot, copy_window):
    w = copy_window
    button = next(b for b in w.findChildren(QToolButton) if b.toolTip() == "Settings")
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dlg = next(d for d in w.findChildren(QDialog) if d.windowTitle() == "Settings")
    qtbot.waitUntil(lambda: dlg.isVisible() and dlg.precision_now.text() != "", timeout=30000)
    assert "PHOTOCLIP_HOME" in dlg.home_note.text()  # (two lines at this width)
    settle(qtbot, dlg)
    assert cut_labels(dlg) == []
    assert dlg.home_note.height() > 1.5 * dlg.fontMetrics().height()
    for width in (dlg.minimumWidth(), 900):  # narrower: more lines; wider: fewer
        dlg.resize(width, 10)
        settle(qtbot, dlg)
        assert cut_labels(dlg) == [], width
    dlg.reject()


def test_review_caption_is_under_the_photo_not_over_it(qtbot, copy_window):
    w, lib = copy_window, copy_window.library
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    ships = [h.path for h in w.model.hits() if label_of(h.path) == "ship"][:3]
    lib.categories.create("Boats")
    lib.categories.label("Boats", ships, True)
    panel = w.category_panel
    panel.refresh()
    qtbot.waitUntil(lambda: "Boats" in panel.names() and not panel.busy, timeout=60000)
    dlg = panel.review("Boats")
    qtbot.waitUntil(lambda: dlg.current() is not None and dlg.image.pixmap is not None,
                    timeout=30000)
    for width, height in ((380, 300), (700, 700)):  # (a long path wraps at 380)
        dlg.resize(width, height)
        settle(qtbot, dlg)
        image, detail, question = (dlg.image.geometry(), dlg.detail.geometry(),
                                   dlg.question.geometry())
        assert question.bottom() < image.top() and image.bottom() < detail.top(), \
            (question, image, detail)
        assert cut_labels(dlg) == []
        assert detail.bottom() < dlg.height()
    dlg.close()


def test_welcome_refuses_a_folder_inside_one_listed_when_it_is_chosen(qtbot, tmp_path,
                                                                      tiny_encoder, monkeypatch):
    from conftest import make_library

    from photoclip.gui.dialogs import FirstRunDialog, elide_path, paths_whole

    monkeypatch.setattr(QMessageBox, "question",  # (closing it: "discard the choices?")
                        staticmethod(lambda *a, **k: QMessageBox.StandardButton.Discard))
    lib = make_library(tmp_path / "home", tiny_encoder)
    dlg = FirstRunDialog(lib)
    qtbot.addWidget(dlg)
    dlg.show()
    outer = tmp_path / "Pictures"
    inner = outer / "2024" / ("a folder with a rather long name, " * 6).strip()
    inner.mkdir(parents=True)
    chosen = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        staticmethod(lambda *a, **k: chosen.pop(0)))
    add = next(b for b in dlg.findChildren(QPushButton) if b.text() == "Add a folder…")

    chosen.append(str(outer))
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert dlg.folders == [str(outer)] and not dlg.refusal.isVisible()
    chosen.append(str(inner))
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)  # refused now, not after Start
    assert dlg.folders == [str(outer)] and dlg.list.count() == 1
    assert dlg.refusal.isVisible() and "is inside" in dlg.refusal.text()
    # each path on one line (never "/" then "tmp/…" on the next), a long one shortened
    # in the middle
    text = dlg.refusal.text()
    assert text.count("<nobr>") == 2
    assert f"<nobr>{elide_path(str(outer), dlg.refusal.font())}</nobr>" in text
    shortened = text.split("<nobr>")[1].split("</nobr>")[0]
    assert "…" in shortened and shortened.startswith(str(tmp_path)[:10])
    assert shortened.endswith("rather long name,")
    assert dlg.refusal.fontMetrics().horizontalAdvance(shortened) <= dlg.refusal.width()
    settle(qtbot, dlg)
    assert cut_labels(dlg) == []

    # a folder that holds one listed: refused too; removing that one lets it in
    dlg.list.setCurrentRow(0)
    dlg.remove_btn.click()
    assert not dlg.refusal.isVisible()
    chosen.append(str(inner))
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    chosen.append(str(outer))
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert dlg.folders == [str(inner)] and "holds" in dlg.refusal.text()
    dlg.list.setCurrentRow(0)
    dlg.remove_btn.click()
    chosen.append(str(outer))
    qtbot.mouseClick(add, Qt.MouseButton.LeftButton)
    assert dlg.folders == [str(outer)] and not dlg.refusal.isVisible()

    # what the library says after Start keeps its paths whole too (a message box)
    said = paths_whole(f"{inner} overlaps {outer}, which is already in the library.",
                       [str(inner)])
    assert said.startswith("<p><nobr>") and f"<nobr>{outer}</nobr>, which" in said
    assert said.count("<nobr>") == 2 and "</nobr> overlaps <nobr>" in said
    assert "…" in said.split("</nobr>")[0] and said.split("</nobr>")[0].endswith("name,")
    dlg.done(0)
    lib.close()


def test_new_category_from_selected_photos_says_they_go_in(qtbot, copy_window, monkeypatch):
    from photoclip.gui import categories

    w, lib = copy_window, copy_window.library
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    ships = [w.model.row_of(h.path) for h in w.model.hits() if label_of(h.path) == "ship"][:3]
    for r in ships:
        w.view.selectionModel().select(w.model.index(r),
                                       QItemSelectionModel.SelectionFlag.Select)
    seen = {}

    def fill(editor, name="Boats"):
        editor.show()
        settle(qtbot, editor)
        seen[editor.windowTitle()] = editor.hint.text()
        assert cut_labels(editor) == []
        assert editor.name.width() >= 360 and editor.description.width() >= 360
        assert editor.description.fontMetrics().horizontalAdvance(
            editor.description.placeholderText()) < editor.description.width()
        editor.name.setText(name)
        editor.hide()
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(categories.CategoryEditor, "exec", fill)
    right_click(w, ships[1], lambda menu: click_entry(qtbot, menu, "Add to category",
                                                      "New category…"))
    qtbot.waitUntil(lambda: "Boats" in w.category_panel.names()
                    and lib.categories.get("Boats").positives == 3, timeout=30000)
    said = seen.pop("New category")
    assert "The 3 photos you selected go in as its first examples" in said
    assert "select photos" not in said

    # renaming does not ask for photos either
    w.category_panel.edit("Boats")
    said = seen.pop("Rename or describe")
    assert "select" not in said and "stay" in said

    # "+ New category…" in the sidebar, no photo chosen: the dialog says how to add some,
    # and the category is made (the button's clicked(False) was taken as what to do next)
    monkeypatch.setattr(categories.CategoryEditor, "exec",
                        lambda editor: fill(editor, "Receipts"))
    new = next(b for b in w.category_panel.findChildren(QPushButton)
               if b.text() == "+ New category…")
    qtbot.mouseClick(new, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Receipts" in w.category_panel.names(), timeout=30000)
    assert "select photos that belong in it" in seen.pop("New category")
