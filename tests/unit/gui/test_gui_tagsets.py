"""Tag sets in the app, driven like a user would (pytest-qt, a real widget tree): make a set,
apply it, click a label to filter the grid, see and remove a tag in the preview."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import label_of
from driving import click_entry, right_click, when_menu_opens
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QToolButton

pytest.importorskip("pytestqt")


def test_make_apply_filter_preview_and_remove_a_tag(qtbot, copy_window, monkeypatch):
    from photoclip.gui.tagsets import TagSetEditor

    w, lib = copy_window, copy_window.library

    def fill(editor):
        editor.name.setText("Animals")
        editor.labels.setPlainText("cat = kitten\ndog\nship = boat")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(TagSetEditor, "exec", fill)
    w.tag_panel.new_set()  # (saved in the library pool; the sidebar shows it when read)
    qtbot.waitUntil(lambda: "Animals" in w.tag_panel.sets, timeout=30000)
    ts = w.tag_panel.sets["Animals"]
    assert [lb.name for lb in ts.labels] == ["cat", "dog", "ship"]
    assert ts.labels[0].synonyms == ["kitten"]

    w.tag_panel.apply("Animals")
    qtbot.waitUntil(lambda: not w.tag_panel._busy
                    and "tags on photos now" in w.tag_panel.status.text(), timeout=30000)
    qtbot.waitUntil(lambda: (item := w.tag_panel.label_item("Animals", "ship")) is not None
                    and int(item.text(1)) >= 8, timeout=30000)

    # click the label: the grid shows the photos carrying it
    item = w.tag_panel.label_item("Animals", "ship")
    count = int(item.text(1))
    tree = w.tag_panel.tree
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton,
                     pos=tree.visualItemRect(item).center())  # (the list may refresh later)
    qtbot.waitUntil(lambda: w.searching.shown is not None
                    and w.searching.shown.query == "tag:Animals/ship", timeout=30000)
    shown = [h.path for h in w.model.hits()]
    assert len(shown) == count
    assert sum(label_of(p) == "ship" for p in shown) >= 8

    # the preview lists the photo's tags; removing one sticks through a re-apply
    dlg = w.preview(0)
    path = w.model.hit(0).path
    qtbot.waitUntil(lambda: dlg.findChild(QToolButton, "tag-chip:Animals/ship") is not None,
                    timeout=30000)  # (the photo's tags are read in the library pool)
    chip = dlg.findChild(QToolButton, "tag-chip:Animals/ship")
    assert "auto" in chip.text()
    qtbot.mouseClick(chip, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dlg.findChild(QToolButton, "tag-chip:Animals/ship") is None,
                    timeout=30000)
    assert "ship" not in {t.name for t in lib.tags.photo_tags(path)}
    dlg.close()

    w.tag_panel.apply("Animals")  # again: the removal wins
    qtbot.waitUntil(lambda: "tags on photos now" in w.tag_panel.status.text()
                    and not w.tag_panel._busy, timeout=30000)
    assert "ship" not in {t.name for t in lib.tags.photo_tags(path)}
    dlg = w.preview(0)
    from photoclip.gui.tagsets import PhotoTags

    tags = dlg.findChild(PhotoTags)
    qtbot.waitUntil(lambda: dlg.isVisible() and tags.row.count() > 0, timeout=30000)  # (read)
    assert dlg.hit.path != path or dlg.findChild(QToolButton, "tag-chip:Animals/ship") is None
    dlg.close()


def test_grid_menu_tags_and_untags_every_selected_photo(qtbot, copy_window, monkeypatch):
    from PySide6.QtCore import QItemSelectionModel
    from PySide6.QtWidgets import QLabel

    from photoclip.gui.tagsets import AddTagDialog

    w, lib = copy_window, copy_window.library
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    rows = [w.model.row_of(h.path) for h in w.model.hits()[:4]]
    chosen, other = rows[:3], rows[3]
    sel = w.view.selectionModel()
    for r in chosen:
        sel.select(w.model.index(r), QItemSelectionModel.SelectionFlag.Select)
    paths = [w.model.hit(r).path for r in chosen]
    asked = []

    def type_a_tag(dialog):
        """The user: Enter at once (nothing happens: no tag is preselected), then a tag."""
        dialog.show()
        asked.append(dialog.findChild(QLabel).text())
        assert dialog.field.text() == ""
        qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
        assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
        qtbot.keyClicks(dialog.field, "holiday")
        qtbot.keyClick(dialog.field, Qt.Key.Key_Return)
        assert not dialog.isVisible()
        return dialog.result()

    monkeypatch.setattr(AddTagDialog, "exec", type_a_tag)

    def add_tag(menu):
        click_entry(qtbot, menu, "Add tag…")

    right_click(w, chosen[1], add_tag)  # (a photo of the selection: all three)
    assert asked == ["Tag 3 photos with:"]
    qtbot.waitUntil(lambda: all(lib.tags.photo_tags(p) for p in paths), timeout=30000)
    for p in paths:
        assert [(t.name, t.source) for t in lib.tags.photo_tags(p)] == [("holiday", "manual")]
    assert lib.tags.photo_tags(w.model.hit(other).path) == []
    qtbot.waitUntil(lambda: w.tag_panel.tree.topLevelItemCount() == 1, timeout=30000)
    assert w.tag_panel.tree.topLevelItem(0).text(0) == "Keywords"

    # a photo outside the selection: that photo alone
    right_click(w, other, add_tag)
    assert asked[-1] == "Tag 1 photo with:"
    qtbot.waitUntil(lambda: lib.tags.photo_tags(w.model.hit(other).path) != [], timeout=30000)

    # "Remove tag" takes it off the whole selection
    def remove_tag(menu):
        remove = next(a.menu() for a in menu.actions() if a.text() == "Remove tag")
        qtbot.waitUntil(lambda: remove.menuAction().isVisible(), timeout=30000)  # (read)
        assert [a.text() for a in remove.actions()] == ["holiday"]
        click_entry(qtbot, remove, "holiday")

    right_click(w, chosen[0], remove_tag)
    assert w.view.selected_rows() == chosen
    qtbot.waitUntil(lambda: not any(lib.tags.photo_tags(p) for p in paths), timeout=30000)
    assert [t.name for t in lib.tags.photo_tags(w.model.hit(other).path)] == ["holiday"]


def test_tags_export_to_xmp_after_asking_and_keywords_import(qtbot, copy_window, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    w, lib = copy_window, copy_window.library
    photo = w.library.catalog.photo_paths()[0][1]
    lib.tags.set([photo], "harbour")
    asked = []

    def answer(parent, title, text, items, current, editable):
        asked.append(text)
        return items[1], True  # photo.xmp (Lightroom)

    monkeypatch.setattr(QInputDialog, "getItem", answer)
    w.tag_panel.export_xmp()
    qtbot.waitUntil(lambda: "1 sidecar written" in w.tag_panel.status.text(), timeout=30000)
    assert "next to each tagged photo" in asked[0]
    side = Path(photo).with_suffix(".xmp")
    assert "<rdf:li>harbour</rdf:li>" in side.read_text(encoding="utf-8")

    lib.tags.set([photo], "harbour", present=False)
    # importing the sidecar back does not undo the removal
    w.tag_panel.import_xmp()
    qtbot.waitUntil(lambda: "Keywords found" in w.tag_panel.status.text(), timeout=30000)
    assert "as your own tags" not in w.tag_panel.status.text()
    assert lib.tags.photo_tags(photo) == []


def _context_menu(qtbot, panel, item, *path: str) -> None:
    """Right-click ``item`` of the sidebar and click the entry ``path`` of its menu."""
    when_menu_opens(lambda menu: click_entry(qtbot, menu, *path))
    panel.tree.customContextMenuRequested.emit(panel.tree.visualItemRect(item).center())


def test_apply_to_any_folder_inside_and_stop_tagging_there(qtbot, copy_window, tmp_path,
                                                           monkeypatch):
    """'Apply to a folder' offered only the library's top folders, and an applied set could
    not be stopped without deleting it."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from photoclip.core.tags.model import Label, TagSet

    w, lib = copy_window, copy_window.library
    panel = w.tag_panel
    pictures = tmp_path / "Pictures"
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    panel.refresh()
    qtbot.waitUntil(lambda: panel.label_item("Animals", "cat") is not None, timeout=30000)
    chosen: list[str] = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory",
                        lambda parent, title, start: chosen.pop(0))
    warned: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warned.append(text))

    def apply_to(folder) -> None:
        chosen.append(str(folder))
        top = panel.label_item("Animals", "cat").parent()
        _context_menu(qtbot, panel, top, "Apply to a folder", "A folder inside them…")

    apply_to(pictures / "ship")  # a subfolder of the library's folder
    qtbot.waitUntil(lambda: lib.tags.get_set("Animals").scopes == [str(pictures / "ship")]
                    and not panel._busy, timeout=30000)
    apply_to(tmp_path)  # not inside the library: said, nothing applied
    qtbot.waitUntil(lambda: bool(warned), timeout=30000)
    assert "not inside a folder of this library" in warned[0]
    apply_to(pictures / "cat")
    qtbot.waitUntil(lambda: len(lib.tags.get_set("Animals").scopes) == 2
                    and not panel._busy, timeout=30000)

    def auto(folder: str) -> list:
        return [(h.path, t.name) for h in lib.search.browse() if f"/{folder}/" in h.path
                for t in lib.tags.photo_tags(h.path) if t.source == "auto"]

    ships, cats = auto("ship"), auto("cat")
    assert ships and cats
    mine = ships[0][0]
    lib.tags.set([mine], "Animals/dog")  # a tag set by hand stays
    going = len(auto("ship"))
    asked: list[str] = []
    answers: list[QMessageBox.StandardButton] = []

    def answer(parent, title, text):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", answer)
    panel.refresh()
    qtbot.waitUntil(lambda: panel.status.text().startswith("Animals:"), timeout=30000)
    answers.append(QMessageBox.StandardButton.Yes)
    top = panel.label_item("Animals", "cat").parent()
    _context_menu(qtbot, panel, top, "Stop tagging", f"In {pictures / 'ship'}")
    qtbot.waitUntil(lambda: lib.tags.get_set("Animals").scopes == [str(pictures / "cat")]
                    and not panel._busy, timeout=30000)
    assert f"Its {going} automatic tags there go; tags you set by hand stay" in asked[0]
    assert auto("ship") == [] and auto("cat") == cats
    assert [(t.name, t.source) for t in lib.tags.photo_tags(mine)] == [("dog", "manual")]
    qtbot.waitUntil(lambda: f"{going} automatic tags taken off" in panel.status.text(),
                    timeout=30000)

    # everywhere: asked first, "No" changes nothing
    answers.append(QMessageBox.StandardButton.No)
    top = panel.label_item("Animals", "cat").parent()
    _context_menu(qtbot, panel, top, "Stop tagging", "Everywhere")
    qtbot.waitUntil(lambda: len(asked) == 2, timeout=30000)
    assert f"Its {len(cats)} automatic tags" in asked[1]
    assert lib.tags.get_set("Animals").applied
    answers.append(QMessageBox.StandardButton.Yes)
    _context_menu(qtbot, panel, panel.label_item("Animals", "cat").parent(), "Stop tagging",
                  "Everywhere")
    qtbot.waitUntil(lambda: not lib.tags.get_set("Animals").applied, timeout=30000)
    assert auto("cat") == [] and "Animals" in panel.sets
    assert [(t.name, t.source) for t in lib.tags.photo_tags(mine)] == [("dog", "manual")]
    assert warned == [warned[0]]


def test_strictness_says_per_label_what_a_value_would_keep_before_it_is_set(
        qtbot, copy_window, monkeypatch):
    """'Stricter' 0 → 2 kept 1 of 129 frog tags while other labels lost ~30 %: the editor
    says, label by label, what a value would do before it is saved — read off the GUI thread
    once the spin box rests, the labels that lose most first, the rest summed up."""
    import threading

    from conftest import CIFAR_CLASSES

    from photoclip.core.tags.model import Label, TagSet
    from photoclip.gui.tagsets import TagSetEditor, effect_text

    w, lib = copy_window, copy_window.library
    panel = w.tag_panel
    lib.tags.create_set(TagSet("CIFAR", [Label(c) for c in CIFAR_CLASSES]))
    lib.tags.apply("CIFAR")
    panel.refresh()
    qtbot.waitUntil(lambda: "CIFAR" in panel.sets, timeout=30000)
    real = lib.tags.threshold_effect
    expected = real("CIFAR", 2.0)
    asked: list[tuple[float, bool]] = []

    def recorded(name, value, label=None):
        asked.append((value, threading.current_thread() is threading.main_thread()))
        return real(name, value, label)

    monkeypatch.setattr(lib.tags, "threshold_effect", recorded)
    seen = []

    def move_the_spin_box(editor):
        editor.show()
        assert "→" not in editor.effect.text()
        for v in (0.5, 1.0, 1.5, 2.0):  # (the arrow held down: one reading, at rest)
            editor.threshold.setValue(v)
        qtbot.waitUntil(lambda: "→" in editor.effect.text(), timeout=30000)
        seen.append(editor.effect.text())
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(TagSetEditor, "exec", move_the_spin_box)
    panel.edit_set("CIFAR")
    assert asked == [(2.0, False)]
    text = seen[0]
    assert text == effect_text(expected, 2.0)
    worst = min((e for e in expected if e.now), key=lambda e: e.then / e.now)
    assert text.startswith(f"At 2 (photos tagged now → then): {worst.label} {worst.now} → "
                           f"{worst.then}")
    assert lib.tags.get_set("CIFAR").threshold == 0  # (nothing saved)

    # many labels: five named, the rest summed up
    from photoclip.core.tags.model import ThresholdEffect

    many = [ThresholdEffect(f"label{i}", 100, 100 - i) for i in range(1, 30)]
    many.append(ThresholdEffect("mine", 50, 50, own_threshold=True))
    said = effect_text(many, 1.5)
    assert said.count("→") == 7 and "label29 100 → 71" in said.split(" · ")[0]
    assert "24 more labels: 2,400 → 2,100" in said and "1 label keeps its own" in said
