"""Driving the window as a user does, for the GUI tests: a right-click on a photo of the grid
(or a sidebar) and a click on an entry of the menu it opens."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication


def when_menu_opens(choose) -> None:
    """Once a popup menu is open, ``choose(menu)`` picks from it; the menu is closed after,
    if the choice did not close it. Call just before what opens the menu."""
    def pick() -> None:
        menu = QApplication.activePopupWidget()
        if menu is None:  # (not open yet)
            QTimer.singleShot(20, pick)
            return
        try:
            choose(menu)
        finally:
            if menu.isVisible():
                menu.close()

    QTimer.singleShot(0, pick)


def right_click(w, row: int, choose) -> None:
    """Right-click the photo at ``row`` in ``w``'s grid; ``choose(menu)`` picks from the menu
    while it is open (it is closed after, if the choice did not close it)."""
    when_menu_opens(choose)
    index = w.model.index(row)
    w.view.scrollTo(index)
    w.photos.menu(w.view.visualRect(index).center())


def click_entry(qtbot, menu, *path: str) -> None:
    """Click the entry ``path[-1]`` of an open menu (``path[:-1]``: the submenus to it)."""
    for text in path[:-1]:
        menu = next(a.menu() for a in menu.actions() if a.text() == text)
    action = next(a for a in menu.actions() if a.text() == path[-1])
    if menu.isVisible():
        qtbot.mouseClick(menu, Qt.MouseButton.LeftButton,
                         pos=menu.actionGeometry(action).center())
    else:  # (a submenu opens on hover)
        action.trigger()
