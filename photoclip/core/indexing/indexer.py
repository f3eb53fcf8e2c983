"""Bring the catalog and the index in step with the files: scan → decode pool → encode → commit.

``plan_*`` diffs the disk against the catalog by (path, size, mtime); ``run`` then reads each file
that needs work once, hashes it, and

- reuses the embedding when the content hash is already known (a moved photo keeps its row,
  embedding and labels; a copied photo gets a copy of the vector): nothing is decoded or encoded;
- otherwise decodes it in a bounded thread pool while the main thread encodes batches;
- records every unusable file as failed with a reason, and goes on.

Each batch is committed in one transaction, so an interrupted run resumes where it stopped and
never encodes a committed photo twice. Progress and cancellation are plain callbacks/events.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from photoclip.core.duplicates import phash
from photoclip.core.indexing.imageio import (
    DecodeError,
    Preprocess,
    content_hash,
    decode,
    decode_for_model,
    mtime_iso,
    read_file,
)
from photoclip.core.indexing.scan import FileInfo, file_info, pairs_in, scan
from photoclip.core.model.protocols import ImageEncoder
from photoclip.core.paths import to_db
from photoclip.core.store.catalog import Catalog, Folder, PhotoRecord, PhotoState, best_match

if TYPE_CHECKING:
    from photoclip.core.search.vector_index import VectorIndex

log = logging.getLogger(__name__)


CATALOG_ONLY_SIDE = 64  # decode size used to validate a file when no model is loaded


@dataclass
class Plan:
    """What one run has to do for one folder."""

    folder: Folder
    work: list[FileInfo] = field(default_factory=list)
    missing: dict[str, PhotoState] = field(default_factory=dict)  # path -> row; file is gone
    unchanged: int = 0
    offline: bool = False
    offline_why: str = ""
    complete: bool = True  # a full scan: rows not seen on disk really are gone
    device: int | None = None  # st_dev of the folder during a full scan that found photos

    @property
    def total(self) -> int:
        return len(self.work)


@dataclass
class Progress:
    done: int
    total: int
    failed: int
    started: float
    current: str = ""

    @property
    def rate(self) -> float:
        dt = time.monotonic() - self.started
        return self.done / dt if dt > 0 else 0.0

    @property
    def eta(self) -> float | None:
        r = self.rate
        return (self.total - self.done) / r if r > 0 else None


@dataclass
class Report:
    encoded: int = 0
    reused: int = 0  # copies of a known photo: vector copied, not encoded
    moved: int = 0
    paired: int = 0  # photos now shown through the other file of their RAW + JPEG pair
    catalogued: int = 0  # recorded without an embedding (no model loaded)
    removed: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    offline_why: dict[str, str] = field(default_factory=dict)
    cancelled: bool = False
    seconds: float = 0.0
    tagged: int = 0  # auto tags given to the new photos by the applied tag sets
    restored: int = 0  # the user's tags and examples back on photos that returned
    tag_problems: dict[str, str] = field(default_factory=dict)  # tag set -> why it failed
    duplicates: int = 0  # new photos that are the same photo as one already in the library

    def merge(self, other: Report) -> None:
        for name in ("encoded", "reused", "moved", "paired", "catalogued", "removed",
                     "unchanged", "restored", "duplicates"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.failed += other.failed
        self.offline += other.offline
        self.offline_why.update(other.offline_why)
        self.tag_problems.update(other.tag_problems)
        self.cancelled = self.cancelled or other.cancelled
        self.seconds += other.seconds


class _FolderGone(Exception):
    """The folder being indexed was removed from the library meanwhile."""


@dataclass
class _Prepared:
    info: FileInfo
    hash: str | None = None
    array: np.ndarray | None = None  # preprocessed pixels, when it must be encoded
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    error: str | None = None
    known_id: int | None = None  # a photo that already has this content's embedding
    phash: int | None = None  # perceptual hash of the decoded image (duplicates)


class Indexer:
    """Runs plans against one catalog, optionally with an encoder and an index.

    Without an encoder the files are catalogued (hash, size, date, validity) and stay pending
    until a model is available.
    """

    def __init__(self, catalog: Catalog, encoder: ImageEncoder | None = None,
                 index: VectorIndex | None = None, *, batch_size: int = 32,
                 threads: int = 0, plan_model: str | None = None):
        self.catalog = catalog
        self.encoder = encoder
        self.index = index
        # Plans can be made for a model that is not loaded (yet): loading it costs seconds and
        # a gigabyte, worth paying only when a plan has photos to encode.
        self._plan_model = plan_model
        self.index_changed = False  # whether a run added or removed vectors (needs a save)
        self.batch_size = max(1, batch_size)
        self.threads = threads or min(8, os.cpu_count() or 2)

    @property
    def model_id(self) -> str | None:
        return self.encoder.model_id if self.encoder is not None else None

    # -- planning ----------------------------------------------------------------------------

    def plan_folder(self, folder: Folder, retry_failed: bool = False) -> Plan:
        """Full scan of one folder against the catalog."""
        plan = Plan(folder)
        try:
            st = os.stat(folder.path)
        except OSError:
            st = None
        if st is None or not stat.S_ISDIR(st.st_mode):
            plan.offline, plan.offline_why = True, "not reachable"
            return plan
        device = st.st_dev
        known = self.catalog.photo_states(folder.id)
        seen: set[str] = set()
        for fi in scan(folder.path):
            seen.add(fi.path)
            self._classify(plan, fi, known.get(fi.path), retry_failed)
        plan.missing = {p: st for p, st in known.items() if p not in seen}
        why = _looks_unmounted(folder, device, len(known), len(seen), len(plan.missing))
        if why:  # an unplugged drive or an unmounted share: offline, never "all deleted"
            log.warning("%s: %s; its %d photos are kept", folder.path, why, len(known))
            return Plan(folder, offline=True, offline_why=why)
        if seen:
            plan.device = device
        self._add_pending(plan)
        return plan

    def plan_paths(self, folder: Folder, paths: Iterable[str]) -> Plan:
        """Only the named paths (from the watcher): created, changed or deleted files — and the
        other file of a RAW + JPEG pair they belong to (or belonged to), whose shot changed."""
        plan = Plan(folder, complete=False)
        pairs: dict[str, dict[str, str]] = {}  # folder -> its pairs now

        def pairs_of(where: str) -> dict[str, str]:
            if where not in pairs:
                pairs[where] = pairs_in(where)
            return pairs[where]

        states: dict[str, PhotoState | None] = {}

        def state(path: str) -> PhotoState | None:  # (each path's row read once)
            if path not in states:
                states[path] = self.catalog.photo_state(path)
            return states[path]

        touched: dict[str, None] = {}
        for path in paths:
            touched[path] = None
            st = state(path)
            if st is not None and st.companion:  # the pair it was
                touched[st.companion] = None
            owner = self.catalog.photo_with_companion(path)
            if owner is not None:
                touched[owner.path] = None
            where, name = os.path.split(path)
            for shown, raw in pairs_of(where).items():  # the pair it is
                if name in (shown, raw):
                    touched[os.path.join(where, shown)] = None
                    touched[os.path.join(where, raw)] = None
        work: dict[str, str | None] = {}  # a file that stands for a shot -> its RAW companion
        for path in touched:
            where, name = os.path.split(path)
            raws = {raw: shown for shown, raw in pairs_of(where).items()}
            st = state(path)
            if name in raws:  # a pair's RAW: its shot is the JPEG (a row of its own goes)
                work[os.path.join(where, raws[name])] = path
                if st is not None:
                    plan.missing[path] = st
            elif os.path.lexists(path):
                companion = pairs_of(where).get(name)
                work[path] = os.path.join(where, companion) if companion else None
            elif st is not None:
                plan.missing[path] = st
        for path, companion in work.items():
            # (an event on a file that failed means something happened to it: try again)
            self._classify(plan, file_info(path, companion=companion), state(path),
                           retry_failed=True)
        return plan

    def _classify(self, plan: Plan, fi: FileInfo, st: PhotoState | None,
                  retry_failed: bool) -> None:
        """Unchanged files are skipped. A file that failed is tried again when it changed,
        when asked, and whenever its failure was one that can pass (it could not be read:
        permissions, a drive error, a dangling link) — a fixed file is never left behind."""
        if st is not None and st.size == fi.size and st.mtime_ns == fi.mtime_ns and (
                st.companion == fi.companion) and (
                st.status == "ok" or not (retry_failed or transient_failure(st.error))):
            plan.unchanged += 1
        else:
            plan.work.append(fi)

    def _add_pending(self, plan: Plan) -> None:
        """Catalogued photos without an embedding for the current model (new model, or
        catalogued while no model was loaded) are work too."""
        model = self.model_id or self._plan_model
        if model is None:
            return
        queued = {fi.path for fi in plan.work}
        for st in self.catalog.pending_paths(model, plan.folder.id):
            if st.path not in queued and st.path not in plan.missing:
                plan.work.append(FileInfo(st.path, st.size, st.mtime_ns,
                                          companion=st.companion))
                plan.unchanged -= 1

    # -- running -----------------------------------------------------------------------------

    def run(self, plan: Plan, progress: Callable[[Progress], None] | None = None,
            cancel: threading.Event | None = None, remove_missing: bool = True) -> Report:
        """Do the plan. With ``remove_missing`` False, rows whose files are gone stay for
        :meth:`remove_missing` (after every folder ran, so a photo moved to another folder of
        the library keeps its row). A folder removed meanwhile ends the run early, quietly."""
        try:
            return self._run(plan, progress, cancel, remove_missing)
        except _FolderGone:
            log.info("folder %s was removed while it was indexed", plan.folder.path)
            return Report(cancelled=True)

    def remove_missing(self, plans: Iterable[Plan]) -> int:
        """Forget the photos the plans found missing that are still missing and were not moved
        to another path meanwhile. Returns how many were removed."""
        gone = []
        for plan in plans:
            if plan.offline:
                continue
            for path, st in plan.missing.items():
                now = self.catalog.photo_state(path)
                # (a file still there went too when it is the RAW of a pair now: one shot)
                if now is not None and now.id == st.id and (
                        not os.path.lexists(path)
                        or self.catalog.photo_with_companion(path) is not None):
                    gone.append(st.id)
        if gone:
            self.catalog.delete_photos(gone)
            if self.index is not None:
                self.index.remove(gone)
                self.index_changed = True
        return len(gone)

    def _run(self, plan: Plan, progress: Callable[[Progress], None] | None,
             cancel: threading.Event | None, remove_missing: bool) -> Report:
        t0 = time.monotonic()
        report = Report(unchanged=max(plan.unchanged, 0))
        if plan.offline:
            self.catalog.set_folder_online(plan.folder.id, False)
            report.offline.append(plan.folder.path)
            report.offline_why[plan.folder.path] = plan.offline_why or "not reachable"
            return report
        if not plan.folder.online:
            self.catalog.set_folder_online(plan.folder.id, True)
        cancel = cancel or threading.Event()
        state = _RunState(self, plan, report, progress)
        pre = self.encoder.preprocess if self.encoder is not None else None
        catalog, model = self.catalog, self.model_id
        moved_hashes = frozenset(state.missing_by_hash)

        def known(h: str) -> tuple[bool, int | None]:
            """(skip the decode?, a photo already holding this content's embedding). Moves and
            copies of embedded photos need no decode; with no model, only moves skip it. Runs
            in the decode threads: one indexed lookup per file, so a one-file change costs the
            same in any library."""
            if model is None:
                return h in moved_hashes, None
            src = catalog.photo_with_embedding(h, model)
            return src is not None, src

        def prepare(fi: FileInfo) -> _Prepared:
            return _prepare(fi, pre, known)

        window = max(2 * self.batch_size, 2 * self.threads)
        with ThreadPoolExecutor(self.threads, thread_name_prefix="photoclip-decode") as pool:
            pending: deque[Future[_Prepared]] = deque()
            items = iter(plan.work)
            exhausted = False
            while True:
                while not exhausted and len(pending) < window and not cancel.is_set():
                    fi = next(items, None)
                    if fi is None:
                        exhausted = True
                    else:
                        pending.append(pool.submit(prepare, fi))
                if cancel.is_set():
                    for f in pending:
                        f.cancel()
                    report.cancelled = True
                    break
                if not pending:
                    break
                state.take(pending.popleft().result())
            if not report.cancelled:
                state.flush()
        if not report.cancelled and plan.missing and state.missing_left() and remove_missing:
            state.remove_missing()
        if plan.complete and not report.cancelled:
            self.catalog.mark_scanned(plan.folder.id, plan.device)
        report.seconds = time.monotonic() - t0
        return report


TRANSIENT = ("cannot read the file", "the file disappeared", "broken symbolic link")


def transient_failure(reason: str | None) -> bool:
    """Whether a failure can go away without the file changing (e.g. a permission fixed)."""
    return reason is not None and reason.startswith(TRANSIENT)


MASS_REMOVAL = 20  # missing photos above which a device change means "not mounted"


def _looks_unmounted(folder: Folder, device: int, known: int, seen: int,
                     missing: int) -> str | None:
    """Why a scan that misses photos looks like a drive that is not there rather than photos
    deleted: the folder had photos and is empty now (an empty mount point), or most of them
    are missing and the folder now lies on another device than when they were found."""
    if not known or not missing:
        return None
    if not seen:
        return "the folder is empty now (its drive or share unplugged or not mounted?)"
    if (folder.device is not None and device != folder.device and missing > MASS_REMOVAL
            and missing > known // 2):
        return "most photos are missing and the folder is on another disk than before"
    return None


def _prepare(fi: FileInfo, pre: Preprocess | None,
             known: Callable[[str], tuple[bool, int | None]]) -> _Prepared:
    """Runs in the decode pool: read once, hash, and decode only when the content is new."""
    if fi.error:
        return _Prepared(fi, error=fi.error)
    try:
        data = read_file(fi.path)
        h = content_hash(data)
        skip, known_id = known(h)
        if skip:
            return _Prepared(fi, hash=h, known_id=known_id)
        if pre is not None:
            dec, arr = decode_for_model(data, pre, fi.path)
        else:
            dec, arr = decode(data, min_side=CATALOG_ONLY_SIDE, name=fi.path), None
        return _Prepared(fi, h, arr, dec.width, dec.height, dec.taken_at,
                         phash=phash.phash(dec.image))
    except DecodeError as e:
        return _Prepared(fi, error=str(e))
    except Exception as e:  # one odd file must never stop the run
        log.exception("unexpected error decoding %s", fi.path)
        return _Prepared(fi, error=f"unexpected error: {type(e).__name__}: {e}")


class _RunState:
    """The main-thread side of a run: batches prepared files, encodes, commits."""

    def __init__(self, indexer: Indexer, plan: Plan, report: Report,
                 progress: Callable[[Progress], None] | None):
        self.ix = indexer
        self.plan = plan
        self.report = report
        self.progress_cb = progress
        self.model = indexer.model_id
        self.missing_by_hash: dict[str, list[PhotoState]] = {}
        # a missing row by the RAW it stood for (a JPEG gone: its RAW takes the row over)
        self.missing_by_companion: dict[str, str] = {}
        for path, st in plan.missing.items():
            if st.content_hash:
                self.missing_by_hash.setdefault(st.content_hash, []).append(st)
            if st.companion:
                self.missing_by_companion[st.companion] = path
        self.batch: list[_Prepared] = []
        self.to_encode = 0
        self.prog = Progress(0, plan.total, 0, time.monotonic())
        self._last_emit = 0.0

    def take(self, item: _Prepared) -> None:
        self.batch.append(item)
        if item.array is not None:
            self.to_encode += 1
        if self.to_encode >= self.ix.batch_size or len(self.batch) >= 4 * self.ix.batch_size:
            self.flush()
        else:
            self._emit(item.info.path, force=False)

    def flush(self) -> None:
        if not self.batch:
            return
        batch, self.batch, self.to_encode = self.batch, [], 0
        enc = [b for b in batch if b.array is not None]
        vectors = None
        if enc:
            encoder = self.ix.encoder
            if encoder is None:  # (pixels are prepared only for a model)
                raise RuntimeError("prepared pixels without a model to encode them")
            vectors = encoder.encode_images(
                np.stack([b.array for b in batch if b.array is not None]))
        cat = self.ix.catalog
        folder_id = self.plan.folder.id
        try:
            index_add = self._commit(batch, enc, vectors, cat, folder_id)
        except sqlite3.IntegrityError:
            if not cat.folder_exists(folder_id):
                raise _FolderGone() from None
            raise
        self._update_index(index_add)
        self.prog.done += len(batch)
        self._emit(batch[-1].info.path, force=True)

    def _commit(self, batch: list[_Prepared], enc: list[_Prepared],
                vectors: npt.NDArray[np.float32] | None, cat: Catalog,
                folder_id: int) -> list[tuple[int, np.ndarray | int]]:
        """One batch in one transaction; returns what the index must add."""
        index_add: list[tuple[int, np.ndarray | int]] = []
        with cat.transaction() as tx:
            vec_of = {id(b): v for b, v in zip(enc, vectors, strict=True)} \
                if vectors is not None else {}  # (vectors: exactly when ``enc`` is not empty)
            for b in batch:
                fi = b.info
                if b.error is not None:  # recorded with its reason; an old vector is dropped
                    partner = self._pop_partner(fi, tx)
                    if partner is not None:  # (the shot's row, with the user's work, stays)
                        cat.move_photo(tx, partner.id, fi.path, folder_id, fi.size,
                                       fi.mtime_ns, fi.inode)
                    failed_id = cat.upsert_photo(tx, PhotoRecord(
                        fi.path, folder_id, fi.size, fi.mtime_ns, None,
                        taken_at=mtime_iso(fi.mtime_ns) if fi.mtime_ns else None,
                        status="failed", error=b.error, companion=fi.companion))
                    cat.delete_embeddings(tx, failed_id)
                    self.report.failed.append((fi.path, b.error))
                    self.prog.failed += 1
                    continue
                moved = self._pop_missing(b.hash, fi)
                if moved is None and b.hash:  # names swapped: the photo, not the name, counts
                    moved = cat.swapped_from(tx, b.hash, fi.path, fi.inode)
                if moved is not None:
                    cat.move_photo(tx, moved.id, fi.path, folder_id, fi.size, fi.mtime_ns,
                                   fi.inode)
                    cat.set_companion(tx, moved.id, fi.companion)
                    pid = moved.id
                    self.report.moved += 1
                    # (a repair that knew this photo only at its new path kept its rows there)
                    self.report.restored += cat.restore_user_data(tx, pid, b.hash, fi.path,
                                                                  exact=True)
                else:
                    partner = self._pop_partner(fi, tx)
                    if partner is not None:
                        # the other file of the same shot (a JPEG beside the RAW that was the
                        # photo, or the RAW left when its JPEG went): the photo keeps its row,
                        # and with it its tags and examples; its content changed
                        cat.move_photo(tx, partner.id, fi.path, folder_id, fi.size,
                                       fi.mtime_ns, fi.inode)
                        self.report.paired += 1
                    prev = tx.execute("SELECT id, content_hash, width, height, taken_at, "
                                      "taken_from_exif FROM photos WHERE path=?",
                                      (to_db(fi.path),)).fetchone()
                    same_content = prev is not None and prev[1] == b.hash
                    if b.array is None and same_content:  # touched, not changed
                        width, height, taken, exif = prev[2], prev[3], prev[4], bool(prev[5])
                        ph = None  # (kept)
                        self.report.unchanged += 1
                    elif b.array is None and b.known_id is not None:  # a copy of a known photo
                        src = tx.execute("SELECT width, height, taken_at, taken_from_exif, "
                                         "phash FROM photos WHERE id=?",
                                         (b.known_id,)).fetchone()
                        # (gone meanwhile: the copy stays pending and is encoded next run)
                        width, height, taken, from_exif, ph = src or (None, None, None, 0, None)
                        exif = bool(from_exif)
                    else:
                        width, height = b.width, b.height
                        taken, exif, ph = b.taken_at, b.taken_at is not None, b.phash
                    pid = cat.upsert_photo(tx, PhotoRecord(
                        fi.path, folder_id, fi.size, fi.mtime_ns, b.hash, width, height,
                        taken or mtime_iso(fi.mtime_ns), exif, inode=fi.inode,
                        companion=fi.companion, phash=ph))
                    if prev is None:  # new here: what the user made for it comes back
                        self.report.restored += cat.restore_user_data(tx, pid, b.hash, fi.path)
                    if prev is not None and not same_content:
                        cat.delete_embeddings(tx, pid)
                    if b.array is None and self.model and not same_content:
                        src_id = b.known_id
                        if src_id is not None and src_id != pid:
                            cat.copy_embeddings(tx, src_id, pid)
                            index_add.append((pid, src_id))
                            self.report.reused += 1
                    elif b.array is None and not self.model:
                        self.report.catalogued += 1
                if b.array is not None:
                    v = vec_of[id(b)]
                    if self.model:
                        cat.put_embeddings(tx, self.model, [(pid, v)])
                        index_add.append((pid, v))
                        self.report.encoded += 1
                    else:
                        self.report.catalogued += 1
        return index_add

    def _pop_missing(self, h: str | None, fi: FileInfo) -> PhotoState | None:
        """The row this file was moved from: one this plan found missing, else any photo of
        the library with this content whose file is gone (a move between folders). Among
        identical copies, the one this file is (same inode, else same name) — so a copy
        deleted while another was renamed never hands its tags to the renamed one."""
        path = fi.path
        cands = [st for st in self.missing_by_hash.get(h, ()) if st.path in self.plan.missing
                 and st.path != path] if h else []
        if h and cands:
            inodes = self.ix.catalog.inodes([st.id for st in cands])
            best = best_match([(c, inodes.get(c.id)) for c in cands], path, fi.inode,
                              path_col=None, inode_col=1)
            assert best is not None  # (``cands`` is not empty)
            st = best[0]
            self.missing_by_hash[h].remove(st)
            del self.plan.missing[st.path]
            return st
        if h and self.ix.catalog.photo_state(path) is None:
            return self.ix.catalog.moved_away(h, path, fi.inode)
        return None

    def _pop_partner(self, fi: FileInfo, tx: sqlite3.Connection) -> PhotoState | None:
        """The row of the other file of this file's shot, when it has one this plan found
        missing: the RAW that was a photo by itself before its JPEG came (``fi.companion``),
        or the JPEG whose RAW ``fi`` is, gone now. None when ``fi`` has a row of its own."""
        missing = self.plan.missing
        path = fi.companion if fi.companion in missing else \
            self.missing_by_companion.get(fi.path)
        if path is None or path not in missing:  # (one lookup each: any number of files)
            return None
        if tx.execute("SELECT 1 FROM photos WHERE path=?", (to_db(fi.path),)).fetchone():
            return None
        st = missing.pop(path)
        for same in self.missing_by_hash.get(st.content_hash or "", []):
            if same.id == st.id:
                self.missing_by_hash[st.content_hash or ""].remove(same)
                break
        return st

    def _update_index(self, adds: list[tuple[int, np.ndarray | int]]) -> None:
        index = self.ix.index
        if index is None or not adds:
            return
        ids: list[int] = []
        vecs: list[np.ndarray] = []
        for pid, v in adds:
            if isinstance(v, int):  # copy of another photo's vector
                vec = index.vector(v)
                if vec is None and self.model is not None:
                    vec = self.ix.catalog.vector_of(pid, self.model)
                if vec is None:
                    continue
            else:
                vec = v
            ids.append(pid)
            vecs.append(vec)
        if ids:
            index.add(ids, np.stack(vecs))
            self.ix.index_changed = True

    def missing_left(self) -> bool:
        return bool(self.plan.missing)

    def remove_missing(self) -> None:
        ids = [st.id for st in self.plan.missing.values()]
        self.ix.catalog.delete_photos(ids)
        if self.ix.index is not None:
            self.ix.index.remove(ids)
            self.ix.index_changed = True
        self.report.removed += len(ids)
        self.plan.missing.clear()

    def _emit(self, current: str, force: bool) -> None:
        if self.progress_cb is None:
            return
        now = time.monotonic()
        if not force and now - self._last_emit < 0.1:
            return
        self._last_emit = now
        self.prog.current = current
        self.progress_cb(self.prog)
