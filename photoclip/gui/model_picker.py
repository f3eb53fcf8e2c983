"""The model picker (first run and Settings): the models PhotoCLIP offers by name, with what a
user needs to choose one (core/model/choices.py), and "Other…" for any open_clip spec or a
model folder on this computer."""

from __future__ import annotations

import html

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from photoclip.core.model.choices import CHOICES, ModelChoice, find, speed

OTHER = "other"


def size_text(mb: int) -> str:
    return f"about {mb / 1000:.1f} GB" if mb >= 1000 else f"about {mb} MB"


class ModelPicker(QWidget):
    """A list of the offered models (their details below it) and "Other…", which shows a
    field for a spec and a "Folder…" button. :meth:`spec` is what was picked."""

    changed = Signal()

    def __init__(self, current: str, measured: tuple[str, float] | None = None,
                 suggested: tuple[ModelChoice, str] | None = None, parent=None):
        super().__init__(parent)
        self._measured = measured
        self._suggested = suggested
        self.combo = QComboBox()
        for c in CHOICES:
            tail = " — suggested" if suggested and suggested[0] is c else ""
            self.combo.addItem(f"{c.title} · {_short_languages(c)} · "
                               f"{size_text(c.download_mb)}{tail}", c.spec)
        self.combo.addItem("Other… (an open_clip model by name, or a folder)", OTHER)
        self.other = QLineEdit()
        self.other.setPlaceholderText("NAME:PRETRAINED, hf-hub:ORG/REPO or local-dir:PATH")
        self.browse = QPushButton("Folder…")
        self.browse.clicked.connect(self._browse)
        self.details = QLabel(wordWrap=True)
        self.details.setStyleSheet("color: palette(mid);")
        other_row = QHBoxLayout()
        other_row.setContentsMargins(0, 0, 0, 0)
        other_row.addWidget(self.other, 1)
        other_row.addWidget(self.browse)
        self._other_box = QWidget()
        self._other_box.setLayout(other_row)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.combo)
        lay.addWidget(self._other_box)
        lay.addWidget(self.details)
        self.combo.currentIndexChanged.connect(self._show)
        self.other.textChanged.connect(self.changed)
        self.set_spec(current)

    def spec(self) -> str:
        """The picked model's spec ("" when "Other…" is left empty)."""
        data = self.combo.currentData()
        return self.other.text().strip() if data == OTHER else str(data)

    def set_measured(self, measured: tuple[str, float] | None) -> None:
        """The speed measured for the model in use (``lib.model.measured_speed()``, read off
        the GUI thread: it may read the calibration file): the speeds shown follow it. Nothing
        happens if the picker was closed meanwhile."""
        if not isValid(self) or not isValid(self.combo):
            return
        self._measured = measured
        self._show()

    def choice(self) -> ModelChoice | None:
        return find(self.spec())

    def set_spec(self, spec: str) -> None:
        i = self.combo.findData(spec.strip())
        if i < 0:
            self.other.setText(spec.strip())
            i = self.combo.findData(OTHER)
        self.combo.setCurrentIndex(i)
        self._show()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Choose a CLIP model folder "
                                                      "(with open_clip_config.json)")
        if path:
            self.other.setText(f"local-dir:{path}")

    def _show(self) -> None:
        c = find(str(self.combo.currentData()))
        self._other_box.setVisible(c is None)
        if c is None:
            self.details.setText("Any open_clip model: NAME:PRETRAINED (downloaded once), "
                                 "hf-hub:ORG/REPO, or a model folder on this computer.")
        else:
            why = ""
            if self._suggested and self._suggested[0] is c:
                why = f"<br><b>{html.escape(self._suggested[1])}</b>"
            self.details.setText(
                f"Understands: {html.escape(c.languages)}. Download {size_text(c.download_mb)}."
                f" Quality: {c.imagenet:g} % on ImageNet (zero-shot). Speed: "
                f"{html.escape(speed(c, self._measured))}. Suits {html.escape(c.suits)}.<br>"
                f"{html.escape(c.about)}{why}")
        self.changed.emit()


def _short_languages(c: ModelChoice) -> str:
    return "about 100 languages" if c.multilingual else c.languages
