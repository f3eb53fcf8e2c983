"""Duplicates' SQL (core/duplicates): the facts a finder needs about each photo, the
perceptual hashes, what the user decided (marked duplicates, pairs that are not), and each
resolution with what it changed, so that the last one can be undone.

A resolution changes the user's rows only in ways it records: a tag or example the kept photo
inherits, the "duplicate" keyword a marked photo gets. Undo puts back each row that is still
as the resolution left it (a tag the user changed since stays as the user left it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from photoclip.core.paths import from_db, to_db
from photoclip.core.store.catalog import Catalog, prefix_range
from photoclip.core.store.tags import keyword_in

MARK_KEYWORD = "duplicate"  # the keyword a photo marked as a duplicate gets (searchable, XMP)


@dataclass(frozen=True)
class PhotoFacts:
    id: int
    path: str
    companion: str | None
    size: int
    width: int | None
    height: int | None
    taken_at: str | None
    mtime_ns: int
    content_hash: str | None
    phash: int | None


@dataclass
class Changes:
    """What one resolution did to the user's rows (JSON in its record)."""

    # (photo, tag, source before or None, confidence before, model before, source set)
    tags: list[tuple[int, int, str | None, float | None, str | None, str]] = \
        field(default_factory=list)
    # (photo, category, positive before or None, positive set)
    labels: list[tuple[int, int, int | None, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Record:
    """A resolution as stored."""

    id: int
    action: str  # trash | mark | distinct
    resolved_at: float
    data: dict[str, Any]
    undone: bool


class DuplicateStore:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    # -- what the finder reads ---------------------------------------------------------------

    def photos(self, folder: str | None) -> list[PhotoFacts]:
        """The readable photos in ``folder`` (None: the library) on folders that are online,
        not marked as a duplicate already."""
        where, args = "", []
        if folder:
            where, args = "AND p.path >= ? AND p.path < ?", list(prefix_range(to_db(folder)))
        rows = self.catalog.conn.execute(
            "SELECT p.id, p.path, p.companion, p.size, p.width, p.height, p.taken_at, "
            "p.mtime_ns, p.content_hash, p.phash FROM photos p "
            "JOIN folders f ON f.id = p.folder_id "
            "WHERE p.status='ok' AND f.online=1 AND p.id NOT IN "
            f"(SELECT photo_id FROM duplicate_marks) {where} ORDER BY p.id", args)
        return [PhotoFacts(r[0], from_db(r[1]), from_db(r[2]) if r[2] else None, *r[3:])
                for r in rows]

    def phashes(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(ids, perceptual hashes) of the readable photos that have one, by id."""
        rows = self.catalog.conn.execute(
            "SELECT id, phash FROM photos WHERE phash IS NOT NULL AND status='ok' ORDER BY id")
        pairs = np.array(rows.fetchall(), np.int64).reshape(-1, 2)
        return np.ascontiguousarray(pairs[:, 0]), np.ascontiguousarray(pairs[:, 1])

    def set_phashes(self, items: Iterable[tuple[int, int]]) -> None:
        with self.catalog.transaction() as tx:
            tx.executemany("UPDATE photos SET phash=? WHERE id=?",
                           ((h, pid) for pid, h in items))

    def distinct_pairs(self) -> set[tuple[int, int]]:
        """Pairs of photos (smaller id first) the user said are not duplicates."""
        return {(int(a), int(b)) for a, b in
                self.catalog.conn.execute("SELECT a, b FROM duplicate_distinct")}

    def facts_of(self, ids: Sequence[int]) -> list[PhotoFacts]:
        out: list[PhotoFacts] = []
        ids = list(ids)
        for s in range(0, len(ids), 900):
            part = ids[s:s + 900]
            rows = self.catalog.conn.execute(
                "SELECT id, path, companion, size, width, height, taken_at, mtime_ns, "
                f"content_hash, phash FROM photos WHERE id IN ({','.join('?' * len(part))})",
                part)
            out += [PhotoFacts(r[0], from_db(r[1]), from_db(r[2]) if r[2] else None, *r[3:])
                    for r in rows]
        return out

    def with_content(self, content_hash: str, before: int) -> bool:
        """Whether a photo catalogued before photo ``before`` has this content."""
        return self.catalog.conn.execute(
            "SELECT 1 FROM photos WHERE content_hash=? AND id < ? AND status='ok' LIMIT 1",
            (content_hash, before)).fetchone() is not None

    # -- resolving ---------------------------------------------------------------------------

    def resolve(self, action: str, groups: Sequence[tuple[int, Sequence[int]]],
                data: dict[str, Any], forget: Sequence[int] = ()) -> int:
        """Record one resolution of ``groups`` ((kept photo, the others) each) in one
        transaction: the kept photo inherits the others' tags set by hand (and removals) and
        their category examples where it has none of its own; with "mark" the others are
        marked (and get the keyword), with "distinct" every pair of a group is remembered as
        not duplicates. ``forget``: photos whose files went to the trash (their rows go; what
        the user made for them is kept by content, as for any deleted photo). Returns the
        resolution's id."""
        changes = Changes()
        with self.catalog.transaction() as tx:
            rid = tx.execute(
                "INSERT INTO duplicate_resolutions(resolved_at, action, record) "
                "VALUES (?, ?, '{}')", (time.time(), action)).lastrowid
            assert rid is not None
            mark_tag = keyword_in(tx, MARK_KEYWORD) if action == "mark" else None
            for kept, others in groups:
                if action == "distinct":
                    members = sorted({kept, *others})
                    tx.executemany(
                        "INSERT OR IGNORE INTO duplicate_distinct(a, b, resolution_id) "
                        "VALUES (?, ?, ?)", [(a, b, rid) for i, a in enumerate(members)
                                             for b in members[i + 1:]])
                    continue
                self._inherit(tx, kept, others, changes)
                if mark_tag is not None:
                    for o in others:
                        self._set_tag(tx, o, mark_tag, "manual", changes)
                    tx.executemany(
                        "INSERT OR REPLACE INTO duplicate_marks(photo_id, kept_id, resolution_id)"
                        " VALUES (?, ?, ?)", [(o, kept, rid) for o in others])
            tx.executemany("DELETE FROM photos WHERE id=?", [(i,) for i in forget])
            data = {**data, "tags": changes.tags, "labels": changes.labels}
            tx.execute("UPDATE duplicate_resolutions SET record=? WHERE id=?",
                       (json.dumps(data), rid))
        return int(rid)

    def _inherit(self, tx: Any, kept: int, others: Sequence[int], changes: Changes) -> None:
        if not others:
            return
        marks = ",".join("?" * len(others))
        wanted: dict[int, str] = {}
        for tag_id, source in tx.execute(
                f"SELECT tag_id, source FROM photo_tags WHERE photo_id IN ({marks}) "
                "AND source != 'auto'", list(others)):
            if wanted.get(tag_id) != "manual":  # (a copy's tag wins over another's removal)
                wanted[tag_id] = source
        for tag_id, source in wanted.items():
            self._set_tag(tx, kept, tag_id, source, changes, keep_users=True)
        examples: dict[int, int] = {}
        for cat_id, positive in tx.execute(
                f"SELECT category_id, positive FROM category_labels WHERE photo_id IN ({marks})",
                list(others)):
            examples[cat_id] = max(examples.get(cat_id, 0), int(positive))
        for cat_id, positive in examples.items():
            had = tx.execute("SELECT positive FROM category_labels WHERE category_id=? AND "
                             "photo_id=?", (cat_id, kept)).fetchone()
            if had is not None:  # (the kept photo's own example stands)
                continue
            tx.execute("INSERT INTO category_labels(category_id, photo_id, positive, added_at) "
                       "VALUES (?, ?, ?, ?)", (cat_id, kept, positive, time.time()))
            tx.execute("UPDATE categories SET labels_rev=labels_rev + 1 WHERE id=?", (cat_id,))
            changes.labels.append((kept, cat_id, None, positive))

    @staticmethod
    def _set_tag(tx: Any, photo: int, tag_id: int, source: str, changes: Changes,
                 keep_users: bool = False) -> None:
        had = tx.execute("SELECT source, confidence, model FROM photo_tags WHERE photo_id=? "
                         "AND tag_id=?", (photo, tag_id)).fetchone()
        if had is not None and (had[0] == source or (keep_users and had[0] != "auto")):
            return  # (the photo's own word on the tag stands)
        tx.execute("INSERT INTO photo_tags(photo_id, tag_id, source, confidence, model) "
                   "VALUES (?, ?, ?, NULL, NULL) ON CONFLICT(photo_id, tag_id) DO UPDATE SET "
                   "source=excluded.source, confidence=NULL, model=NULL",
                   (photo, tag_id, source))
        before = (None, None, None) if had is None else tuple(had)
        changes.tags.append((photo, tag_id, before[0], before[1], before[2], source))

    # -- the record and undo ------------------------------------------------------------------

    def last(self) -> Record | None:
        r = self.catalog.conn.execute(
            "SELECT id, action, resolved_at, record, undone FROM duplicate_resolutions "
            "ORDER BY id DESC LIMIT 1").fetchone()
        if r is None:
            return None
        return Record(r[0], r[1], r[2], json.loads(r[3]), bool(r[4]))

    def undo(self, record: Record) -> int:
        """Take back what ``record`` changed in the catalog (files are the caller's); returns
        how many of the user's rows were put back as they were."""
        n = 0
        with self.catalog.transaction() as tx:
            for photo, tag_id, before, conf, model, set_to in record.data.get("tags", []):
                now = tx.execute("SELECT source FROM photo_tags WHERE photo_id=? AND tag_id=?",
                                 (photo, tag_id)).fetchone()
                if now is None or now[0] != set_to:
                    continue  # (changed by the user since: theirs stands)
                if before is None:
                    tx.execute("DELETE FROM photo_tags WHERE photo_id=? AND tag_id=?",
                               (photo, tag_id))
                else:
                    tx.execute("UPDATE photo_tags SET source=?, confidence=?, model=? "
                               "WHERE photo_id=? AND tag_id=?",
                               (before, conf, model, photo, tag_id))
                n += 1
            for photo, cat_id, _before, set_to in record.data.get("labels", []):
                now = tx.execute("SELECT positive FROM category_labels WHERE category_id=? AND "
                                 "photo_id=?", (cat_id, photo)).fetchone()
                if now is None or now[0] != set_to:
                    continue
                tx.execute("DELETE FROM category_labels WHERE category_id=? AND photo_id=?",
                           (cat_id, photo))
                tx.execute("UPDATE categories SET labels_rev=labels_rev + 1 WHERE id=?",
                           (cat_id,))
                n += 1
            tx.execute("DELETE FROM duplicate_marks WHERE resolution_id=?", (record.id,))
            tx.execute("DELETE FROM duplicate_distinct WHERE resolution_id=?", (record.id,))
            tx.execute("UPDATE duplicate_resolutions SET undone=1 WHERE id=?", (record.id,))
        return n

    def marked(self) -> int:
        return int(self.catalog.conn.execute(
            "SELECT COUNT(*) FROM duplicate_marks").fetchone()[0])
