"""Settings: nothing takes effect until it is known to work.

- Device lists only what this computer has (detected off the GUI thread: it imports torch).
- A new model, device or precision is loaded in the background first; the library switches
  only when it loaded, and keeps its working model otherwise (the dialog says why, in red, and
  stays open). Saving after a failure tries again, so setting a value back always recovers.
- A new data folder moves the library: checked here (:func:`relocate.plan_move`), then copied,
  verified and switched by :class:`LibraryMove` with a progress dialog; PhotoCLIP restarts on
  the new copy. A ``PHOTOCLIP_HOME`` override is shown as such, read-only.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
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
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from photoclip.core import relocate
from photoclip.core.errors import PhotoclipError, for_gui
from photoclip.gui import executors
from photoclip.gui.dialogs import keep_wrapped_text_whole
from photoclip.gui.executors import run_task
from photoclip.gui.format import human_size
from photoclip.gui.model_picker import ModelPicker

log = logging.getLogger(__name__)

PRECISION_CHOICES = (
    ("auto", "Automatic — the fastest faithful path, measured on this computer"),
    ("fp32", "fp32 — exact, slowest on most computers"),
    ("int8", "int8 — fastest on most CPUs, very slightly less exact"),
    ("bf16", "bf16 — fast on CPUs with native bf16 and on GPUs, slow elsewhere"),
    ("fp16", "fp16 — GPUs only"),
)
DEVICE_LABELS = {"auto": "Automatic — the best this computer has", "cpu": "CPU",
                 "cuda": "NVIDIA GPU (CUDA)", "mps": "Apple GPU (MPS)"}
ERROR_STYLE = "color: #b00020;"


def _precision_now(library) -> str:
    why = library.model.encoding_info().get("precision_why")
    return f"Now: {why}." if why else "Measured when the model is first loaded."


def _detect_devices() -> list[str]:
    from photoclip.core.model.encoder import available_devices

    return available_devices()


def with_browse_button(edit: QLineEdit, on_browse, text: str = "Folder…") -> QHBoxLayout:
    button = QPushButton(text)
    button.clicked.connect(on_browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


class SettingsDialog(QDialog):
    checked = Signal()  # a background check ended (tests)

    def __init__(self, library, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.library = library
        self.pool = executors.model_pool()
        self.model_changed = False  # the library switched model, device or precision
        self.move_plan: relocate.MovePlan | None = None  # the data folder is to be moved
        self.devices_known = False
        self._closed = False
        s = library.settings
        self.model = ModelPicker(library.model.id)
        self.device = QComboBox()
        for d in dict.fromkeys(("auto", "cpu", s.device)):
            self.device.addItem(DEVICE_LABELS.get(d, d), d)
        self.device.setCurrentIndex(self.device.findData(s.device))
        self.precision = QComboBox()
        for value, label in PRECISION_CHOICES:
            self.precision.addItem(label, value)
        self.precision.setCurrentIndex(max(0, self.precision.findData(s.precision)))
        self.precision_now = QLabel("", wordWrap=True)  # (read in the pool: a file)
        self.precision_now.setStyleSheet("color: palette(mid);")
        self.batch = QSpinBox(minimum=1, maximum=512, value=s.batch_size)
        self.thumb = QSpinBox(minimum=64, maximum=512, singleStep=32, value=s.thumbnail_size)
        self.home = QLineEdit(str(library.home))
        home_row = with_browse_button(self.home, self._browse_home)
        self.home_note = QLabel(wordWrap=True)
        self.home_note.setStyleSheet("color: palette(mid);")
        if os.environ.get("PHOTOCLIP_HOME"):
            self.home.setReadOnly(True)
            home_row.itemAt(1).widget().setEnabled(False)
            self.home_note.setText("Set by the PHOTOCLIP_HOME environment variable when "
                                   "PhotoCLIP was started; to choose here, start it without "
                                   "that variable.")
        else:
            self.home_note.setText("Where the catalog, search index and settings live. "
                                   "Choosing another folder moves them there (copied and "
                                   "checked first); PhotoCLIP then restarts. Your photos "
                                   "stay where they are.")
        self.login = QCheckBox("Start PhotoCLIP at login and keep watching my folders")
        self.login.setChecked(s.watch_at_login)
        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Device", self.device)
        form.addRow("Precision", self.precision)
        form.addRow("", self.precision_now)
        form.addRow("Batch size", self.batch)
        form.addRow("Thumbnail size", self.thumb)
        form.addRow("Data folder", home_row)
        form.addRow("", self.home_note)
        form.addRow("", self.login)
        hint = QLabel("A new model is tried before it is used (downloaded first if it is "
                      "not on this computer yet), then re-indexes the library in the "
                      "background; your tags, tag sets and categories carry over.",
                      wordWrap=True)
        hint.setStyleSheet("color: palette(mid);")
        self.error = QLabel(wordWrap=True)
        self.error.setStyleSheet(ERROR_STYLE)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setVisible(False)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(hint)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.resize(620, 0)
        keep_wrapped_text_whole(self)  # (the help lines: their height follows their text)
        run_task(self.pool, lambda: _precision_now(library), self.precision_now.setText)
        run_task(self.pool, library.model.measured_speed, self.model.set_measured)
        run_task(self.pool, _detect_devices, self._devices_detected,
                 lambda e: log.warning("cannot list the devices: %s", e))

    # -- fields ------------------------------------------------------------------------------

    def _devices_detected(self, devices: list[str]) -> None:
        current = self.device.currentData()
        self.device.clear()
        for d in ("auto", *devices):
            self.device.addItem(DEVICE_LABELS.get(d, d), d)
        if self.device.findData(current) < 0:  # saved on another computer, or by hand
            self.device.addItem(f"{DEVICE_LABELS.get(current, current)} — not on this "
                                "computer", current)
        self.device.setCurrentIndex(self.device.findData(current))
        self.devices_known = True
        self.checked.emit()

    def _browse_home(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose where PhotoCLIP keeps its data")
        if path:
            self.home.setText(path)

    def _model_request(self) -> tuple[str, str, str] | None:
        """(model, device, precision) to switch to, or None when the running one stays."""
        lib, s = self.library, self.library.settings
        want = (self.model.spec() or lib.model.id, self.device.currentData(),
                self.precision.currentData())
        if want == (lib.model.id, s.device, s.precision) and lib.model.error is None:
            return None
        return want

    def _say(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))
        self.adjustSize()  # (room for the message: the form never gets squeezed)

    # -- saving ------------------------------------------------------------------------------

    def accept(self) -> None:
        """Check what changed; save only what works (the dialog stays open otherwise)."""
        self._say("")
        lib = self.library
        new_home = self.home.text().strip()
        self.move_plan = None
        if not self.home.isReadOnly() and new_home and \
                Path(new_home).expanduser().resolve() != lib.home.resolve():
            try:
                self.move_plan = relocate.plan_move(lib.home, Path(new_home))
            except PhotoclipError as e:
                self._say(f"The data folder was not changed: {for_gui(e)}")
                return
        request = self._model_request()
        if request is None:
            self._save_rest()
            super().accept()
            return
        self._busy(True)
        run_task(self.pool, lambda: lib.model.try_load(*request),
                 lambda enc: self._model_works(request, enc), self._model_fails)

    def _busy(self, busy: bool) -> None:
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setEnabled(not busy)
        for w in (self.model, self.device, self.precision):
            w.setEnabled(not busy)
        if busy:
            self.error.setStyleSheet("color: palette(mid);")
            self._say("Trying the model before switching to it…")
        else:
            self.error.setStyleSheet(ERROR_STYLE)

    def _model_works(self, request, encoder) -> None:
        if self._closed:
            self._busy(False)
            return  # cancelled while it loaded: nothing changes
        run_task(self.pool, lambda: self.library.switch_model(*request, encoder=encoder),
                 lambda _: self._switched(), self._model_fails)

    def _switched(self) -> None:
        self._busy(False)
        self.model_changed = True
        self._save_rest()
        self._say("")
        self.checked.emit()
        super().accept()

    def _model_fails(self, err: Exception) -> None:
        self._busy(False)
        log.warning("settings not applied: %s", err)
        self._say(f"Not saved — PhotoCLIP keeps using {self.library.model.id}. "
                  f"{for_gui(err)}")
        self.checked.emit()

    def _save_rest(self) -> None:
        from photoclip.desktop import set_autostart

        lib = self.library
        s = lib.settings
        s.batch_size = self.batch.value()
        s.thumbnail_size = self.thumb.value()
        s.watch_at_login = self.login.isChecked()
        s.save(lib.home)
        try:
            set_autostart(s.watch_at_login)
        except OSError as e:
            log.warning("cannot change starting at login: %s", e)

    def done(self, result: int) -> None:
        self._closed = True
        self.pool.shutdown(wait=False, cancel_futures=True)
        super().done(result)


class _Progress(QObject):
    moved = Signal(int, int)  # bytes done, bytes in all (emitted from the copying thread)


class LibraryMove(QObject):
    """Move the library to ``plan.dst``: ask, stop the background work, copy with progress,
    verify, switch, then ``restart`` (the app on its new copy). A failure says why and
    ``resume``s the old library, untouched."""

    finished = Signal(bool)

    def __init__(self, parent: QWidget, plan: relocate.MovePlan, stop, resume, restart):
        super().__init__(parent)
        self.plan, self.stop, self.resume, self.restart = plan, stop, resume, restart
        self.parent_widget = parent
        self.pool = executors.move_pool()
        self.cancel = threading.Event()
        self.progress = _Progress()
        self.dialog: QProgressDialog | None = None

    def confirm(self) -> bool:
        size = human_size(self.plan.total_bytes)
        answer = QMessageBox.question(
            self.parent_widget, "Move the library",
            f"Move PhotoCLIP's data ({size}) to {self.plan.dst}?\n\nIndexing pauses while it "
            "is copied and checked; then PhotoCLIP restarts from the new folder and removes "
            "the old copy. Your photos are not touched.")
        return answer == QMessageBox.StandardButton.Yes

    def start(self) -> None:
        self.stop()
        self.dialog = QProgressDialog("Copying the library…", "Cancel", 0, 1000,
                                      self.parent_widget)
        self.dialog.setWindowTitle("Moving the library")
        self.dialog.setWindowModality(Qt.WindowModality.ApplicationModal)  # (nothing changes
        self.dialog.setMinimumDuration(0)  # in the library while it is copied)
        self.dialog.canceled.connect(self.cancel.set)
        self.progress.moved.connect(self._moved)
        self.dialog.show()
        run_task(self.pool, lambda: relocate.copy_library(self.plan, self.progress.moved.emit,
                                                          self.cancel),
                 self._done, self._failed)

    def _moved(self, done: int, total: int) -> None:
        if self.dialog is not None:
            self.dialog.setValue(int(1000 * done / max(total, 1)))
            self.dialog.setLabelText(f"Copying the library… {human_size(done)} of "
                                     f"{human_size(total)}")

    def _done(self, dst: Path) -> None:
        if self.dialog is not None:
            self.dialog.close()
        QMessageBox.information(self.parent_widget, "Library moved",
                                f"The library was copied to {dst} and checked. PhotoCLIP "
                                "restarts now to use it.")
        self.finished.emit(True)
        self.restart()

    def _failed(self, err: Exception) -> None:
        if self.dialog is not None:
            self.dialog.close()
        log.warning("library move failed: %s", err)
        QMessageBox.warning(self.parent_widget, "Library not moved", for_gui(err))
        self.resume()
        self.finished.emit(False)
