"""The keyboard, driven like a user would (pytest-qt, a real widget tree): keys go to the
widget that has the focus, as they do on screen — a text field must not take the keys of the
window it sits in, and no key is bound twice where Qt would call it ambiguous and do nothing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QWidget

pytest.importorskip("pytestqt")

LINUX_KEYS = {  # what Qt binds on Linux desktops (offscreen Qt uses the Windows bindings)
    QKeySequence.StandardKey.Quit: ["Ctrl+Q"],
}


@pytest.fixture
def linux_keys(monkeypatch):
    """Standard keys as on a Linux desktop, where Quit is Ctrl+Q (the app added Ctrl+Q for
    Windows, which has none: on Linux that bound Ctrl+Q twice and it did nothing)."""
    real = QKeySequence.keyBindings

    def bindings(key):
        if key in LINUX_KEYS:
            return [QKeySequence(k) for k in LINUX_KEYS[key]]
        return real(key)

    monkeypatch.setattr(QKeySequence, "keyBindings", staticmethod(bindings))


def _key(widget: QWidget, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key typed on ``widget``'s window: it goes to the widget that has the focus there."""
    QApplication.processEvents()
    QTest.keyClick(widget.window().focusWidget() or widget.window(), key, modifier)


def test_preview_keys_belong_to_the_photo_and_the_tag_box_only_takes_typing(
        qtbot, copy_window, monkeypatch):
    from PySide6.QtGui import QDesktopServices

    from photoclip.gui.tagsets import PhotoTags

    w, lib = copy_window, copy_window.library
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl",
                        staticmethod(lambda url: opened.append(url) or True))
    first = w.model.first_photo_row()
    w.view.setFocus()
    w.view.setCurrentIndex(w.model.index(first))
    qtbot.keyClick(w.view, Qt.Key.Key_Space)
    dlg = w.photos.dialog
    tags = dlg.findChild(PhotoTags)
    qtbot.waitUntil(lambda: dlg.isVisible() and tags.row.count() > 0, timeout=30000)
    # the photo has the keys when the preview opens (the "Add a tag…" box took them)
    assert dlg.focusWidget() is dlg.canvas
    _key(dlg, Qt.Key.Key_Right)
    _key(dlg, Qt.Key.Key_Right)
    assert dlg.row == w.model.step(w.model.step(first, 1), 1) and tags.add.text() == ""
    _key(dlg, Qt.Key.Key_End)
    assert dlg.row == w.model.row_of(w.model.hits()[-1].path)
    _key(dlg, Qt.Key.Key_Home)
    assert dlg.row == first
    qtbot.waitUntil(lambda: dlg.canvas.pixmap is not None and not dlg.canvas.pixmap.isNull(),
                    timeout=10000)
    _key(dlg, Qt.Key.Key_1)
    assert not dlg.canvas.fit
    _key(dlg, Qt.Key.Key_0)
    assert dlg.canvas.fit
    _key(dlg, Qt.Key.Key_F)
    qtbot.waitUntil(dlg.isFullScreen, timeout=5000)
    _key(dlg, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dlg.isFullScreen(), timeout=5000)
    assert tags.add.text() == "" and lib.tags.photo_tags(dlg.hit.path) == []

    # clicking into the box types there: F, Enter tags the photo "f" — and neither steps,
    # goes full screen nor opens the photo
    path = dlg.hit.path
    qtbot.mouseClick(tags.add, Qt.MouseButton.LeftButton)
    assert dlg.focusWidget() is tags.add
    for key in (Qt.Key.Key_H, Qt.Key.Key_I, Qt.Key.Key_Right, Qt.Key.Key_Left,
                Qt.Key.Key_Home, Qt.Key.Key_End, Qt.Key.Key_F):
        _key(dlg, key)
    assert tags.add.text() == "hif" and dlg.row == first and not dlg.isFullScreen()
    _key(dlg, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: [t.name for t in lib.tags.photo_tags(path)] == ["hif"],
                    timeout=30000)
    assert opened == [] and dlg.isVisible() and dlg.row == first
    # Esc in the box gives the keys back to the photo (it does not close the preview)
    _key(dlg, Qt.Key.Key_Escape)
    assert dlg.isVisible() and dlg.focusWidget() is dlg.canvas
    _key(dlg, Qt.Key.Key_Right)
    assert dlg.row == w.model.step(first, 1)
    # and a click on the photo takes them back too
    qtbot.mouseClick(tags.add, Qt.MouseButton.LeftButton)
    assert dlg.focusWidget() is tags.add
    qtbot.mouseClick(dlg.canvas, Qt.MouseButton.LeftButton)
    assert dlg.focusWidget() is dlg.canvas
    _key(dlg, Qt.Key.Key_Left)
    assert dlg.row == first
    _key(dlg, Qt.Key.Key_Return)  # Enter on the photo opens it
    assert len(opened) == 1
    _key(dlg, Qt.Key.Key_Space)
    assert not dlg.isVisible()


def _bindings(window: QWidget) -> list[tuple[str, Qt.ShortcutContext, QWidget, str]]:
    """Every key bound in ``window``: (key, context, widget it is bound on, what it does)."""
    found = []
    for action in window.findChildren(QAction):
        for seq in action.shortcuts():
            for owner in action.associatedObjects():
                if isinstance(owner, QWidget) and owner.window() is window:
                    found.append((seq.toString(), action.shortcutContext(), owner,
                                  action.text()))
    for shortcut in window.findChildren(QShortcut):
        if shortcut.isEnabled():
            for seq in shortcut.keys():  # noqa: SIM118 (a QShortcut, not a dict)
                found.append((seq.toString(), shortcut.context(), shortcut.parent(),
                              f"shortcut on {type(shortcut.parent()).__name__}"))
    return found


def _where(context: Qt.ShortcutContext, widget: QWidget) -> QWidget:
    if context in (Qt.ShortcutContext.WindowShortcut, Qt.ShortcutContext.ApplicationShortcut):
        return widget.window()
    return widget


def _twice(window: QWidget) -> list[str]:
    """Keys bound twice where both bindings could be active at once (Qt: ambiguous)."""
    seen = _bindings(window)
    clashes = []
    for i, (key, ctx, widget, what) in enumerate(seen):
        for key2, ctx2, widget2, what2 in seen[i + 1:]:
            if key != key2:
                continue
            a, b = _where(ctx, widget), _where(ctx2, widget2)
            if a is b or a.isAncestorOf(b) or b.isAncestorOf(a):
                clashes.append(f"{key}: {what} / {what2}")
    return clashes


def test_no_key_is_bound_twice_in_any_window_and_ctrl_q_quits(qtbot, qtlog, linux_keys,
                                                               copy_window):
    from photoclip.gui.categories import CategoryEditor, ReviewDialog
    from photoclip.gui.dialogs import FirstRunDialog
    from photoclip.gui.settings import SettingsDialog
    from photoclip.gui.tagsets import AddTagDialog, TagSetEditor

    w, lib = copy_window, copy_window.library
    qtbot.waitUntil(lambda: w.model.shown == 36, timeout=30000)
    bound = {key for key, *_ in _bindings(w)}
    assert {"Ctrl+Q", "Ctrl+F", "/", "Ctrl+Shift+F"} <= bound, bound
    quit_action = next(a for a in w.findChildren(QAction) if a.text() == "Quit")
    assert [s.toString() for s in quit_action.shortcuts()] == ["Ctrl+Q"]
    assert _twice(w) == []

    windows: list[QDialog] = [w.preview(w.model.first_photo_row())]
    hits = [SimpleNamespace(path=h.path, score=0.5, id=i) for i, h in enumerate(
        w.model.hits()[:3])]
    questions = SimpleNamespace(categories=SimpleNamespace(suggestions=lambda *a: hits))
    windows.append(ReviewDialog(questions, "Boats", w.info_pool, w.edit_pool, w))
    windows.append(FirstRunDialog(lib, w))
    windows.append(SettingsDialog(lib, w))
    windows.append(TagSetEditor(None, w))
    windows.append(CategoryEditor(w, "", "", photos=2))
    windows.append(AddTagDialog(3, ["Animals/cat"], w))
    for dlg in windows:
        qtbot.addWidget(dlg)
        assert _twice(dlg) == [], dlg.windowTitle()
        dlg.close()

    w.activateWindow()
    w.view.setFocus()
    qtbot.keyClick(w.view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert not [r.message for r in qtlog.records if "mbiguous" in r.message]
