"""Duplicates in the app, driven like a user would (pytest-qt, a real window on a real library
of shared photos and the copies libraries fill up with): Duplicates… lists the groups, the
original is suggested, the keys choose and resolve, files go to the (test) trash and come back
with Ctrl+Z, "not duplicates" is remembered, "only mark" keeps the file. Every call the GUI
makes into the library's services runs off the GUI thread (as test_gui_thread checks for the
other flows)."""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager

import pytest
from conftest import duplicate_photos, make_library, open_window, trash_files
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QMessageBox

pytest.importorskip("pytestqt")

SAME_KINDS = ("byte copy", "re-saved", "half size", "png", "exif-rotated")
SERVICES = ("folders", "search", "tags", "categories", "duplicates")
T = 60000  # (the machine is slow)


class GuiThreadCalls:
    """Every public method of the library's services records the calls made on the GUI
    thread (the main thread), as test_gui_thread.py does; the test's own checks of the
    library are made ``with calls.quiet():``."""

    def __init__(self, lib):
        self.calls: list[str] = []
        self._local = threading.local()
        for name in SERVICES:
            service = getattr(lib, name)
            for attr in dir(type(service)):
                method = getattr(service, attr)
                if attr.startswith("_") or not callable(method):
                    continue
                setattr(service, attr, self._wrap(method, f"lib.{name}.{attr}"))

    def _wrap(self, method, name: str):
        def wrapped(*a, **k):
            depth = getattr(self._local, "depth", 0)
            if threading.current_thread() is threading.main_thread() and not depth:
                self.calls.append(name)
            self._local.depth = depth + 1  # (calls it makes are its own)
            try:
                return method(*a, **k)
            finally:
                self._local.depth = depth

        return wrapped

    @contextmanager
    def quiet(self):
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth


@pytest.fixture
def dup(qtbot, tmp_path, cifar_encoder, monkeypatch):
    """The window on 12 real photos and, for six of them, a copy: (window, lib, kinds,
    calls) with kinds: kind of copy -> (original, copy)."""
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    root = tmp_path / "Pictures"
    kinds = duplicate_photos(root)
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(root)
    report = lib.folders.index()
    assert not report.failed
    calls = GuiThreadCalls(lib)
    w = open_window(qtbot, lib)
    qtbot.waitUntil(lambda: w.model.shown == 18, timeout=T)
    yield w, lib, kinds, calls
    w.close()
    assert calls.calls == [], f"called on the GUI thread: {sorted(set(calls.calls))}"


def pair(kinds, kind: str) -> frozenset[str]:
    return frozenset(map(str, kinds[kind]))


def open_dialog(qtbot, w):
    qtbot.mouseClick(w.duplicates_btn, Qt.MouseButton.LeftButton)
    dlg = w.duplicates_dialog
    qtbot.waitUntil(lambda: not dlg.finding, timeout=T)
    return dlg


def listed(dlg) -> set[frozenset[str]]:
    view = dlg.groups_view
    return {view.item(i).data(Qt.ItemDataRole.UserRole) for i in range(view.count())}


def show_group(qtbot, dlg, key: frozenset[str]) -> None:
    """Click the group in the list."""
    row = next(i for i in range(dlg.groups_view.count())
               if dlg.groups_view.item(i).data(Qt.ItemDataRole.UserRole) == key)
    item = dlg.groups_view.item(row)
    dlg.groups_view.scrollToItem(item)
    qtbot.mouseClick(dlg.groups_view.viewport(), Qt.MouseButton.LeftButton,
                     pos=dlg.groups_view.visualItemRect(item).center())
    assert dlg.current_key() == key


def kept_card(dlg):
    (card,) = [c for c in dlg.card_widgets() if c.property("keep")]
    return card


def cut_labels(window) -> list[str]:
    """The word-wrapped labels of ``window`` shown shorter than their text needs."""
    return [f"{label.text()[:50]!r}: {label.height()} px of {need}"
            for label in window.findChildren(QLabel)
            if label.wordWrap() and label.isVisible() and label.text()
            and label.height() < (need := label.heightForWidth(label.width()))]


def grid_paths(w) -> set[str]:
    return {h.path for h in w.model.hits()}


def test_duplicates_lists_each_copy_with_its_original_suggested(qtbot, dup):
    w, _lib, kinds, _calls = dup
    dlg = open_dialog(qtbot, w)
    assert dlg.windowTitle() == "Duplicates" and not dlg.isModal()
    assert listed(dlg) == {pair(kinds, k) for k in SAME_KINDS}  # (not the crop: not the same)
    assert dlg.header.text() == "<b>5 groups</b> · 5 photos could go"
    assert dlg.groups_view.item(0).text().startswith("The same photo · 2 photos · ")
    for k in SAME_KINDS:
        show_group(qtbot, dlg, pair(kinds, k))
        card = kept_card(dlg)
        assert card.path == str(kinds[k][0]), k  # the original is the one to keep
        assert card.badge.text() == "✓ Keep" and card.reason.text().startswith("Suggested: ")
        other = next(c for c in dlg.card_widgets() if not c.property("keep"))
        assert other.path == str(kinds[k][1]) and other.badge.text() == "→ Trash"
    show_group(qtbot, dlg, pair(kinds, "half size"))
    assert kept_card(dlg).reason.text() == "Suggested: most pixels"
    qtbot.waitUntil(lambda: not cut_labels(dlg), timeout=5000)  # (no text cut short)
    big, half = dlg.card_widgets()
    assert big.facts["format"].text() == "JPEG · 768 × 576"
    assert half.facts["format"].text() == "JPEG · 384 × 288"
    # sharpness is measured off the GUI thread and filled in; the thumbnails come
    qtbot.waitUntil(lambda: all(c.facts["sharpness"].text() != "Sharpness —"
                                for c in dlg.card_widgets()), timeout=T)
    qtbot.waitUntil(lambda: all(not c.image.pixmap().isNull() for c in dlg.card_widgets()),
                    timeout=T)
    # near-identical shots too: the light crop joins, as near-identical
    dlg.similar.setChecked(True)
    qtbot.waitUntil(lambda: not dlg.finding and pair(kinds, "cropped") in listed(dlg),
                    timeout=T)
    assert listed(dlg) == {pair(kinds, k) for k in (*SAME_KINDS, "cropped")}
    show_group(qtbot, dlg, pair(kinds, "cropped"))
    assert dlg.groups_view.currentItem().text().startswith("Near-identical · 2 photos")
    # one folder as the scope: the library's only folder, so the same groups
    qtbot.waitUntil(lambda: dlg.scope.count() == 2, timeout=T)
    assert dlg.scope.itemText(0) == "Whole library"
    dlg.scope.setCurrentIndex(1)
    qtbot.waitUntil(lambda: not dlg.finding, timeout=T)
    assert len(listed(dlg)) == 6
    # the button opens one dialog: asked again, the same one comes to the front
    assert w.open_duplicates() is dlg
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    assert not dlg.isVisible()
    w.activateWindow()  # (the window's shortcut: the window has the keys)
    qtbot.waitUntil(w.isActiveWindow, timeout=T)
    qtbot.keyClick(w, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)  # (a new one)
    assert w.duplicates_dialog is not dlg and w.duplicates_dialog.isVisible()
    qtbot.waitUntil(lambda: not w.duplicates_dialog.finding, timeout=T)
    assert len(listed(w.duplicates_dialog)) == 5


def test_right_enter_keeps_the_copy_trashes_the_original_and_ctrl_z_brings_it_back(
        qtbot, dup):
    w, lib, kinds, calls = dup
    original, copy = kinds["re-saved"]
    with calls.quiet():
        lib.tags.set([str(original)], "holiday", True)
    before = set(trash_files().iterdir()) if trash_files().exists() else set()
    dlg = open_dialog(qtbot, w)
    show_group(qtbot, dlg, pair(kinds, "re-saved"))
    assert dlg.resolve_btn.text() == "Move 1 photo to the Trash (Enter)"
    qtbot.keyClick(dlg, Qt.Key.Key_Right)
    assert kept_card(dlg).path == str(copy)
    assert kept_card(dlg).reason.text() == "Chosen by you"
    qtbot.keyClick(dlg, Qt.Key.Key_Return)
    # the group leaves the list at once, the next one shows
    assert pair(kinds, "re-saved") not in listed(dlg) and dlg.groups_view.count() == 4
    assert dlg.current_key() is not None
    qtbot.waitUntil(lambda: "moved to the Trash" in dlg.result_line.text(), timeout=T)
    assert dlg.result_line.text().startswith(
        "1 photo moved to the Trash; the kept photo inherited 1 tag")
    assert "Undo" in dlg.result_line.text()
    assert not original.exists() and copy.exists()
    (trashed,) = set(trash_files().iterdir()) - before
    assert trashed.name.startswith(original.stem)
    with calls.quiet():
        assert "holiday" in {t.name for t in lib.tags.photo_tags(str(copy))}
    qtbot.waitUntil(lambda: str(original) not in grid_paths(w) and w.model.shown == 17,
                    timeout=T)
    qtbot.waitUntil(lambda: dlg.undo_btn.isEnabled(), timeout=T)
    assert "moved to the trash" in dlg.undo_btn.toolTip()
    assert dlg.header.text() == "<b>4 groups</b> · 4 photos could go"

    # Ctrl+Z: the original is back from the trash, in the grid, and its group shows again
    qtbot.keyClick(dlg, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: dlg.result_line.text().startswith("Undone"), timeout=T)
    assert dlg.result_line.text() == "Undone: 1 photo back from the Trash."
    assert original.exists() and not trashed.exists()
    qtbot.waitUntil(lambda: not dlg.finding and pair(kinds, "re-saved") in listed(dlg),
                    timeout=T)
    assert dlg.current_key() == pair(kinds, "re-saved")
    assert not dlg.undo_btn.isEnabled()
    qtbot.waitUntil(lambda: str(original) in grid_paths(w) and w.model.shown == 18, timeout=T)
    with calls.quiet():
        assert "holiday" in {t.name for t in lib.tags.photo_tags(str(original))}


def test_digits_skip_and_not_duplicates_which_is_remembered(qtbot, dup):
    w, _lib, kinds, _calls = dup
    dlg = open_dialog(qtbot, w)
    first = dlg.current_key()
    qtbot.keyClick(dlg, Qt.Key.Key_2)
    assert kept_card(dlg).position == 1
    qtbot.keyClick(dlg, Qt.Key.Key_1)
    assert kept_card(dlg).position == 0
    assert kept_card(dlg).reason.text().startswith("Suggested")
    qtbot.keyClick(dlg, Qt.Key.Key_S)
    second = dlg.current_key()
    assert second != first and dlg.groups_view.count() == 5  # (skipped, not resolved)
    qtbot.keyClick(dlg, Qt.Key.Key_Space)
    assert dlg.current_key() not in (first, second)
    show_group(qtbot, dlg, pair(kinds, "png"))
    qtbot.keyClick(dlg, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: "not duplicates" in dlg.result_line.text(), timeout=T)
    assert all(p.exists() for p in kinds["png"])
    assert pair(kinds, "png") not in listed(dlg)
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    dlg = open_dialog(qtbot, w)  # (a new one, looking again)
    assert listed(dlg) == {pair(kinds, k) for k in SAME_KINDS if k != "png"}
    qtbot.waitUntil(lambda: dlg.undo_btn.isEnabled(), timeout=T)
    assert "kept as not duplicates" in dlg.undo_btn.toolTip()


def test_only_mark_keeps_the_file_and_marks_it(qtbot, dup):
    w, lib, kinds, calls = dup
    original, copy = kinds["half size"]
    dlg = open_dialog(qtbot, w)
    show_group(qtbot, dlg, pair(kinds, "half size"))
    qtbot.mouseClick(dlg.mark, Qt.MouseButton.LeftButton)
    assert dlg.mark.isChecked()
    assert dlg.resolve_btn.text() == "Mark 1 photo as duplicate (Enter)"
    assert next(c for c in dlg.card_widgets() if not c.property("keep")).badge.text() == \
        "Marked as duplicate"
    qtbot.keyClick(dlg, Qt.Key.Key_Enter)
    qtbot.waitUntil(lambda: "marked as duplicates" in dlg.result_line.text(), timeout=T)
    assert original.exists() and copy.exists()
    with calls.quiet():
        assert "duplicate" in {t.name for t in lib.tags.photo_tags(str(copy))}
        assert "duplicate" not in {t.name for t in lib.tags.photo_tags(str(original))}
    assert pair(kinds, "half size") not in listed(dlg)


def test_resolve_all_asks_first_and_says_how_many_files_go_where(qtbot, dup, monkeypatch):
    w, _lib, kinds, _calls = dup
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *a, **k: asked.append(text) or answer[0])
    dlg = open_dialog(qtbot, w)
    qtbot.mouseClick(dlg.resolve_all_btn, Qt.MouseButton.LeftButton)
    assert "move the other 5 photos to the Trash" in asked[0] and "5 groups" in asked[0]
    assert dlg.groups_view.count() == 5 and all(p.exists() for k in SAME_KINDS for p in kinds[k])
    answer[0] = QMessageBox.StandardButton.Yes
    qtbot.mouseClick(dlg.resolve_all_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "5 photos moved to the Trash" in dlg.result_line.text(), timeout=T)
    assert all(kinds[k][0].exists() and not kinds[k][1].exists() for k in SAME_KINDS)
    assert dlg.groups_view.count() == 0
    assert dlg.empty.isVisible() and dlg.empty.text().startswith(
        "No duplicates in the whole library.")
    assert "Near-identical shots too" in dlg.empty.text()
    qtbot.waitUntil(lambda: w.model.shown == 13, timeout=T)


def test_new_copies_found_by_indexing_show_in_the_status_bar(qtbot, dup):
    w, _lib, kinds, _calls = dup
    button = w.bar.duplicates
    assert not button.isVisible()
    original = kinds["byte copy"][0]
    shutil.copy2(original, original.parent / "copies" / f"{original.stem}-again.jpg")
    w.bridge.worker.rescan()
    qtbot.waitUntil(lambda: button.isVisible(), timeout=T)
    assert button.text() == "❐ 1 new duplicate"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    dlg = w.duplicates_dialog
    assert dlg.isVisible() and not button.isVisible()
    qtbot.waitUntil(lambda: not dlg.finding, timeout=T)
    assert dlg.groups_view.item(0).text().startswith("The same photo · 3 photos")


def test_a_copy_that_cannot_go_to_the_trash_is_said_and_its_group_stays(qtbot, dup):
    w, _lib, kinds, _calls = dup
    original, copy = kinds["png"]
    dlg = open_dialog(qtbot, w)
    show_group(qtbot, dlg, pair(kinds, "png"))
    copy.unlink()  # (gone behind the library's back: no watcher here)
    qtbot.keyClick(dlg, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dlg.problems.isVisible(), timeout=T)
    assert dlg.result_line.text() == "Nothing was moved to the Trash; 1 problem (below)"
    assert copy.name in dlg.problems.text() and "is not there any more" in dlg.problems.text()
    assert original.exists()
    qtbot.waitUntil(lambda: not dlg.finding and pair(kinds, "png") in listed(dlg), timeout=T)
    assert not dlg.undo_btn.isEnabled()  # (nothing was done: nothing to undo)
