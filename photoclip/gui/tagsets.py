"""Tag sets in the app: the sidebar's tag list, the tag-set editor, a photo's tags in the
preview and the grid's right-click menu. Every call into lib.tags runs in the library pool
(gui/executors.py); the editor and the menus offer what the sidebar last read."""

from __future__ import annotations

import os
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid as shiboken_alive

from photoclip.core.errors import PhotoclipError, for_gui
from photoclip.core.paths import from_db, shown
from photoclip.core.search import query as grammar
from photoclip.core.tags.model import (
    LIBRARY,
    THRESHOLD,
    Label,
    TagSet,
    ThresholdEffect,
    starter_sets,
)
from photoclip.gui.dialogs import save_cancel
from photoclip.gui.executors import run_task, submenu_when_read
from photoclip.gui.format import plural

SET_ROLE = Qt.ItemDataRole.UserRole
QUERY_ROLE = Qt.ItemDataRole.UserRole + 1


def tag_query(set_name: str | None, label: str) -> str:
    """The search-bar text that shows a tag's photos."""
    name = f"{set_name}/{label}" if set_name else label
    return grammar.tag_term(name)


def xmp_text(report) -> str:
    """What an XMP export or import did, for the sidebar's status line: the report's own
    sentences, with the command-line option named as the choice the window offers."""
    text = "XMP: " + " ".join(report.sentences())
    if getattr(report, "failed", None):
        path, why = report.failed[0]
        text += f" {plural(len(report.failed), 'file')} could not be handled (first: " \
                f"{shown(path)}: {why})."
    return text.replace("(use --naming ext)", "(choose the “photo.jpg.xmp” naming)")


class TagSidebar(QWidget):
    """Tag sets and their labels with counts; clicking a label shows its photos."""

    tag_clicked = Signal(str)  # the search text, e.g. tag:Places/beach
    changed = Signal()  # tags were applied or edited
    saved = Signal(object)  # a tag set was created or edited (the TagSet as saved)

    def __init__(self, library, pool, edits, parent=None):
        super().__init__(parent)
        self.library = library
        self.pool = pool  # reads and tagging runs (executors.library_pool)
        self.edits = edits  # what the user changes (executors.edit_pool)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setColumnCount(2)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._menu)
        self.tree.itemClicked.connect(self._clicked)
        self.status = QLabel(wordWrap=True)
        self.status.setStyleSheet("color: palette(mid); font-size: 11px;")
        new = QPushButton("+ New tag set…")
        new.clicked.connect(self.new_set)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("<b>Tags</b>"))
        lay.addWidget(self.tree, 1)
        lay.addWidget(self.status)
        lay.addWidget(new)
        self._busy = False
        self.sets: dict[str, TagSet] = {}  # (as last read: what the dialogs and menus offer)
        self.keywords: list[str] = []
        self.folders: list[str] = []
        self.counts: dict[int, int] = {}  # tag id → photos carrying it (as last read)
        self.note = ""  # what the last action said (XMP, a set stopped, a problem)
        self._query = ""  # the search shown: its label (if any) is highlighted
        self._expanded: dict[str, bool] = {}  # a set's (or Keywords') state, kept over refreshes
        self._filling = False
        self.tree.itemExpanded.connect(lambda item: self._remember(item, True))
        self.tree.itemCollapsed.connect(lambda item: self._remember(item, False))
        self.refresh()

    def tag_names(self) -> list[str]:
        """Every label (``Set/label``) and keyword, as last read."""
        return sorted({f"{ts.name}/{lb.name}" for ts in self.sets.values() for lb in ts.labels}
                      | set(self.keywords))

    # -- reading -----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read sets, labels and counts (off the GUI thread)."""
        lib = self.library
        run_task(self.pool, lambda: (lib.tags.sets(), lib.tags.keywords(), lib.tags.counts(),
                                     lib.folders.all()), self._fill)

    def _remember(self, item: QTreeWidgetItem, expanded: bool) -> None:
        """The user opened or closed a set (or Keywords): it stays so over refreshes."""
        if not self._filling and item.parent() is None:
            self._expanded[_branch_key(item)] = expanded

    def _fill(self, data) -> None:
        self._filling = True
        try:
            self._fill_tree(data)
        finally:
            self._filling = False
        self.select_for_query(self._query)
        self._say()

    def _fill_tree(self, data) -> None:
        sets, keywords, counts, folders = data
        self.sets = {ts.name: ts for ts in sets}
        self.keywords = [name for _, name in keywords]
        self.folders = [f.path for f in folders]
        self.counts = counts
        self.tree.clear()
        for ts in sets:
            where = "library" if "" in ts.scopes else (
                plural(len(ts.scopes), "folder") if ts.scopes else "not applied")
            top = QTreeWidgetItem([ts.name, where])
            top.setData(0, SET_ROLE, ts.name)
            top.setToolTip(0, f"{'Exclusive' if ts.exclusive else 'Any number per photo'}; "
                              f"{'applied to ' + where if ts.scopes else 'not applied yet'}. "
                              "Right-click to apply or edit.")
            for lb in ts.labels:
                child = QTreeWidgetItem([lb.name, f"{counts.get(lb.id, 0):,}"])
                child.setData(0, SET_ROLE, ts.name)
                child.setData(0, QUERY_ROLE, tag_query(ts.name, lb.name))
                child.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(self._expanded.get(_branch_key(top), len(sets) <= 3))
        if keywords:
            top = QTreeWidgetItem(["Keywords", ""])
            for tid, name in keywords:
                child = QTreeWidgetItem([name, f"{counts.get(tid, 0):,}"])
                child.setData(0, QUERY_ROLE, tag_query(None, name))
                child.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                top.addChild(child)
            self.tree.addTopLevelItem(top)
            top.setExpanded(self._expanded.get(_branch_key(top), True))
        self.tree.resizeColumnToContents(1)

    def state_text(self) -> str:
        """What the applied sets give now, read with the list (never an old report's numbers:
        photos arrive, tags are taken off by hand)."""
        if not self.sets and not self.keywords:
            return ("Make a tag set (your own words, like beach, mountain, snow) and PhotoCLIP "
                    "tags your photos with it.")
        lines = []
        for ts in self.sets.values():
            if not ts.applied:
                continue
            n = sum(self.counts.get(lb.id, 0) for lb in ts.labels if lb.id is not None)
            lines.append(f"{ts.name}: {plural(n, 'photo')} tagged now" if ts.exclusive
                         else f"{ts.name}: {plural(n, 'tag')} on photos now")
        if not lines:
            return ""
        return "; ".join(lines) + ". New photos there are tagged as they arrive."

    def _say(self) -> None:
        if self._busy:
            return  # ("Tagging with …" until it is done)
        self.status.setText(" ".join(t for t in (self.note, self.state_text()) if t))

    def select_for_query(self, text: str) -> None:
        """Highlight the label (or keyword) whose search ``text`` is, and nothing when the
        search shown is no tag's: the main window calls this whenever the query changes."""
        self._query = text
        wanted = _tag_of(text)
        found = None
        if wanted is not None:
            for i in range(self.tree.topLevelItemCount()):
                top = self.tree.topLevelItem(i)
                for j in range(top.childCount()):
                    if _tag_of(top.child(j).data(0, QUERY_ROLE) or "") == wanted:
                        found = top.child(j)
        if found is None:
            self.tree.clearSelection()
            self.tree.setCurrentItem(None)
        elif self.tree.currentItem() is not found or not found.isSelected():
            self.tree.setCurrentItem(found)

    def label_item(self, set_name: str, label: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.data(0, SET_ROLE) == set_name:
                for j in range(top.childCount()):
                    if top.child(j).text(0) == label:
                        return top.child(j)
        return None

    def _clicked(self, item: QTreeWidgetItem) -> None:
        query = item.data(0, QUERY_ROLE)
        if query:
            self._query = query
            self.tag_clicked.emit(query)

    # -- actions -----------------------------------------------------------------------------

    def _menu(self, pos) -> None:
        item = self.tree.itemAt(pos)
        name = item.data(0, SET_ROLE) if item is not None else None
        menu = QMenu(self)
        if name:
            menu.addAction("Apply to the whole library", lambda: self.apply(name))
            folders = menu.addMenu("Apply to a folder")
            for path in self.folders:
                def apply_to(p: str = path) -> None:
                    self.apply(name, p)

                folders.addAction(shown(path), apply_to)
            if self.folders:
                folders.addSeparator()
            folders.addAction("A folder inside them…", lambda: self.apply_to_chosen(name))
            ts = self.sets.get(name)
            if ts is not None and ts.applied:
                stop = menu.addMenu("Stop tagging")
                stop.addAction("Everywhere", lambda: self.stop(name, None))
                if LIBRARY not in ts.scopes:  # (applied to the library: one way to stop)
                    for scope in ts.scopes:
                        def stop_in(s: str = scope) -> None:
                            self.stop(name, s)

                        stop.addAction(f"In {shown(from_db(scope))}", stop_in)
            menu.addAction("Edit…", lambda: self.edit_set(name))
            menu.addAction("Delete…", lambda: self.delete_set(name))
        menu.addAction("New tag set…", self.new_set)
        menu.addSeparator()
        menu.addAction("Export tags to XMP sidecars…", self.export_xmp)
        menu.addAction("Import keywords from XMP…", self.import_xmp)
        menu.exec(self.tree.viewport().mapToGlobal(pos))

    def export_xmp(self) -> None:
        """The one time PhotoCLIP writes next to photos: asked first, merged into sidecars."""
        choices = ["photo.jpg.xmp (digiKam, darktable)", "photo.xmp (Lightroom, Capture One)"]
        choice, ok = QInputDialog.getItem(
            self, "Export tags to XMP",
            "PhotoCLIP will write a sidecar file next to each tagged photo (existing sidecars "
            "are merged: their ratings, titles and other keywords stay).\nSidecar names:",
            choices, 0, False)
        if not ok:
            return
        naming = "base" if choice == choices[1] else "ext"
        self.status.setText("Writing XMP sidecars…")
        run_task(self.pool, lambda: self.library.tags.export_xmp(naming=naming), self._exported,
                 self._failed)

    def _exported(self, r) -> None:
        self.note = xmp_text(r)
        self._say()

    def import_xmp(self) -> None:
        self.status.setText("Reading keywords…")
        run_task(self.pool, self.library.tags.import_xmp, self._imported, self._failed)

    def _imported(self, r) -> None:
        self.note = xmp_text(r)
        self._say()
        self.refresh()
        self.changed.emit()

    def new_set(self) -> None:
        """The editor; the set is saved in the library pool (``saved`` says when)."""
        dlg = TagSetEditor(None, self, self.library, self.pool)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self._save(dlg, create=True)

    def edit_set(self, name: str) -> None:
        ts = self.sets.get(name)
        if ts is None:
            return
        dlg = TagSetEditor(ts, self, self.library, self.pool)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            self._save(dlg, create=False)

    def _save(self, dlg: TagSetEditor, create: bool) -> None:
        try:
            edited = dlg.tagset()
        except PhotoclipError as e:
            QMessageBox.warning(self, "Tag set", for_gui(e))
            return
        tags = self.library.tags

        def done(ts: TagSet) -> None:
            self.refresh()
            self.saved.emit(ts)
            if not create and ts.applied:
                self.apply(ts.name, None, redo=True)

        def failed(e: Exception) -> None:
            QMessageBox.warning(self, "Tag set", for_gui(e))

        run_task(self.edits, lambda: tags.create_set(edited) if create else tags.update_set(edited),
                 done, failed)

    def delete_set(self, name: str) -> None:
        if QMessageBox.question(
                self, "Delete tag set",
                f"Delete {name} and every tag it gave, your own included? Photos are not "
                "touched.") == QMessageBox.StandardButton.Yes:
            def deleted(_: object) -> None:
                self.refresh()
                self.changed.emit()

            run_task(self.edits, lambda: self.library.tags.delete_set(name), deleted, self._failed)

    def apply_to_chosen(self, name: str) -> None:
        """A folder chooser opened at a library folder; any folder inside the library is
        taken (checked in the library pool), another is refused with a sentence."""
        start = self.folders[0] if self.folders else os.path.expanduser("~")
        path = QFileDialog.getExistingDirectory(self, f"Apply {name} to a folder", start)
        if not path:
            return

        def refused(e: Exception) -> None:
            QMessageBox.warning(self, "Apply to a folder", for_gui(e))

        run_task(self.pool, lambda: self.library.folders.inside(path),
                 lambda folder: self.apply(name, folder), refused)

    def stop(self, name: str, folder: str | None) -> None:
        """Stop a set tagging (everywhere, or in one of its folders): how many automatic tags
        go is counted first (library pool), then asked; tags set by hand stay."""
        ts = self.sets.get(name)
        if ts is None:
            return
        where = "anywhere" if folder is None else f"in {shown(from_db(folder))}"

        def ask(going: int) -> None:
            if QMessageBox.question(
                    self, "Stop tagging",
                    f"Stop tagging photos {where} with {name}? Its "
                    f"{plural(going, 'automatic tag')} there go; tags you set by hand stay, and "
                    f"so does the set, to apply again.") != QMessageBox.StandardButton.Yes:
                return
            self._busy = True
            self.status.setText(f"Stopping {name}…")
            run_task(self.pool, lambda: self.library.tags.unapply(
                name, None if folder is None else from_db(folder)), stopped, self._failed)

        def stopped(gone: int) -> None:
            self._busy = False
            self.note = (f"{name} no longer tags photos {where}; "
                         f"{plural(gone, 'automatic tag')} taken off (tags set by hand stay).")
            self.refresh()
            self.changed.emit()

        run_task(self.pool, lambda: self.library.tags.unapply(
            name, None if folder is None else from_db(folder), dry_run=True), ask, self._failed)

    def apply(self, name: str, folder: str | None = None, redo: bool = False) -> None:
        """Tag now (in the background), and every new photo there from now on."""
        self._busy = True
        self.status.setText(f"Tagging with {name}…")
        lib = self.library
        work = (lambda: lib.tags.retag(name)) if redo else (lambda: lib.tags.apply(name, folder))
        run_task(self.pool, work, self._applied, self._failed)

    def _applied(self, report) -> None:
        self._busy = False
        self.note = report.problem or ""  # (the numbers are read with the list, below)
        self.status.setText(f"{report.tagset} applied; counting its tags…")
        self.refresh()
        self.changed.emit()

    def _failed(self, err: Exception) -> None:
        self._busy = False
        self.note = f"Could not tag: {for_gui(err)}"
        self._say()


class TagSetEditor(QDialog):
    """Name, labels (one per line, 'label = synonym, synonym'), context, exclusive, strictness.
    Under the strictness, what a value would keep of each label before it is saved (read in
    ``pool`` with lib.tags.threshold_effect once the spin box rests)."""

    EFFECT_DELAY_MS = 400

    def __init__(self, tagset: TagSet | None, parent=None, library=None, pool=None):
        super().__init__(parent)
        self.setWindowTitle("Edit tag set" if tagset else "New tag set")
        self.original = tagset
        self.name = QLineEdit(tagset.name if tagset else "")
        self.name.setPlaceholderText("Places")
        self.labels = QPlainTextEdit()
        self.labels.setPlaceholderText("beach = seaside, shore\nmountain\ncity street\nsnow")
        if tagset:
            self.labels.setPlainText(_label_lines(tagset))
        self.context = QLineEdit(tagset.context if tagset else "")
        self.context.setPlaceholderText("optional, e.g. a photo taken at the {}.")
        self.exclusive = QCheckBox("At most one label per photo (the best fit)")
        self.exclusive.setChecked(bool(tagset and tagset.exclusive))
        self.threshold = QDoubleSpinBox(minimum=-5, maximum=10, singleStep=0.5, decimals=1)
        self.threshold.setValue(tagset.threshold if tagset else THRESHOLD)
        self.threshold.setToolTip("Higher is stricter: fewer, surer tags. 0 means a label must "
                                  "be likelier than the photo's runner-up everyday subject.")
        self.library, self.pool = library, pool
        self.effect = QLabel(wordWrap=True)
        self.effect.setStyleSheet("color: palette(mid);")
        self._effect_round = 0
        self._effect_timer = QTimer(self, singleShot=True, interval=self.EFFECT_DELAY_MS)
        self._effect_timer.timeout.connect(self._read_effect)
        if self._can_show_effect():
            self.effect.setText("Change it to see, label by label, how many photos it would "
                                "keep.")
            self.threshold.valueChanged.connect(lambda _: self._effect_timer.start())
        else:
            self.effect.setText("Once the set is saved, this says label by label how many "
                                "photos a strictness keeps.")
        self.starter = QComboBox()
        self.starter.addItem("—", None)
        for key, ts in starter_sets().items():
            self.starter.addItem(ts.name, key)
        self.starter.currentIndexChanged.connect(self._use_starter)
        form = QFormLayout()
        if tagset is None:
            form.addRow("Start from", self.starter)
        form.addRow("Name", self.name)
        form.addRow("Labels", self.labels)
        form.addRow("Context", self.context)
        form.addRow("", self.exclusive)
        form.addRow("Strictness", self.threshold)
        form.addRow("", self.effect)
        buttons = save_cancel(self)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.resize(460, 420)

    def _can_show_effect(self) -> bool:
        return (self.original is not None and self.original.id is not None
                and self.library is not None and self.pool is not None)

    def _read_effect(self) -> None:
        """What the value shown would keep (the set's labels as saved), off the GUI thread;
        only the newest value's answer is shown."""
        if not self._can_show_effect():
            return
        self._effect_round += 1
        mine, value = self._effect_round, self.threshold.value()
        name, tags = self.original.name, self.library.tags  # type: ignore[union-attr]
        self.effect.setText("Counting what each label would keep…")

        def show(effects: list[ThresholdEffect]) -> None:
            if mine == self._effect_round and shiboken_alive(self):
                self.effect.setText(effect_text(effects, value))

        def failed(e: Exception) -> None:
            if mine == self._effect_round and shiboken_alive(self):
                self.effect.setText(f"Cannot say what it would keep: {for_gui(e)}")

        run_task(self.pool, lambda: tags.threshold_effect(name, value), show, failed)

    def _use_starter(self) -> None:
        key = self.starter.currentData()
        if key is None:
            return
        ts = starter_sets()[key]
        self.name.setText(ts.name)
        self.labels.setPlainText(_label_lines(ts))
        self.context.setText(ts.context)
        self.exclusive.setChecked(ts.exclusive)
        self._starter = ts

    def tagset(self) -> TagSet:
        labels = [Label.parse(line) for line in self.labels.toPlainText().splitlines()
                  if line.strip()]
        starter = getattr(self, "_starter", None)
        by_name = {}
        if self.original is not None:
            by_name = {lb.name.lower(): lb for lb in self.original.labels}
        elif starter is not None:
            by_name = {lb.name.lower(): lb for lb in starter.labels}
        for lb in labels:  # keep what the text box does not show (ids, prompts, thresholds)
            old = by_name.get(lb.name.lower())
            if old is not None:
                lb.id = old.id if self.original is not None else None
                lb.prompts, lb.threshold = old.prompts, old.threshold
        return TagSet(self.name.text().strip(), labels, self.exclusive.isChecked(),
                      self.context.text().strip(), self.threshold.value(),
                      id=self.original.id if self.original else None)


def effect_text(effects: list[ThresholdEffect], value: float, shown: int = 5) -> str:
    """'At 2: frog 91 → 1 · dog 109 → 88 · …': the labels that change most (relatively)
    first, ``shown`` of them, the rest summed up; labels with their own strictness are not
    moved by the set's and are only counted."""
    moving = [e for e in effects if not e.own_threshold]
    own = len(effects) - len(moving)
    changed = sorted((e for e in moving if e.then != e.now),
                     key=lambda e: (-abs(e.then - e.now) / max(e.now, 1), e.label))
    if not changed:
        text = f"At {value:g} every label keeps the photos it has now"
    else:
        parts = [f"{e.label} {e.now:,} → {e.then:,}" for e in changed[:shown]]
        rest = changed[shown:]
        if rest:
            parts.append(f"{plural(len(rest), 'more label')}: {sum(e.now for e in rest):,} → "
                         f"{sum(e.then for e in rest):,}")
        same = len(moving) - len(changed)
        if same:
            parts.append(f"{plural(same, 'label')} unchanged")
        text = f"At {value:g} (photos tagged now → then): " + " · ".join(parts)
    if own:
        text += (" (1 label keeps its own strictness)" if own == 1
                 else f" ({own:,} labels keep their own strictness)")
    return text + "."


def _branch_key(item: QTreeWidgetItem) -> str:
    """A top-level row's key for its expanded state: the set's name, or Keywords'."""
    name = item.data(0, SET_ROLE)
    return f"set:{name}" if name else "keywords"


def _tag_of(text: str) -> tuple[str, ...] | None:
    """The one tag a search names alone (``tag:Places/beach``), compared without case;
    None for any other search."""
    q = grammar.parse(text)
    if q.category is not None or q.text or len(q.tags) != 1:
        return None
    return tuple(part.strip().casefold() for part in q.tags[0].replace("|", "/").split("/"))


def _label_lines(tagset: TagSet) -> str:
    """The editor's text for a set's labels: one a line, 'label = synonym, synonym'."""
    return "\n".join(lb.name + (" = " + ", ".join(lb.synonyms) if lb.synonyms else "")
                     for lb in tagset.labels)


class PhotoTags(QWidget):
    """A photo's tags in the preview: auto ones with their confidence, each removable; a box
    to add one. The user's word is stored as manual (it wins over every later auto-tagging)."""

    changed = Signal()
    shown = Signal()  # the chips show the photo's tags as read

    def __init__(self, library, pool, parent=None):
        super().__init__(parent)
        self.library = library
        self.pool = pool
        self.photo: str | None = None
        self.row = QHBoxLayout()
        self.row.setContentsMargins(0, 0, 0, 0)
        self.add = QLineEdit()
        self.add.setPlaceholderText("Add a tag…")
        self.add.setToolTip("Type a tag and press Enter; Esc goes back to the photo's keys")
        self.add.setMaximumWidth(180)
        self.add.returnPressed.connect(self._add)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addStretch(1)
        lay.addLayout(self.row)
        lay.addWidget(self.add)
        lay.addStretch(1)

    def show_photo(self, path: str) -> None:
        """Read the photo's tags (library pool), then show them as chips."""
        self.photo = path

        def read() -> list:
            try:
                return self.library.tags.photo_tags(path)
            except PhotoclipError:
                return []

        run_task(self.pool, read, lambda tags: self._chips(path, tags))

    def _chips(self, path: str, tags: list) -> None:
        if path != self.photo or not shiboken_alive(self):
            return  # (another photo is shown by now, or the preview closed)
        while self.row.count():
            w = self.row.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        for t in tags:
            name = "/".join(t.hierarchical)
            how = (f"auto {t.confidence:.0%}" if t.source == "auto" and t.confidence is not None
                   else "yours")
            chip = QToolButton()
            chip.setText(f"{t.name}  ·  {how}  ✕")
            chip.setObjectName(f"tag-chip:{name}")
            who = "given by its tag set" if t.source == "auto" else "added by you"
            chip.setToolTip(f"{name} ({who}). Click to remove: it stays removed.")
            chip.clicked.connect(lambda _=False, t=t.tag_id: self.remove(t))
            self.row.addWidget(chip)
        if not tags:
            self.row.addWidget(QLabel("No tags"))
        self.shown.emit()

    def remove(self, tag: str | int) -> None:
        """Take a tag (its id, or a name as 'tags' prints it) off the photo shown."""
        if self.photo is not None:
            self._set(self.photo, tag, present=False)

    def _add(self) -> None:
        text = self.add.text().strip()
        if text and self.photo is not None:
            self._set(self.photo, text, present=True)
            self.add.clear()

    def _set(self, photo: str, tag: str | int, present: bool) -> None:
        def done(_: object) -> None:
            self.show_photo(photo)
            self.changed.emit()

        def failed(e: Exception) -> None:
            QMessageBox.warning(self, "Tag", for_gui(e))

        run_task(self.pool, lambda: self.library.tags.set([photo], tag, present=present), done,
                 failed)


class AddTagDialog(QDialog):
    """"Tag 3 photos with:" — a field that starts empty (Enter adds nothing until a tag is
    typed) and completes the sidebar's tags as they are typed."""

    def __init__(self, photos: int, names: list[str], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Add tag")
        self.field = QLineEdit()
        self.field.setPlaceholderText("a tag, e.g. holiday or Places/beach")
        self.field.setMinimumWidth(320)
        completer = QCompleter(names, self.field)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.field.setCompleter(completer)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Add tag")
        self.ok.setEnabled(False)
        self.field.textChanged.connect(lambda text: self.ok.setEnabled(bool(text.strip())))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Tag {plural(photos, 'photo')} with:"))
        lay.addWidget(self.field)
        lay.addWidget(self.buttons)

    def tag(self) -> str:
        return self.field.text().strip()

    def accept(self) -> None:
        if self.tag():  # (Enter in an empty field adds nothing)
            super().accept()


def add_photo_actions(menu: QMenu, sidebar: TagSidebar, paths: list[str], parent: QWidget,
                      on_change: Callable[[], None]) -> None:
    """Right-click on photos: add a tag, remove one of theirs. The names offered are the
    sidebar's; the photos' own tags are read in the edit pool (after any edit queued there)
    and fill "Remove tag" when known."""
    library, pool = sidebar.library, sidebar.edits

    def tag(name: str | int, present: bool) -> None:
        def failed(e: Exception) -> None:
            QMessageBox.warning(parent, "Tag", for_gui(e))

        run_task(pool, lambda: library.tags.set(paths, name, present=present),
                 lambda _: on_change(), failed)

    def add() -> None:
        dlg = AddTagDialog(len(paths), sidebar.tag_names(), parent)
        if dlg.exec() == QDialog.DialogCode.Accepted and dlg.tag():
            tag(dlg.tag(), True)

    menu.addSeparator()
    menu.addAction("Add tag…", add)

    def theirs() -> list[tuple[str, int]]:
        current: dict[str, int] = {}
        for p in paths:
            try:
                for t in library.tags.photo_tags(p):
                    current["/".join(t.hierarchical)] = t.tag_id
            except PhotoclipError:
                continue
        return sorted(current.items())

    submenu_when_read(menu, "Remove tag", pool, theirs, lambda tag_id: tag(tag_id, False))
