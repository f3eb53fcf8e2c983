"""User categories in the app: the sidebar's category list (members, quality, threshold), the
grid's right-click "Add to category", and the review of suggestions (Y/N, arrows). Every
call into lib.categories runs in the library pool (gui/executors.py), never on the GUI
thread; what the menus offer comes from the sidebar's last read."""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QImageReader, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPushButton,
    QSlider,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from photoclip.core.categories.model import Category
from photoclip.core.errors import PhotoclipError, for_gui
from photoclip.core.paths import shown
from photoclip.core.search import query as grammar
from photoclip.gui.dialogs import keep_wrapped_text_whole, save_cancel
from photoclip.gui.executors import run_task, submenu_when_read
from photoclip.gui.format import plural
from photoclip.gui.preview import ImageCanvas
from photoclip.gui.tagsets import xmp_text

NAME_ROLE = Qt.ItemDataRole.UserRole


def category_query(name: str) -> str:
    """The search-bar text that shows a category's members."""
    return grammar.category_term(name)


class CategorySidebar(QWidget):
    """Categories with their member counts; the selected one's quality and threshold."""

    query = Signal(str)  # the search text that shows a category, e.g. category:Receipts
    changed = Signal()  # labels, thresholds or categories changed
    renamed = Signal(str, str)  # (old name, new name), before `changed`

    def __init__(self, library, pool, edits, parent=None):
        super().__init__(parent)
        self.library = library
        self.pool = pool  # reads and training (executors.library_pool)
        self.edits = edits  # what the user changes (executors.edit_pool)
        self.rows: dict[str, dict] = {}
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setRootIsDecorated(False)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemClicked.connect(self._clicked)
        self.tree.currentItemChanged.connect(lambda *_: self._show_selected())
        self.status = QLabel(wordWrap=True)
        self.status.setStyleSheet("color: palette(mid); font-size: 11px;")
        self.threshold = QSlider(Qt.Orientation.Horizontal)
        self.threshold.setRange(5, 95)
        self.threshold.setToolTip("How sure PhotoCLIP must be to count a photo in: right for "
                                  "fewer, surer members; left for more")
        self.threshold.sliderReleased.connect(self._threshold_moved)
        self.threshold_label = QLabel()
        self.review_btn = QPushButton("Review suggestions…")
        self.review_btn.clicked.connect(lambda: self.review(self.selected()))
        new = QPushButton("+ New category…")
        new.clicked.connect(lambda: self.new_category())  # (not clicked(bool) as ``then``)
        row = QHBoxLayout()
        row.addWidget(self.threshold_label)
        row.addWidget(self.threshold, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("<b>Categories</b>"))
        lay.addWidget(self.tree, 1)
        lay.addLayout(row)
        lay.addWidget(self.status)
        lay.addWidget(self.review_btn)
        lay.addWidget(new)
        self._running = self._dirty = False
        self._query = ""  # the search shown: its category (if any) is highlighted
        self._renamed: dict[str, str] = {}  # old → new name, until the list shows it
        self.refresh()

    # -- reading -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read categories and member counts (retraining what changed), then quality —
        off the GUI thread; requests made meanwhile are folded into one more round."""
        self._dirty = True
        if not self._running:
            self._start()

    def _start(self) -> None:
        self._dirty, self._running = False, True
        lib = self.library
        run_task(self.pool, lambda: lib.categories.overview(quality=False), self._fill,
                 self._failed)
        run_task(self.pool, lambda: lib.categories.overview(quality=True), self._round_done,
                 self._round_failed)

    def _round_done(self, rows) -> None:
        self._running = False
        self._fill(rows)
        if self._dirty:
            self._start()

    def _round_failed(self, e: Exception) -> None:
        self._running = False
        self._failed(e)

    @property
    def busy(self) -> bool:
        return self._running or self._dirty

    def _fill(self, rows: list[dict]) -> None:
        keep = self.selected()
        keep = self._renamed.pop(keep, keep) if keep is not None else None
        self.rows = {r["name"]: {**self.rows.get(r["name"], {}), **r} for r in rows}
        self.tree.clear()
        for r in rows:
            item = QTreeWidgetItem([r["name"], f"{r['members']:,}"])
            item.setData(0, NAME_ROLE, r["name"])
            item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
            item.setToolTip(0, f"{r['positives']} examples in, {r['negatives']} not in. "
                               "Click to show its members; right-click for more.")
            self.tree.addTopLevelItem(item)
            if r["name"] == keep:
                self.tree.setCurrentItem(item)
        self.tree.resizeColumnToContents(1)
        if keep is None and self.tree.topLevelItemCount():
            self.tree.setCurrentItem(self.tree.topLevelItem(0))
        self._highlight()
        self._show_selected()

    def select_for_query(self, text: str) -> None:
        """Highlight the category whose search ``text`` is, and none when the search shown is
        no category's: the main window calls this whenever the query changes. (The category
        last chosen stays the one whose threshold and quality are shown below the list.)"""
        self._query = text
        self._highlight()

    def _highlight(self) -> None:
        q = grammar.parse(self._query)
        wanted = q.category.casefold() if q.category and not q.tags and not q.text else None
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, NAME_ROLE).casefold() == wanted:
                if self.tree.currentItem() is not item:
                    self.tree.setCurrentItem(item)
                item.setSelected(True)
                return
        self.tree.clearSelection()

    def _show_selected(self) -> None:
        name = self.selected()
        row = self.rows.get(name) if name else None
        for w in (self.threshold, self.threshold_label, self.review_btn):
            w.setVisible(row is not None)
        if row is None:
            self.status.setText("Teach PhotoCLIP your own categories: select a few photos, "
                                "right-click → Add to category.")
            return
        self.threshold.setValue(round(row["threshold"] * 100))
        self.threshold_label.setText(f"Threshold {row['threshold']:.0%}")
        quality = row.get("quality_text") or "estimating quality…"
        self.status.setText(f"{row['name']}: {row['members']:,} members from "
                            f"{row['positives']} examples in and {row['negatives']} not in. "
                            f"Quality: {quality}.")

    def _failed(self, e: Exception) -> None:
        self.status.setText(f"Categories: {for_gui(e)}")

    def selected(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, NAME_ROLE) if item is not None else None

    def count(self, name: str) -> int | None:
        row = self.rows.get(name)
        return row.get("members") if row else None

    def _clicked(self, item: QTreeWidgetItem) -> None:
        self.show_members(item.data(0, NAME_ROLE))

    def show_members(self, name: str) -> None:
        self._query = category_query(name)
        self.query.emit(self._query)

    # -- actions -----------------------------------------------------------------------------

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        name = item.data(0, NAME_ROLE) if item is not None else None
        menu = QMenu(self)
        if name:
            menu.addAction("Show members", lambda: self.show_members(name))
            menu.addAction("Review suggestions…", lambda: self.review(name))
            menu.addAction("Rename or describe…", lambda: self.edit(name))
            menu.addAction("Export members to XMP sidecars…", lambda: self.export_xmp(name))
            menu.addAction("Delete…", lambda: self.delete(name))
        menu.addAction("New category…", self.new_category)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def names(self) -> list[str]:
        """The categories as last read (what the grid's menu offers)."""
        return list(self.rows)

    def new_category(self, then: Callable[[str], None] | None = None, photos: int = 0) -> None:
        """Ask for a name and create the category (in the library pool); ``then(name)``
        runs once it exists (``photos``: how many selected photos it then adds)."""
        dlg = CategoryEditor(self, "", "", photos)
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        name, description = dlg.name.text(), dlg.description.text()

        def created(cat: Category) -> None:
            self.refresh()
            if then is not None:
                then(cat.name)

        run_task(self.edits, lambda: self.library.categories.create(name, description), created,
                 self._refused)

    def edit(self, name: str) -> None:
        row = self.rows.get(name, {})
        dlg = CategoryEditor(self, name, row.get("description", ""))
        if dlg.exec() != QDialog.DialogCode.Accepted:
            return
        new_name, description = dlg.name.text(), dlg.description.text()

        def saved(cat: object) -> None:
            final = getattr(cat, "name", name)
            if final != name:  # the search shown and the selection follow the new name
                self._renamed[name] = final
                self.renamed.emit(name, final)

        self._write(lambda: self.library.categories.update(name, new_name, description), saved)

    def delete(self, name: str) -> None:
        if QMessageBox.question(self, "Delete category",
                                f"Delete {name} and its examples? No photo is touched."
                                ) != QMessageBox.StandardButton.Yes:
            return
        self._write(lambda: self.library.categories.delete(name))

    def _threshold_moved(self) -> None:
        name = self.selected()
        if name is None:
            return
        value = self.threshold.value() / 100
        self.threshold_label.setText(f"Threshold {value:.0%}")
        self._write(lambda: self.library.categories.update(name, threshold=value))

    def _write(self, change: Callable[[], object],
               then: Callable[[object], None] | None = None) -> None:
        """A change to the categories, in the library pool; then ``then(its result)``, and the
        list and the grid follow (a refused change is said)."""
        def done(result: object) -> None:
            if then is not None:
                then(result)
            self.refresh()
            self.changed.emit()

        run_task(self.edits, change, done, self._refused)

    def _refused(self, e: Exception) -> None:
        if isinstance(e, PhotoclipError):
            QMessageBox.warning(self, "Category", for_gui(e))
        else:
            self._failed(e)
        self.refresh()

    def export_xmp(self, name: str) -> None:
        if QMessageBox.question(
                self, "Export to XMP",
                f"PhotoCLIP will write the keyword Categories|{name} into a sidecar file next "
                "to each member (photo.jpg.xmp; existing sidecars are merged, their other "
                "fields kept) and take it out of non-members' sidecars.") \
                != QMessageBox.StandardButton.Yes:
            return
        self.status.setText("Writing XMP sidecars…")
        run_task(self.pool, lambda: self.library.categories.export_xmp(name),
                 lambda r: self.status.setText(xmp_text(r)), self._failed)

    def review(self, name: str | None) -> ReviewDialog | None:
        if not name:
            return None
        dlg = ReviewDialog(self.library, name, self.pool, self.edits, self)
        dlg.answered.connect(self.refresh)
        dlg.answered.connect(self.changed)  # (a category: search on show is re-run)
        dlg.show()
        self._review = dlg
        return dlg


class CategoryEditor(QDialog):
    """A category's name and description: a new one (``photos``: how many selected photos
    go in as its first examples), or one renamed (``name`` given)."""

    def __init__(self, parent, name: str, description: str, photos: int = 0):
        super().__init__(parent)
        self.setWindowTitle("Rename or describe" if name else "New category")
        self.name = QLineEdit(name, placeholderText="e.g. Receipts, Our dog Rex")
        self.description = QLineEdit(description,
                                     placeholderText="optional: e.g. a photo of a shop receipt")
        for field in (self.name, self.description):
            field.setMinimumWidth(360)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name:", self.name)
        form.addRow("Description:", self.description)
        if name:
            text = ("Its examples and members stay as they are. The description helps "
                    "PhotoCLIP while it has few examples.")
        elif photos:
            text = (f"The {plural(photos, 'photo')} you selected go in as its first "
                    f"{'examples' if photos > 1 else 'example'}. A few examples are enough to "
                    "start; PhotoCLIP learns the rest and gets better with every answer.")
        else:
            text = ("Then select photos that belong in it, right-click → Add to category. A "
                    "few examples are enough to start; PhotoCLIP learns the rest and gets "
                    "better with every answer.")
        self.hint = QLabel(text, wordWrap=True)
        self.hint.setStyleSheet("color: palette(mid);")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.hint)
        lay.addWidget(save_cancel(self))
        self.resize(520, 0)
        keep_wrapped_text_whole(self)


class ReviewDialog(QDialog):
    """The photos the category is least sure about, one at a time: Y = in it, N = not in it,
    ← → to move. Every answer is saved at once; the probe retrains in the background and the
    next questions come from the retrained one."""

    answered = Signal()

    def __init__(self, library, name: str, pool, edits, parent=None):
        super().__init__(parent)
        self.library = library
        self.name = name
        self.pool = pool  # the questions (suggestions)
        self.edits = edits  # the answers
        self.hits: list = []
        self.index = 0
        self.answers: dict[str, bool] = {}
        self._since_refill = 0
        self.setWindowTitle(f"Review: {name}")
        self.image = ImageCanvas()  # (fitted to its own room: never under the caption)
        self.image.setMinimumSize(QSize(360, 300))
        self.image.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # (the keys are Y, N, ← →)
        self.question = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.detail = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.detail.setStyleSheet("color: palette(mid);")
        yes = QPushButton("Yes, in it (Y)")
        no = QPushButton("No, not in it (N)")
        back = QPushButton("← Back")
        skip = QPushButton("Skip →")
        yes.clicked.connect(lambda: self.answer(True))
        no.clicked.connect(lambda: self.answer(False))
        back.clicked.connect(lambda: self.step(-1))
        skip.clicked.connect(lambda: self.step(1))
        for key, fn in (("Y", lambda: self.answer(True)), ("N", lambda: self.answer(False)),
                        ("Right", lambda: self.step(1)), ("Left", lambda: self.step(-1))):
            QShortcut(QKeySequence(key), self, fn)
        buttons = QHBoxLayout()
        for b in (back, yes, no, skip):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.question)
        lay.addWidget(self.image, 1)
        lay.addWidget(self.detail)
        lay.addLayout(buttons)
        self.question.setText("Finding the photos worth asking about…")
        self.resize(560, 520)
        keep_wrapped_text_whole(self)
        self.refill()

    def refill(self) -> None:
        """Ask the (retrained) category which photos to review next."""
        self._since_refill = 0
        run_task(self.pool, lambda: self.library.categories.suggestions(self.name, 20),
                 self._filled, lambda e: self.question.setText(for_gui(e)))

    def _filled(self, hits) -> None:
        done = self.hits[:self.index]  # (kept, so ← still shows what was answered)
        known = {h.path for h in done}
        self.hits = done + [h for h in hits if h.path not in known]
        self._show()

    def current(self):
        return self.hits[self.index] if 0 <= self.index < len(self.hits) else None

    def _show(self) -> None:
        hit = self.current()
        if hit is None:
            self.question.setText(f"Nothing left to ask about {self.name} right now.")
            self.image.set_pixmap(None)
            self.detail.setText("")
            return
        self.question.setText(f"<b>Is this in {self.name}?</b>")
        reader = QImageReader(hit.path)
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid() and max(size.width(), size.height()) > 720:
            reader.setScaledSize(size.scaled(720, 720, Qt.AspectRatioMode.KeepAspectRatio))
        pm = QPixmap.fromImage(reader.read())
        self.image.set_pixmap(None if pm.isNull() else pm,
                              message="This photo cannot be shown: it was moved, deleted or "
                                      "is damaged.")
        said = self.answers.get(hit.path)
        answer = "" if said is None else (" · you said yes" if said else " · you said no")
        likely = ("suggested by its name" if math.isnan(hit.score)  # (nothing learnt yet)
                  else f"{hit.score:.0%} likely in {self.name}")
        self.detail.setText(f"{shown(hit.path)} · {likely}{answer}"
                            f" · {self.index + 1} of {len(self.hits)}")

    def answer(self, positive: bool) -> None:
        hit = self.current()
        if hit is None:
            return
        run_task(self.edits, lambda: self.library.categories.label(self.name, [hit.id], positive),
                 lambda _: self.answered.emit(), lambda e: self.detail.setText(for_gui(e)))
        self.answers[hit.path] = positive
        self._since_refill += 1
        self.step(1)
        if self._since_refill >= 5 or self.index >= len(self.hits):
            self.refill()

    def step(self, by: int) -> None:
        self.index = max(0, min(len(self.hits), self.index + by))
        self._show()


def add_photo_actions(menu: QMenu, sidebar: CategorySidebar, paths: list[str], parent: QWidget,
                      on_change: Callable[[], None]) -> None:
    """Right-click on photos: add them to a category (or mark them not in it), forget them.
    The categories offered are the sidebar's; which of them the photos are examples of is
    read in the edit pool (after any edit queued there) and fills "Forget as example of"
    when known."""
    library, pool = sidebar.library, sidebar.edits

    def label(name: str, positive: bool | None) -> None:
        run_task(pool, lambda: library.categories.label(name, paths, positive),
                 lambda _: on_change(), refused)

    def refused(e: Exception) -> None:
        QMessageBox.warning(parent, "Category", for_gui(e))

    names = sidebar.names()
    menu.addSeparator()
    add = menu.addMenu("Add to category")
    for n in names:
        def add_to(n: str = n) -> None:
            label(n, True)

        add.addAction(n, add_to)
    add.addAction("New category…",
                  lambda: sidebar.new_category(lambda n: label(n, True), photos=len(paths)))
    if names:
        neg = menu.addMenu("Not in category")
        for n in names:
            def not_in(n: str = n) -> None:
                label(n, False)

            neg.addAction(n, not_in)
    def examples_of() -> list[tuple[str, str]]:
        labelled: set[str] = set()
        for p in paths:
            try:
                labelled |= set(library.categories.photo_labels(library.folders.photo_id(p)))
            except PhotoclipError:
                continue
        return [(n, n) for n in sorted(labelled)]

    submenu_when_read(menu, "Forget as example of", pool, examples_of,
                      lambda name: label(name, None))
