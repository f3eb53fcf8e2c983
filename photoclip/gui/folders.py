"""The folder list in the sidebar: each folder with what is known of it now, its menu."""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QFileDialog,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
)

from photoclip.gui.file_urls import file_url, shown
from photoclip.gui.format import plural
from photoclip.gui.status_text import folder_line

FolderRole = Qt.ItemDataRole.UserRole + 10


ROW_HEIGHT = 44  # a folder: its name, and a line about its photos


class FolderList(QListWidget):
    """Folders with their counts; click: show that folder; right-click: its menu."""

    selected = Signal(object)  # a folder path (Python object: keeps undecodable bytes)
    rescan = Signal(object)
    remove = Signal(object)
    relink = Signal(object, object)  # (the folder as the library knows it, where it is now)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._shown: list[tuple[str, str, bool]] | None = None
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._menu)
        self.itemClicked.connect(lambda item: self.selected.emit(item.data(FolderRole)))
        self.add_button = QPushButton("+ Add folder…")
        # what removing a folder would forget and keep (set by the window: a Library call)
        self.removal_info = None

    def show_folders(self, folders, worker_status) -> None:
        lines = [(f.path, folder_line(f, worker_status), f.online) for f in folders]
        if lines == self._shown:
            return
        self._shown = lines
        current = self.currentItem().data(FolderRole) if self.currentItem() else None
        self.clear()
        for path, text, online in lines:
            item = QListWidgetItem(text)
            item.setToolTip(shown(path) if online else
                            f"{shown(path)}\nIts drive or network share is not connected: its "
                            "photos stay in the library and come back when it is.")
            item.setData(FolderRole, path)
            item.setSizeHint(QSize(0, ROW_HEIGHT))
            self.addItem(item)
            if path == current:
                self.setCurrentItem(item)
        self.updateGeometry()  # (its minimum follows how many folders there are)

    def minimumSizeHint(self) -> QSize:
        """Room for two folders whatever grows below: selecting a category (its threshold,
        quality and buttons appear) squeezed the list to one row in a short window."""
        hint = super().minimumSizeHint()
        rows = min(max(self.count(), 1), 2)
        return QSize(hint.width(), max(hint.height(), rows * ROW_HEIGHT + 2 * self.frameWidth()))

    def select(self, path: str | None) -> None:
        """Highlight the folder shown in the grid (none: all folders)."""
        for i in range(self.count()):
            if self.item(i).data(FolderRole) == path:
                self.setCurrentRow(i)
                return
        self.setCurrentRow(-1)

    def _menu(self, pos) -> None:
        item = self.itemAt(pos)
        if item is None:
            return
        path = item.data(FolderRole)
        menu = QMenu(self)
        menu.addAction("Show in file manager",
                       lambda: QDesktopServices.openUrl(file_url(path)))
        menu.addAction("Check for changes now", lambda: self.rescan.emit(path))
        menu.addAction("Folder moved or renamed? Find it…", lambda: self._ask_relink(path))
        menu.addAction("Remove from library…", lambda: self._ask_remove(path))
        menu.exec(self.viewport().mapToGlobal(pos))

    def _ask_relink(self, path: str) -> None:
        new = QFileDialog.getExistingDirectory(
            self, f"Where is {shown(path)} now?", os.path.dirname(path))
        if new:
            self.relink.emit(path, new)

    def _ask_remove(self, path: str) -> None:
        """Ask before forgetting a folder, saying what is forgotten and what is kept (read
        off the GUI thread by ``removal_info(path, then)``)."""
        if self.removal_info is None:
            self._confirm_remove(path, None)
        else:
            self.removal_info(path, lambda info: self._confirm_remove(path, info))

    def _confirm_remove(self, path: str, info) -> None:
        text = f"Forget {shown(path)} and its photos in PhotoCLIP?\nThe files themselves are " \
               "not touched."
        if info is not None:
            text = f"Forget {shown(path)} and its {plural(info.photos, 'photo')} in PhotoCLIP?" \
                   "\nThe files themselves are not touched."
            kept = info.tags + info.examples
            if kept:
                text += (f"\n\nYour {plural(info.tags, 'tag') if info.tags else ''}"
                         f"{' and ' if info.tags and info.examples else ''}"
                         f"{plural(info.examples, 'category example') if info.examples else ''}"
                         " on them are kept: they come back if these photos return (the folder "
                         "added again, or found in another place).")
            text += "\n\nIf the folder was only moved or renamed, use “Folder moved or " \
                    "renamed? Find it…” instead."
        answer = QMessageBox.question(self, "Remove folder", text)
        if answer == QMessageBox.StandardButton.Yes:
            self.remove.emit(path)
