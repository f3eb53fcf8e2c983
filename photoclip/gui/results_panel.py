"""The results area: the "Similar to" chip, the caption, "show weaker matches", the grid, and
the empty state that says why nothing is shown."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from photoclip.core.search import relevance
from photoclip.gui import status_text
from photoclip.gui.format import plural
from photoclip.gui.results_grid import ResultsModel, ResultsView
from photoclip.gui.searchbar import SimilarChip


class ResultsPanel(QWidget):
    weaker_requested = Signal()  # "show weaker matches": one step down
    all_requested = Signal()  # "show the closest photos anyway": every result

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
        self.weaker_btn.clicked.connect(self.weaker_requested)
        self.weaker_btn.setVisible(False)
        self.view = ResultsView(zoom)
        self.view.setModel(model)
        self.empty = QWidget()
        self.empty_text = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty_text.setStyleSheet("color: palette(mid); font-size: 15px;")
        self.empty_action = QPushButton("Show the closest photos anyway")
        self.empty_action.clicked.connect(self.all_requested)
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

    def show_state(self, request, period: str, **state) -> None:
        """Caption, "show weaker matches" and the empty state, from what is shown now and
        ``state`` (see :func:`status_text.empty_reason`)."""
        shown = self.model.shown
        self.chip.show_for(request.similar[1] if request.similar else None)
        self.caption.setText(status_text.caption(request, shown, period))
        weaker = self.weaker_count()
        self.weaker_btn.setVisible(bool(shown and weaker))
        self.weaker_btn.setText(f"Show {plural(weaker, 'weaker match', 'weaker matches')}")
        empty = not shown
        if empty:
            hidden = self.model.total  # (nothing shown: every result is below the cut)
            self.empty_text.setText(status_text.empty_reason(request, hidden=hidden, **state))
            self.empty_action.setVisible(bool(hidden))
        self.empty.setVisible(empty)
        self.view.setVisible(not empty)
