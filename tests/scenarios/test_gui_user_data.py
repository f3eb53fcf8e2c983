"""The window keeps what the user made (issue 18): removing a folder says its tags are kept,
a moved folder is found again from its menu, and a tag can be taken off from the preview
whatever its name."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox


def test_removing_a_folder_says_what_is_kept_and_it_comes_back(qtbot, copy_window,
                                                                monkeypatch):
    w, lib = copy_window, copy_window.library
    root = lib.folders.list()[0].path
    photo = lib.catalog.photo_paths()[0][1]
    lib.tags.set([photo], "beach")
    asked = []

    def answer(parent, title, text, *a, **k):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    w.folder_list._ask_remove(root)
    qtbot.waitUntil(lambda: bool(asked), timeout=30000)  # (what is kept is read off-thread)
    assert "36 photos" in asked[0] and "1 tag" in asked[0] and "kept" in asked[0], asked[0]
    qtbot.waitUntil(lambda: "kept" in w.statusBar().currentMessage(), timeout=30000)
    assert not lib.folders.list()
    w.bridge.worker.add_folder(root)
    qtbot.waitUntil(lambda: w.bridge.worker.wait_idle(0.01) and
                    lib.status()["photos"] == 36, timeout=60000)
    assert [t.name for t in lib.tags.photo_tags(photo)] == ["beach"]


def test_a_moved_folder_is_found_again_from_its_menu(qtbot, copy_window, monkeypatch):
    w, lib = copy_window, copy_window.library
    root = Path(lib.folders.list()[0].path)
    photo = Path(lib.catalog.photo_paths()[0][1])
    lib.tags.set([photo], "beach")
    moved = root.with_name("Moved")
    os.rename(root, moved)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(moved))
    w.folder_list._ask_relink(str(root))
    qtbot.waitUntil(lambda: "keep their tags" in w.statusBar().currentMessage(), timeout=30000)
    assert lib.folders.list()[0].path == str(moved)
    new_photo = moved / photo.relative_to(root)
    assert [t.name for t in lib.tags.photo_tags(new_photo)] == ["beach"]


def test_the_preview_removes_a_keyword_that_shares_a_labels_name(qtbot, copy_window):
    from photoclip.core.tags.model import Label, TagSet

    lib = copy_window.library
    photo = lib.catalog.photo_paths()[0][1]
    lib.tags.set([photo], "cat")  # a free keyword first…
    lib.tags.create_set(TagSet("Animals", [Label("cat")]))
    lib.tags.set([photo], "Animals/cat")  # …then the label of the same name
    lib.tags.set([photo], "AC/DC")
    from photoclip.gui.tagsets import PhotoTags

    tags = PhotoTags(lib, copy_window.edit_pool)
    qtbot.addWidget(tags)
    from PySide6.QtWidgets import QToolButton

    def chips() -> list:
        return [tags.row.itemAt(i).widget() for i in range(tags.row.count())
                if isinstance(tags.row.itemAt(i).widget(), QToolButton)]

    tags.show_photo(photo)
    qtbot.waitUntil(lambda: len(chips()) == 3, timeout=30000)  # (read in the library pool)
    for left in (2, 1, 0):  # click each chip's ✕ (the row is rebuilt after each)
        chips()[0].click()
        qtbot.waitUntil(lambda left=left: len(chips()) == left, timeout=30000)
    assert lib.tags.photo_tags(photo) == []
