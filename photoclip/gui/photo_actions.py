"""What can be done with the photos in the grid: the right-click menu, the preview, open,
show in folder, copy. Problems (no viewer, no file manager) are said in the status bar."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMenu

from photoclip.gui import categories, desktop_actions, tagsets
from photoclip.gui.format import plural
from photoclip.gui.preview import PreviewDialog

log = logging.getLogger(__name__)


class PhotoActions(QObject):
    """Acts on ``window``'s grid (its model, view, library, side panels)."""

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.dialog: PreviewDialog | None = None

    def menu(self, pos) -> None:
        w = self.w
        idx = w.view.indexAt(pos)
        hit = w.model.hit(idx.row()) if idx.isValid() else None
        if hit is None:
            return
        row = idx.row()
        rows = self.menu_rows(row)
        paths = [h.path for h in (w.model.hit(r) for r in rows) if h is not None]
        menu = QMenu(w)
        menu.addAction("Find similar", lambda: w.find_similar(row))
        menu.addAction("Preview", lambda: self.preview(row))
        menu.addAction("Open", lambda: self.open_photo(hit.path))
        menu.addAction("Show in folder", lambda: self.show_in_folder(hit.path))
        menu.addAction("Copy path" if len(paths) == 1 else f"Copy {len(paths)} paths",
                       lambda: self.copy_paths(rows))
        tagsets.add_photo_actions(menu, w.tag_panel, paths, w, w.tags_changed)
        categories.add_photo_actions(menu, w.category_panel, paths, w, w.categories_changed)
        menu.exec(w.view.viewport().mapToGlobal(pos))
        menu.deleteLater()  # (its entries have run: a menu per right-click is not kept)

    def menu_rows(self, row: int) -> list[int]:
        """The photos a right-click on ``row`` acts on: the whole selection when the photo
        clicked is part of it, else that photo alone (as in a file manager)."""
        selected = self.w.view.selected_rows()
        return selected if row in selected else [row]

    def preview(self, row: int) -> PreviewDialog | None:
        w = self.w
        if w.model.hit(row) is None:
            return None
        dlg = PreviewDialog(w.model, row, w)
        tags = tagsets.PhotoTags(w.library, w.edit_pool, dlg)
        dlg.add_panel(tags)
        tags.show_photo(dlg.hit.path)
        dlg.row_changed.connect(lambda r: tags.show_photo(w.model.hit(r).path))
        tags.changed.connect(w.tags_changed)  # (the sidebar, and a tag: search shown)
        dlg.open_requested.connect(self.open_photo)
        dlg.row_changed.connect(lambda r: w.view.setCurrentIndex(w.model.index(r)))
        dlg.show()
        self.dialog = dlg
        return dlg

    def open_row(self, row: int) -> None:
        hit = self.w.model.hit(row)
        if hit is not None:
            self.open_photo(hit.path)

    def open_photo(self, path: str) -> None:
        self._say(desktop_actions.open_photo(path))

    def show_in_folder(self, path: str) -> None:
        self._say(desktop_actions.show_in_folder(path))

    def _say(self, problem: str | None) -> None:
        if problem:
            log.info("%s", problem)
            self.w.statusBar().showMessage(problem, 10000)

    def copy_paths(self, rows: list[int] | None = None) -> None:
        """Copy the paths of ``rows`` (by default the selection, else the current photo)."""
        w = self.w
        rows = rows or w.view.selected_rows() or [w.view.current_row()]
        paths = [w.model.hit(r).path for r in rows if w.model.hit(r) is not None]
        if paths:
            mime = w.model.mimeData([w.model.index(r) for r in rows])
            QGuiApplication.clipboard().setMimeData(mime)
            w.statusBar().showMessage(f"Copied {plural(len(paths), 'path')}", 3000)
