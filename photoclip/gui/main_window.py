"""The main window: the search flow, and the wiring of the parts that live in their own modules.

- ``searchbar``: the search field, the "Similar to" chip;
- ``results_grid``: the grid (sections, zoom), ``preview``: the large view;
- ``folders`` and ``status_text``: the sidebar's folders and what the status bar says;
- ``tagsets`` and ``categories``: their sidebar sections and photo menus;
- ``settings``: the settings dialog and the library move; ``desktop_actions``: open /
  show in folder;
- ``duplicates``: the Duplicates dialog (the top row's button, Ctrl+D, the status bar's
  "new duplicates" after an index run).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.config import cache_home
from photoclip.core.errors import for_gui
from photoclip.core.indexing.folders import Folder, Removed
from photoclip.core.indexing.worker import WorkerStatus
from photoclip.core.search import query as grammar
from photoclip.core.search.searcher import Filters
from photoclip.gui import categories, executors
from photoclip.gui.bridge import WorkerBridge
from photoclip.gui.dialogs import FailuresDialog, ModelPanel, paths_whole, unexpected_text
from photoclip.gui.duplicates import DuplicatesDialog
from photoclip.gui.executors import run_task
from photoclip.gui.file_urls import shown
from photoclip.gui.filters import FilterBar
from photoclip.gui.folders import FolderList
from photoclip.gui.photo_actions import PhotoActions
from photoclip.gui.preview import PreviewDialog
from photoclip.gui.results_grid import ResultsModel
from photoclip.gui.results_panel import ResultsPanel
from photoclip.gui.search_controller import SearchController, View
from photoclip.gui.searchbar import SearchBar
from photoclip.gui.settings import LibraryMove, SettingsDialog
from photoclip.gui.status_text import status_line
from photoclip.gui.statusbar import StatusWidgets
from photoclip.gui.tagsets import TagSidebar
from photoclip.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)
NARROW = 1180  # below this window width the filters fold into a "Filters" button


class MainWindow(QMainWindow):
    model_changed = Signal()  # the model became ready, failed, or another was chosen

    def __init__(self, library, start_worker: bool = True, watch: bool = True):
        super().__init__()
        self.library = library
        self.setWindowTitle("PhotoCLIP")
        self.setAcceptDrops(True)
        self.setMinimumSize(720, 480)
        self.search_pool = executors.search_pool()
        self.browse_pool = executors.browse_pool()
        self.model_ready = False
        self.preparing = False  # the model (or its text tower) is being made ready
        self.searching = SearchController(self)

        self.info_pool = executors.library_pool()
        self.edit_pool = executors.edit_pool()
        # finding duplicates (hashing the photos indexed before hashes were kept can take
        # minutes): apart, so the sidebars never wait behind it
        self.duplicates_pool = executors.library_pool()
        self.duplicates_dialog: DuplicatesDialog | None = None
        self.new_duplicates = 0  # found by index runs since Duplicates was last opened
        self._refreshing = False
        self._folders: list = []
        self.worker_status: WorkerStatus | None = None
        self.counts = {"photos": 0, "indexed": 0, "failed": 0, "pending": 0}
        self.window_state = QSettings(str(library.home / "window.ini"),
                                      QSettings.Format.IniFormat)
        self.thumbs = ThumbnailCache(cache_home() / "thumbnails",
                                     size=library.settings.thumbnail_size, parent=self)
        self.model = ResultsModel(self.thumbs, self)
        self._build_ui()
        self._build_shortcuts()
        self._restore_window()

        self._watch = watch
        self._make_bridge()
        self._folders_timer = QTimer(self, interval=2000)
        self._folders_timer.timeout.connect(self.refresh_folders)
        self._folders_timer.start()  # (the first counts come with the model: see _model_loaded)
        self._start_worker = start_worker  # once search is ready: the first query goes first
        self.load_model()
        self.run_search()

    def _make_bridge(self) -> None:
        self.bridge = WorkerBridge(self.library, self, watch=self._watch)
        self.bridge.status.connect(self._on_worker_status)
        self.bridge.report.connect(self._on_worker_report)

    # -- layout ------------------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.search = SearchBar()
        self.search.setMinimumWidth(260)
        self.search.textChanged.connect(self._query_edited)
        self.search.returnPressed.connect(self.run_search)
        self.search.image_given.connect(self.find_similar_to_file)
        self.filter_bar = FilterBar()
        self.filter_bar.changed.connect(self._filters_changed)
        self.filter_bar.relevance_changed.connect(self._relevance_changed)
        self.model.set_min_relevance(self.filter_bar.cut())
        settings_btn = QToolButton()
        settings_btn.setText("⚙")
        settings_btn.setToolTip("Settings")
        settings_btn.clicked.connect(self.open_settings)
        self.duplicates_btn = duplicates_btn = QToolButton()
        duplicates_btn.setText("Duplicates…")
        duplicates_btn.setToolTip("Find the same photo saved more than once, and choose "
                                  "which to keep (Ctrl+D)")
        duplicates_btn.clicked.connect(self.open_duplicates)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.filter_bar)
        top.addWidget(duplicates_btn)
        top.addWidget(settings_btn)

        self.banner = QWidget()
        self.banner.setStyleSheet("QWidget#banner { background: #fff4ce; border-radius: 6px; }")
        self.banner.setObjectName("banner")
        self.model_failure: str | None = None  # preparing search failed unexpectedly: why
        self.model_panel = ModelPanel(self.library, failure=lambda: self.model_failure)
        self.model_panel.model_chosen.connect(self.switch_model)
        self.model_panel.settings_btn.setVisible(True)
        self.model_panel.settings_requested.connect(self.open_settings)
        bl = QVBoxLayout(self.banner)
        bl.addWidget(self.model_panel)
        self.banner.setVisible(False)

        zoom = self.window_state.value("zoom", self.library.settings.thumbnail_size, type=int)
        self.results = ResultsPanel(
            self.model, zoom if isinstance(zoom, int) else self.library.settings.thumbnail_size)
        self.results.chip.closed.connect(self.clear_search)
        self.results.weaker_requested.connect(self.filter_bar.lower)
        self.results.all_requested.connect(self.filter_bar.show_all)
        self.results.good_requested.connect(self.filter_bar.reset_relevance)
        self.results.more_requested.connect(self.searching.more)
        self.view = self.results.view
        self.photos = PhotoActions(self)
        self.view.doubleClicked.connect(lambda idx: self.preview(idx.row()))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self.photos.menu)
        self.view.zoomed.connect(self._zoomed)

        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 8, 8, 0)
        cl.addLayout(top)
        cl.addWidget(self.banner)
        cl.addWidget(self.results, 1)

        self.folder_list = FolderList()
        self.folder_list.selected.connect(self._folder_clicked)
        self.folder_list.rescan.connect(lambda p: self.bridge.worker.rescan(p))
        self.folder_list.remove.connect(self.remove_folder)
        self.folder_list.relink.connect(self.relink_folder)
        self.folder_list.removal_info = self._removal_info
        self.folder_list.add_button.clicked.connect(self.pick_folder)
        self.tag_panel = TagSidebar(self.library, self.info_pool, self.edit_pool)
        self.tag_panel.tag_clicked.connect(self.search.setText)
        self.tag_panel.changed.connect(self.tags_changed)
        self.category_panel = categories.CategorySidebar(self.library, self.info_pool,
                                                         self.edit_pool)
        self.category_panel.query.connect(self.search.setText)
        self.category_panel.renamed.connect(self._category_renamed)
        self.category_panel.changed.connect(self._category_search_stale)
        side = QWidget()
        side.setMinimumWidth(180)
        sl = QVBoxLayout(side)
        sl.setContentsMargins(8, 8, 0, 8)
        sl.addWidget(QLabel("<b>Folders</b>"))
        sl.addWidget(self.folder_list, 1)
        sl.addWidget(self.folder_list.add_button)
        sl.addSpacing(8)
        sl.addWidget(self.tag_panel, 1)
        sl.addSpacing(8)
        sl.addWidget(self.category_panel, 1)

        self.split = QSplitter()
        self.split.addWidget(side)
        self.split.addWidget(centre)
        self.split.setStretchFactor(1, 1)
        self.split.setCollapsible(1, False)
        self.split.setSizes([250, 1030])
        self.setCentralWidget(self.split)

        self.bar = StatusWidgets(self.statusBar(), self.view.zoom)
        self.bar.pause.toggled.connect(self._toggle_pause)
        self.bar.failures.clicked.connect(self.show_failures)
        self.bar.duplicates.clicked.connect(self.open_duplicates)
        self.bar.zoom.valueChanged.connect(self.view.set_zoom)
        self.state_label, self.zoom = self.bar.label, self.bar.zoom

    def _build_shortcuts(self) -> None:
        for seq in ("Ctrl+F", "/"):
            QShortcut(QKeySequence(seq), self, self._focus_search)
        self.view.preview_requested.connect(self.preview)
        self.view.open_requested.connect(self.photos.open_row)
        self.view.copy_requested.connect(self.photos.copy_paths)
        self.view.clear_requested.connect(self.clear_search)
        find_similar = QAction("Find similar", self, shortcut=QKeySequence("Ctrl+Shift+F"))
        find_similar.triggered.connect(self._similar_current)
        self.addAction(find_similar)
        duplicates = QAction("Duplicates…", self, shortcut=QKeySequence("Ctrl+D"))
        duplicates.triggered.connect(self.open_duplicates)
        self.addAction(duplicates)
        quit_action = QAction("Quit", self)
        # (Ctrl+Q everywhere: Windows has no standard Quit key; where the standard one is Ctrl+Q
        # too, binding it twice made Qt call the shortcut ambiguous and do nothing)
        quit_action.setShortcuts(key_sequences("Ctrl+Q", QKeySequence.StandardKey.Quit))
        quit_action.triggered.connect(self.close)
        self.addAction(quit_action)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Escape and (self.searching.similar or self.search.text()):
            self.clear_search()  # Esc goes back from an image search (the chip's ✕ does too)
            return
        super().keyPressEvent(event)

    def bring_to_front(self) -> None:
        """Another launch on this library asked for the window."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # -- window size -------------------------------------------------------------------------

    def _restore_window(self) -> None:
        geometry = self.window_state.value("geometry")
        if isinstance(geometry, QByteArray) and self.restoreGeometry(geometry):
            split = self.window_state.value("splitter")
            if isinstance(split, QByteArray):
                self.split.restoreState(split)
            return
        screen = QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen is not None else None
        w, h = 1280, 820
        if avail is not None:
            w, h = min(w, avail.width()), min(h, avail.height())
        self.resize(w, h)

    def _save_window(self) -> None:
        self.window_state.setValue("geometry", self.saveGeometry())
        self.window_state.setValue("splitter", self.split.saveState())
        self.window_state.setValue("zoom", self.view.zoom)
        self.window_state.sync()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.filter_bar.fold(self.width() < NARROW)

    def _zoomed(self, zoom: int) -> None:
        self.bar.show_zoom(zoom)
        base = self.library.settings.thumbnail_size
        self.thumbs.set_size(base if zoom <= base else -(-zoom // 64) * 64)
        self.view.viewport().update()

    # -- model -------------------------------------------------------------------------------

    def load_model(self) -> None:
        """Make search available: from the exported text tower in about a second when the
        model has one, else by loading the model (the worker loads it for indexing anyway)."""
        self.preparing = True
        self.model_panel.refresh()
        self._update_status()
        run_task(self.search_pool, self.library.search.prepare, self._model_loaded,
                 self._model_failed)

    def _model_failed(self, err: Exception) -> None:
        """Not a model that cannot load (prepare_search says False for that): something
        unexpected. Say it where the model's state is shown, not only in the log."""
        log.warning("preparing search failed: %s", err, exc_info=err)
        self.model_failure = unexpected_text(err)
        self._model_loaded(False)

    def _model_loaded(self, ok: bool) -> None:
        log.info("search %s", "ready" if ok else "unavailable")
        if ok:
            self.model_failure = None
        self.model_ready = ok
        self.preparing = False
        self.refresh_folders()  # after the first search's work: counts are GROUP BYs
        if self._start_worker:
            self._start_worker = False
            self.bridge.start()
        self.banner.setVisible(not ok)
        self.model_panel.refresh()
        self.search.set_search_ready(ok)
        if ok:
            self.bridge.worker.rescan(priority=1)  # encode what was catalogued without a model
        self._update_status()
        self.model_changed.emit()
        if self.search.text().strip() or self.searching.similar:  # asked while preparing
            self.run_search()

    def switch_model(self, spec: str) -> None:
        run_task(self.search_pool, lambda: self.library.switch_model(spec),
                 lambda _: self.load_model(), self._model_failed)

    # -- searching ---------------------------------------------------------------------------

    def _query_edited(self, _text: str) -> None:
        self.searching.forget_similar()
        self.results.chip.show_for(None)
        self.searching.debounce.start()

    def filters(self) -> Filters:
        return self.filter_bar.filters()

    def _filters_changed(self) -> None:
        self.folder_list.select(self.filter_bar.filters().folder)
        self.run_search()

    def run_search(self, keep_view: bool = False) -> None:
        """Show what the bar, the filters and the photo searched by ask for (see
        search_controller.py)."""
        self.searching.run(keep_view)

    def refresh_results(self) -> None:
        self.searching.refresh()

    def view_state(self) -> View:
        rows = self.view.selected_rows()
        selected = [h.path for h in (self.model.hit(r) for r in rows) if h is not None]
        current = self.model.hit(self.view.current_row())
        return selected, current.path if current else None, \
            self.view.verticalScrollBar().value()

    def restore_view(self, state: View) -> None:
        selected, current, scroll = state
        sel = self.view.selectionModel()
        current_row = self.model.row_of(current) if current is not None else None
        if current_row is not None:
            self.view.setCurrentIndex(self.model.index(current_row))
        sel.clearSelection()
        for path in selected:
            row = self.model.row_of(path)
            if row is not None:
                sel.select(self.model.index(row), sel.SelectionFlag.Select)
        self.view.doItemsLayout()
        self.view.scroll_to(scroll)

    # -- what the results area says ----------------------------------------------------------

    def update_results(self) -> None:
        """What the results area says about what is shown (pure functions: status_text)."""
        if self.searching.shown is None:
            return
        shown = self.searching.shown
        self.results.show_state(
            shown, self.filter_bar.describe(), level=self.filter_bar.level(),
            limited=self.searching.limited, error=self.searching.error,
            folders=self._folders, counts=self.counts,
            worker=self.worker_status, model=self._model_state())
        # the sidebars highlight what the grid shows, and nothing else (a label clicked
        # stayed highlighted over the searches typed after it)
        self.tag_panel.select_for_query(shown.query)
        self.category_panel.select_for_query(shown.query)
        self.folder_list.select(shown.filters.folder)

    def _relevance_changed(self) -> None:
        """The relevance cut moved: the photo the user is at stays in view if it is still
        shown, else the grid goes to the top (a cut to a few photos kept the scroll, the
        first row cut off)."""
        current = self.model.hit(self.view.current_row())
        self.model.set_min_relevance(self.filter_bar.cut())
        row = self.model.row_of(current.path) if current is not None else None
        if row is None and self.model.shown:
            row = self.model.first_photo_row()
        if row is not None:
            self.view.doItemsLayout()
            self.view.setCurrentIndex(self.model.index(row))
            if row == self.model.first_photo_row():
                self.view.scrollToTop()
            else:
                self.view.scrollTo(self.model.index(row))
        self.update_results()

    def clear_search(self) -> None:
        """✕ on the "Similar to" chip, or Esc: out of a photo search, back to the search
        before it (its words, filters, selection and scroll); out of a search, to the whole
        library."""
        if self.searching.similar is not None:
            request, view = self.searching.back()
            self.search.blockSignals(True)  # (typing starts a new search; this is not that)
            self.search.setText(request.query)
            self.search.blockSignals(False)
            self._set_filters(request.filters)
            self.results.chip.show_for(request.similar[1] if request.similar else None)
            self.searching.run(view=view)
            return
        self.searching.forget_similar()
        self.search.clear()
        self.run_search()

    def _set_filters(self, filters: Filters) -> None:
        """Show ``filters`` in the filter bar (quietly: the caller runs the search)."""
        bar = self.filter_bar
        for combo, data in ((bar.folder, filters.folder),
                            (bar.period, (filters.after, filters.before)
                             if filters.after or filters.before else None)):
            index = next((i for i in range(combo.count()) if combo.itemData(i) == data), -1)
            if index >= 0:
                combo.blockSignals(True)
                combo.setCurrentIndex(index)
                combo.blockSignals(False)
        self.folder_list.select(bar.filters().folder)

    def find_similar(self, row: int) -> None:
        hit = self.model.hit(row)
        if hit is None:
            return
        if not self.model_ready:
            self.statusBar().showMessage("“Find similar” needs a model.", 5000)
            return
        self._search_for_image(hit.id, shown(Path(hit.path).name))

    def find_similar_to_file(self, path: str, name: str | None = None) -> None:
        if not self.model_ready:
            self.statusBar().showMessage("Searching by image needs a model.", 5000)
            return
        self._search_for_image(path, name or shown(Path(path).name))

    def _search_for_image(self, photo, name: str) -> None:
        self.searching.similar_to(photo, name)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.results.chip.show_for(name)
        self.run_search()

    def _similar_current(self) -> None:
        self.find_similar(self.view.current_row())

    # -- photo actions -----------------------------------------------------------------------

    def tags_changed(self) -> None:
        """Tags were given or taken off: counts, and a tag: search, show it."""
        self.tag_panel.refresh()
        if grammar.parse(self.search.text()).tags:
            self.run_search(keep_view=True)

    def categories_changed(self) -> None:
        """Examples changed from the grid: counts, and a category: search, show it."""
        self.category_panel.refresh()
        self._category_search_stale()

    def _category_renamed(self, old: str, new: str) -> None:
        """The category shown was renamed: the search bar names it by its new name (it said
        "There is no category called Zorp")."""
        text = grammar.with_category_renamed(self.search.text(), old, new)
        if text is not None:
            self.search.blockSignals(True)  # (the search reruns once, from `changed`)
            self.search.setText(text)
            self.search.blockSignals(False)
            self.category_panel.select_for_query(text)

    def _category_search_stale(self) -> None:
        if grammar.parse(self.search.text()).category is not None:
            self.run_search(keep_view=True)

    def preview(self, row: int) -> PreviewDialog | None:
        return self.photos.preview(row)

    # -- folders -----------------------------------------------------------------------------

    def pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a photo folder", str(Path.home()))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        """Add a folder (in the library pool); it is scanned and indexed in the background."""
        def refused(e: Exception) -> None:
            QMessageBox.information(self, "PhotoCLIP",
                                    paths_whole(for_gui(e), [path, os.path.realpath(path)]))

        run_task(self.edit_pool, lambda: self.bridge.worker.add_folder(path),
                 lambda _: self._folders_changed(), refused)

    def _folders_changed(self) -> None:
        self.refresh_folders()
        self.run_search()

    def dragEnterEvent(self, event) -> None:
        if any(u.isLocalFile() and os.path.isdir(u.toLocalFile()) for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and os.path.isdir(url.toLocalFile()):
                self.add_folder(url.toLocalFile())

    def refresh_folders(self) -> None:
        """Re-read folder counts and years off the GUI thread (GROUP BYs over the whole
        catalog) and update everything that shows them."""
        if self._refreshing:
            return
        self._refreshing = True
        lib = self.library

        def read():
            return lib.folders.list(), lib.folders.counts(), lib.search.years()

        run_task(self.info_pool, read, self._apply_folders,
                 lambda _e: setattr(self, "_refreshing", False))

    def _apply_folders(self, result) -> None:
        self._refreshing = False
        folders, self.counts, years = result
        self.bar.show_failed(self.counts["failed"])
        self._update_status()
        self.folder_list.show_folders(folders, self.worker_status)
        self.filter_bar.set_years(years)
        self.filter_bar.set_folders([f.path for f in folders])
        changed = [(f.path, f.online) for f in folders] != \
            [(f.path, f.online) for f in self._folders]
        self._folders = folders
        if changed and self.searching.shown is not None and not self.model.shown:
            self.update_results()  # (an empty state may say something else now)

    def _folder_clicked(self, path: str) -> None:
        self.filter_bar.select_folder(path)
        self.bridge.worker.rescan(path)  # the folder in view goes first

    def remove_folder(self, path: str) -> None:
        def removed(r: Removed) -> None:
            self.statusBar().showMessage(f"Removed {shown(path)}: {r.describe()}", 15000)
            self._folders_changed()
            self._photos_gone()

        def failed(e: Exception) -> None:
            QMessageBox.warning(self, "Remove folder", for_gui(e))

        run_task(self.edit_pool, lambda: self.bridge.worker.remove_folder(path), removed, failed)

    def relink_folder(self, old: str, new: str) -> None:
        def relinked(folder: Folder) -> None:
            self.statusBar().showMessage(
                f"{shown(old)} is now {shown(folder.path)}: its photos keep their tags, examples "
                "and search vectors.", 15000)
            self._folders_changed()

        def failed(e: Exception) -> None:
            QMessageBox.warning(self, "Find moved folder", for_gui(e))

        run_task(self.edit_pool, lambda: self.bridge.worker.relink_folder(old, new), relinked,
                 failed)

    def _removal_info(self, path: str, then: Callable[[Removed | None], None]) -> None:
        """What removing a folder would forget and keep, read in the library pool."""
        run_task(self.info_pool, lambda: self.library.folders.user_data(path), then,
                 lambda _e: then(None))

    # -- background work ---------------------------------------------------------------------

    def _on_worker_status(self, s: WorkerStatus) -> None:
        was = self.worker_status
        self.worker_status = s
        self.bar.show_progress(s)
        if s.state == "working":
            self.searching.progress(s.done)
        if was is None or was.state != s.state:
            self.refresh_folders()
        self._update_status()

    def _model_state(self) -> str:
        """What status_text.py's sentences need to know of search: "loading", "ready" or "none"."""
        return "loading" if self.preparing else ("ready" if self.model_ready else "none")

    def _update_status(self) -> None:
        self.state_label.setText(status_line(self.worker_status, self.counts,
                                             self._model_state(),
                                             self.library.search_index.build_progress()))

    def _photos_gone(self) -> None:
        """Photos left the library (a folder removed): the sidebars' counts follow (they
        counted the photos gone until a restart)."""
        self.tag_panel.refresh()
        self.category_panel.refresh()

    def _on_worker_report(self, report) -> None:
        if report.duplicates:
            self.new_duplicates += report.duplicates
            self.bar.show_duplicates(self.new_duplicates)
        if (report.encoded or report.catalogued or report.removed or report.moved
                or report.reused):
            self.refresh_folders()
            self._photos_gone()  # (and new photos are tagged and scored as they arrive)
            if self.searching.showing_search():
                self.searching.stale.start()  # debounced: keeps the selection and the scroll
            else:
                self.run_search(keep_view=True)  # browsing shows new photos as they arrive

    def show_failures(self) -> None:
        def shown(failures: list[tuple[str, str]]) -> None:
            FailuresDialog(failures, self).exec()

        run_task(self.info_pool, self.library.folders.failures, shown)

    # -- duplicates --------------------------------------------------------------------------

    def open_duplicates(self) -> DuplicatesDialog:
        """The Duplicates dialog (one: raised if open; with new duplicates found since it
        opened, it looks again)."""
        dlg = self.duplicates_dialog
        new, self.new_duplicates = self.new_duplicates, 0
        self.bar.show_duplicates(0)
        if dlg is not None and dlg.isVisible():
            if new:
                dlg.find_groups()
        else:
            if dlg is not None:  # (closed: a fresh one finds what is there now)
                dlg.deleteLater()
            dlg = DuplicatesDialog(self.library, self.duplicates_pool, self.info_pool,
                                   self.edit_pool, cache_home() / "thumbnails", self)
            dlg.changed.connect(self._duplicates_changed)
            self.duplicates_dialog = dlg
            dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg

    def _duplicates_changed(self) -> None:
        """Duplicates resolved or brought back: the grid, the folders and the sidebars
        follow, as after an index run."""
        self.refresh_folders()
        self._photos_gone()
        self.run_search(keep_view=True)

    def _toggle_pause(self, paused: bool) -> None:
        if paused:
            self.bridge.worker.pause()
        else:
            self.bridge.worker.resume()

    # -- settings ----------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        dlg = SettingsDialog(self.library, self)
        dlg.finished.connect(lambda result: self._settings_closed(dlg, result))
        dlg.open()
        return dlg

    def _settings_closed(self, dlg: SettingsDialog, result: int) -> None:
        if not result:
            return
        base = self.library.settings.thumbnail_size
        self._zoomed(self.view.zoom)  # (thumbnails at the new size)
        log.info("settings saved (thumbnails %d px)", base)
        if dlg.model_changed:
            self.load_model()
        if dlg.move_plan is not None:
            self.move_library(dlg.move_plan)

    def move_library(self, plan) -> LibraryMove | None:
        move = LibraryMove(self, plan, stop=self.bridge.stop, resume=self._resume_worker,
                           restart=self.restart)
        if not move.confirm():
            return None
        self._move = move
        move.start()
        return move

    def _resume_worker(self) -> None:
        self._make_bridge()
        self.bridge.start()

    def restart(self) -> None:
        """Start a new PhotoCLIP (on the data folder now chosen) and close this one."""
        import sys

        from PySide6.QtCore import QProcess

        self.close()
        args = [] if getattr(sys, "frozen", False) else ["-m", "photoclip"]  # (PyInstaller app)
        if not QProcess.startDetached(sys.executable, args):
            log.warning("could not start PhotoCLIP again; start it by hand")

    def closeEvent(self, event) -> None:
        self._save_window()
        self._folders_timer.stop()
        self.searching.stale.stop()
        self.bridge.stop()
        self.thumbs.shutdown()
        self.search.cleanup()
        if self.duplicates_dialog is not None:
            self.duplicates_dialog.close()
            self.duplicates_dialog.shutdown()  # (a find running stops at its next progress)
        self.duplicates_pool.shutdown(wait=True, cancel_futures=True)
        self.edit_pool.shutdown(wait=True)  # (the user's last edits are written)
        self.info_pool.shutdown(wait=True, cancel_futures=True)
        self.search_pool.shutdown(wait=True, cancel_futures=True)
        self.browse_pool.shutdown(wait=True, cancel_futures=True)
        self.library.close()
        super().closeEvent(event)


def key_sequences(*keys: str | QKeySequence.StandardKey) -> list[QKeySequence]:
    """The key sequences ``keys`` name (a standard key: what this platform binds to it), each
    once: Qt ignores a shortcut bound twice as ambiguous."""
    out: dict[str, QKeySequence] = {}
    for key in keys:
        for seq in (QKeySequence.keyBindings(key) if isinstance(key, QKeySequence.StandardKey)
                    else [QKeySequence(key)]):
            text = seq.toString(QKeySequence.SequenceFormat.PortableText)
            if text:
                out.setdefault(text, seq)
    return list(out.values())


def app_icon() -> QIcon:
    from photoclip.desktop import RESOURCES

    icon = QIcon()
    for f in sorted(RESOURCES.glob("photoclip-*.png")):
        icon.addFile(str(f))
    return icon


__all__ = ["MainWindow", "app_icon", "key_sequences"]
