"""The status bar: what the library is doing (status.status_line's sentence), indexing
progress with Pause, the skipped files, new duplicates, and the thumbnail size slider."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QSlider, QStatusBar, QToolButton

from photoclip.core.indexing.worker import WorkerStatus
from photoclip.gui.results_grid import ZOOM_MAX, ZOOM_MIN, ZOOM_STEP


class StatusWidgets:
    """Builds its widgets into ``bar``; the window connects ``pause``, ``failures``,
    ``duplicates`` and ``zoom``."""

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
        self.duplicates = QToolButton()
        self.duplicates.setVisible(False)
        self.duplicates.setToolTip("New photos that are copies of photos already in the "
                                   "library: click to review them (Ctrl+D)")
        self.zoom = QSlider(Qt.Orientation.Horizontal)
        self.zoom.setRange(ZOOM_MIN, ZOOM_MAX)
        self.zoom.setSingleStep(ZOOM_STEP // 2)
        self.zoom.setPageStep(ZOOM_STEP)
        self.zoom.setFixedWidth(110)
        self.zoom.setValue(zoom)
        self.zoom.setToolTip("Thumbnail size (Ctrl+wheel, Ctrl+plus / Ctrl+minus)")
        bar.addWidget(self.label, 1)
        bar.addPermanentWidget(self.failures)
        bar.addPermanentWidget(self.duplicates)
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

    def show_duplicates(self, n: int) -> None:
        """``n`` new photos found to duplicate others since Duplicates was last opened."""
        self.duplicates.setVisible(n > 0)
        # (❐: in DejaVu Sans and the Windows and macOS symbol fonts; ⧉ showed as a box)
        self.duplicates.setText(f"❐ {n:,} new duplicate{'s' * (n != 1)}")

    def show_zoom(self, zoom: int) -> None:
        self.zoom.blockSignals(True)
        self.zoom.setValue(zoom)
        self.zoom.blockSignals(False)
