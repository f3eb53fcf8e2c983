"""The results area: the "Similar to" chip, the caption, "show weaker matches", the grid, and
the empty state that says why nothing is shown."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from photoclip.core.search import relevance
from photoclip.gui import status_text
from photoclip.gui.format import plural
from photoclip.gui.results_grid import ResultsModel, ResultsView
from photoclip.gui.search_controller import RESULT_LIMIT
from photoclip.gui.searchbar import SimilarChip


class ResultsPanel(QWidget):
    weaker_requested = Signal()  # "show weaker matches": one step down
    all_requested = Signal()  # "show the closest photos anyway": every result
    good_requested = Signal()  # "show the good matches": the slider back to good matches
    more_requested = Signal()  # "show 500 more": past the results fetched

    def __init__(self, model: ResultsModel, zoom: int, parent=None):
        super().__init__(parent)
        self.model = model
        self.chip = SimilarChip()
        self.caption = QLabel()
        self.caption.setStyleSheet("color: palette(mid);")
        self.weaker_btn = QPushButton()
        self.weaker_btn.setFlat(True)
        self.weaker_btn.setStyleSheet("color: palette(link); text-decoration: underline;")
        self.weaker_btn.setCursor(Qt.CursorShape.PointingHandCursor)
        self.weaker_btn.clicked.connect(self._more_clicked)
        self.weaker_btn.setVisible(False)
        self.view = ResultsView(zoom)
        self.view.setModel(model)
        self.empty = QWidget()
        self.empty_text = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty_text.setStyleSheet("color: palette(mid); font-size: 15px;")
        self.empty_action = QPushButton("Show the closest photos anyway")
        self.empty_action.clicked.connect(self._empty_clicked)
        self._good_hidden = 0  # good matches hidden by a slider set above them
        self._more = False  # the link under the caption fetches more (not weaker) results
        el = QVBoxLayout(self.empty)
        el.addStretch(1)
        el.addWidget(self.empty_text)
        el.addWidget(self.empty_action, 0, Qt.AlignmentFlag.AlignHCenter)
        el.addStretch(2)
        self.empty.setVisible(False)
        cap = QHBoxLayout()
        cap.addWidget(self.chip)
        cap.addWidget(self.caption)
        cap.addWidget(self.weaker_btn)
        cap.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(cap)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.empty, 1)

    def weaker_count(self) -> int:
        """How many more one click on "show weaker matches" would show."""
        cut = self.model.min_relevance
        if cut is None:
            return 0
        return self.model.hidden_above(relevance.lower_cut(cut))

    def _more_clicked(self) -> None:
        (self.more_requested if self._more else self.weaker_requested).emit()

    def _empty_clicked(self) -> None:
        (self.good_requested if self._good_hidden else self.all_requested).emit()

    def show_state(self, request, period: str, level: str = "Good matches",
                   limited: bool = False, **state) -> None:
        """Caption, "show weaker matches" (or "show more") and the empty state, from what is
        shown now, the relevance slider's ``level`` (its label), whether the results stopped
        at the number fetched (``limited``) and ``state`` (see
        :func:`status_text.empty_reason`)."""
        shown = self.model.shown
        ranked = any(not math.isnan(h.relevance) for h in self.model.hits()[:1]) or \
            self.model.total > shown  # (tag: and category: lists have no relevance)
        self.chip.show_for(request.similar[1] if request.similar else None)
        first = self.model.total if limited and shown == self.model.total else None
        self.caption.setText(status_text.caption(
            request, shown, period, level=level if ranked else "", first=first))
        weaker = self.weaker_count()
        self._more = bool(first) and not weaker
        self.weaker_btn.setVisible(bool(shown and (weaker or self._more)))
        self.weaker_btn.setText(f"Show {RESULT_LIMIT:,} more" if self._more else
                                f"Show {plural(weaker, 'weaker match', 'weaker matches')}")
        empty = not shown
        if empty:
            hidden = self.model.total  # (nothing shown: every result is below the cut)
            cut = self.model.min_relevance
            self._good_hidden = self.model.hidden_above(relevance.GOOD) \
                if cut is not None and cut > relevance.GOOD else 0
            self.empty_text.setText(status_text.empty_reason(
                request, hidden=hidden, good=self._good_hidden, level=level, **state))
            self.empty_action.setText(
                f"Show the {plural(self._good_hidden, 'good match', 'good matches')}"
                if self._good_hidden else "Show the closest photos anyway")
            self.empty_action.setVisible(bool(hidden))
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)
