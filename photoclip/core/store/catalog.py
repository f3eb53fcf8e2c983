"""The catalog: one SQLite file (WAL) holding folders, photos and embeddings (this module),
and the tables of tags and categories (core/store/tags.py, categories.py); its schema and
migrations are in core/store/schema.py.

The catalog is the source of truth. The ANN index is a cache that can always be rebuilt from the
embeddings stored here; on load it is compared with them id by id and patched.

Threads: each thread gets its own connection (WAL lets readers run beside the one writer and see
the last committed state). Writes go through :meth:`Catalog.transaction`.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from photoclip.core.errors import PhotoclipError
from photoclip.core.paths import from_db, is_within, to_db
from photoclip.core.store.schema import MIGRATIONS, PYTHON_STEPS, SCHEMA_VERSION

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Folder:
    id: int
    path: str
    online: bool
    last_scan: float | None
    device: int | None = None  # st_dev of the folder when it last held its photos


@dataclass(frozen=True)
class PhotoState:
    """What the indexer needs to know about a catalogued file to diff it against the disk."""

    id: int
    path: str
    size: int
    mtime_ns: int
    content_hash: str | None
    status: str
    error: str | None = None  # why it failed, for failed files
    companion: str | None = None  # the RAW of a RAW+JPEG pair this row stands for


# the columns of a PhotoState, in order
_STATE = "p.id, p.path, p.size, p.mtime_ns, p.content_hash, p.status, p.error, p.companion"


@dataclass(frozen=True)
class PhotoRecord:
    """A photo's row, as written by the indexer."""

    path: str
    folder_id: int
    size: int
    mtime_ns: int
    content_hash: str | None
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    taken_from_exif: bool = False
    status: str = "ok"
    error: str | None = None
    inode: int | None = None
    companion: str | None = None
    phash: int | None = None  # perceptual hash (core/duplicates/phash.py); None: keep or unknown


class CatalogTooNew(PhotoclipError):
    """The catalog was written by a newer PhotoCLIP (a newer schema)."""


class Catalog:
    # How long a connection waits for another process's lock before giving up (it then
    # says so: a busy catalog is never taken for a damaged one).
    # (PHOTOCLIP_BUSY_TIMEOUT shortens it for soak tests of a locked catalog.)
    BUSY_TIMEOUT = float(os.environ.get("PHOTOCLIP_BUSY_TIMEOUT") or 30.0)

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._migrate()

    # -- connections -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.BUSY_TIMEOUT, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a power cut may lose the last commits, but never corrupts the file.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute(f"PRAGMA busy_timeout={int(self.BUSY_TIMEOUT * 1000)}")
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        with self._write_lock:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def bulk_transaction(self, cache_mib: int = 64,
                         foreign_keys: bool = True) -> Iterator[sqlite3.Connection]:
        """:meth:`transaction` for a write of very many rows, with a page cache of
        ``cache_mib`` meanwhile (SQLite's default 2 MB made 690k tags at a million photos
        re-read the same B-tree pages: 9.5 s → 6.4 s with 64 MB), handed back after.

        Without ``foreign_keys`` SQLite does not look up every row's parents (a quarter of
        the time of that write): only for a caller that checks them itself, inside the
        transaction (see :meth:`photo_ids`)."""
        conn = self.conn
        default = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA cache_size={-int(cache_mib) * 1024}")
        if not foreign_keys:  # (a no-op inside a transaction: set before it begins)
            conn.execute("PRAGMA foreign_keys=OFF")
        try:
            with self.transaction() as tx:
                yield tx
        finally:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA cache_size={int(default)}")

    def photo_ids(self) -> np.ndarray:
        """The ids of every photo, ascending (0.1 s at a million: one string from SQLite)."""
        text = self.conn.execute("SELECT group_concat(id) FROM (SELECT id FROM photos "
                                 "ORDER BY id)").fetchone()[0]
        return np.fromstring(text or "", np.int64, sep=",") if text else np.zeros(0, np.int64)

    def _migrate(self) -> None:
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise CatalogTooNew(
                f"The catalog {self.path} was written by a newer PhotoCLIP (schema {version}, "
                f"this one knows {SCHEMA_VERSION}): update PhotoCLIP to open it."
            )
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            backup = self.path.with_name(f"{self.path.name}.v{version}.bak")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            shutil.copy2(self.path, backup)
            log.info("catalog schema %d -> %d; backup at %s", version, SCHEMA_VERSION, backup)
        for target in range(version, SCHEMA_VERSION):
            # executescript commits whatever is open first, so the script opens its own
            # transaction: the schema change, its Python step and the version bump land
            # together or not at all.
            try:
                conn.executescript(f"BEGIN IMMEDIATE;{MIGRATIONS[target]};")
                step = PYTHON_STEPS.get(target + 1)
                if step is not None:
                    step(conn)
                conn.execute(f"PRAGMA user_version={target + 1}")
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    # -- meta --------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def set_meta_quietly(self, key: str, value: str) -> bool:
        """set_meta where failing (a read-only or full data folder) only means trying again
        later: logged, not raised."""
        try:
            self.set_meta(key, value)
            return True
        except sqlite3.OperationalError as e:
            log.info("catalog note %s not written: %s", key, e)
            return False

    # -- folders -----------------------------------------------------------------------------

    def folders(self) -> list[Folder]:
        rows = self.conn.execute(
            "SELECT id, path, online, last_scan, device FROM folders ORDER BY path")
        return [Folder(r[0], from_db(r[1]), bool(r[2]), r[3], r[4]) for r in rows]

    def folder_by_path(self, path: str) -> Folder | None:
        r = self.conn.execute(
            "SELECT id, path, online, last_scan, device FROM folders WHERE path=?", (to_db(path),)
        ).fetchone()
        return Folder(r[0], from_db(r[1]), bool(r[2]), r[3], r[4]) if r else None

    def add_folder(self, path: str) -> Folder:
        """Add a folder; a folder inside it that was added before is absorbed (its photos kept)."""
        with self.transaction() as tx:
            cur = tx.execute(
                "INSERT INTO folders(path, added_at) VALUES (?, ?)", (to_db(path), time.time())
            )
            new_id = cur.lastrowid
            if new_id is None:  # (sqlite3 always sets it after an INSERT)
                raise sqlite3.DatabaseError("the new folder row has no id")
            children = [
                (r[0], r[1])
                for r in tx.execute("SELECT id, path FROM folders WHERE id != ?", (new_id,))
                if is_within(from_db(r[1]), path)
            ]
            for child_id, _ in children:
                tx.execute("UPDATE photos SET folder_id=? WHERE folder_id=?", (new_id, child_id))
                tx.execute("DELETE FROM folders WHERE id=?", (child_id,))
        return Folder(new_id, path, True, None)

    def remove_folder(self, folder_id: int) -> list[int]:
        """Forget a folder and its photos (files are untouched). Returns the removed photo ids."""
        with self.transaction() as tx:
            rows = tx.execute("SELECT id FROM photos WHERE folder_id=?", (folder_id,))
            ids = [r[0] for r in rows]
            tx.execute("DELETE FROM folders WHERE id=?", (folder_id,))
        return ids

    def hashes_in(self, folder_id: int) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT content_hash FROM photos WHERE folder_id=? AND content_hash "
            "IS NOT NULL", (folder_id,))]

    def relink_folder(self, folder_id: int, new_path: str) -> int:
        """The folder now lives at ``new_path``: its row and every photo path below it are
        rewritten (rows, vectors and user data kept). Returns the number of photos."""
        old = self.conn.execute("SELECT path FROM folders WHERE id=?",
                                (folder_id,)).fetchone()[0]
        old_db, new_db = old, to_db(new_path)
        lo, hi = prefix_range(old_db)
        n = len(old_db.rstrip(os.sep))
        with self.transaction() as tx:
            rows = tx.execute("SELECT id, path FROM photos WHERE folder_id=?",
                              (folder_id,)).fetchall()
            tx.execute("UPDATE folders SET path=?, online=1, device=NULL WHERE id=?",
                       (new_db, folder_id))
            for pid, path in rows:
                if lo <= path < hi:
                    tx.execute("UPDATE photos SET path=? WHERE id=?",
                               (new_db.rstrip(os.sep) + path[n:], pid))
        return len(rows)

    def forget_displaced(self) -> int:
        """Delete the rows a swap parked (move_photo) that no file claimed in a full run."""
        with self.transaction() as tx:
            return tx.execute("DELETE FROM photos WHERE instr(path, ?) > 0",
                              (DISPLACED,)).rowcount

    def set_folder_online(self, folder_id: int, online: bool) -> None:
        with self.transaction() as tx:
            tx.execute("UPDATE folders SET online=? WHERE id=?", (int(online), folder_id))

    def mark_scanned(self, folder_id: int, device: int | None = None) -> None:
        """A complete scan: when, and the device (st_dev) the folder's photos were found on."""
        with self.transaction() as tx:
            tx.execute("UPDATE folders SET last_scan=?, device=coalesce(?, device) WHERE id=?",
                       (time.time(), device, folder_id))

    # -- photos ------------------------------------------------------------------------------

    def photo_states(self, folder_id: int) -> dict[str, PhotoState]:
        rows = self.conn.execute(f"SELECT {_STATE} FROM photos p WHERE folder_id=?",
                                 (folder_id,))
        return {from_db(r[1]): _state(r) for r in rows}

    def photo_state(self, path: str) -> PhotoState | None:
        r = self.conn.execute(f"SELECT {_STATE} FROM photos p WHERE path=?",
                              (to_db(path),)).fetchone()
        return _state(r) if r else None

    def photo_with_companion(self, path: str) -> PhotoState | None:
        """The photo whose RAW companion ``path`` is (a RAW + JPEG pair), if any."""
        r = self.conn.execute(f"SELECT {_STATE} FROM photos p WHERE companion=?",
                              (to_db(path),)).fetchone()
        return _state(r) if r else None

    def paths_under(self, prefix: str) -> list[str]:
        lo, hi = prefix_range(to_db(prefix))
        rows = self.conn.execute("SELECT path FROM photos WHERE path >= ? AND path < ?", (lo, hi))
        return [from_db(r[0]) for r in rows]

    def photo_with_embedding(self, content_hash: str, model: str) -> int | None:
        """A photo with this content that already has an embedding for ``model`` (so a moved
        or copied file needs no encoding), or None. Any thread."""
        row = self.conn.execute(
            "SELECT p.id FROM photos p JOIN embeddings e ON e.photo_id = p.id "
            "WHERE p.content_hash = ? AND e.model = ? LIMIT 1",
            (content_hash, model),
        ).fetchone()
        return row[0] if row else None

    def moved_away(self, content_hash: str, new_path: str,
                   inode: int | None = None) -> PhotoState | None:
        """A catalogued photo with this content whose file is gone from its path, in a folder
        that is reachable now: the file at ``new_path`` is that photo, moved (from any folder
        of the library), so it keeps its row, vector and labels. A photo of an unplugged drive
        is never taken for moved (its copy elsewhere is a copy). Among identical copies the
        one with the file's inode (a rename keeps it), else the same file name, is taken."""
        rows = self.conn.execute(
            "SELECT p.id, p.path, p.size, p.mtime_ns, p.content_hash, p.status, f.path, "
            "p.inode FROM photos p JOIN folders f ON f.id = p.folder_id "
            "WHERE p.content_hash = ? AND p.path != ? AND f.online = 1",
            (content_hash, to_db(new_path))).fetchall()
        gone = [r for r in rows
                if os.path.isdir(from_db(r[6])) and not os.path.lexists(from_db(r[1]))]
        best = best_match(gone, new_path, inode, path_col=1, inode_col=7)
        return _state(best[:6]) if best is not None else None

    def swapped_from(self, tx: sqlite3.Connection, content_hash: str, path: str,
                     inode: int | None) -> PhotoState | None:
        """The row whose photo now lies at ``path`` when the row at ``path`` holds other
        content: names swapped (a.jpg ↔ b.jpg) or a photo renamed over another. It is a row
        with this content whose own file no longer holds it (gone, or changed since it was
        catalogued). None when ``path`` holds no row or the same content."""
        here = tx.execute("SELECT content_hash FROM photos WHERE path=?",
                          (to_db(path),)).fetchone()
        if here is None or here[0] in (None, content_hash):
            return None
        rows = tx.execute(
            "SELECT p.id, p.path, p.size, p.mtime_ns, p.content_hash, p.status, p.inode "
            "FROM photos p JOIN folders f ON f.id = p.folder_id "
            "WHERE p.content_hash = ? AND p.path != ? AND f.online = 1",
            (content_hash, to_db(path))).fetchall()
        left = []
        for r in rows:
            try:
                st = os.stat(from_db(r[1]))
            except (OSError, ValueError):
                left.append(r)
                continue
            if (st.st_size, st.st_mtime_ns) != (r[2], r[3]) or (
                    inode is not None and r[6] == inode and st.st_ino != inode):
                left.append(r)
        best = best_match(left, path, inode, path_col=1, inode_col=6)
        return _state(best[:6]) if best is not None else None

    # -- what users made, kept by content ----------------------------------------------------

    @staticmethod
    def restore_user_data(tx: sqlite3.Connection, photo_id: int, content_hash: str | None,
                          path: str, exact: bool = False) -> int:
        """A photo new to the catalog gets back what the user made for it when it was here
        before (its folder removed and added again, the file deleted and restored): the kept
        manual tags, removals and category examples of its content — those kept at this
        path first, else at the same file name, else the newest. Without any, a copy of what
        the same photo carries in a folder that is offline now (its drive moved or renamed).
        With ``exact`` (a row that moved here), only what was kept for this very path and
        content comes back (a repair kept a photo's newest rows under its newest path).
        Returns the number of rows restored."""
        h = content_hash or ""
        paths = [r[0] for r in tx.execute(
            "SELECT path, max(kept_at) k FROM (SELECT path, kept_at FROM kept_tags "
            "WHERE content_hash=? UNION ALL SELECT path, kept_at FROM kept_examples "
            "WHERE content_hash=?) GROUP BY path ORDER BY k", (h, h))]  # (newest last)
        here = to_db(path)
        if here in paths:
            paths = [here]
        elif not h or exact:
            paths = []
        if paths:
            best = best_match([(p,) for p in paths], here, None, 0, None)
            assert best is not None  # (``paths`` is not empty)
            where = (h, best[0])
            n = tx.execute(
                "INSERT OR IGNORE INTO photo_tags(photo_id, tag_id, source) "
                "SELECT ?, tag_id, source FROM kept_tags WHERE content_hash=? AND path=?",
                (photo_id, *where)).rowcount
            n += tx.execute(
                "INSERT OR IGNORE INTO category_labels(category_id, photo_id, positive, "
                "added_at) SELECT category_id, ?, positive, added_at FROM kept_examples "
                "WHERE content_hash=? AND path=?", (photo_id, *where)).rowcount
            tx.execute("DELETE FROM kept_tags WHERE content_hash=? AND path=?", where)
            tx.execute("DELETE FROM kept_examples WHERE content_hash=? AND path=?", where)
            return n
        if not h or exact:
            return 0
        offline = [r[0] for r in tx.execute(
            "SELECT p.id FROM photos p JOIN folders f ON f.id = p.folder_id "
            "WHERE p.content_hash=? AND p.id != ? AND f.online = 0", (h, photo_id))]
        n = 0
        for src in offline:
            n += tx.execute(
                "INSERT OR IGNORE INTO photo_tags(photo_id, tag_id, source) SELECT ?, tag_id, "
                "source FROM photo_tags WHERE photo_id=? AND source != 'auto'",
                (photo_id, src)).rowcount
            n += tx.execute(
                "INSERT OR IGNORE INTO category_labels(category_id, photo_id, positive, "
                "added_at) SELECT category_id, ?, positive, added_at FROM category_labels "
                "WHERE photo_id=?", (photo_id, src)).rowcount
        return n

    @staticmethod
    def has_user_data(tx: sqlite3.Connection, photo_id: int) -> bool:
        found: int = tx.execute(
            "SELECT EXISTS(SELECT 1 FROM photo_tags WHERE photo_id=? AND source != 'auto') "
            "OR EXISTS(SELECT 1 FROM category_labels WHERE photo_id=?)",
            (photo_id, photo_id)).fetchone()[0]
        return found == 1

    def adopt_kept(self, hashes: Iterable[str]) -> int:
        """After a folder was removed: its photos' kept user data goes to the same photos
        still in the library elsewhere that carry none of their own (the folder was moved or
        renamed, and the new place added before the old one was removed). Returns the
        number of photos that got it."""
        n = 0
        with self.transaction() as tx:
            for h in set(hashes):
                if not h:
                    continue
                for (pid, path) in tx.execute(
                        "SELECT id, path FROM photos WHERE content_hash=?", (h,)).fetchall():
                    if not self.has_user_data(tx, pid) and \
                            self.restore_user_data(tx, pid, h, path):
                        n += 1
        return n

    def kept_counts(self) -> dict[str, int]:
        """Kept user data of photos not in the library now: tags and examples."""
        c = self.conn
        return {"tags": c.execute("SELECT COUNT(*) FROM kept_tags").fetchone()[0],
                "examples": c.execute("SELECT COUNT(*) FROM kept_examples").fetchone()[0]}

    def user_data_counts(self, photo_ids: Sequence[int]) -> tuple[int, int]:
        """(manual tags and removals, category examples) of these photos."""
        tags = examples = 0
        ids = list(photo_ids)
        for k in range(0, len(ids), 900):
            part = ids[k:k + 900]
            marks = ",".join("?" * len(part))
            tags += self.conn.execute(
                f"SELECT COUNT(*) FROM photo_tags WHERE source != 'auto' AND photo_id IN "
                f"({marks})", part).fetchone()[0]
            examples += self.conn.execute(
                f"SELECT COUNT(*) FROM category_labels WHERE photo_id IN ({marks})",
                part).fetchone()[0]
        return tags, examples

    def user_rev(self) -> int:
        """Moves on with every change to what users made (see migration 6)."""
        return int(self.get_meta("user_rev", "0") or 0)

    def inodes(self, ids: Sequence[int]) -> dict[int, int | None]:
        marks = ",".join("?" * len(ids))
        return dict(self.conn.execute(f"SELECT id, inode FROM photos WHERE id IN ({marks})",
                                      list(ids)).fetchall())

    def folder_exists(self, folder_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM folders WHERE id=?", (folder_id,)).fetchone() \
            is not None

    def pending_paths(self, model: str, folder_id: int) -> list[PhotoState]:
        """Readable photos of a folder that have no embedding for ``model`` yet."""
        rows = self.conn.execute(
            f"SELECT {_STATE} FROM photos p "
            "WHERE folder_id=? AND status='ok' AND NOT EXISTS "
            "(SELECT 1 FROM embeddings e WHERE e.photo_id=p.id AND e.model=?)",
            (folder_id, model),
        )
        return [_state(r) for r in rows]

    @staticmethod
    def upsert_photo(tx: sqlite3.Connection, rec: PhotoRecord) -> int:
        """Insert or update the row for ``rec.path``; returns its id. Call inside a transaction."""
        now = time.time()
        tx.execute(
            "INSERT INTO photos(folder_id, path, size, mtime_ns, content_hash, width, height, "
            "taken_at, taken_from_exif, status, error, added_at, updated_at, inode, companion, "
            "phash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(path) DO UPDATE SET folder_id=excluded.folder_id, size=excluded.size, "
            "mtime_ns=excluded.mtime_ns, content_hash=excluded.content_hash, "
            "width=excluded.width, height=excluded.height, taken_at=excluded.taken_at, "
            "taken_from_exif=excluded.taken_from_exif, status=excluded.status, "
            "error=excluded.error, updated_at=excluded.updated_at, "
            "inode=coalesce(excluded.inode, inode), companion=excluded.companion, "
            # (the same content keeps its hash when none was computed: a touched file)
            "phash=CASE WHEN excluded.phash IS NOT NULL THEN excluded.phash "
            "WHEN excluded.content_hash IS content_hash THEN phash END",
            (rec.folder_id, to_db(rec.path), rec.size, rec.mtime_ns, rec.content_hash, rec.width,
             rec.height, rec.taken_at, int(rec.taken_from_exif), rec.status, rec.error, now, now,
             rec.inode, to_db(rec.companion) if rec.companion else None, rec.phash),
        )
        pid: int = tx.execute("SELECT id FROM photos WHERE path=?",
                              (to_db(rec.path),)).fetchone()[0]
        return pid

    @staticmethod
    def move_photo(tx: sqlite3.Connection, photo_id: int, new_path: str, folder_id: int,
                   size: int, mtime_ns: int, inode: int | None = None) -> None:
        """A photo moved on disk: same row, same embedding, same labels; new path. A row
        still standing at the new path (its photo went elsewhere: a swap of names) is moved
        out of the way — kept, with everything, until its photo is found — never deleted."""
        new_path = to_db(new_path)
        for (other,) in tx.execute("SELECT id FROM photos WHERE path=? AND id != ?",
                                   (new_path, photo_id)).fetchall():
            tx.execute("UPDATE photos SET path=? WHERE id=?",
                       (displaced_path(new_path, other), other))
        tx.execute(
            "UPDATE photos SET path=?, folder_id=?, size=?, mtime_ns=?, updated_at=?, "
            "inode=coalesce(?, inode) WHERE id=?",
            (new_path, folder_id, size, mtime_ns, time.time(), inode, photo_id),
        )

    @staticmethod
    def set_companion(tx: sqlite3.Connection, photo_id: int, companion: str | None) -> None:
        tx.execute("UPDATE photos SET companion=? WHERE id=?",
                   (to_db(companion) if companion else None, photo_id))

    def move_prefix(self, src: str, dst: str, folder_id: int) -> int:
        """A folder moved on disk: every photo below ``src`` now lies below ``dst``.
        Rows, embeddings and labels are kept. Returns the number of photos moved."""
        src, dst = to_db(src), to_db(dst)  # (one character for one: lengths are kept)
        lo, hi = prefix_range(src)
        n = len(src.rstrip(os.sep))
        with self.transaction() as tx:
            rows = tx.execute("SELECT id, path, companion FROM photos "
                              "WHERE path >= ? AND path < ?", (lo, hi)).fetchall()
            now = time.time()
            for pid, path, companion in rows:
                new = dst.rstrip(os.sep) + path[n:]
                if companion is not None and lo <= companion < hi:
                    companion = dst.rstrip(os.sep) + companion[n:]
                tx.execute("DELETE FROM photos WHERE path=? AND id != ?", (new, pid))
                tx.execute("UPDATE photos SET path=?, folder_id=?, updated_at=?, companion=? "
                           "WHERE id=?", (new, folder_id, now, companion, pid))
        return len(rows)

    @staticmethod
    def delete_embeddings(tx: sqlite3.Connection, photo_id: int) -> None:
        tx.execute("DELETE FROM embeddings WHERE photo_id=?", (photo_id,))

    @staticmethod
    def _next_rev(tx: sqlite3.Connection, n: int = 1) -> int:
        """Reserve ``n`` vector revisions; returns the first. Every write of a vector gets a new,
        higher revision (VectorIndex.patch_from finds what changed since its last save)."""
        tx.execute("UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key='embedding_rev'",
                   (n,))
        last = int(tx.execute("SELECT value FROM meta WHERE key='embedding_rev'").fetchone()[0])
        return last - n + 1

    @classmethod
    def put_embeddings(cls, tx: sqlite3.Connection, model: str,
                       items: Iterable[tuple[int, np.ndarray]]) -> None:
        items = list(items)
        first = cls._next_rev(tx, len(items))
        tx.executemany(
            "INSERT OR REPLACE INTO embeddings(photo_id, model, vector, rev) VALUES (?, ?, ?, ?)",
            ((pid, model, np.ascontiguousarray(v, dtype=np.float32).tobytes(), first + k)
             for k, (pid, v) in enumerate(items)),
        )

    @classmethod
    def copy_embeddings(cls, tx: sqlite3.Connection, src_id: int, dst_id: int) -> None:
        tx.execute(
            "INSERT OR REPLACE INTO embeddings(photo_id, model, vector, rev) "
            "SELECT ?, model, vector, ? FROM embeddings WHERE photo_id=?",
            (dst_id, cls._next_rev(tx), src_id),
        )

    def delete_photos(self, ids: Sequence[int]) -> None:
        with self.transaction() as tx:
            tx.executemany("DELETE FROM photos WHERE id=?", ((i,) for i in ids))

    # -- vectors -----------------------------------------------------------------------------

    def embedding_count(self, model: str) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM embeddings WHERE model=?",
                                     (model,)).fetchone()[0])

    def embedding_ids(self, model: str) -> np.ndarray:
        rows = self.conn.execute("SELECT photo_id FROM embeddings WHERE model=?", (model,))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def catalog_id(self) -> str:
        """Identifies this catalog (a restored backup gets a new one): an index saved for
        another catalog is never taken for this one's."""
        return self.get_meta("catalog_id", "") or ""

    def new_identity(self) -> None:
        with self.transaction() as tx:
            tx.execute("INSERT OR REPLACE INTO meta(key, value) "
                       "VALUES ('catalog_id', lower(hex(randomblob(16))))")

    def max_rev(self) -> int:
        """The catalog's vector revision: it moves on with every vector written or deleted
        (any model), so an index saved at this revision is current while it stays."""
        return int(self.get_meta("embedding_rev", "0") or 0)

    def changed_since(self, model: str, rev: int) -> np.ndarray:
        """Ids whose ``model`` vector was written after revision ``rev``."""
        rows = self.conn.execute(
            "SELECT photo_id FROM embeddings WHERE model=? AND rev > ?", (model, rev))
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def vectors(self, model: str,
                ids: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, float32 matrix) of the stored embeddings for ``model``, optionally only ``ids``."""
        if ids is None:
            rows = self.conn.execute(
                "SELECT photo_id, vector FROM embeddings WHERE model=? ORDER BY photo_id", (model,)
            ).fetchall()
        else:
            rows = []
            ids = list(ids)
            for chunk in range(0, len(ids), 900):
                part = ids[chunk:chunk + 900]
                rows += self.conn.execute(
                    f"SELECT photo_id, vector FROM embeddings WHERE model=? AND photo_id IN "
                    f"({','.join('?' * len(part))})",
                    (model, *part),
                ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        out_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return out_ids, mat

    def iter_vectors(self, model: str,
                     chunk: int = 8192) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every stored ``model`` embedding as (ids, float32 matrix) chunks, in storage order
        (one sequential scan: 3x quicker than going through an index for 100k vectors)."""
        cur = self.conn.execute(
            "SELECT photo_id, vector FROM embeddings NOT INDEXED WHERE model=?", (model,))
        while rows := cur.fetchmany(chunk):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32)
            yield ids, mat.reshape(len(rows), -1)

    def vector_of(self, photo_id: int, model: str) -> np.ndarray | None:
        r = self.conn.execute(
            "SELECT vector FROM embeddings WHERE photo_id=? AND model=?", (photo_id, model)
        ).fetchone()
        return np.frombuffer(r[0], dtype=np.float32).copy() if r else None

    # -- queries for search and status -------------------------------------------------------

    def photo_rows(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """id -> the photo's columns as a dict, for the ids that exist."""
        out: dict[int, dict[str, Any]] = {}
        ids = list(ids)
        conn = self.conn
        for chunk in range(0, len(ids), 900):
            part = ids[chunk:chunk + 900]
            cur = conn.execute(
                "SELECT id, path, size, mtime_ns, width, height, taken_at, taken_from_exif, "
                "folder_id, content_hash, companion FROM photos "
                f"WHERE id IN ({','.join('?' * len(part))})",
                part,
            )
            cols = [d[0] for d in cur.description]
            for r in cur:
                out[r[0]] = _photo_row(cols, r)
        return out

    def filter_ids(self, model: str, folder: str | None = None, after: str | None = None,
                   before: str | None = None) -> np.ndarray:
        """Ids of embedded photos inside ``folder`` taken in [after, before) (ISO dates)."""
        where, args = _photo_filters(folder, after, before)
        rows = self.conn.execute(
            "SELECT p.id FROM photos p JOIN embeddings e ON e.photo_id=p.id "
            f"WHERE e.model=? {where}", [model, *args])
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def embedded_ids(self, model: str, folders: Sequence[str] = ("",),
                     since_rev: int | None = None) -> np.ndarray:
        """Ids of photos with a ``model`` vector inside any of ``folders`` ("" = anywhere),
        optionally only those written after revision ``since_rev``."""
        sql = "SELECT e.photo_id FROM embeddings e"
        where: list[str] = ["e.model=?"]
        args: list[object] = [model]
        if since_rev is not None:
            where.append("e.rev > ?")
            args.append(since_rev)
        if "" not in folders:
            if not folders:
                return np.zeros(0, np.int64)
            sql += " JOIN photos p ON p.id = e.photo_id"
            ranges = []
            for f in folders:
                ranges.append("(p.path >= ? AND p.path < ?)")
                args += list(prefix_range(to_db(f)))
            where.append("(" + " OR ".join(ranges) + ")")
        rows = self.conn.execute(f"{sql} WHERE {' AND '.join(where)} ORDER BY e.photo_id", args)
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def photo_paths(self, folder: str | None = None) -> list[tuple[int, str, bool]]:
        """(id, path, folder online) of the readable photos, optionally inside ``folder``;
        the RAW of a RAW+JPEG pair is a second row with its photo's id (sidecars are written
        and read for both files)."""
        where, args = _photo_filters(folder, None, None)
        rows = self.conn.execute(
            "SELECT p.id, p.path, f.online, p.companion FROM photos p "
            f"JOIN folders f ON f.id = p.folder_id WHERE p.status='ok' {where} ORDER BY p.path",
            args)
        out = []
        for r in rows:
            out.append((r[0], from_db(r[1]), bool(r[2])))
            if r[3]:
                out.append((r[0], from_db(r[3]), bool(r[2])))
        return out

    def browse(self, folder: str | None = None, after: str | None = None,
               before: str | None = None, limit: int = 1_000_000) -> list[dict[str, Any]]:
        """Catalogued photos, newest first (the library view when nothing is searched)."""
        where, args = _photo_filters(folder, after, before)
        cur = self.conn.execute(
            "SELECT p.id, p.path, p.size, p.width, p.height, p.taken_at, p.folder_id, "
            "p.companion FROM photos p "
            f"WHERE p.status='ok' {where} ORDER BY p.taken_at DESC, p.id DESC LIMIT ?",
            [*args, limit])
        cols = [d[0] for d in cur.description]
        return [_photo_row(cols, r) for r in cur]

    def browse_sections(self, folder: str | None = None, after: str | None = None,
                        before: str | None = None,
                        key_len: int = 7) -> list[tuple[str | None, int]]:
        """(key, photos) per date section of a browse, in its order (newest first, undated
        last): the key is taken_at's first ``key_len`` characters (7: the month).

        A skip scan of the browse index: the newest date below the last section found, then
        the count of its section's range (0.08 s at a million photos; a GROUP BY sorted every
        row in a temporary B-tree: 0.5 s)."""
        where, args = _photo_filters(folder, after, before)
        base = f"FROM photos p WHERE p.status='ok' {where}"
        out: list[tuple[str | None, int]] = []
        below: str | None = None
        while True:
            if below is None:
                top = self.conn.execute(f"SELECT MAX(p.taken_at) {base}", args).fetchone()[0]
            else:
                top = self.conn.execute(f"SELECT MAX(p.taken_at) {base} AND p.taken_at < ?",
                                        [*args, below]).fetchone()[0]
            if top is None:
                break
            below = str(top)[:key_len]
            within, bounds = _key_range(below, key_len)
            out.append((below, self.conn.execute(
                f"SELECT COUNT(*) {base} AND {within}", [*args, *bounds]).fetchone()[0]))
        undated = self.conn.execute(f"SELECT COUNT(*) {base} AND p.taken_at IS NULL",
                                    args).fetchone()[0]
        return [*out, (None, undated)] if undated else out

    def browse_dates(self, folder: str | None = None, after: str | None = None,
                     before: str | None = None) -> tuple[str | None, str | None]:
        """The oldest and newest taken_at of a browse (None: no dated photo)."""
        where, args = _photo_filters(folder, after, before)
        row = self.conn.execute(
            f"SELECT MIN(p.taken_at), MAX(p.taken_at) FROM photos p WHERE p.status='ok' "
            f"AND p.taken_at IS NOT NULL {where}", args).fetchone()
        return row[0], row[1]

    def browse_section(self, key: str | None, offset: int, limit: int,
                       folder: str | None = None, after: str | None = None,
                       before: str | None = None,
                       key_len: int = 7) -> list[dict[str, Any]]:
        """Photos ``offset`` to ``offset + limit`` of one section of a browse (those whose
        taken_at starts with ``key``, of ``key_len`` characters; None: undated), newest
        first. Reads the section only."""
        where, args = _photo_filters(folder, after, before)
        within, bounds = _key_range(key, key_len)
        cur = self.conn.execute(
            "SELECT p.id, p.path, p.size, p.width, p.height, p.taken_at, p.folder_id, "
            f"p.companion FROM photos p WHERE p.status='ok' AND {within} {where} "
            "ORDER BY p.taken_at DESC, p.id DESC LIMIT ? OFFSET ?",
            [*bounds, *args, limit, offset])
        cols = [d[0] for d in cur.description]
        return [_photo_row(cols, r) for r in cur]

    def years(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT DISTINCT substr(taken_at, 1, 4) FROM photos WHERE taken_at IS NOT NULL "
            "ORDER BY 1 DESC")
        return [int(r[0]) for r in rows if r[0] and r[0].isdigit()]

    def counts(self, model: str) -> dict[str, int]:
        """Photos, those with a ``model`` vector, failed ones, readable ones waiting for a
        vector: counts of indexes (the smallest of photos', photos_failed, the embeddings'
        model index), never a lookup per photo (the NOT EXISTS it replaces: 2.3 s at 1M)."""
        c = self.conn

        def one(sql: str, *args: object) -> int:
            return int(c.execute(sql, args).fetchone()[0])

        photos = one("SELECT COUNT(*) FROM photos")
        indexed = self.embedding_count(model)
        failed = one("SELECT COUNT(*) FROM photos WHERE status='failed'")
        failed_indexed = one(  # (a photo that could be read once, and not since)
            "SELECT COUNT(*) FROM photos p CROSS JOIN embeddings e "  # (failed photos first)
            "ON e.photo_id=p.id AND e.model=? "
            "WHERE p.status='failed'", model)
        return {"photos": photos, "indexed": indexed, "failed": failed,
                "pending": photos - failed - (indexed - failed_indexed)}

    def folder_counts(self, model: str) -> dict[int, tuple[int, int, int]]:
        """folder id -> (photos, indexed, failed)."""
        rows = self.conn.execute(
            "SELECT p.folder_id, COUNT(*), COUNT(e.photo_id), SUM(p.status='failed') "
            "FROM photos p LEFT JOIN embeddings e ON e.photo_id=p.id AND e.model=? "
            "GROUP BY p.folder_id",
            (model,),
        )
        return {r[0]: (r[1], r[2], r[3] or 0) for r in rows}

    def failures(self, limit: int = 1000) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT path, error FROM photos WHERE status='failed' ORDER BY path LIMIT ?", (limit,)
        )
        return [(from_db(r[0]), r[1] or "") for r in rows]


DISPLACED = "\x00displaced:"
LAST_CHAR = "\U0010ffff"  # every text that starts with k sorts in [k, k + LAST_CHAR)


def displaced_path(path: str, photo_id: int) -> str:
    """Where a row waits whose file now holds another photo (names swapped): a path no file
    can have (NUL), that still sorts inside its folder, so the folder's next scan finds the
    row missing and matches it by content to wherever its photo went."""
    return f"{path.split(DISPLACED)[0]}{DISPLACED}{photo_id}"


_Row = TypeVar("_Row", bound=Sequence[Any])


def best_match(rows: Sequence[_Row], path: str, inode: int | None, path_col: int | None,
               inode_col: int | None) -> _Row | None:
    """Of rows that all hold the same content, the one that is this file: the same inode
    (a rename keeps it), else the same file name, else the last. None for no rows.
    ``path_col`` None: each row's first item is a PhotoState."""
    if not rows:
        return None
    if inode is not None and inode_col is not None:
        for r in rows:
            if r[inode_col] == inode:
                return r
    name = os.path.basename(path)
    for r in rows:
        other = r[path_col] if path_col is not None else r[0].path
        if os.path.basename(str(other).split(DISPLACED)[0]) == name:
            return r
    return rows[-1]


def _photo_filters(folder: str | None, after: str | None,
                   before: str | None) -> tuple[str, list[object]]:
    """SQL conditions (on ``photos p``) for: inside ``folder``, taken in [after, before)."""
    sql: list[str] = []
    args: list[object] = []
    if folder:
        sql.append("AND p.path >= ? AND p.path < ?")
        args += list(prefix_range(to_db(folder)))
    if after:
        sql.append("AND p.taken_at >= ?")
        args.append(after)
    if before:
        sql.append("AND p.taken_at < ?")
        args.append(before)
    return " ".join(sql), args


def _key_range(key: str | None, key_len: int) -> tuple[str, list[object]]:
    """The SQL condition (on ``photos p``) for a browse section: the photos whose taken_at's
    first ``key_len`` characters are ``key`` — a range of the browse index."""
    if key is None:
        return "p.taken_at IS NULL", []
    if len(key) < key_len:  # ("2019": a taken_at that short is the whole key)
        return "p.taken_at = ?", [key]
    return "p.taken_at >= ? AND p.taken_at < ?", [key, key + LAST_CHAR]


def _photo_row(cols: Sequence[str], r: Sequence[Any]) -> dict[str, Any]:
    """A photo's row as a dict, its path and RAW companion as the file system spells them."""
    row = dict(zip(cols, r, strict=True))
    row["path"] = from_db(row["path"])
    if row["companion"]:
        row["companion"] = from_db(row["companion"])
    return row


def _state(row: Sequence[Any]) -> PhotoState:
    """A PhotoState from a row of the :data:`_STATE` columns (or their first six)."""
    error = row[6] if len(row) > 6 else None
    companion = row[7] if len(row) > 7 else None
    return PhotoState(row[0], from_db(row[1]), row[2], row[3], row[4], row[5], error,
                      from_db(companion) if companion else None)


def prefix_range(folder: str) -> tuple[str, str]:
    """A [lo, hi) string range that holds exactly the paths inside ``folder``."""
    base = folder.rstrip(os.sep) + os.sep
    return base, base[:-1] + chr(ord(os.sep) + 1)
