"""First-run welcome, settings, failures list, and the model download."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photoclip.config import DEFAULT_MODEL, data_home, set_data_home
from photoclip.gui.bridge import make_pool, run_task

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


class ModelPanel(QWidget):
    """Shows whether the model is there, and offers: download the default, or a local folder."""

    model_chosen = Signal(str)  # a spec the caller should switch to
    download_finished = Signal(bool, str)  # ok, message

    def __init__(self, library, parent=None):
        super().__init__(parent)
        self.library = library
        self.pool = make_pool(1, "photoclip-download")
        self.state = QLabel(wordWrap=True)
        self.download_btn = QPushButton("Download the default model (about 600 MB)")
        self.local_btn = QPushButton("Use a model folder on this computer…")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.download_btn.clicked.connect(self.download)
        self.local_btn.clicked.connect(self.choose_local)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.state)
        row = QHBoxLayout()
        row.addWidget(self.download_btn)
        row.addWidget(self.local_btn)
        row.addStretch(1)
        lay.addLayout(row)
        lay.addWidget(self.progress)
        self._poll = QTimer(self)
        self._poll.setInterval(300)
        self._poll.timeout.connect(self._update_progress)
        self._started = 0.0
        self.refresh()

    def refresh(self) -> None:
        lib = self.library
        if lib._encoder is not None:
            self.state.setText(f"✔ Model ready: <b>{lib.model_id}</b>")
        elif lib.model_error:
            self.state.setText(
                f"<b>No model yet.</b> {lib.model_error}<br>PhotoCLIP still catalogues your "
                "folders now; search turns on as soon as a model is there.")
        else:
            self.state.setText(f"Model: <b>{lib.model_id}</b> (loading…)")

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
        from photoclip.core.encoder import Encoder

        self.download_btn.setEnabled(False)
        self.local_btn.setEnabled(False)
        self.progress.setVisible(True)
        self.progress.setRange(0, DEFAULT_MODEL_MB)
        self.progress.setFormat("Connecting…")
        self._started = time.monotonic()
        self._poll.start()
        run_task(self.pool, lambda: Encoder.load(DEFAULT_MODEL, device="cpu"),
                   self._downloaded, self._download_failed)

    def _update_progress(self) -> None:
        mb = _downloaded_bytes() // 2**20
        if mb:
            self.progress.setValue(min(mb, DEFAULT_MODEL_MB))
            self.progress.setFormat(f"Downloading… {mb} MB of about {DEFAULT_MODEL_MB} MB")

    def _downloaded(self, _encoder) -> None:
        self._poll.stop()
        self.progress.setValue(DEFAULT_MODEL_MB)
        self.progress.setFormat("Downloaded")
        self.model_chosen.emit(DEFAULT_MODEL)
        self.download_finished.emit(True, "")

    def _download_failed(self, err: Exception) -> None:
        self._poll.stop()
        self.progress.setVisible(False)
        self.download_btn.setEnabled(True)
        self.local_btn.setEnabled(True)
        self.state.setText(f"<b>The download did not work.</b> {err}")
        self.download_finished.emit(False, str(err))


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
        drop = QLabel("…or drag folders here.")
        drop.setStyleSheet("color: palette(mid);")
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
        row.addWidget(drop)
        row.addStretch(1)
        lay.addLayout(row)
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

    def pick_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a photo folder", str(Path.home()))
        if path:
            self.add_folder(path)

    def add_folder(self, path: str) -> None:
        if os.path.isdir(path) and path not in self.folders:
            self.folders.append(path)
            self.list.addItem(path)

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


def _with_browse_button(edit: QLineEdit, on_browse) -> QHBoxLayout:
    button = QPushButton("Folder…")
    button.clicked.connect(on_browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


PRECISION_CHOICES = (
    ("auto", "Automatic — the fastest faithful path, measured on this computer"),
    ("fp32", "fp32 — exact, slowest on most computers"),
    ("int8", "int8 — fastest on most CPUs, very slightly less exact"),
    ("bf16", "bf16 — fast on CPUs with native bf16 and on GPUs, slow elsewhere"),
    ("fp16", "fp16 — GPUs only"),
)


def _precision_now(library) -> str:
    why = library.encoding_info().get("precision_why")
    return f"Now: {why}." if why else "Measured when the model is first loaded."


class SettingsDialog(QDialog):
    def __init__(self, library, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.library = library
        s = library.settings
        self.model = QLineEdit(library.model_id)
        model_row = _with_browse_button(self.model, self._browse_model)
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda", "mps"])
        self.device.setCurrentText(s.device)
        self.precision = QComboBox()
        for value, label in PRECISION_CHOICES:
            self.precision.addItem(label, value)
        self.precision.setCurrentIndex(max(0, self.precision.findData(s.precision)))
        self.precision_now = QLabel(_precision_now(library), wordWrap=True)
        self.precision_now.setStyleSheet("color: palette(mid);")
        self.batch = QSpinBox(minimum=1, maximum=512, value=s.batch_size)
        self.thumb = QSpinBox(minimum=64, maximum=512, singleStep=32, value=s.thumbnail_size)
        self.home = QLineEdit(str(data_home()))
        home_row = _with_browse_button(self.home, self._browse_home)
        self.login = QCheckBox("Start PhotoCLIP at login and keep watching my folders")
        self.login.setChecked(s.watch_at_login)
        form = QFormLayout()
        form.addRow("Model", model_row)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("", self.precision_now)
        form.addRow("Batch size", self.batch)
        form.addRow("Thumbnail size", self.thumb)
        form.addRow("Data folder", home_row)
        form.addRow("", self.login)
        hint = QLabel("Model specs: ViT-B-32:laion2b_s34b_b79k (default), hf-hub:ORG/REPO, or "
                      "local-dir:PATH. A new model re-indexes the library in the background; "
                      "a new data folder is used from the next start.", wordWrap=True)
        hint.setStyleSheet("color: palette(mid);")
        buttons = save_cancel(self)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(hint)
        lay.addWidget(buttons)
        self.resize(560, 0)

    def _browse_model(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a CLIP model folder")
        if path:
            self.model.setText(f"local-dir:{path}")

    def _browse_home(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose the data folder")
        if path:
            self.home.setText(path)

    def apply(self) -> bool:
        """Save the settings; True when the model changed (the caller re-indexes)."""
        from photoclip.desktop import set_autostart

        lib = self.library
        s = lib.settings
        s.device = self.device.currentText()
        s.precision = self.precision.currentData()
        s.batch_size = self.batch.value()
        s.thumbnail_size = self.thumb.value()
        s.watch_at_login = self.login.isChecked()
        s.save(lib.home)
        try:
            set_autostart(s.watch_at_login)
        except OSError:
            pass
        if self.home.text().strip() and Path(self.home.text()) != data_home():
            set_data_home(Path(self.home.text().strip()))
        spec = self.model.text().strip()
        if spec and spec != lib.model_id:
            lib.set_model(spec)
            return True
        return False


class FailuresDialog(QDialog):
    """Every file that could not be indexed, and why."""

    def __init__(self, failures: list[tuple[str, str]], parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"{len(failures)} files could not be indexed")
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


def save_cancel(dialog: QDialog) -> QDialogButtonBox:
    """Save / Cancel buttons wired to the dialog's accept / reject."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                               | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    return buttons
