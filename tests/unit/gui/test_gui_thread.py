"""The GUI thread only paints: every call into the Library's services runs in a pool
(gui/executors.py). Here a real window on a real library is driven through the things a user
does — search, a tag set made and applied, a photo tagged from the grid's menu and from the
preview, a category made from the menu, a folder removal asked about, the failures list,
the settings — while every public method of lib.folders, lib.search, lib.tags and
lib.categories records the thread it ran on."""

from __future__ import annotations

import threading

from conftest import make_library, open_window, write_photos
from PySide6.QtWidgets import QDialog, QMenu, QMessageBox

SERVICES = ("folders", "search", "tags", "categories", "duplicates")


def _record_threads(lib) -> list[str]:
    """Wrap each public method of the services; the list collects those run on the GUI
    thread (the main thread: Qt's GUI thread in the tests and in the app)."""
    on_gui_thread: list[str] = []
    quiet = threading.local()  # (the test's own checks of the library are not the GUI's)
    for name in SERVICES:
        service = getattr(lib, name)
        for attr in dir(type(service)):
            method = getattr(service, attr)
            if attr.startswith("_") or not callable(method):
                continue

            def wrapped(*a, _m=method, _n=f"lib.{name}.{attr}", **k):
                if threading.current_thread() is threading.main_thread() \
                        and not getattr(quiet, "on", False):
                    on_gui_thread.append(_n)
                quiet.on = getattr(quiet, "on", 0) + 1  # (calls it makes are its own)
                try:
                    return _m(*a, **k)
                finally:
                    quiet.on -= 1

            setattr(service, attr, wrapped)
    for attr in ("switch_model", "status"):
        method = getattr(lib, attr)

        def wrapped_lib(*a, _m=method, _n=f"lib.{attr}", **k):
            if threading.current_thread() is threading.main_thread():
                on_gui_thread.append(_n)
            return _m(*a, **k)

        setattr(lib, attr, wrapped_lib)
    return on_gui_thread


def _action(menu: QMenu, *path: str):
    for text in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == text)
    return next(a for a in menu.actions() if a.text() == path[-1])


def test_the_gui_thread_never_calls_the_library(qtbot, tmp_path, tiny_encoder, monkeypatch):
    from photoclip.gui import categories, tagsets
    from photoclip.gui.settings import SettingsDialog

    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    lib = make_library(tmp_path / "home", tiny_encoder)
    photos = write_photos(tmp_path / "Pictures", 6)
    lib.folders.add(tmp_path / "Pictures")
    lib.folders.index()
    on_gui_thread = _record_threads(lib)
    w = open_window(qtbot, lib)

    # a search, then browsing
    w.search.setText("a photo")
    qtbot.waitUntil(lambda: w.searching.shown is not None and w.searching.shown.query == "a photo",
                    timeout=30000)
    w.search.setText("")
    qtbot.waitUntil(lambda: w.model.shown == 6, timeout=30000)

    # a tag set made and applied from the sidebar
    def fill(editor):
        editor.name.setText("Things")
        editor.labels.setPlainText("noise\nsky")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(tagsets.TagSetEditor, "exec", fill)
    w.tag_panel.new_set()
    qtbot.waitUntil(lambda: "Things" in w.tag_panel.sets, timeout=30000)
    w.tag_panel.apply("Things")
    qtbot.waitUntil(lambda: not w.tag_panel._busy, timeout=30000)

    # the grid's menu: tag a photo by hand, make a category with it
    def holiday(dialog):
        dialog.field.setText("holiday")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(tagsets.AddTagDialog, "exec", holiday)
    menu = QMenu(w)
    tagsets.add_photo_actions(menu, w.tag_panel, [str(photos[0])], w, w.tags_changed)
    _action(menu, "Add tag…").trigger()
    pid = lib.catalog.photo_state(str(photos[0])).id  # (the test reads below the services)
    qtbot.waitUntil(lambda: [t.name for t in lib.tags.store.photo_tags(pid)] == ["holiday"],
                    timeout=30000)

    def name_it(editor):
        editor.name.setText("Mine")
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(categories.CategoryEditor, "exec", name_it)
    menu = QMenu(w)
    categories.add_photo_actions(menu, w.category_panel, [str(photos[1])], w,
                                 w.categories_changed)
    _action(menu, "Add to category", "New category…").trigger()
    qtbot.waitUntil(lambda: "Mine" in w.category_panel.names()
                    and lib.categories.store.get("Mine").positives == 1, timeout=20000)

    # the menus' own entries come when read: "Remove tag" and "Forget as example of"
    def submenu(menu: QMenu, title: str) -> QMenu:
        return next(a.menu() for a in menu.actions() if a.text() == title)

    menu = QMenu(w)
    tagsets.add_photo_actions(menu, w.tag_panel, [str(photos[0])], w, w.tags_changed)
    remove = submenu(menu, "Remove tag")
    assert not remove.menuAction().isVisible()  # (until the photo's tags are read)
    qtbot.waitUntil(lambda: remove.menuAction().isVisible(), timeout=30000)
    assert [a.text() for a in remove.actions()] == ["holiday"]
    menu = QMenu(w)
    categories.add_photo_actions(menu, w.category_panel, [str(photos[1])], w,
                                 w.categories_changed)
    forget = submenu(menu, "Forget as example of")
    qtbot.waitUntil(lambda: forget.menuAction().isVisible(), timeout=30000)
    assert [a.text() for a in forget.actions()] == ["Mine"]
    forget.actions()[0].trigger()
    qtbot.waitUntil(lambda: lib.categories.store.get("Mine").positives == 0, timeout=30000)
    menu = QMenu(w)
    categories.add_photo_actions(menu, w.category_panel, [str(photos[1])], w,
                                 w.categories_changed)
    qtbot.wait(500)  # (the read has answered: none left)
    assert not submenu(menu, "Forget as example of").menuAction().isVisible()
    _action(menu, "Add to category", "Mine").trigger()  # (an example again, for below)
    qtbot.waitUntil(lambda: lib.categories.store.get("Mine").positives == 1, timeout=30000)

    # the preview's tags: one added, then removed with its ✕
    dlg = w.preview(w.model.first_photo_row())  # (row 0 of a browse is a date header)
    tags = dlg.findChild(tagsets.PhotoTags)
    qtbot.waitUntil(lambda: tags.row.count() > 0, timeout=30000)
    def chip_names() -> set[str]:
        return {tags.row.itemAt(i).widget().objectName() for i in range(tags.row.count())}

    tags.add.setText("sunny")
    tags._add()
    qtbot.waitUntil(lambda: "tag-chip:sunny" in chip_names(), timeout=30000)
    tags.remove("sunny")
    qtbot.waitUntil(lambda: "tag-chip:sunny" not in chip_names(), timeout=30000)
    dlg.close()

    # asking before a folder is removed (says what is kept), the failures list, settings
    asked: list[str] = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *a, **k: asked.append(text)
                        or QMessageBox.StandardButton.No)
    w.folder_list._ask_remove(str(tmp_path / "Pictures"))
    qtbot.waitUntil(lambda: bool(asked), timeout=30000)
    assert "kept" in asked[0] and "1 category example" in asked[0], asked[0]
    opened: list[int] = []
    monkeypatch.setattr("photoclip.gui.dialogs.FailuresDialog.exec", lambda d: opened.append(1))
    w.show_failures()
    qtbot.waitUntil(lambda: bool(opened), timeout=30000)
    settings = SettingsDialog(lib, w)
    qtbot.addWidget(settings)
    qtbot.waitUntil(lambda: settings.precision_now.text() != "", timeout=30000)
    settings.close()

    assert on_gui_thread == [], f"called on the GUI thread: {sorted(set(on_gui_thread))}"
    w.close()


def test_the_recorder_sees_a_call_made_on_the_gui_thread(tmp_path, tiny_encoder):
    """(The check above can fail: a service called from the main thread is recorded.)"""
    lib = make_library(tmp_path / "home", tiny_encoder)
    on_gui_thread = _record_threads(lib)
    lib.folders.list()
    worker = threading.Thread(target=lib.tags.sets)
    worker.start()
    worker.join()
    assert on_gui_thread == ["lib.folders.list"]
    lib.close()
