"""The filters beside the search box: relevance, folder, date. In a narrow window they fold
into a "Filters ▾" button (a popup), so the search box keeps its room."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.search import relevance
from photoclip.core.search.searcher import Filters
from photoclip.gui.file_urls import shown

RELEVANCE_STEP = 0.1  # slider: 0 = every result, 50 = GOOD (0 logits), 30 = WEAK, 100 = +5
GOOD_POSITION = 50 + round(relevance.GOOD / RELEVANCE_STEP)
WEAK_POSITION = 50 + round(relevance.WEAK / RELEVANCE_STEP)
SNAP = 3  # a drag let go this close to "Good matches" lands on it (one value is 1 pixel)


class FilterBar(QWidget):
    changed = Signal()  # folder or period
    relevance_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(GOOD_POSITION)
        self.slider.setFixedWidth(120)
        self.slider.setToolTip("Relevance: to the right, only the closest matches; to the "
                               "left, weaker ones too; at the far left, every result")
        self.slider.valueChanged.connect(self._slid)
        self.slider.sliderReleased.connect(self._snap)
        self.slider_label = QLabel()
        self.slider_label.setMinimumWidth(96)
        self.folder = QComboBox()
        self.folder.setMinimumWidth(150)
        self.folder.addItem("All folders", None)
        self.folder.currentIndexChanged.connect(self.changed)
        self.period = QComboBox()
        self.period.currentIndexChanged.connect(self.changed)
        self._years: list[int] | None = None
        self._folders: list[str] = []

        self.box = QWidget()
        bl = QHBoxLayout(self.box)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(QLabel("Relevance"))
        bl.addWidget(self.slider)
        bl.addWidget(self.slider_label)
        bl.addWidget(self.folder)
        bl.addWidget(self.period)
        self.button = QToolButton(text="Filters ▾")
        self.button.setToolTip("Relevance, folder and date")
        self.button.clicked.connect(self._pop_up)
        self.button.setVisible(False)
        self.popup = QFrame(self, Qt.WindowType.Popup)
        self.popup.setFrameShape(QFrame.Shape.StyledPanel)
        QVBoxLayout(self.popup)
        self.lay = QHBoxLayout(self)
        self.lay.setContentsMargins(0, 0, 0, 0)
        self.lay.addWidget(self.box)
        self.lay.addWidget(self.button)
        self.set_years([])
        self._slid(self.slider.value())

    # -- values ------------------------------------------------------------------------------

    def filters(self) -> Filters:
        after, before = self.period.currentData() or (None, None)
        return Filters(folder=self.folder.currentData(), after=after, before=before)

    def cut(self) -> float | None:
        """The relevance results must reach (None: every result)."""
        value = self.slider.value()
        return None if value == 0 else (value - 50) * RELEVANCE_STEP

    def describe(self) -> str:
        """" · Past year" for a chosen period, else ""."""
        return f" · {self.period.currentText()}" if self.period.currentData() else ""

    def _slid(self, value: int) -> None:
        if self.slider.isSliderDown() and 0 < abs(value - GOOD_POSITION) <= SNAP:
            self.slider.setValue(GOOD_POSITION)  # (a notch while dragging)
            return
        if value == 0:
            label = "All results"
        elif value < GOOD_POSITION:
            label = "Weaker too"
        elif value == GOOD_POSITION:
            label = "Good matches"
        else:
            label = "Closest only"
        self.slider_label.setText(label)
        self.relevance_changed.emit()

    def _snap(self) -> None:
        """A drag let go near "Good matches" lands on it (the keys still step one by one)."""
        if 0 < abs(self.slider.value() - GOOD_POSITION) <= SNAP:
            self.slider.setValue(GOOD_POSITION)

    def level(self) -> str:
        """What the slider's position is called ("Good matches", "All results"…)."""
        return self.slider_label.text()

    def lower(self) -> None:
        """One step down: from good matches to weaker ones, then to every result."""
        self.slider.setValue(0 if relevance.lower_cut(self.cut()) is None else WEAK_POSITION)

    def show_all(self) -> None:
        """Every result, however weak ("show the closest photos anyway")."""
        self.slider.setValue(0)

    def reset_relevance(self) -> None:
        """Good matches again: a new search starts there, however the slider was moved for
        the one before (by "show weaker matches" or by hand: a slider left at "Closest only"
        made the next search say "No good matches")."""
        self.slider.setValue(GOOD_POSITION)

    def select_folder(self, path: str) -> None:
        self.folder.setCurrentIndex(max(self.folder.findData(path), 0))

    def set_folders(self, paths: list[str]) -> None:
        if paths != self._folders:
            self._folders = paths
            _refill(self.folder, [("All folders", None),
                                  *((shown(Path(p).name or p), p) for p in paths)])

    def set_years(self, years: list[int]) -> None:
        """The periods: the past month and year, and each year that has photos."""
        if years == self._years:
            return
        self._years = years
        today = date.today()
        _refill(self.period, [
            ("Any time", None),
            ("Past 30 days", ((today - timedelta(days=30)).isoformat(), None)),
            ("Past year", ((today - timedelta(days=365)).isoformat(), None)),
            *((str(y), (f"{y}-01-01", f"{y + 1}-01-01")) for y in years)])

    # -- folding -----------------------------------------------------------------------------

    @property
    def folded(self) -> bool:
        return self.button.isVisible()

    def fold(self, narrow: bool) -> None:
        if narrow == self.folded and (self.box.parent() is self.popup) == narrow:
            return
        if narrow:
            self.popup.layout().addWidget(self.box)
        else:
            self.popup.hide()
            self.lay.insertWidget(0, self.box)
            self.box.setVisible(True)
        self.button.setVisible(narrow)

    def _pop_up(self) -> None:
        self.box.setVisible(True)
        self.popup.adjustSize()
        pos = self.button.mapToGlobal(self.button.rect().bottomRight())
        self.popup.move(pos.x() - self.popup.width(), pos.y())
        self.popup.show()


def _refill(combo: QComboBox, items) -> None:
    """New (text, data) items, keeping the current choice when it is still there; quietly
    (no "changed" for a choice that did not change)."""
    current = combo.currentData()
    combo.blockSignals(True)
    combo.clear()
    for text, data in items:
        combo.addItem(text, data)
    combo.setCurrentIndex(max(combo.findData(current), 0))
    combo.blockSignals(False)
