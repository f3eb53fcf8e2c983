"""The search field (text, or an image dropped or pasted onto it) and the "Similar to" chip."""

from __future__ import annotations

import logging
import os
import tempfile

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QToolButton

from photoclip.core.indexing.formats import is_image_name

log = logging.getLogger(__name__)
PASTED = "pasted image"


class SearchBar(QLineEdit):
    """Takes text, or an image dropped or pasted onto it (search by image): ``image_given``
    (path, name to show). A pasted image is written to a temporary file, deleted when the
    next one replaces it and on :meth:`cleanup` (the window closing)."""

    image_given = Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setClearButtonEnabled(True)
        self.setPlaceholderText(self.READY)
        self._pasted: str | None = None

    READY = "Search your photos: “kids on a beach at sunset”, “dog -grass +snow”, or drop a photo"
    OFF = "Search turns on when a model is ready — you can browse meanwhile"

    def set_search_ready(self, ready: bool) -> None:
        self.setPlaceholderText(self.READY if ready else self.OFF)

    def dragEnterEvent(self, event) -> None:
        md = event.mimeData()
        if md.hasImage() or _image_file(md) is not None:
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if not self._take_image(event.mimeData(), files_first=True):
            super().dropEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            md = QGuiApplication.clipboard().mimeData()
            if md is not None and self._take_image(md, files_first=False):
                return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)  # (Esc on an empty field goes on to the window)

    def _take_image(self, md, files_first: bool) -> bool:
        """Search by the image in ``md`` — a photo file, or image data (a drop prefers the
        file dragged, a paste the image copied); False when it holds neither."""
        path = _image_file(md)
        if path is not None and (files_first or not md.hasImage()):
            self.image_given.emit(path, os.path.basename(path))
            return True
        if md.hasImage():
            self._image_from_clipboard(md.imageData())
            return True
        return False

    def _image_from_clipboard(self, image) -> None:
        if image is None or image.isNull():
            return
        self.cleanup()
        fd, path = tempfile.mkstemp(prefix="photoclip-pasted-", suffix=".png")
        os.close(fd)
        image.save(path, "PNG")
        self._pasted = path
        self.image_given.emit(path, PASTED)

    def cleanup(self) -> None:
        """Delete the temporary file of a pasted image."""
        if self._pasted is not None:
            try:
                os.unlink(self._pasted)
            except OSError as e:
                log.debug("cannot delete %s: %s", self._pasted, e)
            self._pasted = None


def _image_file(md) -> str | None:
    """The first local photo file named in mime data, or None."""
    for url in md.urls():
        if url.isLocalFile() and is_image_name(url.toLocalFile()):
            return url.toLocalFile()
    return None


class SimilarChip(QFrame):
    """“Similar to: horses.jpg ✕” above the grid while results are an image search."""

    closed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("chip")
        self.setStyleSheet("QFrame#chip { background: palette(alternate-base); "
                           "border: 1px solid palette(mid); border-radius: 12px; }")
        self.label = QLabel()
        close = QToolButton(text="✕")
        close.setAutoRaise(True)
        close.setToolTip("Back to the search before (Esc)")
        close.clicked.connect(self.closed)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 2, 4, 2)
        lay.addWidget(self.label)
        lay.addWidget(close)
        self.setVisible(False)

    def show_for(self, name: str | None) -> None:
        if name:
            self.label.setText(f"Similar to: <b>{name}</b>")
        self.setVisible(bool(name))
