"""The status bar: what the library is doing (status.status_line's sentence), indexing
progress with Pause, the skipped files, and the thumbnail size slider."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QSlider, QStatusBar, QToolButton

from photoclip.core.indexing.worker import WorkerStatus
from photoclip.gui.results_grid import ZOOM_MAX, ZOOM_MIN, ZOOM_STEP


class StatusWidgets:
    """Builds its widgets into ``bar``; the window connects ``pause``, ``failures`` and
    ``zoom``."""

    def __init__(self, bar: QStatusBar, zoom: int):
        self.label = QLabel("Starting…")
        self.label.setMinimumWidth(100)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.setVisible(False)
        self.pause = QToolButton()
        self.pause.setText("Pause")
        self.pause.setCheckable(True)
        self.pause.toggled.connect(lambda on: self.pause.setText("Resume" if on else "Pause"))
        self.failures = QToolButton()
        self.failures.setVisible(False)
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(ZOOM_MIN, ZOOM_MAX)
        self.zoom.setSingleStep(ZOOM_STEP // 2)
        self.zoom.setPageStep(ZOOM_STEP)
        self.zoom.setFixedWidth(110)
        self.zoom.setValue(zoom)
        self.zoom.setToolTip("Thumbnail size (Ctrl+wheel, Ctrl+plus / Ctrl+minus)")
        bar.addWidget(self.label, 1)
        bar.addPermanentWidget(self.failures)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.pause)
        bar.addPermanentWidget(QLabel("Size"))
        bar.addPermanentWidget(self.zoom)

    def show_progress(self, s: WorkerStatus) -> None:
        working = s.state == "working" and bool(s.total)
        self.progress.setVisible(working)
        if working:
            self.progress.setRange(0, s.total)
            self.progress.setValue(s.done)

    def show_failed(self, n: int) -> None:
        self.failures.setVisible(n > 0)
        self.failures.setText(f"⚠ {n:,} skipped")

    def show_zoom(self, zoom: int) -> None:
        self.zoom.blockSignals(True)
        self.zoom.setValue(zoom)
        self.zoom.blockSignals(False)
