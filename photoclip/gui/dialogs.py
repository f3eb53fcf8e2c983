"""First-run welcome, settings, failures list, and the model download."""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photoclip.config import DEFAULT_MODEL
from photoclip.core.errors import PhotoclipError, for_gui
from photoclip.core.model.choices import suggested, system_language
from photoclip.core.paths import is_within
from photoclip.gui import executors
from photoclip.gui.executors import run_task
from photoclip.gui.file_urls import shown
from photoclip.gui.format import plural
from photoclip.gui.model_picker import ModelPicker, size_text

DEFAULT_MODEL_MB = 605  # open_clip_model.safetensors of ViT-B-32 laion2b_s34b_b79k


def _hub_cache() -> Path:
    env = os.environ.get("HF_HUB_CACHE")
    if env:
        return Path(env)
    hf_home = os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface"
    return Path(hf_home) / "hub"


def _downloaded_bytes() -> int:
    """Bytes of partial downloads in the Hugging Face cache (the model being fetched)."""
    total = 0
    for f in _hub_cache().glob("models--*/blobs/*.incomplete"):
        try:
            total += f.stat().st_size
        except OSError:
            pass
    return total


def is_model_folder(path: str) -> bool:
    return bool(path) and (Path(path) / "open_clip_config.json").is_file()


def unexpected_text(err: BaseException) -> str:
    """A window's sentence for an error: ours as written; anything else (a broken installation,
    a bug) named with its type, pointing at the log, where its traceback went."""
    if isinstance(err, PhotoclipError):
        return for_gui(err)
    return (f"{type(err).__name__}: {err}. The details are in photoclip.log in PhotoCLIP's "
            "data folder.")


class ModelPanel(QWidget):
    """Shows whether the model is there, and offers: download the default, or a local folder."""

    model_chosen = Signal(str)  # a spec the caller should switch to
    settings_requested = Signal()  # (shown only where connected: the main window's banner)
    download_finished = Signal(bool, str)  # ok, message

    def __init__(self, library, parent=None, failure=None):
        super().__init__(parent)
        self.library = library
        # why preparing search failed unexpectedly (the main window knows), else None
        self.failure = failure or (lambda: None)
        self.pool = executors.model_pool()
        self.state = QLabel(wordWrap=True)
        # the multilingual model first where the system's language is not English
        self.suggestion = suggested(system_language())
        current = library.model.id if library.model.state == "ready" or \
            library.model.id != DEFAULT_MODEL else self.suggestion[0].spec
        self.picker = ModelPicker(current, suggested=self.suggestion)
        self.picker.changed.connect(self._picked)
        self.download_btn = QPushButton()
        self.local_btn = QPushButton("Use a model folder on this computer…")
        self.settings_btn = QPushButton("Settings…")
        self.settings_btn.setVisible(False)
        self.settings_btn.clicked.connect(self.settings_requested)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.download_btn.clicked.connect(self.download)
        self.local_btn.clicked.connect(self.choose_local)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.state)
        lay.addWidget(self.picker)
        row = QHBoxLayout()
        row.addWidget(self.download_btn)
        row.addWidget(self.local_btn)
        row.addWidget(self.settings_btn)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        self._poll = QTimer(self)
        self._poll.setInterval(300)
        self._poll.timeout.connect(self._update_progress)
        self._started = 0.0
        self._expected_mb = DEFAULT_MODEL_MB
        self._picked()
        self.refresh()
        run_task(self.pool, library.model.measured_speed, self.picker.set_measured)

    def _picked(self) -> None:
        c = self.picker.choice()
        spec = self.picker.spec()
        if c is not None:
            self.download_btn.setText(f"Download {c.title} ({size_text(c.download_mb)})")
        else:
            self.download_btn.setText("Use this model" if spec else "Download")
        self.download_btn.setEnabled(bool(spec) and not self._poll.isActive())

    def refresh(self) -> None:
        lib = self.library
        state = lib.model.state
        failure = self.failure()
        if failure:  # (the library may still say "loading" or "ready": it was not its error)
            self.state.setText(f"<b>Search is off: the model could not be prepared.</b> "
                               f"{failure}")
        elif state == "ready":
            self.state.setText(f"✔ Model ready: <b>{lib.model.id}</b>")
        elif state == "none":
            self.state.setText(
                f"<b>No model yet.</b> {lib.model.problem}<br>PhotoCLIP still catalogues your "
                "folders now; search turns on as soon as a model is there.")
        else:
            self.state.setText(f"Model: <b>{lib.model.id}</b> (loading…)")

    def plain_state(self) -> str:
        """What the model line says, without its markup (for the log)."""
        import re

        return re.sub(r"<[^>]+>", "", self.state.text().replace("<br>", " "))

    def choose_local(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a CLIP model folder "
                                                      "(with open_clip_config.json)")
        if not path:
            return
        if not is_model_folder(path):
            self.state.setText(f"<b>{path}</b> is not an open_clip model folder: it has no "
                               "open_clip_config.json.")
            return
        self.model_chosen.emit(f"local-dir:{path}")

    def download(self) -> None:
        """Download (or load) the picked model, then hand it on to be switched to."""
        from photoclip.core.model.encoder import Encoder

        spec = self.picker.spec() or DEFAULT_MODEL
        choice = self.picker.choice()
        self._expected_mb = choice.download_mb if choice is not None else 0
        self.download_btn.setEnabled(False)
        self.local_btn.setEnabled(False)
        self.picker.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, self._expected_mb)  # (0, 0: busy, size unknown)
        self.progress.setFormat("Connecting…")
        self._started = time.monotonic()
        self._poll.start()
        run_task(self.pool, lambda: Encoder.load(spec, device="cpu"),
                 lambda _enc: self._downloaded(spec), self._download_failed)

    def _update_progress(self) -> None:
        mb = _downloaded_bytes() // 2**20
        if mb and self._expected_mb:
            self.progress.setValue(min(mb, self._expected_mb))
            self.progress.setFormat(f"Downloading… {mb} MB of about {self._expected_mb} MB")

    def _downloaded(self, spec: str = DEFAULT_MODEL) -> None:
        self._poll.stop()
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.progress.setFormat("Downloaded")
        self.picker.setEnabled(True)
        self.model_chosen.emit(spec)
        self.download_finished.emit(True, "")

    def _download_failed(self, err: Exception) -> None:
        self._poll.stop()
        self.progress.setVisible(False)
        self.download_btn.setEnabled(True)
        self.local_btn.setEnabled(True)
        self.picker.setEnabled(True)
        text = unexpected_text(err)
        if isinstance(err, PhotoclipError):  # what loading the download said (network, disk)
            self.state.setText(f"<b>The download did not work.</b> {text}")
        else:  # not the download's fault: a broken installation, a bug
            self.state.setText(f"<b>The model could not be loaded.</b> {text}")
        self.download_finished.emit(False, text)


class FirstRunDialog(QDialog):
    """Welcome: pick photo folders (picker or drag and drop) and make sure there is a model."""

    def __init__(self, library, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Welcome to PhotoCLIP")
        self.setAcceptDrops(True)
        self.library = library
        self.folders: list[str] = []
        intro = QLabel(
            "<h2>Find your photos by what is in them</h2>"
            "<p>Choose the folders that hold your photos. PhotoCLIP reads them — it never changes "
            "or moves a file — and keeps a private index on this computer. New photos are "
            "picked up automatically.</p>", wordWrap=True)
        self.list = QListWidget()
        self.list.setMinimumHeight(110)
        add = QPushButton("Add a folder…")
        add.clicked.connect(self.pick_folder)
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.setToolTip("Take the selected folder off this list (Delete)")
        self.remove_btn.setEnabled(False)
        self.remove_btn.clicked.connect(self.remove_selected)
        self.list.itemSelectionChanged.connect(
            lambda: self.remove_btn.setEnabled(bool(self.list.selectedItems())))
        QShortcut(QKeySequence.StandardKey.Delete, self.list, activated=self.remove_selected,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        drop = QLabel("…or drag folders here.")
        drop.setStyleSheet("color: palette(mid);")
        self.refusal = QLabel(wordWrap=True)  # why the folder just chosen was not added
        self.refusal.setTextFormat(Qt.TextFormat.RichText)
        self.refusal.setStyleSheet("color: #b00020;")
        self.refusal.setVisible(False)
        self.model_panel = ModelPanel(library)
        self.model_panel.model_chosen.connect(self._model_chosen)
        self.chosen_model: str | None = None
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addWidget(QLabel("<b>Photo folders</b>"))
        lay.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(add)
        row.addWidget(self.remove_btn)
        row.addWidget(drop)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.refusal)
        lay.addSpacing(8)
        lay.addWidget(QLabel("<b>Model</b>"))
        lay.addWidget(self.model_panel)
        note = QLabel("CLIP is good at scenes, objects and styles; it is weak at counting "
                      "(\"three dogs\") and at very fine distinctions (breeds, car models).",
                      wordWrap=True)
        note.setStyleSheet("color: palette(mid);")
        lay.addWidget(note)
        lay.addWidget(buttons)
        self.resize(640, 520)
        keep_wrapped_text_whole(self)

    def pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a photo folder", str(Path.home()))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> bool:
        """Put ``path`` on the list; a folder inside one listed (or holding one) is refused
        at once, saying why, as the library would refuse it after Start."""
        if not os.path.isdir(path):
            return False
        self._refuse("")
        real = os.path.realpath(path)
        for other in self.folders:
            there = os.path.realpath(other)
            if real == there:
                return False  # (already listed)
            if is_within(real, there):  # (the same folder returned above)
                self._refuse(f"Not added: {self._path(path)} is inside {self._path(other)}, "
                             "which is on the list already: its photos are found there.")
                return False
            if is_within(there, real):
                self._refuse(f"Not added: {self._path(path)} holds {self._path(other)}, which "
                             "is on the list already. To add the whole folder, remove that "
                             "one first.")
                return False
        self.folders.append(path)
        item = QListWidgetItem(shown(path))
        item.setToolTip(shown(path))
        item.setData(Qt.ItemDataRole.UserRole, path)
        self.list.addItem(item)
        return True

    def _path(self, path: str) -> str:
        """A path for the refusal line: on one line, shortened in the middle when long."""
        return f"<nobr>{html.escape(elide_path(path, self.refusal.font()))}</nobr>"

    def _refuse(self, why: str) -> None:
        self.refusal.setText(why)
        self.refusal.setVisible(bool(why))

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.folders.remove(item.data(Qt.ItemDataRole.UserRole))
            self.list.takeItem(self.list.row(item))
        self._refuse("")

    def reject(self) -> None:
        """Closing with choices made asks first: they would be lost."""
        if self.folders or self.chosen_model:
            answer = QMessageBox.question(
                self, "Welcome to PhotoCLIP",
                "Close without adding the folders you chose? Nothing is added to PhotoCLIP.",
                QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Discard:
                return
        super().reject()

    def _model_chosen(self, spec: str) -> None:
        self.chosen_model = spec
        self.model_panel.state.setText(f"✔ Model chosen: <b>{spec}</b>")

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile() and os.path.isdir(url.toLocalFile()):
                self.add_folder(url.toLocalFile())


class FailuresDialog(QDialog):
    """Every file that could not be indexed, and why."""

    def __init__(self, failures: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"{plural(len(failures), 'file')} could not be indexed")
        tree = QTreeWidget()
        tree.setHeaderLabels(["File", "Why"])
        tree.setRootIsDecorated(False)
        for path, reason in failures:
            item = QTreeWidgetItem([path, reason])
            item.setToolTip(0, path)
            tree.addTopLevelItem(item)
        tree.resizeColumnToContents(1)
        tree.setColumnWidth(0, 420)
        note = QLabel("These files are skipped and left untouched. Fix or replace one and "
                      "PhotoCLIP tries it again.", wordWrap=True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(note)
        lay.addWidget(tree)
        lay.addWidget(buttons)
        self.resize(820, 420)


class _TallEnough(QObject):
    """See :func:`keep_wrapped_text_whole`."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.window = window
        self.pending = False
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if obj is self.window and not self.pending and event.type() in (
                QEvent.Type.LayoutRequest, QEvent.Type.Resize, QEvent.Type.Show):
            self.pending = True
            QTimer.singleShot(0, self, self.fit)  # (once the layout has settled)
        return False

    def fit(self) -> None:
        self.pending = False
        w = self.window
        layout = w.layout()
        if layout is None:
            return
        # the layout's minimum counts a wrapped label at its shortest; add the lines it
        # needs at the width it has
        extra = sum(max(0, label.heightForWidth(label.width())
                        - label.minimumSizeHint().height())
                    for label in w.findChildren(QLabel)
                    if label.wordWrap() and label.isVisibleTo(w) and label.window() is w)
        need = layout.totalMinimumSize().height() + extra
        if w.minimumHeight() != need:
            w.setMinimumHeight(need)
        if w.height() < need:
            w.resize(w.width(), need)


def keep_wrapped_text_whole(window: QWidget) -> None:
    """Keep ``window`` tall enough for its word-wrapped labels at its width, as their text
    changes and as it is resized. (Qt sizes a window by its layout's minimum size, which does
    not count the extra lines of word-wrapped text: help lines were cut to half height and a
    caption was drawn over the photo above it.)"""
    _TallEnough(window)


def elide_path(path: str, font: QFont | None = None, width: int = 440) -> str:
    """``path`` as shown (undecodable bytes as \\xNN), shortened in the middle with … when
    it is wider than ``width`` pixels in ``font``: the start and the name stay readable."""
    text = shown(path)
    return QFontMetrics(font or QFont()).elidedText(text, Qt.TextElideMode.ElideMiddle, width)


PATH_CHARS = 90  # a longer path in a message is shortened in the middle
_PATH = re.compile(r"(?<![\w.])(?:[A-Za-z]:\\|~?/)[^\s<>\"]*[^\s<>\",.:;)]")


def paths_whole(text: str, paths: Sequence[str] = ()) -> str:
    """``text`` as rich text (a paragraph: Qt's labels and message boxes take it as such) in
    which each path is never broken across lines ("/" at the end of one, "tmp/…" on the
    next) and a long one is shortened in the middle. ``paths``: paths it may hold that have
    spaces in them (a path is otherwise taken to end at a space)."""
    known = sorted({shown(p) for p in paths if p}, key=len, reverse=True)
    pattern = re.compile("|".join([*(re.escape(p) for p in known), _PATH.pattern]))
    out, end = [], 0
    for m in pattern.finditer(text):
        out.append(html.escape(text[end:m.start()]))
        path = m.group()
        short = path if len(path) <= PATH_CHARS else \
            f"{path[:PATH_CHARS // 2 - 5]}…{path[-(PATH_CHARS // 2 + 4):]}"
        out.append(f"<nobr>{html.escape(short)}</nobr>")
        end = m.end()
    out.append(html.escape(text[end:]))
    return "<p>" + "".join(out).replace("\n", "<br>") + "</p>"


def save_cancel(dialog: QDialog) -> QDialogButtonBox:
    """Save / Cancel buttons wired to the dialog's accept / reject."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                               | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
