"""What users made, apart from what can be derived again — read out, snapshotted, merged back.

Photos, their vectors, auto tags, text vectors and trained probes can always be derived again
from the photos. What a user made cannot: the photo folders they chose, tag sets (labels,
synonyms, thresholds, where they apply), free keywords, manual tags and removals, categories
and their examples. This module is that data as one value (:class:`UserData`), with photos
named by where they are and what they hold (path and content hash), so it can be put back into
any catalog: a repaired one, a restored backup, a library whose photos are indexed again.

- **Snapshots**: :class:`Guard` writes ``backups/userdata-….json.gz`` a minute after the last
  change to user-made rows (the catalog's ``user_rev``; at the latest five minutes into a run
  of changes, and when a library is closed), keeping the newest :data:`KEEP_RECENT` and the
  last one of each of :data:`KEEP_DAYS` days before. A full disk means no snapshot this time,
  logged — never damage.
- **Merging** (:func:`merge`): into a catalog, either filling only what it lacks (an older
  source) or overriding it (a newer source). A photo the catalog does not hold (yet) keeps its
  rows in ``kept_*`` by content: they come back when it is indexed.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from photoclip.core import names
from photoclip.core.errors import PhotoclipError
from photoclip.core.paths import from_db, to_db
from photoclip.core.store.catalog import Catalog
from photoclip.core.store.schema import new_id
from photoclip.core.store.tags import keyword_in, label_id

log = logging.getLogger(__name__)

FORMAT = "photoclip-userdata"
VERSION = 1
PREFIX = "userdata-"
KEEP_RECENT = 10
KEEP_DAYS = 7
QUIET = 60.0  # seconds after the last change before a snapshot is taken
AT_MOST = 300.0  # ...but no later than this after the first change not yet in one


@dataclass
class UserData:
    folders: list[str] = field(default_factory=list)
    # (the JSON a snapshot holds: checked for shape by from_json)
    tagsets: list[dict[str, Any]] = field(default_factory=list)  # labels [{...}], scopes [...]
    keywords: list[str] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    # (path, content hash, set or None, label, 'manual' | 'removed')
    tags: list[list[Any]] = field(default_factory=list)
    # (path, content hash, category, positive 0/1, added_at)
    examples: list[list[Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be read

    def only(self, tables: set[str]) -> UserData:
        """The parts of this data that live in ``tables`` (what a repair fills in: only
        what the damage took)."""
        def hit(*names: str) -> bool:
            return bool(tables & set(names))

        return UserData(
            folders=self.folders if hit("folders") else [],
            tagsets=self.tagsets if hit("tagsets", "tags", "tag_scopes") else [],
            keywords=self.keywords if hit("tags") else [],
            categories=self.categories if hit("categories") else [],
            tags=self.tags if hit("photo_tags", "kept_tags", "tags", "tagsets", "photos")
            else [],
            examples=self.examples if hit("category_labels", "kept_examples", "categories",
                                          "photos") else [])

    def counts(self) -> dict[str, int]:
        return {"folders": len(self.folders), "tag sets": len(self.tagsets),
                "keywords": len(self.keywords), "categories": len(self.categories),
                "tags": len(self.tags), "examples": len(self.examples)}

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("problems")
        return {"format": FORMAT, "version": VERSION, **out}

    @classmethod
    def from_json(cls, d: object) -> UserData:
        """A snapshot's content, checked for shape (a damaged or foreign file is refused
        with ValueError, never half read)."""
        if not isinstance(d, dict) or d.get("format") != FORMAT \
                or not isinstance(d.get("version"), int) or d["version"] > VERSION:
            raise ValueError("not a PhotoCLIP user-data snapshot this version can read")
        out = cls(**{k: list(d.get(k) or []) for k in
                     ("folders", "tagsets", "keywords", "categories", "tags", "examples")})
        ok = (all(isinstance(f, str) for f in out.folders + out.keywords)
              and all(isinstance(t, dict) and isinstance(t.get("name"), str)
                      and all(isinstance(lb, dict) and isinstance(lb.get("name"), str)
                              for lb in t.get("labels", []))
                      for t in out.tagsets)
              and all(isinstance(c, dict) and isinstance(c.get("name"), str)
                      for c in out.categories)
              and all(isinstance(r, list) and len(r) == 5 and isinstance(r[0], str)
                      and isinstance(r[3], str) and r[4] in ("manual", "removed")
                      for r in out.tags)
              and all(isinstance(r, list) and len(r) == 5 and isinstance(r[0], str)
                      and isinstance(r[2], str) for r in out.examples))
        if not ok:
            raise ValueError("a user-data snapshot whose content is not what PhotoCLIP wrote")
        return out


# -- reading --------------------------------------------------------------------------------


def read(conn: sqlite3.Connection) -> UserData:
    """Everything users made in the catalog behind ``conn``. A part that cannot be read (a
    damaged page) is left out and named in ``problems``; the rest is still read."""
    out = UserData()

    def part(what: str, fn: Callable[[], None]) -> None:
        try:
            fn()
        except (sqlite3.DatabaseError, UnicodeDecodeError) as e:
            out.problems.append(f"{what}: {e}")

    def folders() -> None:
        out.folders = [from_db(r[0]) for r in conn.execute("SELECT path FROM folders")]

    def tagsets() -> None:
        sets: dict[int, dict[str, Any]] = {}
        for r in conn.execute("SELECT id, name, exclusive, context, threshold, created_at "
                              "FROM tagsets"):
            sets[r[0]] = {"name": r[1], "exclusive": bool(r[2]), "context": r[3],
                          "threshold": r[4], "created_at": r[5], "labels": [], "scopes": []}
        for r in conn.execute("SELECT tagset_id, name, synonyms, prompts, threshold, position "
                              "FROM tags WHERE tagset_id IS NOT NULL ORDER BY position, id"):
            if r[0] in sets:
                sets[r[0]]["labels"].append({"name": r[1], "synonyms": json.loads(r[2]),
                                             "prompts": json.loads(r[3]), "threshold": r[4]})
        for r in conn.execute("SELECT tagset_id, folder FROM tag_scopes"):
            if r[0] in sets:
                sets[r[0]]["scopes"].append(from_db(r[1]))
        out.tagsets = list(sets.values())

    def keywords() -> None:
        out.keywords = [r[0] for r in conn.execute(
            "SELECT name FROM tags WHERE tagset_id IS NULL")]

    def categories() -> None:
        out.categories = [{"name": r[0], "description": r[1], "threshold": r[2],
                           "created_at": r[3]} for r in conn.execute(
            "SELECT name, description, threshold, created_at FROM categories")]

    def tags() -> None:
        rows = conn.execute(
            "SELECT p.path, ifnull(p.content_hash, ''), s.name, t.name, pt.source "
            "FROM photo_tags pt JOIN photos p ON p.id = pt.photo_id "
            "JOIN tags t ON t.id = pt.tag_id LEFT JOIN tagsets s ON s.id = t.tagset_id "
            "WHERE pt.source != 'auto'").fetchall()
        if _has_table(conn, "kept_tags"):
            rows += conn.execute(
                "SELECT k.path, k.content_hash, s.name, t.name, k.source FROM kept_tags k "
                "JOIN tags t ON t.id = k.tag_id LEFT JOIN tagsets s ON s.id = t.tagset_id"
            ).fetchall()
        out.tags = [[from_db(r[0]), *r[1:]] for r in rows]

    def examples() -> None:
        rows = conn.execute(
            "SELECT p.path, ifnull(p.content_hash, ''), c.name, l.positive, l.added_at "
            "FROM category_labels l JOIN photos p ON p.id = l.photo_id "
            "JOIN categories c ON c.id = l.category_id").fetchall()
        if _has_table(conn, "kept_examples"):
            rows += conn.execute(
                "SELECT k.path, k.content_hash, c.name, k.positive, k.added_at "
                "FROM kept_examples k JOIN categories c ON c.id = k.category_id").fetchall()
        out.examples = [[from_db(r[0]), *r[1:]] for r in rows]

    for what, fn in (("folders", folders), ("tag sets", tagsets), ("keywords", keywords),
                     ("categories", categories), ("tags", tags), ("examples", examples)):
        part(what, fn)
    return out


def _has_table(conn: sqlite3.Connection, name: str) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                        (name,)).fetchone() is not None


# -- merging --------------------------------------------------------------------------------


@dataclass
class Merged:
    """What a merge put into the catalog (rows new to it or changed by it)."""

    folders: int = 0
    tagsets: int = 0
    categories: int = 0
    tags: int = 0
    examples: int = 0
    kept: int = 0  # rows of photos the catalog does not hold now, kept for their return

    def total(self) -> int:
        return self.folders + self.tagsets + self.categories + self.tags + self.examples


def merge(catalog: Catalog, data: UserData, override: bool) -> Merged:
    """Put ``data`` into ``catalog`` in one transaction. ``override``: ``data`` is newer —
    its thresholds, descriptions and tag sources win; else it only fills what is missing. A
    user's tag always wins over an auto tag. Nothing is deleted."""
    out = Merged()
    now = time.time()
    with catalog.transaction() as tx:
        have = {from_db(r[0]) for r in tx.execute("SELECT path FROM folders")}
        for folder in data.folders:
            if folder not in have:
                tx.execute("INSERT INTO folders(path, added_at) VALUES (?, ?)",
                           (to_db(folder), now))
                out.folders += 1
        set_ids = {r[1]: r[0] for r in tx.execute("SELECT id, name_key FROM tagsets")}
        for ts in data.tagsets:
            out.tagsets += _merge_tagset(tx, ts, set_ids, override)
        for kw in data.keywords:
            _tag_id(tx, None, kw, create=True)
        cat_ids = {r[1]: r[0] for r in tx.execute("SELECT id, name_key FROM categories")}
        for c in data.categories:
            out.categories += _merge_category(tx, c, cat_ids, override)
        photo_at = _photo_ids(tx, {r[0] for r in data.tags} | {r[0] for r in data.examples})
        for path, h, set_name, label, source in data.tags:
            tag_id = _tag_id(tx, set_name, label, create=set_name is None)
            if tag_id is None:
                continue
            pid = photo_at.get(to_db(path))
            if pid is None:
                out.kept += _keep(tx, "kept_tags(content_hash, path, tag_id, source, kept_at)",
                                  (h or "", to_db(path), tag_id, source, now), override)
                continue
            cond = "" if override else "WHERE photo_tags.source = 'auto'"
            out.tags += tx.execute(
                "INSERT INTO photo_tags(photo_id, tag_id, source) VALUES (?, ?, ?) "
                "ON CONFLICT(photo_id, tag_id) DO UPDATE SET source=excluded.source, "
                f"confidence=NULL, model=NULL {cond}", (pid, tag_id, source)).rowcount
        for path, h, cat_name, positive, added_at in data.examples:
            cat_id = cat_ids.get(names.key(cat_name))
            if cat_id is None:
                continue
            pid = photo_at.get(to_db(path))
            if pid is None:
                out.kept += _keep(tx, "kept_examples(content_hash, path, category_id, "
                                  "positive, added_at, kept_at)",
                                  (h or "", to_db(path), cat_id, int(positive), added_at, now),
                                  override)
                continue
            verb = "INSERT OR REPLACE" if override else "INSERT OR IGNORE"
            n = tx.execute(f"{verb} INTO category_labels(category_id, photo_id, positive, "
                           "added_at) VALUES (?, ?, ?, ?)",
                           (cat_id, pid, int(positive), added_at)).rowcount
            if n:
                out.examples += n
                tx.execute("UPDATE categories SET labels_rev = labels_rev + 1 WHERE id=?",
                           (cat_id,))
    return out


def _merge_tagset(tx: sqlite3.Connection, ts: dict[str, Any], set_ids: dict[str, int],
                  override: bool) -> int:
    key = names.key(ts["name"])
    set_id = set_ids.get(key)
    changed = 0
    if set_id is None:
        set_id = set_ids[key] = new_id(tx, "tagsets")
        tx.execute("INSERT INTO tagsets(id, name, name_key, exclusive, context, threshold, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (set_id, names.clean(ts["name"]), key, int(ts.get("exclusive", False)),
                    ts.get("context", ""), float(ts.get("threshold", 0.0)),
                    ts.get("created_at") or time.time()))
        changed = 1
    elif override:
        tx.execute("UPDATE tagsets SET exclusive=?, context=?, threshold=? WHERE id=?",
                   (int(ts.get("exclusive", False)), ts.get("context", ""),
                    float(ts.get("threshold", 0.0)), set_id))
    labels = {r[1]: r[0] for r in tx.execute("SELECT id, name_key FROM tags WHERE tagset_id=?",
                                             (set_id,))}
    for pos, lb in enumerate(ts.get("labels", [])):
        lkey = names.key(lb["name"])
        values = (json.dumps(lb.get("synonyms", [])), json.dumps(lb.get("prompts", [])),
                  lb.get("threshold"))
        if lkey not in labels:
            labels[lkey] = new_id(tx, "tags")
            tx.execute("INSERT INTO tags(id, tagset_id, name, name_key, synonyms, prompts, "
                       "threshold, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (labels[lkey], set_id, names.clean(lb["name"]), lkey, *values, pos))
        elif override:
            tx.execute("UPDATE tags SET synonyms=?, prompts=?, threshold=? WHERE id=?",
                       (*values, labels[lkey]))
    for scope in ts.get("scopes", []):
        tx.execute("INSERT OR IGNORE INTO tag_scopes(tagset_id, folder) VALUES (?, ?)",
                   (set_id, to_db(scope)))
    return changed


def _merge_category(tx: sqlite3.Connection, c: dict[str, Any], cat_ids: dict[str, int],
                    override: bool) -> int:
    key = names.key(c["name"])
    if key not in cat_ids:
        cat_ids[key] = new_id(tx, "categories")
        tx.execute("INSERT INTO categories(id, name, name_key, description, threshold, "
                   "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                   (cat_ids[key], names.clean(c["name"]), key, c.get("description", ""),
                    float(c.get("threshold", 0.5)), c.get("created_at") or time.time()))
        return 1
    if override:
        tx.execute("UPDATE categories SET description=?, threshold=?, "
                   "labels_rev = labels_rev + 1 WHERE id=?",
                   (c.get("description", ""), float(c.get("threshold", 0.5)), cat_ids[key]))
    return 0


def _tag_id(tx: sqlite3.Connection, set_name: str | None, label: str, create: bool) -> int | None:
    """The id of the label ``set_name/label``, or of the free keyword ``label`` (made if
    ``create``)."""
    if set_name is not None:
        return label_id(tx, set_name, label)
    try:
        name = names.clean(label)
    except PhotoclipError:
        return None
    if create:
        return keyword_in(tx, name)
    r = tx.execute("SELECT id FROM tags WHERE tagset_id IS NULL AND name_key=?",
                   (names.key(name),)).fetchone()
    return r[0] if r else None


def _photo_ids(tx: sqlite3.Connection, paths: set[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    db_paths = [to_db(p) for p in paths]
    for k in range(0, len(db_paths), 900):
        part = db_paths[k:k + 900]
        out.update(tx.execute(f"SELECT path, id FROM photos WHERE path IN "
                              f"({','.join('?' * len(part))})", part).fetchall())
    return out


def _keep(tx: sqlite3.Connection, into: str, values: tuple[object, ...], override: bool) -> int:
    verb = "INSERT OR REPLACE" if override else "INSERT OR IGNORE"
    return tx.execute(f"{verb} INTO {into} VALUES ({','.join('?' * len(values))})",
                      values).rowcount


# -- snapshots ------------------------------------------------------------------------------


def snapshot_dir(home: Path) -> Path:
    return Path(home) / "backups"


def snapshots(home: Path) -> list[Path]:
    """The user-data snapshots, newest first."""
    folder = snapshot_dir(home)
    found = list(folder.glob(f"{PREFIX}*.json.gz")) if folder.is_dir() else []
    return sorted(found, key=lambda p: p.name, reverse=True)


def load(path: Path) -> UserData:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return UserData.from_json(json.load(f))


def newest(home: Path) -> tuple[Path, UserData] | None:
    """The newest snapshot that can be read, or None."""
    for path in snapshots(home):
        try:
            return path, load(path)
        except (OSError, ValueError, EOFError, TypeError, KeyError) as e:
            log.warning("user-data snapshot %s cannot be read: %s", path.name, e)
    return None


def write_snapshot(catalog: Catalog, home: Path) -> Path | None:
    """Snapshot what users made in ``catalog`` now. None (logged) when it cannot be written:
    no space, no permission — the catalog is untouched either way."""
    rev = catalog.user_rev()
    data = read(catalog.conn)
    if data.problems:
        log.warning("user data not snapshotted (parts cannot be read: %s)",
                    "; ".join(data.problems))
        return None
    folder = snapshot_dir(home)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest = folder / f"{PREFIX}{stamp}-r{rev:012d}.json.gz"  # (names sort by age)
    part = dest.with_name(dest.name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({**data.to_json(), "user_rev": rev, "taken_at": time.time(),
                              "catalog_id": catalog.catalog_id()}, ensure_ascii=False)
        blob = gzip.compress(payload.encode("utf-8", "surrogatepass"), compresslevel=6)
        if shutil.disk_usage(folder).free < 2 * len(blob) + (1 << 20):
            raise OSError(28, "not enough free space for a user-data snapshot")
        with open(part, "wb") as f:
            f.write(blob)
            f.flush()
            os.fsync(f.fileno())
        os.replace(part, dest)
    except OSError as e:
        part.unlink(missing_ok=True)
        log.warning("could not snapshot user data: %s", e)
        return None
    _prune(home)
    catalog.set_meta_quietly("userdata_snapshot_rev", str(rev))
    return dest


def _prune(home: Path) -> None:
    """Keep the newest KEEP_RECENT, and the newest of each of the KEEP_DAYS days before."""
    found = snapshots(home)
    keep = set(found[:KEEP_RECENT])
    days: dict[str, Path] = {}
    for p in found:
        day = p.name[len(PREFIX):len(PREFIX) + 8]
        days.setdefault(day, p)  # (newest first: the day's last one)
    for day in sorted(days, reverse=True)[:KEEP_DAYS + 1]:
        keep.add(days[day])
    for p in found:
        if p not in keep:
            p.unlink(missing_ok=True)


class Guard:
    """Takes a snapshot a minute after the last change to user-made rows (see module doc).
    ``poll`` is cheap (one small read): call it often from a background thread."""

    def __init__(self, catalog: Catalog, home: Path, quiet: float = QUIET,
                 at_most: float = AT_MOST):
        self.catalog, self.home = catalog, Path(home)
        self.quiet, self.at_most = quiet, at_most
        self._seen_rev: int | None = None
        self._changed_at = 0.0
        self._pending_since: float | None = None

    def _saved_rev(self) -> int:
        return int(self.catalog.get_meta("userdata_snapshot_rev", "-1") or -1)

    def poll(self, now: float | None = None) -> Path | None:
        now = time.monotonic() if now is None else now
        rev = self.catalog.user_rev()
        if rev == 0 or rev == self._saved_rev():  # (0: nothing made yet)
            self._pending_since = None
            self._seen_rev = rev
            return None
        if rev != self._seen_rev:
            self._seen_rev, self._changed_at = rev, now
            if self._pending_since is None:
                self._pending_since = now
        if now - self._changed_at >= self.quiet or \
                now - (self._pending_since or now) >= self.at_most:
            return self.flush()
        return None

    def flush(self) -> Path | None:
        """Snapshot now if anything changed since the last one (a library being closed)."""
        rev = self.catalog.user_rev()
        if rev == 0 or rev == self._saved_rev():
            return None
        path = write_snapshot(self.catalog, self.home)
        if path is not None:
            self._pending_since = None
        return path
