"""Duplicates in the app: the same photo saved more than once (and, asked for, near-identical
shots), one group at a time, its photos side by side, the one to keep highlighted.

Keys, as in the category review: ← → or 1–9 choose the photo to keep, Enter resolves the group
(the others go to the Trash, or are only marked) and moves on, S or Space skips, N says "not
duplicates", Ctrl+Z undoes the last resolution, Esc closes.

Every call into lib.duplicates and lib.folders runs off the GUI thread (gui/executors.py):
finding and measuring sharpness in the window's duplicates pool, resolving and undoing in its
edit pool (in order with the user's other edits; a resolution made just before the app closes
is finished), the folders in its library pool."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from photoclip.core.duplicates.model import SAME, Group, Member, Resolution, Undone
from photoclip.core.duplicates.service import NothingToUndo
from photoclip.gui.desktop_actions import open_photo
from photoclip.gui.dialogs import elide_path, paths_whole, unexpected_text
from photoclip.gui.executors import run_task
from photoclip.gui.file_urls import shown
from photoclip.gui.format import human_size, plural
from photoclip.gui.thumbnails import ThumbnailCache

THUMB = 256  # a card's thumbnail, at most this wide and high
CARD_WIDTH = THUMB + 24
KEY_ROLE = Qt.ItemDataRole.UserRole
KIND_TEXT = {SAME: "The same photo", "similar": "Near-identical"}
KEYS_HINT = ("← → or 1–9: choose the photo to keep · Enter: resolve · S or Space: skip · "
             "N: not duplicates · ↑ ↓: groups · Ctrl+Z: undo · Esc: close")

Key = frozenset[str]  # a group, by its photos' paths (ids change when a file comes back)


def group_key(group: Group) -> Key:
    return frozenset(m.path for m in group.members)


def group_title(group: Group) -> str:
    """The list's line for a group: "The same photo · 3 photos · IMG_0042.jpg"."""
    return f"{KIND_TEXT.get(group.kind, group.kind)} · {plural(len(group.members), 'photo')}" \
           f" · {shown(group.keep.name)}"


def when(member: Member) -> str:
    """The photo's date as a card shows it: when it was taken, else the file's date."""
    try:
        if member.taken_at:
            t = datetime.fromisoformat(member.taken_at)
        else:
            t = datetime.fromtimestamp(member.mtime_ns / 1e9)
    except (ValueError, OverflowError, OSError):
        return member.taken_at or "—"
    return f"{t.day} {t:%b %Y, %H:%M}"


class _Stopped(Exception):
    """A find that is no longer wanted (another was asked for, or the dialog closed)."""


class PhotoCard(QFrame):
    """One photo of the group: thumbnail, what tells it apart, and whether it is kept."""

    clicked = Signal(int)  # its position in the group

    def __init__(self, position: int, parent=None):
        super().__init__(parent)
        self.position = position
        self.path = ""
        self.setObjectName("card")
        self.setFixedWidth(CARD_WIDTH)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to keep this photo; double-click to open it")
        self.number = QLabel(str(position + 1))  # (its key: 1–9)
        self.number.setObjectName("number")
        self.number.setToolTip(f"Press {position + 1} to keep this photo" if position < 9
                               else "")
        self.badge = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.badge.setObjectName("badge")
        self.image = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.image.setFixedSize(THUMB, THUMB)
        self.reason = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.reason.setMinimumHeight(2 * QFontMetrics(self.reason.font()).lineSpacing())
        self.name = QLabel()
        font = self.name.font()
        font.setBold(True)
        self.name.setFont(font)
        self.folder = QLabel()
        self.facts: dict[str, QLabel] = {k: QLabel() for k in
                                         ("format", "size", "date", "sharpness", "raw")}
        for label in (self.name, self.folder, *self.facts.values()):
            label.setTextFormat(Qt.TextFormat.PlainText)  # (a file name is never markup)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 10)
        lay.setSpacing(3)
        head = QHBoxLayout()
        head.addWidget(self.number)
        head.addWidget(self.badge, 1)
        lay.addLayout(head)
        lay.addWidget(self.reason)
        lay.addWidget(self.image)
        lay.addWidget(self.name)
        lay.addWidget(self.folder)
        for label in self.facts.values():
            lay.addWidget(label)
        lay.addStretch(1)

    def show_member(self, m: Member, differs: set[str], sharpest: bool) -> None:
        """``differs``: the facts that are not the same for every photo of the group (shown
        in full colour; the rest in grey)."""
        self.path = m.path
        inner = CARD_WIDTH - 20
        fm = QFontMetrics(self.name.font())
        self.name.setText(fm.elidedText(shown(m.name), Qt.TextElideMode.ElideMiddle, inner))
        self.name.setToolTip(shown(m.path))
        self.folder.setText(elide_path(m.folder, self.folder.font(), inner))
        self.folder.setToolTip(shown(m.folder))
        self.folder.setStyleSheet("color: palette(mid);")
        dims = f" · {m.width:,} × {m.height:,}" if m.width and m.height else ""
        sharp = "—" if m.sharpness is None else f"{m.sharpness:,.0f}" + \
            (" (sharpest)" if sharpest else "")
        texts = {"format": f"{m.format}{dims}", "size": human_size(m.size), "date": when(m),
                 "sharpness": f"Sharpness {sharp}",
                 "raw": "RAW+JPEG" if m.companion else ""}
        for key, label in self.facts.items():
            label.setText(texts[key])
            label.setVisible(bool(texts[key]))
            label.setStyleSheet("" if key in differs else "color: palette(mid);")
        self.facts["raw"].setToolTip(shown(m.companion) if m.companion else "")
        self.facts["sharpness"].setToolTip("Fine detail in the photo (higher: sharper; "
                                           "a shaken or out-of-focus shot scores lower)")
        self.facts["date"].setToolTip("Taken" if m.taken_at else "File date")

    def set_role(self, keep: bool, reason: str, others: str) -> None:
        """Kept (highlighted, with why) or one of the others (``others``: what happens to
        it)."""
        self.setProperty("keep", keep)
        if keep:
            self.badge.setText("✓ Keep")
            self.reason.setText(reason)
            self.reason.setStyleSheet("")
            self.setStyleSheet(
                "QFrame#card { border: 3px solid #2e9d4d; border-radius: 8px;"
                " background: rgba(46, 157, 77, 0.10); }"
                " QLabel#badge { color: white; background: #2e9d4d; border-radius: 4px;"
                " font-weight: bold; padding: 2px; }"
                " QLabel#number { font-weight: bold; padding: 0 4px; }")
        else:
            self.badge.setText(others)
            key = f" (or press {self.position + 1})" if self.position < 9 else ""
            self.reason.setText(f"Click{key} to keep this one instead")
            self.reason.setStyleSheet("color: palette(mid);")
            self.setStyleSheet(
                "QFrame#card { border: 1px solid palette(mid); border-radius: 8px; }"
                " QLabel#badge { color: palette(window-text); background: palette(midlight);"
                " border-radius: 4px; padding: 2px; }"
                " QLabel#number { font-weight: bold; padding: 0 4px; }")

    def set_pixmap(self, pm: QPixmap | None, failed: bool) -> None:
        if pm is None:
            self.image.setPixmap(QPixmap())
            self.image.setText("cannot be shown" if failed else "…")
            return
        if pm.width() > THUMB or pm.height() > THUMB:
            pm = pm.scaled(QSize(THUMB, THUMB), Qt.AspectRatioMode.KeepAspectRatio,
                           Qt.TransformationMode.SmoothTransformation)
        self.image.setPixmap(pm)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit(self.position)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        why = open_photo(self.path)
        if why:
            QMessageBox.information(self, "Open photo", paths_whole(why, [self.path]))


class DuplicatesDialog(QDialog):
    """Groups of duplicates on the left; the current group's photos as cards on the right.
    ``changed`` is emitted after a resolution or an undo changed the library (files moved to
    the Trash or back, photos marked): the main window refreshes what it shows."""

    changed = Signal()

    def __init__(self, library, pool, info, edits, cache_dir: Path, parent=None):
        super().__init__(parent)
        self.library = library
        self.pool = pool  # finding and sharpness (long: its own pool, dropped when closed)
        self.info = info  # the folders, for the scope
        self.edits = edits  # resolutions and undo, in order with the user's other edits
        self.groups: list[Group] = []
        self.chosen: dict[Key, str] = {}  # the photo the user chose to keep, by group
        self.keep_index = 0  # in the current group's cards
        self.last: str | None = None  # what undo would take back (lib.duplicates.last())
        self.finding = False
        self.resolving = 0  # resolutions and undos asked for, not answered yet
        self._generation = 0  # of finds: an answer to an older one is dropped
        self._progress: tuple[str, int, int] | None = None  # (set by the find's thread)
        self._gone: set[Key] = set()  # resolved here since the last find: kept out of it
        self._sharpening: set[Key] = set()
        self.current_sharpness: Key | None = None  # (read by the pool: the group still shown)
        self._reselect: Key | None = None  # show this group when the find answers
        self._last_keys: list[Key] = []  # the groups of the resolution undo takes back
        self._closed = False
        self.setWindowTitle("Duplicates")
        self.thumbs = ThumbnailCache(cache_dir, size=THUMB, capacity=300, parent=self)
        self.thumbs.ready.connect(self._thumb_ready)
        self._build()
        self._build_keys()
        self.resize(1120, 720)
        self._tick = QTimer(self, interval=150)
        self._tick.timeout.connect(self._show_progress)
        run_task(self.info, library.folders.list, self._fill_scopes)
        run_task(self.edits, library.duplicates.last, self._set_last)
        self.find_groups()

    # -- layout ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.scope = QComboBox()
        self.scope.addItem("Whole library", None)
        self.scope.setToolTip("Where to look for duplicates")
        self.scope.setMinimumWidth(220)
        self.scope.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.scope.currentIndexChanged.connect(lambda _i: self.find_groups())
        self.scope.activated.connect(self._focus_groups)
        self.similar = QCheckBox("Near-identical shots too (bursts, light crops)")
        self.similar.setToolTip("Also group photos that are not the same photo but nearly: "
                                "shots of a burst, a light crop or edit. Look before you "
                                "choose.")
        self.similar.toggled.connect(lambda _on: self.find_groups())
        self.trash = QRadioButton("Move the others to the Trash")
        self.trash.setToolTip("The photos not kept go to the system Trash (recoverable "
                              "there, or with Undo)")
        self.mark = QRadioButton("Only mark them as duplicates")
        self.mark.setToolTip("No file is moved: the photos not kept get the keyword "
                             "“duplicate” (search for it to find them)")
        self.trash.setChecked(True)
        self.action_group = QButtonGroup(self)
        for b in (self.trash, self.mark):
            self.action_group.addButton(b)
        self.action_group.buttonToggled.connect(lambda *_: self._show_group())
        for w in (self.similar, self.trash, self.mark):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # (the keys are the review's)
        top = QHBoxLayout()
        top.addWidget(QLabel("Look in:"))
        top.addWidget(self.scope)
        top.addSpacing(12)
        top.addWidget(self.similar)
        top.addStretch(1)
        others = QHBoxLayout()
        others.addWidget(QLabel("The photos not kept:"))
        others.addWidget(self.trash)
        others.addWidget(self.mark)
        others.addStretch(1)

        self.busy = QProgressBar()
        self.busy.setMaximumWidth(220)
        self.busy.setTextVisible(False)
        self.state = QLabel(wordWrap=True)
        status = QHBoxLayout()
        status.addWidget(self.state, 1)
        status.addWidget(self.busy)

        # left: the groups
        self.header = QLabel()
        self.groups_view = QListWidget()
        self.groups_view.setMinimumWidth(260)
        self.groups_view.currentRowChanged.connect(lambda _r: self._current_changed())
        self.resolve_all_btn = QPushButton("Resolve all as suggested…")
        self.resolve_all_btn.setToolTip("Keep the highlighted photo of every group (the one "
                                        "suggested, or the one you chose) and deal with the "
                                        "others as chosen above")
        self.resolve_all_btn.clicked.connect(self.resolve_all)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.header)
        ll.addWidget(self.groups_view, 1)
        ll.addWidget(self.resolve_all_btn)

        # right: the current group's photos
        self.group_label = QLabel(wordWrap=True)
        self.cards_box = QWidget()
        self.cards = QHBoxLayout(self.cards_box)
        self.cards.setContentsMargins(4, 4, 4, 4)
        self.cards.setSpacing(10)
        self.cards.addStretch(1)
        self.card_scroll = QScrollArea()
        self.card_scroll.setWidget(self.cards_box)
        self.card_scroll.setWidgetResizable(True)
        self.card_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.card_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.card_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.resolve_btn = QPushButton()
        self.resolve_btn.clicked.connect(lambda: self.resolve_current())
        self.skip_btn = QPushButton("Skip (S)")
        self.skip_btn.setToolTip("Leave this group for now and show the next (S or Space)")
        self.skip_btn.clicked.connect(self.skip)
        self.distinct_btn = QPushButton("Not duplicates (N)")
        self.distinct_btn.setToolTip("These photos are not duplicates: keep them all and never "
                                     "show this group again (N)")
        self.distinct_btn.clicked.connect(self.not_duplicates)
        buttons = QHBoxLayout()
        buttons.addWidget(self.resolve_btn)
        buttons.addWidget(self.skip_btn)
        buttons.addWidget(self.distinct_btn)
        buttons.addStretch(1)
        self.keys_hint = QLabel(KEYS_HINT, wordWrap=True)
        self.keys_hint.setStyleSheet("color: palette(mid); font-size: 11px;")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.addWidget(self.group_label)
        rl.addWidget(self.card_scroll, 1)
        rl.addLayout(buttons)
        rl.addWidget(self.keys_hint)

        self.split = QSplitter()
        self.split.addWidget(left)
        self.split.addWidget(right)
        self.split.setStretchFactor(1, 1)
        self.split.setCollapsible(1, False)
        self.split.setSizes([300, 820])
        self.empty = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.empty.setStyleSheet("font-size: 15px; padding: 24px;")
        self.pages = QStackedWidget()
        self.pages.addWidget(self.split)
        self.pages.addWidget(self.empty)

        # the last resolution and what undo would take back
        self.result_line = QLabel(wordWrap=True)
        self.result_line.setTextFormat(Qt.TextFormat.RichText)
        self.result_line.linkActivated.connect(lambda _link: self.undo())
        self.problems = QLabel(wordWrap=True)
        self.problems.setStyleSheet("color: #b3261e;")
        self.problems.setVisible(False)
        self.undo_btn = QPushButton("Undo (Ctrl+Z)")
        self.undo_btn.clicked.connect(self.undo)
        close = QPushButton("Close")
        close.setToolTip("Esc")
        close.clicked.connect(self.close)
        bottom = QHBoxLayout()
        bottom.addWidget(self.result_line, 1)
        bottom.addWidget(self.undo_btn)
        bottom.addWidget(close)
        for btn in (self.resolve_btn, self.skip_btn, self.distinct_btn, self.undo_btn, close,
                    self.resolve_all_btn):
            btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            btn.setAutoDefault(False)  # (Enter resolves the group: no button takes it)

        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(others)
        lay.addLayout(status)
        lay.addWidget(self.pages, 1)
        lay.addWidget(self.problems)
        lay.addLayout(bottom)
        self._set_last(None)
        self.groups_view.setFocus()

    def _focus_groups(self, _index: int = 0) -> None:
        self.groups_view.setFocus()

    def _build_keys(self) -> None:
        keys: list[tuple[str | QKeySequence, Callable[[], None]]] = [
            ("Left", lambda: self.step_keep(-1)), ("Right", lambda: self.step_keep(1)),
            ("Return", self.resolve_current), ("Enter", self.resolve_current),
            ("S", self.skip), ("Space", self.skip), ("N", self.not_duplicates),
            ("Ctrl+Z", self.undo)]
        keys += [(str(n), partial(self.choose_keep, n - 1)) for n in range(1, 10)]
        for key, fn in keys:
            QShortcut(QKeySequence(key), self, fn)

    # -- finding -----------------------------------------------------------------------------

    def find_groups(self) -> None:
        """Look for duplicates again (scope, near-identical shots as now chosen), in the
        duplicates pool; a find still running is stopped at its next progress."""
        if self._closed:
            return
        self._generation += 1
        gen = self._generation
        folder = self.scope.currentData()
        similar = self.similar.isChecked()
        self.finding = True
        self._progress = None
        self._show_progress()
        self._tick.start()
        if not self.groups:
            self._current_changed()  # ("Looking for duplicates…" where the groups will be)
        lib = self.library

        def progress(what: str, done: int, total: int) -> None:  # (the find's thread)
            if gen != self._generation or self._closed:
                raise _Stopped
            self._progress = (what, done, total)

        def work() -> list[Group]:
            if gen != self._generation or self._closed:
                raise _Stopped
            return lib.duplicates.find(folder, similar=similar, progress=progress)

        run_task(self.pool, work, lambda groups: self._found(gen, groups),
                 lambda e: self._find_failed(gen, e))

    def _show_progress(self) -> None:
        if not self.finding:
            return
        p = self._progress
        if p is None or not p[2]:
            self.state.setText((p[0] if p else "Looking for duplicates") + "…")
            self.busy.setRange(0, 0)
        else:
            what, done, total = p
            self.state.setText(f"{what} {done:,}/{total:,}…")
            self.busy.setRange(0, total)
            self.busy.setValue(done)
        self.busy.setVisible(True)
        self.state.setVisible(True)

    def _stale(self, gen: int) -> bool:
        return self._closed or not isValid(self) or gen != self._generation

    def _found(self, gen: int, groups: list[Group]) -> None:
        if self._stale(gen):
            return
        self._done_finding()
        keep = self._reselect or self.current_key()
        row = self.groups_view.currentRow()
        self._reselect = None
        self.groups = [g for g in groups if group_key(g) not in self._gone]
        keys = {group_key(g) for g in self.groups}
        self.chosen = {k: p for k, p in self.chosen.items() if k in keys}
        self._fill_list(keep, row)

    def _find_failed(self, gen: int, e: Exception) -> None:
        if isinstance(e, _Stopped) or self._stale(gen):
            return
        self._done_finding()
        self.groups = []
        self._fill_list(None, 0)
        self.empty.setText(f"Duplicates could not be looked for: {unexpected_text(e)}")

    def _done_finding(self) -> None:
        self.finding = False
        self._tick.stop()
        self.busy.setVisible(False)
        self.state.setText("")
        self.state.setVisible(False)

    def _fill_list(self, keep: Key | None, row: int) -> None:
        self.groups_view.blockSignals(True)
        self.groups_view.clear()
        for g in self.groups:
            item = QListWidgetItem(group_title(g))
            item.setData(KEY_ROLE, group_key(g))
            item.setToolTip("\n".join(shown(m.path) for m in g.members))
            self.groups_view.addItem(item)
        self.groups_view.blockSignals(False)
        target = next((i for i, g in enumerate(self.groups) if group_key(g) == keep), None)
        if target is None and self.groups:
            target = max(0, min(row, len(self.groups) - 1))
        self._show_count()
        if target is None:
            self._current_changed()
        else:
            self.groups_view.setCurrentRow(target)  # (shows it)
            if self.groups_view.currentRow() == target:
                self._current_changed()

    def _show_count(self) -> None:
        going = sum(len(g.others) for g in self.groups)
        self.header.setText(f"<b>{plural(len(self.groups), 'group')}</b> · "
                            f"{plural(going, 'photo')} could go")
        self.resolve_all_btn.setEnabled(bool(self.groups))

    def _fill_scopes(self, folders) -> None:
        if self._closed or not isValid(self):
            return
        self.scope.blockSignals(True)
        for f in folders:
            self.scope.addItem(elide_path(f.path, self.scope.font(), 360), f.path)
            self.scope.setItemData(self.scope.count() - 1, shown(f.path),
                                   Qt.ItemDataRole.ToolTipRole)
        self.scope.blockSignals(False)

    def _none_text(self) -> str:
        folder = self.scope.currentData()
        where = "the whole library" if folder is None else shown(folder)
        text = f"No duplicates in {where}."
        if not self.similar.isChecked():
            text += ("\n\nOnly the same photo saved more than once is looked for: tick "
                     "“Near-identical shots too” to also find bursts and light crops.")
        return text

    # -- the current group -------------------------------------------------------------------

    def current_key(self) -> Key | None:
        item = self.groups_view.currentItem()
        return item.data(KEY_ROLE) if item is not None else None

    def _base(self) -> Group | None:
        """The current group as found: the cards' order, the suggested photo first."""
        row = self.groups_view.currentRow()
        return self.groups[row] if 0 <= row < len(self.groups) else None

    def current_group(self) -> Group | None:
        """The current group with the photo chosen to keep first."""
        g = self._base()
        if g is None:
            return None
        chosen = self.chosen.get(group_key(g))
        return g.keeping(chosen) if chosen else g

    def _current_changed(self) -> None:
        g = self._base()
        if g is None:
            self.pages.setCurrentWidget(self.empty)
            if not self.finding:
                self.empty.setText(self._none_text())
            else:
                self.empty.setText("Looking for duplicates…")
            return
        self.pages.setCurrentWidget(self.split)
        chosen = self.chosen.get(group_key(g))
        self.keep_index = next((i for i, m in enumerate(g.members) if m.path == chosen), 0)
        self._make_cards(g)
        self._show_group()
        self._sharpen(g)
        self.card_scroll.horizontalScrollBar().setValue(0)
        if self.keep_index:  # (chosen before: in view once the cards are laid out)
            QTimer.singleShot(0, self, self._scroll_to_kept)

    def _scroll_to_kept(self) -> None:
        cards = self.card_widgets()
        if 0 <= self.keep_index < len(cards):
            self.card_scroll.ensureWidgetVisible(cards[self.keep_index])

    def _make_cards(self, g: Group) -> None:
        while self.cards.count() > 1:  # (the stretch at the end stays)
            item = self.cards.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.hide()  # (deleted when the event loop next runs: not shown till then)
                w.deleteLater()
        for i in range(len(g.members)):
            card = PhotoCard(i)
            card.clicked.connect(self.choose_keep)
            self.cards.insertWidget(i, card)
        self._fill_cards(g)

    def card_widgets(self) -> list[PhotoCard]:
        items = (self.cards.itemAt(i) for i in range(self.cards.count()))
        return [w for it in items if it is not None and isinstance(w := it.widget(), PhotoCard)]

    def _fill_cards(self, g: Group) -> None:
        ms = g.members
        differs = {k for k, f in (("format", lambda m: (m.format, m.width, m.height)),
                                  ("size", lambda m: m.size), ("date", when),
                                  ("sharpness", lambda m: m.sharpness),
                                  ("raw", lambda m: bool(m.companion)))
                   if len({f(m) for m in ms}) > 1}
        sharp = [m.sharpness for m in ms if m.sharpness is not None]
        best = max(sharp) if "sharpness" in differs and len(sharp) == len(ms) else None
        for card, m in zip(self.card_widgets(), ms, strict=False):
            card.show_member(m, differs, best is not None and m.sharpness == best)
            pm = self.thumbs.get(m.path)
            card.set_pixmap(pm, self.thumbs.failed(m.path))

    def _show_group(self) -> None:
        """Who is kept, why, and what the buttons do, for the current group."""
        g = self._base()
        if g is None:
            self.resolve_btn.setEnabled(False)
            return
        n = len(g.others)
        marking = self.mark.isChecked()
        chosen = self.keep_index != 0
        reason = "Chosen by you" if chosen else f"Suggested: {g.why}"
        fate = "Marked as duplicate" if marking else "→ Trash"
        for card in self.card_widgets():
            card.set_role(card.position == self.keep_index, reason, fate)
        self.resolve_btn.setText(
            (f"Mark {plural(n, 'photo')} as duplicate" + "s" * (n != 1) if marking
             else f"Move {plural(n, 'photo')} to the Trash") + " (Enter)")
        self.resolve_btn.setToolTip("Keep the highlighted photo (it gets the others' tags and "
                                    "category examples) and go to the next group")
        self.resolve_btn.setEnabled(True)
        row = self.groups_view.currentRow()
        if g.kind == SAME:
            what = ("These files are the same photo (copied, re-saved, resized, converted "
                    "or rotated).")
        else:
            what = ("These are near-identical shots (a burst, a light crop or edit): look "
                    "before you choose.")
        self.group_label.setText(f"<b>Group {row + 1} of {len(self.groups)}</b> · "
                                 f"{KIND_TEXT.get(g.kind, g.kind)} · {what}")

    def _sharpen(self, g: Group) -> None:
        """Measure the group's sharpness (slow-ish: each photo decoded) in the duplicates
        pool; the cards show "—" meanwhile."""
        key = group_key(g)
        self.current_sharpness = key
        if all(m.sharpness is not None for m in g.members) or key in self._sharpening:
            return
        self._sharpening.add(key)
        lib = self.library

        def work() -> Group:
            if key != self.current_sharpness or self._closed:
                raise _Stopped  # (the user went on: measured if shown again)
            return lib.duplicates.with_sharpness(g)

        run_task(self.pool, work, lambda sharp: self._sharpened(key, sharp),
                 lambda e: self._not_sharpened(key, e))

    def _sharpened(self, key: Key, sharp: Group) -> None:
        if self._closed or not isValid(self):
            return
        self._sharpening.discard(key)
        for i, g in enumerate(self.groups):
            if group_key(g) == key:
                self.groups[i] = sharp
        if self.current_key() == key:
            self._fill_cards(sharp)

    def _not_sharpened(self, key: Key, e: Exception) -> None:
        if self._closed or not isValid(self):
            return
        self._sharpening.discard(key)
        g = self._base()
        if isinstance(e, _Stopped) and g is not None and group_key(g) == key:
            self._sharpen(g)  # (stopped as the user went on, and came back since)

    def _thumb_ready(self, path: str) -> None:
        for card in self.card_widgets():
            if card.path == path:
                card.set_pixmap(self.thumbs.get(path), self.thumbs.failed(path))

    # -- the keys ----------------------------------------------------------------------------

    def choose_keep(self, position: int) -> None:
        """Keep the photo of the card at ``position`` (0: the first card)."""
        g = self._base()
        if g is None or not 0 <= position < len(g.members):
            return
        self.keep_index = position
        key = group_key(g)
        if position == 0:
            self.chosen.pop(key, None)
        else:
            self.chosen[key] = g.members[position].path
        self._show_group()
        self._scroll_to_kept()

    def step_keep(self, by: int) -> None:
        self.choose_keep(max(0, self.keep_index + by) if self._base() else 0)

    def skip(self) -> None:
        """The next group (after the last: the first again)."""
        if self.groups:
            self.groups_view.setCurrentRow((self.groups_view.currentRow() + 1) % len(self.groups))

    def not_duplicates(self) -> None:
        self.resolve_current("distinct")

    def action(self) -> str:
        return "mark" if self.mark.isChecked() else "trash"

    # -- resolving ---------------------------------------------------------------------------

    def resolve_current(self, action: str | None = None) -> None:
        """Keep the chosen photo of this group and deal with the others by ``action`` (the
        one chosen above); the next group shows."""
        g = self.current_group()
        if g is not None:
            self._resolve([g], action or self.action())

    def resolve_all(self) -> None:
        if not self.groups:
            return
        groups = []
        for g in self.groups:
            chosen = self.chosen.get(group_key(g))
            groups.append(g.keeping(chosen) if chosen else g)
        files = sum(len(g.others) for g in groups)
        similar = sum(g.kind != SAME for g in groups)
        where = ("mark the other " + plural(files, "photo") + " as duplicates (keyword "
                 "“duplicate”); no file is moved" if self.action() == "mark" else
                 "move the other " + plural(files, "photo") + " to the Trash")
        text = (f"Keep one photo of each of the {plural(len(groups), 'group')} (the one "
                f"highlighted: suggested, or chosen by you) and {where}?")
        if similar:
            text += (f"\n\n{plural(similar, 'group')} {'are' if similar != 1 else 'is'} "
                     "near-identical shots, not the same photo.")
        text += "\n\nThe kept photos get the others' tags and category examples. Undo " \
                "(Ctrl+Z) takes it all back."
        if QMessageBox.question(self, "Resolve all duplicates", text) \
                != QMessageBox.StandardButton.Yes:
            return
        self._resolve(groups, self.action())

    def _resolve(self, groups: list[Group], action: str) -> None:
        keys = [group_key(g) for g in groups]
        self._gone.update(keys)
        row = self.groups_view.currentRow()
        self.groups = [g for g in self.groups if group_key(g) not in self._gone]
        self._fill_list(None, row)
        self.resolving += 1
        n = sum(len(g.others) for g in groups)
        self.result_line.setText({"trash": f"Moving {plural(n, 'photo')} to the Trash…",
                             "mark": f"Marking {plural(n, 'photo')} as duplicates…",
                             "distinct": "Keeping them as not duplicates…"}[action])
        self.problems.setVisible(False)
        lib = self.library

        def work() -> tuple[Resolution, str | None]:
            return lib.duplicates.resolve(groups, action), lib.duplicates.last()

        def done(out: tuple[Resolution, str | None]) -> None:
            self.resolving -= 1
            r, last = out
            if not isValid(self):
                return
            if r.groups:
                self._last_keys = keys
                self.changed.emit()  # (closed meanwhile too: the main window follows)
            if self._closed:
                return
            self._set_last(last)
            self.result_line.setText(resolution_text(r, last is not None))
            self._show_problems(r.problems)
            if r.problems:  # (a group left whole comes back)
                self._gone.difference_update(keys)
                self.find_groups()

        def failed(e: Exception) -> None:
            self.resolving -= 1
            if not isValid(self) or self._closed:
                return
            self.result_line.setText("")
            self._show_problems([unexpected_text(e)])
            self._gone.difference_update(keys)
            self.find_groups()

        run_task(self.edits, work, done, failed)

    def undo(self) -> None:
        """Take back the last resolution (its files back from the Trash); its groups show
        again."""
        if self.last is None or self._closed:
            return
        lib = self.library
        self.resolving += 1
        self.result_line.setText("Undoing…")
        self.problems.setVisible(False)
        self.undo_btn.setEnabled(False)
        back = self._last_keys

        def work() -> tuple[Undone, str | None]:
            return lib.duplicates.undo(), lib.duplicates.last()

        def done(out: tuple[Undone, str | None]) -> None:
            self.resolving -= 1
            u, last = out
            if not isValid(self):
                return
            self.changed.emit()
            if self._closed:
                return
            self._set_last(last)
            self.result_line.setText(undone_text(u))
            self._show_problems(u.problems)
            self._gone.clear()
            self._reselect = back[0] if back else None
            self._last_keys = []
            self.find_groups()

        def failed(e: Exception) -> None:
            self.resolving -= 1
            if not isValid(self) or self._closed:
                return
            if isinstance(e, NothingToUndo):
                self.result_line.setText("Nothing to undo.")
                self._set_last(None)
            else:
                self._show_problems([unexpected_text(e)])
                run_task(self.edits, lib.duplicates.last, self._set_last)

        run_task(self.edits, work, done, failed)

    def _set_last(self, last: str | None) -> None:
        if self._closed or not isValid(self):
            return
        self.last = last
        self.undo_btn.setEnabled(last is not None)
        self.undo_btn.setToolTip(f"Undo: {last} (Ctrl+Z)" if last else "Nothing to undo")

    def _show_problems(self, problems: list[str]) -> None:
        self.problems.setVisible(bool(problems))
        if problems:
            shown_ = problems[:5] + ([f"… and {len(problems) - 5} more"]
                                     if len(problems) > 5 else [])
            self.problems.setText("".join(paths_whole(p) for p in shown_))

    # -- closing -----------------------------------------------------------------------------

    def done(self, result: int) -> None:  # (Esc, Close, the window's ✕)
        self.shutdown()
        super().done(result)

    def shutdown(self) -> None:
        """Stop what is running for this dialog: a find stops at its next progress, queued
        thumbnails and sharpness are dropped."""
        if self._closed:
            return
        self._closed = True
        self._tick.stop()
        self.thumbs.shutdown()


def resolution_text(r: Resolution, can_undo: bool) -> str:
    """One line on what a resolution did: "2 photos moved to the Trash; the kept photo
    inherited 3 tags · Undo (Ctrl+Z)" (rich text: Undo is a link)."""
    if r.action == "trash":
        text = f"{plural(len(r.trashed), 'photo')} moved to the Trash" if r.trashed else \
            "Nothing was moved to the Trash"
    elif r.action == "mark":
        text = f"{plural(len(r.marked), 'photo')} marked as duplicates (keyword “duplicate”)"
    else:
        text = (f"{plural(r.groups, 'group')} kept as not duplicates: "
                f"{'it' if r.groups == 1 else 'they'} will not be shown again")
    inherited = [plural(r.inherited_tags, "tag")] if r.inherited_tags else []
    if r.inherited_examples:
        inherited.append(plural(r.inherited_examples, "category example"))
    if inherited:
        who = "the kept photo" if r.groups == 1 else "the kept photos"
        text += f"; {who} inherited {' and '.join(inherited)}"
    if r.problems:
        text += f"; {plural(len(r.problems), 'problem')} (below)"
    if can_undo and r.groups:
        text += " · <a href='undo'>Undo</a> (Ctrl+Z)"
    return text


def undone_text(u: Undone) -> str:
    if u.action == "trash":
        text = f"Undone: {plural(len(u.restored), 'photo')} back from the Trash"
    elif u.action == "mark":
        text = f"Undone: {plural(u.unmarked, 'photo')} no longer marked as duplicates"
    else:
        text = "Undone: the group is shown again"
    if u.problems:
        text += f"; {plural(len(u.problems), 'file')} could not come back (below)"
    return text + "."


__all__ = ["DuplicatesDialog", "PhotoCard", "group_title", "resolution_text", "undone_text"]
