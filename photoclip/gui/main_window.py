"""The main window: search bar, filters, folder sidebar, result grid, status bar."""

from __future__ import annotations

import logging
import math
import os
import subprocess
import sys
import tempfile
from datetime import date, timedelta
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.config import cache_home
from photoclip.core.errors import PhotoclipError, explain
from photoclip.core.imageio import is_image_name
from photoclip.core.search import Filters
from photoclip.core.worker import WorkerStatus
from photoclip.gui import categories
from photoclip.gui.bridge import WorkerBridge, make_pool, run_task
from photoclip.gui.dialogs import FailuresDialog, ModelPanel, SettingsDialog
from photoclip.gui.paths import file_url, show
from photoclip.gui.preview import PreviewDialog
from photoclip.gui.results import ResultsModel, ResultsView
from photoclip.gui.tagsets import PhotoTags, TagSidebar, add_photo_actions
from photoclip.gui.thumbnails import ThumbnailCache

log = logging.getLogger(__name__)
SEARCH_DEBOUNCE_MS = 250
RESULT_LIMIT = 500  # ranked results shown for a search (browsing shows the whole library)
BROWSE_FIRST = 2000  # a browse shows this many newest photos at once, then the rest
FolderRole = Qt.ItemDataRole.UserRole + 10


class SearchBar(QLineEdit):
    """The search field; also takes an image dropped or pasted onto it (search by image)."""

    image_given = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setClearButtonEnabled(True)
        self.setPlaceholderText("Search your photos: “kids on a beach at sunset”, "
                                "“dog -grass +snow”, or drop a photo here")

    def dragEnterEvent(self, event) -> None:
        md = event.mimeData()
        if md.hasImage() or any(u.isLocalFile() and is_image_name(u.toLocalFile())
                                for u in md.urls()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        md = event.mimeData()
        for url in md.urls():
            if url.isLocalFile() and is_image_name(url.toLocalFile()):
                self.image_given.emit(url.toLocalFile())
                return
        if md.hasImage():
            self._image_from_clipboard(md.imageData())
            return
        super().dropEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            md = QGuiApplication.clipboard().mimeData()
            if md is not None and md.hasImage():
                self._image_from_clipboard(md.imageData())
                return
            if md is not None:
                for url in md.urls():
                    if url.isLocalFile() and is_image_name(url.toLocalFile()):
                        self.image_given.emit(url.toLocalFile())
                        return
        if event.key() == Qt.Key.Key_Escape:
            self.clear()
            return
        super().keyPressEvent(event)

    def _image_from_clipboard(self, image) -> None:
        if image is None or image.isNull():
            return
        fd, path = tempfile.mkstemp(prefix="photoclip-query-", suffix=".png")
        os.close(fd)
        image.save(path, "PNG")
        self.image_given.emit(path)


class MainWindow(QMainWindow):
    search_done = Signal()  # emitted after each set of results is shown (tests, screenshots)

    def __init__(self, library, start_worker: bool = True, watch: bool = True):
        super().__init__()
        self.library = library
        self.setWindowTitle("PhotoCLIP")
        self.setAcceptDrops(True)
        self.resize(1280, 820)
        self.search_pool = make_pool(1, "photoclip-search")
        self.browse_pool = make_pool(1, "photoclip-browse")
        self._seq = 0
        self._busy = False
        self._queued: tuple | None = None
        self._similar_to: tuple[int | str, str] | None = None
        self.model_ready = False
        self._preparing = False  # the model (or its text tower) is being made ready
        self._rest_of_browse: tuple | None = None  # a browse shown in part, to complete
        self.shown_request: tuple | None = None  # (query, filters, similar) now in the grid

        self.info_pool = make_pool(1, "photoclip-info")
        self._refreshing = False
        self._folders_shown: list | None = None
        self.counts = {"photos": 0, "indexed": 0, "failed": 0, "pending": 0}
        self.thumbs = ThumbnailCache(cache_home() / "thumbnails",
                                     size=library.settings.thumbnail_size, parent=self)
        self.model = ResultsModel(self.thumbs, self)
        self._build_ui()
        self._build_shortcuts()

        self.bridge = WorkerBridge(library, self, watch=watch)
        self.bridge.status.connect(self._on_worker_status)
        self.bridge.report.connect(self._on_worker_report)
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.run_search)
        self._folders_timer = QTimer(self, interval=2000)
        self._folders_timer.timeout.connect(self.refresh_folders)
        self._folders_timer.start()  # (the first counts come with the model: see _model_loaded)
        self._start_worker = start_worker  # once search is ready: the first query goes first
        self.load_model()
        self.run_search()

    # -- layout ------------------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.search = SearchBar()
        self.search.textChanged.connect(self._query_edited)
        self.search.returnPressed.connect(self.run_search)
        self.search.image_given.connect(self.find_similar_to_file)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setFixedWidth(140)
        self.slider.setToolTip("Relevance: hide weaker matches")
        self.slider.valueChanged.connect(self._apply_slider)
        self.slider_label = QLabel("All matches")
        self.slider_label.setMinimumWidth(90)
        self.folder_filter = QComboBox()
        self.folder_filter.setMinimumWidth(160)
        self.folder_filter.currentIndexChanged.connect(self._filters_changed)
        self.date_filter = QComboBox()
        self.date_filter.currentIndexChanged.connect(self._filters_changed)
        settings_btn = QToolButton(text="⚙")
        settings_btn.setToolTip("Settings")
        settings_btn.clicked.connect(self.open_settings)

        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(QLabel("Relevance"))
        top.addWidget(self.slider)
        top.addWidget(self.slider_label)
        top.addWidget(self.folder_filter)
        top.addWidget(self.date_filter)
        top.addWidget(settings_btn)

        self.banner = QWidget()
        self.banner.setStyleSheet("QWidget#banner { background: #fff4ce; border-radius: 6px; }")
        self.banner.setObjectName("banner")
        self.model_panel = ModelPanel(self.library)
        self.model_panel.model_chosen.connect(self.switch_model)
        bl = QVBoxLayout(self.banner)
        bl.addWidget(self.model_panel)
        self.banner.setVisible(False)

        self.caption = QLabel()
        self.caption.setStyleSheet("color: palette(mid);")
        self.view = ResultsView(self.library.settings.thumbnail_size)
        self.view.setModel(self.model)
        self.view.doubleClicked.connect(lambda idx: self.preview(idx.row()))
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._photo_menu)
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setStyleSheet("color: palette(mid); font-size: 15px;")
        self.empty.setVisible(False)

        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 8, 8, 0)
        cl.addLayout(top)
        cl.addWidget(self.banner)
        cl.addWidget(self.caption)
        cl.addWidget(self.view, 1)
        cl.addWidget(self.empty, 1)

        self.sidebar = QListWidget()
        self.sidebar.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.sidebar.customContextMenuRequested.connect(self._folder_menu)
        self.sidebar.itemClicked.connect(self._folder_clicked)
        add = QPushButton("+ Add folder…")
        add.clicked.connect(self.pick_folder)
        self.tag_panel = TagSidebar(self.library, self.info_pool)
        self.tag_panel.tag_clicked.connect(self.search.setText)
        self.tag_panel.changed.connect(self._tags_changed)
        self.category_panel = categories.CategorySidebar(self.library, self.info_pool)
        self.category_panel.query.connect(self.search.setText)
        self.category_panel.changed.connect(self._category_search_stale)
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.setContentsMargins(8, 8, 0, 8)
        sl.addWidget(QLabel("<b>Folders</b>"))
        sl.addWidget(self.sidebar, 1)
        sl.addWidget(add)
        sl.addSpacing(8)
        sl.addWidget(self.tag_panel, 1)
        sl.addSpacing(8)
        sl.addWidget(self.category_panel, 1)

        split = QSplitter()
        split.addWidget(side)
        split.addWidget(centre)
        split.setStretchFactor(1, 1)
        split.setSizes([260, 1020])
        self.setCentralWidget(split)

        self.state_label = QLabel("Starting…")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setVisible(False)
        self.pause_btn = QToolButton(text="Pause")
        self.pause_btn.setCheckable(True)
        self.pause_btn.toggled.connect(self._toggle_pause)
        self.failures_btn = QToolButton()
        self.failures_btn.clicked.connect(self.show_failures)
        self.failures_btn.setVisible(False)
        sb = self.statusBar()
        sb.addWidget(self.state_label, 1)
        sb.addPermanentWidget(self.failures_btn)
        sb.addPermanentWidget(self.progress)
        sb.addPermanentWidget(self.pause_btn)
        self._fill_date_filter()

    def _build_shortcuts(self) -> None:
        for seq in ("Ctrl+F", "/"):
            QShortcut(QKeySequence(seq), self, activated=self._focus_search)
        self.view.preview_requested.connect(self.preview)
        self.view.open_requested.connect(self._open_row)
        self.view.copy_requested.connect(self.copy_paths)
        self.view.clear_requested.connect(self.clear_search)
        find_similar = QAction("Find similar", self, shortcut=QKeySequence("Ctrl+Shift+F"))
        find_similar.triggered.connect(self._similar_current)
        self.addAction(find_similar)

    def _focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    # -- model -------------------------------------------------------------------------------

    def load_model(self) -> None:
        """Make search available: from the exported text tower in about a second when the
        model has one, else by loading the model (the worker loads it for indexing anyway)."""
        self.state_label.setText(f"Loading model {self.library.model_id}…")
        self._preparing = True
        run_task(self.search_pool, self.library.prepare_search, self._model_loaded)

    def _model_loaded(self, ok: bool) -> None:
        self.model_ready = ok
        self._preparing = False
        self.refresh_folders()  # after the first search's work: counts are GROUP BYs
        if self._start_worker:
            self._start_worker = False
            self.bridge.start()
        self.banner.setVisible(not ok)
        self.model_panel.refresh()
        self.search.setPlaceholderText(
            self.search.placeholderText() if ok else
            "Search turns on when a model is available — browsing works meanwhile")
        if ok:
            self.state_label.setText("Ready")
            self.bridge.worker.rescan(priority=1)  # encode what was catalogued without a model
        else:
            self.state_label.setText("No model: cataloguing only")
        if self.search.text().strip():  # typed while the model was prepared: it goes first
            self.run_search()
        self._load_rest_of_browse()  # (dropped if that search replaced the browse)

    def switch_model(self, spec: str) -> None:
        self.library.set_model(spec)
        self.model_panel.refresh()
        self.load_model()

    # -- searching ---------------------------------------------------------------------------

    def _query_edited(self, _text: str) -> None:
        self._similar_to = None
        self._debounce.start()

    def filters(self) -> Filters:
        folder = self.folder_filter.currentData()
        after, before = self.date_filter.currentData() or (None, None)
        return Filters(folder=folder, after=after, before=before)

    def _filters_changed(self) -> None:
        self.run_search()

    def run_search(self) -> None:
        """Start the search for the current query, filters and 'similar to' state, off the GUI
        thread. While one runs, only the newest request waits (typing never queues a backlog)."""
        self._debounce.stop()
        request = (self.search.text().strip(), self.filters(), self._similar_to)
        if request[0] and request[2] is None and self._preparing:
            self.caption.setText("Preparing search…")  # run when ready (see _model_loaded)
            return
        if self._busy:
            self._queued = request
            return
        self._start(request)

    def _start(self, request) -> None:
        query, filters, similar = request
        lib = self.library
        self._seq += 1
        seq = self._seq
        pool = self.search_pool
        if similar is not None:
            fn = partial(lib.similar, similar[0], limit=RESULT_LIMIT, filters=filters)
            caption = f"Photos similar to {similar[1]}"
        elif query and self.model_ready:
            fn = partial(lib.search, query, limit=RESULT_LIMIT, filters=filters)
            caption = f"Best matches for “{query}”"
        else:  # Browsing has its own thread: a long one never holds up the next search.
            fn = partial(lib.browse, filters, BROWSE_FIRST)
            caption = "All photos, newest first" if not query else (
                "Search needs a model — showing all photos")
            pool = self.browse_pool
        serial = pool is self.search_pool
        self._busy = self._busy or serial
        run_task(pool, fn, lambda hits: self._show(seq, hits, caption, request, serial),
                 lambda err: self._search_failed(seq, err, serial))

    def _finish(self, serial: bool = True) -> None:
        if not serial:
            return
        self._busy = False
        if self._queued is not None:
            request, self._queued = self._queued, None
            self._start(request)

    def _show(self, seq: int, hits, caption: str, request, serial: bool = True) -> None:
        if seq == self._seq:
            self.shown_request = request
            self.model.set_hits(hits)
            self._apply_slider(self.slider.value())
            self.caption.setText(f"{caption} — {len(hits)} photos" if hits else caption)
            self._show_empty(not hits)
            if hits:
                self.view.setCurrentIndex(self.model.index(0))
            if not serial and len(hits) >= BROWSE_FIRST:
                self._rest_of_browse = (seq, caption, request)
                self._load_rest_of_browse()
        self._finish(serial)
        self.search_done.emit()

    def _load_rest_of_browse(self) -> None:
        """The rest of a long browse, once the first search no longer waits on start-up work
        (both are Python-heavy and share the interpreter)."""
        if self._rest_of_browse is None or self._preparing:
            return
        seq, caption, request = self._rest_of_browse
        self._rest_of_browse = None
        if seq != self._seq:
            return

        def show_rest(hits) -> None:
            if seq == self._seq:
                self.model.extend_hits(hits[self.model.total:])
                self.caption.setText(f"{caption} — {len(hits)} photos")

        run_task(self.browse_pool, partial(self.library.browse, request[1]), show_rest,
                 lambda err: log.warning("browsing failed: %s", err))

    def _search_failed(self, seq: int, err: Exception, serial: bool = True) -> None:
        if seq == self._seq:
            explained = explain(err, self.library.home)
            msg = str(explained) if explained is not None else f"Search failed: {err}"
            self.caption.setText(msg)
            if not isinstance(err, PhotoclipError):
                self.model.set_hits([])
        self._finish(serial)
        self.search_done.emit()

    def _show_empty(self, empty: bool) -> None:
        if empty:
            if not self.library.catalog.folders():
                self.empty.setText("No photo folders yet.\nAdd one with “+ Add folder…”, or drag "
                                   "a folder onto this window.")
            else:
                self.empty.setText("No photos match.")
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)

    def _apply_slider(self, value: int) -> None:
        scores = [h.score for h in self.model._all if not math.isnan(h.score)]
        if value == 0 or not scores:
            self.model.set_min_score(None)
            self.slider_label.setText("All matches")
            return
        lo, hi = min(scores), max(scores)
        cut = lo + (hi - lo) * value / 100
        self.model.set_min_score(cut)
        self.slider_label.setText(f"score ≥ {cut:.2f}")

    def clear_search(self) -> None:
        self._similar_to = None
        self.search.clear()
        self.run_search()

    def find_similar(self, row: int) -> None:
        hit = self.model.hit(row)
        if hit is None:
            return
        if not self.model_ready:
            self.caption.setText("“Find similar” needs a model.")
            return
        self._similar_to = (hit.id, show(Path(hit.path).name))
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.run_search()

    def find_similar_to_file(self, path: str) -> None:
        if not self.model_ready:
            self.caption.setText("Searching by image needs a model.")
            return
        self._similar_to = (path, Path(path).name)
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.run_search()

    def _similar_current(self) -> None:
        self.find_similar(self.view.current_row())

    # -- photo actions -----------------------------------------------------------------------

    def _photo_menu(self, pos) -> None:
        idx = self.view.indexAt(pos)
        if not idx.isValid():
            return
        row = idx.row()
        menu = QMenu(self)
        menu.addAction("Find similar", lambda: self.find_similar(row))
        menu.addAction("Preview", lambda: self.preview(row))
        menu.addAction("Open", lambda: self.open_photo(self.model.hit(row).path))
        menu.addAction("Show in folder", lambda: self.show_in_folder(self.model.hit(row).path))
        menu.addAction("Copy path", self.copy_paths)
        add_photo_actions(menu, self.library, [self.model.hit(row).path], self,
                          self._tags_changed)
        rows = self.view.selected_rows() or [row]
        categories.add_photo_actions(menu, self.library, [self.model.hit(r).path for r in rows
                                                          if self.model.hit(r) is not None],
                                     self, self._categories_changed)
        menu.exec(self.view.viewport().mapToGlobal(pos))

    def _tags_changed(self) -> None:
        """Tags were given or taken off: counts, and a tag: search, show it."""
        self.tag_panel.refresh()
        if "tag:" in self.search.text():
            self.run_search()

    def _categories_changed(self) -> None:
        """Examples changed from the grid: counts, and a category: search, show it."""
        self.category_panel.refresh()
        self._category_search_stale()

    def _category_search_stale(self) -> None:
        if "category:" in self.search.text():
            self.run_search()

    def preview(self, row: int) -> PreviewDialog | None:
        if self.model.hit(row) is None:
            return None
        dlg = PreviewDialog(self.model, row, self)
        tags = PhotoTags(self.library, dlg)
        dlg.add_panel(tags)
        tags.show_photo(dlg.hit.path)
        dlg.row_changed.connect(lambda r: tags.show_photo(self.model.hit(r).path))
        tags.changed.connect(self.tag_panel.refresh)
        dlg.open_requested.connect(self.open_photo)
        dlg.row_changed.connect(lambda r: self.view.setCurrentIndex(self.model.index(r)))
        dlg.show()
        self._preview = dlg
        return dlg

    def _open_row(self, row: int) -> None:
        hit = self.model.hit(row)
        if hit is not None:
            self.open_photo(hit.path)

    def open_photo(self, path: str) -> None:
        QDesktopServices.openUrl(file_url(path))

    def show_in_folder(self, path: str) -> None:
        """Open the file manager with the photo selected where the platform allows it."""
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])
            return
        if sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
            return
        if _freedesktop_show_item(path):
            return
        QDesktopServices.openUrl(file_url(os.path.dirname(path)))

    def copy_paths(self) -> None:
        rows = self.view.selected_rows() or [self.view.current_row()]
        paths = [self.model.hit(r).path for r in rows if self.model.hit(r) is not None]
        if paths:
            mime = self.model.mimeData([self.model.index(r) for r in rows])
            QGuiApplication.clipboard().setMimeData(mime)
            self.statusBar().showMessage(f"Copied {len(paths)} path(s)", 3000)

    # -- folders -----------------------------------------------------------------------------

    def pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a photo folder", str(Path.home()))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        try:
            self.bridge.worker.add_folder(path)
        except PhotoclipError as e:
            QMessageBox.information(self, "PhotoCLIP", str(e))
            return
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
        """Re-read folder counts off the GUI thread (they are GROUP BYs over the whole
        catalog) and update the sidebar, the filters and the counts when they changed."""
        if self._refreshing:
            return
        self._refreshing = True
        lib = self.library

        def read():
            return lib.folders(), lib.catalog.counts(lib.model_id)

        run_task(self.info_pool, read, self._apply_folders,
                   lambda _e: setattr(self, "_refreshing", False))

    def _apply_folders(self, result) -> None:
        self._refreshing = False
        folders, self.counts = result
        self._update_failures()
        if self.bridge.worker.status.state == "idle":
            self._show_idle(self.bridge.worker.status)
        if folders == self._folders_shown:
            return
        self._folders_shown = folders
        current = self.folder_filter.currentData()
        self.sidebar.clear()
        for f in folders:
            state = "" if f.online else " · offline"
            waiting = f.photos - f.indexed - f.failed
            if waiting > 0 and f.online:
                state += f" · {waiting} to index"
            item = QListWidgetItem(f"{show(Path(f.path).name or f.path)}\n{f.indexed:,} of "
                                   f"{f.photos:,} indexed{state}")
            item.setToolTip(show(f.path))
            item.setData(FolderRole, f.path)
            item.setSizeHint(QSize(0, 44))
            self.sidebar.addItem(item)
        self.folder_filter.blockSignals(True)
        self.folder_filter.clear()
        self.folder_filter.addItem("All folders", None)
        for f in folders:
            self.folder_filter.addItem(show(Path(f.path).name or f.path), f.path)
        i = self.folder_filter.findData(current)
        self.folder_filter.setCurrentIndex(max(i, 0))
        self.folder_filter.blockSignals(False)

    def _folder_clicked(self, item: QListWidgetItem) -> None:
        i = self.folder_filter.findData(item.data(FolderRole))
        self.folder_filter.setCurrentIndex(i)
        self.bridge.worker.rescan(item.data(FolderRole))  # the folder in view goes first

    def _folder_menu(self, pos) -> None:
        item = self.sidebar.itemAt(pos)
        if item is None:
            return
        path = item.data(FolderRole)
        menu = QMenu(self)
        menu.addAction("Show in file manager",
                       lambda: QDesktopServices.openUrl(file_url(path)))
        menu.addAction("Check for changes now", lambda: self.bridge.worker.rescan(path))
        menu.addAction("Remove from library…", lambda: self.remove_folder(path))
        menu.exec(self.sidebar.viewport().mapToGlobal(pos))

    def remove_folder(self, path: str) -> None:
        answer = QMessageBox.question(
            self, "Remove folder",
            f"Forget {path} and its photos in PhotoCLIP?\nThe files themselves are not touched.")
        if answer == QMessageBox.StandardButton.Yes:
            self.bridge.worker.remove_folder(path)
            self.refresh_folders()
            self.run_search()

    def _fill_date_filter(self) -> None:
        self.date_filter.blockSignals(True)
        self.date_filter.clear()
        today = date.today()
        self.date_filter.addItem("Any time", None)
        self.date_filter.addItem("Past 30 days",
                                 ((today - timedelta(days=30)).isoformat(), None))
        self.date_filter.addItem("Past year", ((today - timedelta(days=365)).isoformat(), None))
        for year in self.library.catalog.years():
            self.date_filter.addItem(str(year), (f"{year}-01-01", f"{year + 1}-01-01"))
        self.date_filter.blockSignals(False)

    # -- background work ---------------------------------------------------------------------

    def _on_worker_status(self, s: WorkerStatus) -> None:
        if s.state == "working" and s.total:
            self.progress.setVisible(True)
            self.progress.setRange(0, s.total)
            self.progress.setValue(s.done)
            eta = f", {int(s.eta) // 60}:{int(s.eta) % 60:02d} left" if s.eta else ""
            self.state_label.setText(f"Indexing {s.done:,} of {s.total:,} · {s.rate:.1f}/s{eta}"
                                     f" · {Path(s.current).name}")
        elif s.state == "paused":
            self.state_label.setText(f"Paused at {s.done:,} of {s.total:,}")
        else:
            self.progress.setVisible(False)
            self._show_idle(s)
            self.refresh_folders()

    def _show_idle(self, s: WorkerStatus) -> None:
        msg = f" · {s.message}" if s.message else ""
        build = self.library.index_build_progress()
        if build is not None:  # a lost or damaged index being rebuilt (minutes, once)
            done, total = build
            msg += (f" · building the search index: {done / max(total, 1):.0%} "
                    "(searches are exact and slower meanwhile)")
        self.state_label.setText(f"{self.counts['indexed']:,} photos indexed · up to date{msg}")

    def _on_worker_report(self, report) -> None:
        if (report.encoded or report.catalogued or report.removed or report.moved
                or report.reused):
            self.refresh_folders()
            self.tag_panel.refresh()
            self.category_panel.refresh()  # new photos are scored as they arrive
            if not self.search.text().strip() and self._similar_to is None:
                self.run_search()  # the library view shows new photos as they arrive

    def _update_failures(self) -> None:
        n = self.counts["failed"]
        self.failures_btn.setVisible(n > 0)
        self.failures_btn.setText(f"⚠ {n} skipped")

    def show_failures(self) -> None:
        FailuresDialog(self.library.failures(), self).exec()

    def _toggle_pause(self, paused: bool) -> None:
        if paused:
            self.bridge.worker.pause()
            self.pause_btn.setText("Resume")
        else:
            self.bridge.worker.resume()
            self.pause_btn.setText("Pause")

    def open_settings(self) -> None:
        dlg = SettingsDialog(self.library, self)
        if dlg.exec() and dlg.apply():
            self.model_panel.refresh()
            self.load_model()

    def closeEvent(self, event) -> None:
        self._folders_timer.stop()
        self.bridge.stop()
        self.thumbs.shutdown()
        self.info_pool.shutdown(wait=True, cancel_futures=True)
        self.search_pool.shutdown(wait=True, cancel_futures=True)
        self.browse_pool.shutdown(wait=True, cancel_futures=True)
        self.library.close()
        super().closeEvent(event)


def _freedesktop_show_item(path: str) -> bool:
    """Ask the desktop's file manager (org.freedesktop.FileManager1) to select the file."""
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    iface = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                           "org.freedesktop.FileManager1", bus)
    if not iface.isValid():
        return False
    url = file_url(path).toString(QUrl.ComponentFormattingOption.FullyEncoded)
    reply = iface.call("ShowItems", [url], "")
    return not reply.errorMessage()


def app_icon() -> QIcon:
    from photoclip.desktop import RESOURCES

    icon = QIcon()
    for f in sorted(RESOURCES.glob("photoclip-*.png")):
        icon.addFile(str(f))
    return icon
