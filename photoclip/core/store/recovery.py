"""A damaged catalog is noticed, said in one sentence and repaired — and nothing else is.

Only real corruption counts as damage: a file that is not a database, a truncated one, or
what SQLite's integrity check reports. A full disk, an I/O error, a lock held by another
program or a busy database are not damage: the command waits (SQLite's busy timeout), then
says what is wrong and stops, changing nothing (:class:`CatalogUnavailable`).

- **Backups.** The whole catalog (SQLite's online backup API) once a day at most when a
  library is written, :data:`KEEP_BACKUPS` kept, and before each schema migration; and what
  users made, as a snapshot a minute after it changes (userdata.py), several generations.
- **Repair** (:func:`repair`, also at open when the damage is plain) *salvages*: every row
  that can still be read from the damaged file is copied into a new catalog, table by table
  (a damaged stretch is narrowed down and skipped, the rest kept); then what users made is
  filled in from the newest snapshot and the newest sound backup (rows the damage took);
  re-derivable data that was lost (vectors, auto tags) is rebuilt by indexing. The new
  catalog is built beside the old one, checked, and only then put in its place; the damaged
  file is kept under a name no other repair uses. Too little free space for that: nothing
  is touched, and the user is told.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from photoclip.core.errors import PhotoclipError
from photoclip.core.lock import LibraryUse
from photoclip.core.store import userdata
from photoclip.core.store.catalog import Catalog, CatalogTooNew
from photoclip.core.store.schema import fill_name_keys

log = logging.getLogger(__name__)

BACKUP_DIR = "backups"
KEEP_BACKUPS = 2
BACKUP_EVERY = 24 * 3600.0


# What SQLite raises on a damaged file. A garbled schema can make its error message itself
# undecodable ("malformed database schema (<garbled name>)"): Python then raises
# UnicodeDecodeError instead of the DatabaseError it was.
SQL_TROUBLE = (sqlite3.DatabaseError, UnicodeDecodeError)


class CatalogDamaged(PhotoclipError):
    """The catalog cannot be read as a database."""


class CatalogUnavailable(PhotoclipError):
    """The catalog is sound but cannot be used now (locked, disk full, I/O error)."""


@dataclass
class Opened:
    catalog: Catalog
    notice: str | None = None  # one sentence for the user when something had to be repaired


def open_catalog(path: Path, use: LibraryUse | None = None) -> Opened:
    """The catalog at ``path``, repaired first when it is damaged (or missing where a library
    was). A catalog that is only busy, locked, or on a full or failing disk raises
    CatalogUnavailable, untouched. ``use``: this process's hold on the library (a repair
    needs it alone)."""
    path = Path(path)
    _clean_leftovers(path)
    problem = _damage(path)
    if problem is None:
        try:
            return Opened(Catalog(path))
        except CatalogTooNew:
            raise
        except SQL_TROUBLE as e:  # (a junk header shows up only when read)
            if not is_corruption(e):
                raise unavailable(e, path) from None
            problem = confirmed_damage(path, _said(e))
    report = repair_catalog(path, problem, use)
    log.warning(report.sentence())  # (the CLI shows our warnings; the app shows the notice)
    return Opened(Catalog(path), report.sentence())


def confirmed_damage(path: Path, said: str) -> str:
    """SQLite reports a read error of the disk (EIO) as a malformed database: before it is
    called damage, the file must read whole with plain reads (else: CatalogUnavailable) and
    fail SQLite's integrity check (else it was a passing fault: CatalogUnavailable)."""
    for suffix in ("", "-wal"):
        try:
            with open(f"{path}{suffix}", "rb") as f:
                while f.read(1 << 20):
                    pass
        except FileNotFoundError:
            continue
        except OSError as e:
            raise unavailable(e, path) from None
    problem = integrity_problem(path)
    if problem is None:
        raise CatalogUnavailable(
            f"PhotoCLIP could not read its catalog in {path.parent} ({said}), yet the catalog "
            "checks sound now; nothing was changed. If the disk is external or on a network, "
            "check its connection, then try again.")
    return problem


def _said(err: BaseException) -> str:
    if isinstance(err, UnicodeDecodeError):
        return "its table definitions are garbled"
    return str(err)


def is_corruption(err: BaseException) -> bool:
    """Whether an SQLite error says the file is damaged (not busy, locked, full or I/O)."""
    if isinstance(err, UnicodeDecodeError):
        return True  # (see SQL_TROUBLE)
    name = getattr(err, "sqlite_errorname", "") or ""
    if name:
        return name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))
    low = str(err).lower()
    return any(w in low for w in ("malformed", "not a database", "corrupt"))


def unavailable(err: BaseException, path: Path) -> CatalogUnavailable:
    """The one sentence for a sound catalog that cannot be used now."""
    low = str(err).lower()
    home = path.parent
    if "locked" in low or "busy" in low:
        return CatalogUnavailable(
            f"The catalog in {home} is locked by {_holder(home)}; PhotoCLIP waited and "
            "changed nothing. Close that program (or wait for it) and try again.")
    if "full" in low or getattr(err, "errno", None) == 28 or _nearly_full(home):
        return CatalogUnavailable(
            f"The disk holding the data folder {home} is full: PhotoCLIP changed nothing. "
            "Free some space and try again.")
    return CatalogUnavailable(
        f"PhotoCLIP cannot use its catalog in {home} right now ({err}); it changed nothing. "
        "Check that the disk is connected and has free space, then try again.")


def _nearly_full(home: Path) -> bool:
    """A disk with almost no space left (SQLite reports a full disk at open as an I/O
    error: it cannot create its shared-memory file)."""
    try:
        return shutil.disk_usage(home).free < (1 << 20)
    except OSError:
        return False


def _holder(home: Path) -> str:
    """Who is likely to hold the catalog: a PhotoCLIP process named in a lock file, or
    another program."""
    from photoclip.core.lock import LOCK_FILES, FileLock

    for name in LOCK_FILES:
        lock = home / name
        if lock.exists():
            who = FileLock(lock).holder()
            if who != "another process" and _locked(lock):
                return who
    return "another program"


def _locked(path: Path) -> bool:
    from photoclip.core.lock import FileLock, LockTimeout

    probe = FileLock(path)
    try:
        probe.acquire(timeout=0)
    except (LockTimeout, OSError):
        return True
    probe.release()
    return False


def _damage(path: Path) -> str | None:
    """Why the file at ``path`` is no usable catalog, judged without opening it for writing.
    A file that cannot be read at all (I/O error, permission) is not damage: raised."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        # a library whose catalog file went (deleted by hand, or a repair killed half way
        # in an older version): what the user made is restored from its snapshot and backup
        if userdata.snapshots(path.parent) or _backups(path):
            return "the catalog file is missing"
        return None
    except OSError as e:
        raise unavailable(e, path) from None
    if size == 0:
        # SQLite writes its header with the first commit, and PhotoCLIP commits on creation:
        # an empty file where a library existed was truncated.
        home = path.parent
        if _backups(path) or userdata.snapshots(home) or (home / "index").exists() \
                or (home / "models").exists():
            return "the file is empty (0 bytes)"
        return None
    try:
        with open(path, "rb") as f:
            header = f.read(16)
    except OSError as e:
        raise unavailable(e, path) from None
    if header != b"SQLite format 3\x00":
        return "it is not an SQLite database (damaged header)"
    return None


# -- repair ------------------------------------------------------------------------------------

# Tables copied from a damaged catalog, parents first. What is not listed is derived and
# rebuilt (tag_vectors, tag_progress, category_probes).
SALVAGE_TABLES = ("meta", "folders", "photos", "embeddings", "tagsets", "tags", "tag_scopes",
                  "photo_tags", "categories", "category_labels", "kept_tags", "kept_examples",
                  "duplicate_resolutions", "duplicate_marks", "duplicate_distinct")
_CHUNK = 4096


@dataclass
class RepairReport:
    problem: str
    set_aside: str = ""  # the damaged file's new name
    salvaged: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    lost: dict[str, int] = field(default_factory=dict)  # table -> rows that could not be read
    unreadable: list[str] = field(default_factory=list)  # tables not read at all
    from_snapshot: int = 0  # user rows the damage took, filled in from the newest snapshot
    from_backup: int = 0  # ... and from the newest sound backup
    snapshot: str = ""
    backup: str = ""
    photos_from_backup: int = 0  # photos (and vectors) the damage took, back from the backup
    to_reindex: int = 0  # catalogued photos left without a vector: encoded by the next index
    photos_now: int = 0  # in the repaired catalog
    vectors_now: int = 0

    def damaged_tables(self) -> set[str]:
        """Tables the damage took rows from (every table when the file could not be read
        at all)."""
        if any(u.startswith("the whole file") for u in self.unreadable):
            return set(SALVAGE_TABLES)
        hit = {t for t, n in self.lost.items() if n} | set(self.unreadable)
        return hit

    def user_rows(self) -> dict[str, int]:
        names = {"tagsets": "tag sets", "categories": "categories", "folders": "folders"}
        out = {label: self.salvaged.get(t, 0) for t, label in names.items()}
        out["your tags"] = self.user_tags
        out["category examples"] = self.salvaged.get("category_labels", 0) + \
            self.salvaged.get("kept_examples", 0)
        return out

    user_tags: int = 0  # manual tags and removals among the salvaged photo tags

    def sentence(self) -> str:
        kept = ", ".join(f"{n:,} {what}" for what, n in self.user_rows().items() if n)
        photos, vectors = self.photos_now, self.vectors_now
        parts = [f"The catalog was damaged ({self.problem}) and has been repaired"]
        whole = any(u.startswith("the whole file") for u in self.unreadable)
        nothing = "nothing could be read from it" if whole else "nothing of yours was in it"
        parts.append(f"kept: {kept or nothing}; {photos:,} photos with {vectors:,} search "
                     "vectors")
        if self.photos_from_backup:
            parts.append(f"{self.photos_from_backup:,} photos restored from the backup of "
                         f"{self.backup}")
        if self.from_snapshot or self.from_backup:
            src = []
            if self.from_snapshot:
                src.append(f"{self.from_snapshot:,} from the snapshot of {self.snapshot}")
            if self.from_backup:
                src.append(f"{self.from_backup:,} from the backup of {self.backup}")
            parts.append("filled in " + " and ".join(src))
        lost_rows = sum(self.lost.values())
        if lost_rows or self.unreadable:
            what = [f"up to {n:,} rows of {t}" for t, n in self.lost.items() if n] + \
                [t if t.startswith("the whole file") else f"{t} (unreadable)"
                 for t in self.unreadable]
            parts.append("could not read " + ", ".join(what) + " (what of yours was there is "
                         "back wherever a snapshot or backup held it)")
        rebuilt = f"{self.to_reindex:,} photos to encode again and " if self.to_reindex else ""
        parts.append(f"rebuilt by the next indexing: {rebuilt}any photo whose row was lost; "
                     f"the damaged file is kept as {self.set_aside}")
        return "; ".join(parts) + "."


def repair_catalog(path: Path, problem: str, use: LibraryUse | None = None) -> RepairReport:
    """Rebuild the catalog at ``path`` from what can be read (see the module doc). No other
    PhotoCLIP process may have the library open meanwhile (it would go on writing into the
    damaged file): ``use`` is this process's hold, made exclusive for the repair."""
    path = Path(path)
    own = use is None
    use = use or LibraryUse(path.parent)
    try:
        use.exclusive()
        return _repair(path, problem)
    finally:
        if own:
            use.release()
        else:
            use.shared()


def _repair(path: Path, problem: str) -> RepairReport:
    report = RepairReport(problem)
    home = path.parent
    part = path.with_name(f"{path.name}.repair-{secrets.token_hex(4)}")
    backups = [b for b in _backups(path) if integrity_ok(b)]
    need = (_size(path) + (_size(backups[0]) if backups else 0)) * 2 + (16 << 20)
    free = shutil.disk_usage(home).free
    if free < need:
        raise CatalogUnavailable(
            f"The catalog in {home} is damaged ({problem}), and repairing it needs about "
            f"{need / 2**20:,.0f} MB of free space on that disk ({free / 2**20:,.0f} MB free). "
            "Nothing was changed: free some space and start PhotoCLIP again.")
    try:
        fresh = Catalog(part)
        try:
            _salvage_into(path, fresh, report)
            # Only what the damage took is filled in: a table the salvage read whole is the
            # newest truth (a set, category, folder or photo deleted after the snapshot or
            # the backup stays deleted).
            hit = report.damaged_tables()
            if backups:
                report.backup = _when(backups[0])
                if hit & {"photos", "embeddings", "folders"}:
                    report.photos_from_backup = _fill_photos_from_backup(
                        fresh, backups[0], folders="folders" in hit)
            newest = userdata.newest(home)
            if newest is not None:
                report.snapshot = _when(newest[0])
                report.from_snapshot = userdata.merge(
                    fresh, newest[1].only(hit), override=False).total()
            if backups:
                conn = sqlite3.connect(f"file:{backups[0]}?mode=ro", uri=True)
                try:
                    old = userdata.read(conn)
                finally:
                    conn.close()
                report.from_backup = userdata.merge(fresh, old.only(hit),
                                                    override=False).total()
            report.photos_now, report.vectors_now = fresh.conn.execute(
                "SELECT (SELECT COUNT(*) FROM photos), (SELECT COUNT(*) FROM embeddings)"
            ).fetchone()
            report.to_reindex = fresh.conn.execute(
                "SELECT COUNT(*) FROM photos p WHERE status='ok' AND NOT EXISTS "
                "(SELECT 1 FROM embeddings e WHERE e.photo_id = p.id)").fetchone()[0]
            fresh.new_identity()  # (an index saved for the damaged catalog is not this one's)
            fresh.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            fresh.close()
        if not integrity_ok(part):
            raise PhotoclipError("the repaired catalog did not pass SQLite's integrity check")
    except BaseException:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{part}{suffix}").unlink(missing_ok=True)
        raise
    # Switch so that a catalog file is there at every moment (a kill half way leaves the
    # damaged one or the repaired one, never none): the damaged file is linked aside, its
    # WAL moved aside, and the repaired file renamed over it.
    aside = _aside_name(path)
    if path.exists():
        try:
            os.link(path, aside)
        except OSError:  # (no hard links on this file system: a copy)
            shutil.copy2(path, aside)
    for suffix in ("-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            os.replace(src, Path(f"{aside}{suffix}"))
    report.set_aside = aside.name if aside.exists() else "(there was none)"
    os.replace(part, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{part}{suffix}").unlink(missing_ok=True)
    _forget_index(home)
    log.info(report.sentence())
    return report


def _salvage_into(damaged: Path, fresh: Catalog, report: RepairReport) -> None:
    """Copy every readable row of the tables in SALVAGE_TABLES from ``damaged`` into
    ``fresh`` (same ids). Foreign keys are checked afterwards: a row whose parent was lost
    goes (a photo tag of a lost photo: its photo is indexed again)."""
    if _size(damaged) == 0:
        report.unreadable.append("the whole file (0 bytes)")
        return
    conn = fresh.conn
    conn.execute("PRAGMA foreign_keys=OFF")
    # names are made unique by their keys after the copy (a catalog from before migration 6
    # has no keys yet: its rows must not collide on an empty one and be dropped)
    for index in ("tagsets_key", "tags_key", "categories_key"):
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    try:
        conn.execute("ATTACH DATABASE ? AS old", (f"file:{damaged}?mode=ro",))
    except SQL_TROUBLE as e:
        report.unreadable.append(f"the whole file ({_said(e)})")
        with fresh.transaction() as tx:
            fill_name_keys(tx)
        conn.execute("PRAGMA foreign_keys=ON")
        return
    try:
        for table in SALVAGE_TABLES:
            try:
                cols = _common_columns(conn, table)
            except SQL_TROUBLE:
                report.unreadable.append(table)
                continue
            if not cols:
                continue
            copied, lost = _copy_table(conn, table, cols)
            report.salvaged[table] = copied
            if lost:
                report.lost[table] = lost
        try:
            report.user_tags = conn.execute(
                "SELECT COUNT(*) FROM main.photo_tags WHERE source != 'auto'").fetchone()[0] + \
                report.salvaged.get("kept_tags", 0)
        except SQL_TROUBLE:
            pass
    finally:
        conn.execute("DETACH DATABASE old")
    with fresh.transaction() as tx:
        _drop_orphans(tx, report)
        fill_name_keys(tx)
    conn.execute("PRAGMA foreign_keys=ON")


def _fill_photos_from_backup(fresh: Catalog, backup: Path, folders: bool) -> int:
    """Photos (with their vectors) that the backup holds and the salvage lost — at a path
    the new catalog does not have yet, in a folder it has — so they need no encoding again
    (one deleted since is forgotten by the next index, its user rows kept). The backup's
    folders come too only when the damage took ``folders``. Returns how many."""
    conn = fresh.conn
    conn.execute("ATTACH DATABASE ? AS bk", (f"file:{backup}?mode=ro",))
    try:
        cols = [c for c in _common_columns(conn, "photos", "bk") if c not in ("id", "folder_id")]
        col_list = ",".join(cols)
        picked = ",".join(f"b.{c}" for c in cols)
        with fresh.transaction() as tx:
            if folders:
                tx.execute("INSERT OR IGNORE INTO main.folders(path, added_at, online) "
                           "SELECT path, added_at, online FROM bk.folders")
            n = tx.execute(
                f"INSERT INTO main.photos(folder_id, {col_list}) SELECT f.id, {picked} "
                "FROM bk.photos b JOIN bk.folders bf ON bf.id = b.folder_id "
                "JOIN main.folders f ON f.path = bf.path "
                "WHERE b.path NOT IN (SELECT path FROM main.photos)").rowcount
            tx.execute(
                "INSERT OR IGNORE INTO main.embeddings(photo_id, model, vector, rev) "
                "SELECT m.id, e.model, e.vector, 0 FROM bk.embeddings e "
                "JOIN bk.photos b ON b.id = e.photo_id JOIN main.photos m ON m.path = b.path "
                "AND m.content_hash IS b.content_hash")
    finally:
        conn.execute("DETACH DATABASE bk")
    return max(n, 0)


def _common_columns(conn: sqlite3.Connection, table: str, schema: str = "old") -> list[str]:
    old = [r[1] for r in conn.execute(f"PRAGMA {schema}.table_info({table})")]
    new = {r[1] for r in conn.execute(f"PRAGMA main.table_info({table})")}
    return [c for c in old if c in new]


def _copy_table(conn: sqlite3.Connection, table: str, cols: list[str]) -> tuple[int, int]:
    """(rows copied, rows lost — an upper bound): read in rowid ranges, each in one
    statement; a range that fails is walked row by row, and where the walk meets damage it
    seeks past it with growing jumps (a damaged leaf page is stepped over, the rest kept)."""
    col_list = ",".join(cols)
    verb = "INSERT OR REPLACE" if table == "meta" else "INSERT OR IGNORE"
    insert = f"{verb} INTO main.{table}({col_list}) VALUES ({','.join('?' * len(cols))})"
    if not _has_rowid(conn, table):  # WITHOUT ROWID: whole, or walked by its key order
        try:
            n = conn.execute(f"{verb} INTO main.{table}({col_list}) SELECT {col_list} "
                             f"FROM old.{table}").rowcount
            return max(n, 0), 0
        except SQL_TROUBLE:
            return _walk(conn, f"SELECT {col_list} FROM old.{table}", insert)
    try:
        lo, hi = conn.execute(f"SELECT min(rowid), max(rowid) FROM old.{table}").fetchone()
    except SQL_TROUBLE:
        lo, hi = None, None
    if lo is None and hi is None:
        try:
            if conn.execute(f"SELECT 1 FROM old.{table} LIMIT 1").fetchone() is None:
                return 0, 0
        except SQL_TROUBLE:
            pass
        return _walk_rowids(conn, table, col_list, insert, 0, None)
    copied = lost = 0
    for a in range(lo, hi + 1, _CHUNK):
        b = min(a + _CHUNK - 1, hi)
        try:
            n = conn.execute(f"{verb} INTO main.{table}({col_list}) SELECT {col_list} "
                             f"FROM old.{table} WHERE rowid BETWEEN ? AND ?", (a, b)).rowcount
            copied += max(n, 0)
        except SQL_TROUBLE:
            c, lo_ = _walk_rowids(conn, table, col_list, insert, a, b)
            copied, lost = copied + c, lost + lo_
    return copied, lost


def _walk_rowids(conn: sqlite3.Connection, table: str, col_list: str, insert: str, start: int,
                 end: int | None) -> tuple[int, int]:
    """Copy rows with rowid in [start, end] one by one, stepping over damage."""
    copied = lost = 0
    at = start
    bound = "" if end is None else f" AND rowid <= {int(end)}"
    while True:
        jump = 1
        cur: sqlite3.Cursor | None = None
        while cur is None:  # seek to the first readable row at or after ``at``
            try:
                cur = conn.execute(f"SELECT rowid, {col_list} FROM old.{table} WHERE rowid >= ?"
                                   f"{bound} ORDER BY rowid", (at,))
            except SQL_TROUBLE:
                at += jump
                lost += jump
                jump *= 2
                if (end is not None and at > end) or at > 1 << 62:
                    return copied, lost
        last = at - 1
        try:
            for row in cur:
                conn.execute(insert, row[1:])
                copied += 1
                last = row[0]
            return copied, lost  # (the walk reached the end)
        except SQL_TROUBLE:
            at = last + 1
            step = 1
            while True:  # step over the damaged stretch
                at += step
                lost += step
                try:
                    conn.execute(f"SELECT rowid FROM old.{table} WHERE rowid >= ?{bound} "
                                 "ORDER BY rowid LIMIT 1", (at,)).fetchone()
                    break
                except SQL_TROUBLE:
                    step *= 2
                    if (end is not None and at > end) or at > 1 << 62:
                        return copied, lost


def _walk(conn: sqlite3.Connection, select: str, insert: str) -> tuple[int, int]:
    """Copy what a scan returns before it meets damage (tables with no rowid)."""
    copied = 0
    try:
        for row in conn.execute(select):
            conn.execute(insert, row)
            copied += 1
    except SQL_TROUBLE:
        return copied, 1
    return copied, 0


def _has_rowid(conn: sqlite3.Connection, table: str) -> bool:
    sql = conn.execute("SELECT sql FROM old.sqlite_master WHERE type='table' AND name=?",
                       (table,)).fetchone()
    return sql is not None and "WITHOUT ROWID" not in (sql[0] or "").upper()


def _drop_orphans(tx: sqlite3.Connection, report: RepairReport) -> None:
    """Rows whose parent row was lost to the damage: user rows of a lost photo are kept by
    content where that is known, the rest go (counted as lost)."""
    for table, parent_sql in (
            ("photos", "folder_id NOT IN (SELECT id FROM folders)"),
            ("embeddings", "photo_id NOT IN (SELECT id FROM photos)"),
            ("tags", "tagset_id IS NOT NULL AND tagset_id NOT IN (SELECT id FROM tagsets)"),
            ("tag_scopes", "tagset_id NOT IN (SELECT id FROM tagsets)"),
            ("photo_tags", "photo_id NOT IN (SELECT id FROM photos) "
                           "OR tag_id NOT IN (SELECT id FROM tags)"),
            ("category_labels", "photo_id NOT IN (SELECT id FROM photos) "
                                "OR category_id NOT IN (SELECT id FROM categories)"),
            ("kept_tags", "tag_id NOT IN (SELECT id FROM tags)"),
            ("kept_examples", "category_id NOT IN (SELECT id FROM categories)"),
            ("duplicate_marks", "photo_id NOT IN (SELECT id FROM photos) OR resolution_id "
                                "NOT IN (SELECT id FROM duplicate_resolutions)"),
            ("duplicate_distinct", "a NOT IN (SELECT id FROM photos) OR b NOT IN "
                                   "(SELECT id FROM photos) OR resolution_id NOT IN "
                                   "(SELECT id FROM duplicate_resolutions)")):
        n = tx.execute(f"DELETE FROM {table} WHERE {parent_sql}").rowcount
        if n > 0:
            report.lost[table] = report.lost.get(table, 0) + n
            if table == "photo_tags":
                report.user_tags = max(0, report.user_tags - n)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _when(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))


def _forget_index(home: Path) -> None:
    """The search index mirrors the catalog that was lost: it is rebuilt from the new one."""
    shutil.rmtree(home / "index", ignore_errors=True)


def _aside_name(path: Path) -> Path:
    """A name for a damaged catalog that no other set-aside file has (two repairs in one
    second keep both)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    while True:
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{secrets.token_hex(3)}")
        if not any(Path(f"{aside}{s}").exists() for s in ("", "-wal", "-shm")):
            return aside


def _clean_leftovers(path: Path) -> None:
    """Half-built repairs of a process that was killed (never the catalog itself)."""
    for part in path.parent.glob(f"{path.name}.repair-*"):
        try:
            if time.time() - part.stat().st_mtime > 3600:
                part.unlink()
        except OSError:
            pass


def integrity_ok(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result: str = conn.execute("PRAGMA quick_check").fetchone()[0]
            return result == "ok"
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError):
        return False


def _backups(path: Path) -> list[Path]:
    """Backups of the catalog at ``path``, newest first."""
    folder = path.parent / BACKUP_DIR
    found = list(folder.glob(f"{path.stem}-*.sqlite3")) if folder.is_dir() else []
    found += path.parent.glob(f"{path.name}.v*.bak")  # taken before schema migrations
    return sorted((p for p in found if p.is_file()), key=lambda p: p.stat().st_mtime,
                  reverse=True)


def backup_if_due(catalog: Catalog, every: float = BACKUP_EVERY) -> Path | None:
    """Back the catalog up if its newest backup is older than ``every`` seconds."""
    backups = _backups(catalog.path)
    if backups and time.time() - backups[0].stat().st_mtime < every:
        return None
    return backup(catalog)


def backup(catalog: Catalog) -> Path | None:
    """A consistent copy of the catalog (while it is in use) in ``backups/``; the oldest
    beyond :data:`KEEP_BACKUPS` are deleted. A failure (disk full) is logged, not raised."""
    folder = catalog.path.parent / BACKUP_DIR
    dest = folder / f"{catalog.path.stem}-{time.strftime('%Y%m%d-%H%M%S')}.sqlite3"
    part = dest.with_name(dest.name + f".{secrets.token_hex(3)}.part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(part)
        try:
            catalog.conn.backup(target)
        finally:
            target.close()
        os.replace(part, dest)
    except (OSError, sqlite3.Error) as e:
        part.unlink(missing_ok=True)
        log.warning("could not back up the catalog: %s", e)
        return None
    for old in _backups(catalog.path)[KEEP_BACKUPS:]:
        old.unlink(missing_ok=True)
    return dest


# -- photoclip doctor --------------------------------------------------------------------------

@dataclass
class Finding:
    what: str
    ok: bool
    detail: str = ""


def check(home: Path, catalog_path: Path) -> list[Finding]:
    """Everything in the data folder that can be damaged, checked (read-only). A catalog
    that is busy or on a failing disk raises CatalogUnavailable: that is not damage."""
    from photoclip.config import Settings

    out = []
    problem = _damage(catalog_path)
    if problem is None and catalog_path.exists():
        problem = integrity_problem(catalog_path)
    out.append(Finding("catalog", problem is None, problem or f"{catalog_path.name} is sound"))
    backups = [b for b in _backups(catalog_path) if integrity_ok(b)]
    out.append(Finding("backups", bool(backups),
                       f"{len(backups)} usable, newest {_age(backups[0])}" if backups
                       else "none yet (one is made each day the library is updated)"))
    snaps = userdata.snapshots(home)
    out.append(Finding("your tags and categories", True,
                       f"{len(snaps)} snapshot{'s' if len(snaps) != 1 else ''}, newest "
                       f"{_age(snaps[0])}" if snaps else
                       "no snapshot yet (one is taken a minute after you change something)"))
    settings = Settings.load(home)
    out.append(Finding("settings", not settings.problems, "; ".join(settings.problems)
                       or "settings.json is valid"))
    return out


def integrity_problem(path: Path) -> str | None:
    """What SQLite's integrity check finds wrong with the catalog at ``path`` (None: sound).
    Busy, locked or unreadable is not damage: CatalogUnavailable."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        try:
            rows = conn.execute("PRAGMA integrity_check(20)").fetchall()
        finally:
            conn.close()
    except SQL_TROUBLE as e:
        if not is_corruption(e):
            raise unavailable(e, path) from None
        return _said(e)
    if rows and rows[0][0] == "ok":
        return None
    return "SQLite's integrity check failed: " + "; ".join(r[0] for r in rows[:3])


def repair(catalog_path: Path) -> RepairReport | None:
    """Repair a damaged catalog (see repair_catalog); None when it is sound."""
    problem = _damage(catalog_path)
    if problem is None and catalog_path.exists():
        problem = integrity_problem(catalog_path)
    if problem is None:
        return None
    return repair_catalog(catalog_path, problem)


def _age(path: Path) -> str:
    hours = (time.time() - path.stat().st_mtime) / 3600
    return f"{hours:.0f} h old" if hours < 48 else f"{hours / 24:.0f} days old"
