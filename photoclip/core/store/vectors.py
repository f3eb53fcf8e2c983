"""A compact copy of the catalog's embeddings, read without loading them: the vector file.

The catalog holds each embedding as a float32 row, and is the truth; but reading a million rows
out of SQLite takes ~20 s and 2 GB, which is what a category, a tag set or a one-shot search
used to do at every start. The vector file holds the same vectors as **bfloat16** (the upper
half of each float32, rounded: half the size, a cosine off by ~1e-4, far below what ranks two
photos apart) and is memory-mapped: a scan of a million photos' vectors takes 0.2–0.4 s, and
its pages are handed back as it goes, so it never holds more than a chunk in memory.

Layout, in the index folder beside the catalog (``<home>/index/``)::

    vectors.json                 pointer: model, dim, catalog id, revision, generation, rows
    vectors-<gen>.bf16           rows × dim uint16, only ever appended to in a generation
    vectors-<gen>.<n>.ids.npy    the photo id of each row (-1: a row no longer current)

It is kept up to date from the catalog, never the other way: opening a view compares the
pointer's revision with the catalog's (:meth:`Catalog.max_rev`); when the catalog moved on, the
vectors written since are appended, the rows of changed or removed photos are marked -1, and a
new ids file and pointer are written (under ``index.lock``: one writer at a time). A generation
with more dead rows than live ones is compacted into the next.

Crash safety: rows are appended past the pointer's row count and fsynced before the ids file
and the pointer name them; the pointer is replaced atomically. A crash leaves the old pointer,
whose rows were never touched (a reader mapping them meanwhile reads what it read before); a
damaged or foreign file is rebuilt from the catalog. When the file cannot be written (a full
disk, a read-only library) the view is read from the catalog into memory, as before: slower,
never wrong.
"""

from __future__ import annotations

import json
import logging
import mmap
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from photoclip.core.lock import FileLock, LockTimeout
from photoclip.core.paths import fsync_dir
from photoclip.core.store.catalog import Catalog

log = logging.getLogger(__name__)

POINTER = "vectors.json"
FORMAT = 1
CHUNK = 2048  # rows per step of a scan: 4 MB of float32, kept in the CPU's cache
RELEASE = 32 * CHUNK  # rows after which a scan hands the pages it read back to the system
GATHER = 64  # rows a sparse read (take) copies before handing their pages back

Ids = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]


def to_bf16(vecs: npt.ArrayLike) -> npt.NDArray[np.uint16]:
    """float32 rows → bfloat16 bits, rounded to nearest (ties to even)."""
    bits = np.ascontiguousarray(vecs, np.float32).view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
    return (rounded >> np.uint32(16)).astype(np.uint16)


def from_bf16(bits: npt.NDArray[np.uint16], out: npt.NDArray[np.uint32] | None = None) -> Floats:
    """bfloat16 bits → float32 (exact: a shift)."""
    if out is None:
        out = np.empty(bits.shape, np.uint32)
    np.left_shift(bits, 16, out=out, dtype=np.uint32)
    return out.view(np.float32)


class VectorView:
    """One model's vectors at one catalog revision: live rows of a mapped file (or, when the
    file could not be written, of a float32 matrix read from the catalog)."""

    def __init__(self, model_id: str, rev: int, row_ids: Ids,
                 rows: mmap.mmap | Floats | None, dim: int, source: str):
        self.model_id = model_id
        self.rev = rev
        self.dim = dim
        self.source = source  # "file" or "catalog"
        self._row_ids = row_ids  # photo id per row, -1 for a dead row
        self._rows = rows
        self._live = np.flatnonzero(row_ids >= 0)
        self.ids: Ids = row_ids[self._live]  # the photos, in row order
        self._sorted: tuple[Ids, Ids] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.ids)

    # -- reading ------------------------------------------------------------------------------

    def _block(self, start: int, stop: int, out: npt.NDArray[np.uint32] | None = None) -> Floats:
        """float32 rows [start, stop) of the file (dead rows included)."""
        rows = self._rows
        if isinstance(rows, np.ndarray):
            return rows[start:stop]
        assert rows is not None
        bits = np.frombuffer(rows, np.uint16, (stop - start) * self.dim,
                             start * self.dim * 2).reshape(stop - start, self.dim)
        return from_bf16(bits, None if out is None else out[: stop - start])

    def _release(self, start: int, stop: int) -> None:
        """Hand the pages of rows [start, stop) back (they stay in the system's file cache):
        a scan's memory stays one chunk, not the whole file."""
        rows = self._rows
        if not isinstance(rows, mmap.mmap) or not hasattr(rows, "madvise"):
            return
        lo = start * self.dim * 2 // mmap.PAGESIZE * mmap.PAGESIZE
        hi = stop * self.dim * 2 // mmap.PAGESIZE * mmap.PAGESIZE
        if hi > lo:
            try:
                rows.madvise(mmap.MADV_DONTNEED, lo, hi - lo)
            except (OSError, ValueError):  # (a hint: never worth failing a scan over)
                pass

    def chunks(self, size: int = CHUNK, reuse: bool = True) -> Iterator[tuple[Ids, Floats]]:
        """(ids, float32 vectors) of every live row, a chunk at a time, in row order. With
        ``reuse``, the vectors of one chunk are overwritten by the next: copy what is kept."""
        n = len(self._row_ids)
        wide = np.empty((size, self.dim), np.uint32) if reuse else None
        released = 0
        for start in range(0, n, size):
            stop = min(start + size, n)
            block = self._block(start, stop, wide)
            if not reuse and isinstance(self._rows, np.ndarray):
                block = block.copy()
            live = self._row_ids[start:stop] >= 0
            if live.all():
                yield self._row_ids[start:stop], block
            elif live.any():
                yield self._row_ids[start:stop][live], block[live]
            if stop - released >= RELEASE or stop == n:
                self._release(released, stop)
                released = stop

    def scores(self, weights: npt.ArrayLike) -> Floats:
        """Every live row times ``weights`` (dim, or dim × k): one score (or k) per photo of
        :attr:`ids`, in that order."""
        w = np.ascontiguousarray(weights, np.float32)
        out = np.empty((len(self.ids), *w.shape[1:]), np.float32)
        at = 0
        for _, block in self.chunks():
            np.matmul(block, w, out=out[at:at + len(block)])
            at += len(block)
        return out

    def map(self, fn: Callable[[Floats], npt.NDArray[Any]]) -> npt.NDArray[Any]:
        """``fn`` applied to the vectors chunk by chunk, the results stacked (one per photo of
        :attr:`ids`): for scoring that is more than a product (a probe's cached examples)."""
        parts = [fn(block) for _, block in self.chunks()]
        if not parts:
            return fn(np.zeros((0, self.dim), np.float32))
        return np.concatenate(parts)

    def rows_of(self, ids: npt.ArrayLike) -> Ids:
        """Positions in :attr:`ids` of these photo ids (-1 where a photo has no vector)."""
        with self._lock:
            if self._sorted is None:
                order = np.argsort(self.ids, kind="stable")
                self._sorted = (self.ids[order], order.astype(np.int64))
        keys, order = self._sorted
        want = np.asarray(ids, np.int64).reshape(-1)
        at = np.searchsorted(keys, want)
        at_ok = np.minimum(at, max(len(keys) - 1, 0))
        found = (at < len(keys)) & (keys[at_ok] == want) if len(keys) else \
            np.zeros(len(want), bool)
        return np.where(found, order[at_ok] if len(keys) else -1, -1).astype(np.int64)

    def take(self, positions: npt.ArrayLike) -> Floats:
        """float32 vectors of positions in :attr:`ids` (a copy)."""
        pos = np.asarray(positions, np.int64).reshape(-1)
        out = np.empty((len(pos), self.dim), np.float32)
        if not len(pos):
            return out
        file_rows = self._live[pos]
        rows = self._rows
        if isinstance(rows, np.ndarray):
            out[:] = rows[file_rows]
            return out
        assert rows is not None
        bits = np.frombuffer(rows, np.uint16).reshape(-1, self.dim)
        # In file order, a few rows at a time, each stretch's pages handed back after: a
        # read maps more than its row (the page cache's large folios: 2,000 rows sampled over
        # a million mapped 1.2 GB, nearly the whole file).
        order = np.argsort(file_rows, kind="stable")
        for at in range(0, len(order), GATHER):
            part = order[at:at + GATHER]
            out[part] = from_bf16(bits[file_rows[part]])
            self._release(int(file_rows[part[0]]), int(file_rows[part[-1]]) + 1)
        return out

    def get(self, ids: npt.ArrayLike) -> tuple[Ids, Floats]:
        """(ids that have a vector, their float32 vectors), in the order asked."""
        want = np.asarray(ids, np.int64).reshape(-1)
        pos = self.rows_of(want)
        have = pos >= 0
        return want[have], self.take(pos[have])

    def vector(self, photo_id: int) -> Floats | None:
        pos = int(self.rows_of([photo_id])[0])
        return None if pos < 0 else self.take([pos])[0]

    def top_k(self, query: npt.ArrayLike, k: int,
              allowed: Ids | None = None) -> tuple[Ids, Floats]:
        """The ``k`` best (ids, scores) by inner product, best first; only ``allowed`` ids."""
        if not len(self.ids):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        scores = self.scores(np.asarray(query, np.float32).reshape(self.dim))
        ids = self.ids
        if allowed is not None:
            keep = np.isin(ids, allowed)
            ids, scores = ids[keep], scores[keep]
        n = len(ids)
        if n == 0 or k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        part = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        order = part[np.argsort(-scores[part], kind="stable")]
        return ids[order].astype(np.int64), scores[order].astype(np.float32)


@dataclass
class _Pointer:
    model: str
    dim: int
    catalog: str
    rev: int
    generation: int
    rows: int
    ids: str  # the ids file's name

    @classmethod
    def read(cls, path: Path) -> _Pointer | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                return None
            return cls(str(data["model"]), int(data["dim"]), str(data["catalog"]),
                       int(data["rev"]), int(data["generation"]), int(data["rows"]),
                       str(data["ids"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def write(self, path: Path) -> None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"format": FORMAT, **self.__dict__}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)


def view_from_catalog(catalog: Catalog, model_id: str, rev: int | None = None) -> VectorView:
    """A view of ``model_id``'s vectors read from the catalog into memory (no vector file)."""
    rev = catalog.max_rev() if rev is None else rev
    # (in storage order: a sort of a big table would spill to a temporary file, and this is
    # also the way out when the disk is full)
    parts = list(catalog.iter_vectors(model_id))
    if not parts:
        return VectorView(model_id, rev, np.zeros(0, np.int64), np.zeros((0, 0), np.float32),
                          0, "catalog")
    ids = np.concatenate([i for i, _ in parts])
    mat = np.concatenate([m for _, m in parts])
    return VectorView(model_id, rev, ids, mat, mat.shape[1], "catalog")


class VectorFile:
    """The vector file of a library: :meth:`view` gives the current model's vectors."""

    def __init__(self, directory: Path, catalog: Catalog, file_lock: FileLock):
        self.dir = Path(directory)
        self._catalog = catalog
        self._file_lock = file_lock  # (the index's: one process writes index files at a time)
        self._view: VectorView | None = None
        self._lock = threading.RLock()
        self.unwritable: str | None = None  # why the file could not be written, if it could not

    def view(self, model_id: str) -> VectorView:
        """``model_id``'s vectors as the catalog holds them now."""
        rev = self._catalog.max_rev()
        with self._lock:
            v = self._view
            if v is not None and v.model_id == model_id and v.rev == rev:
                return v
            try:
                v = self._open(model_id, rev)
            except OSError as e:  # a full disk, a read-only folder: read the catalog instead
                if self.unwritable is None:
                    log.warning("the vector file could not be written (%s): vectors are read "
                                "from the catalog", e)
                self.unwritable = str(e)
                v = self._from_catalog(model_id, rev)
            self._view = v
            return v

    def forget(self) -> None:
        """Drop the view in memory (another model; the library closes)."""
        with self._lock:
            self._view = None

    def bytes_on_disk(self) -> int:
        return sum(f.stat().st_size for f in self.dir.glob("vectors-*")) if self.dir.is_dir() \
            else 0

    # -- opening and syncing ------------------------------------------------------------------

    def _current(self, p: _Pointer | None, model_id: str) -> bool:
        return (p is not None and p.model == model_id
                and p.catalog == self._catalog.catalog_id())

    def _open(self, model_id: str, rev: int) -> VectorView:
        p = _Pointer.read(self.dir / POINTER)
        if self._current(p, model_id) and p is not None and p.rev == rev:
            v = self._map(p)
            if v is not None:
                return v
        try:
            self._file_lock.acquire(timeout=120)
        except LockTimeout as e:
            raise OSError(f"{e.holder} kept the index files locked") from e
        try:
            p = _Pointer.read(self.dir / POINTER)  # (another process may have synced it)
            rev = self._catalog.max_rev()
            view = self._map(p) if self._current(p, model_id) else None
            if p is None or view is None:
                p = self._rebuild(model_id, rev, p.generation + 1 if p else 1)
            elif p.rev != rev:
                p = self._patch(p, view, rev)
            self._drop_old(p)
        finally:
            self._file_lock.release()
        view = self._map(p)
        if view is None:
            raise OSError("the vector file just written could not be read back")
        return view

    def _map(self, p: _Pointer | None) -> VectorView | None:
        """The view the pointer describes, or None when its files are missing or damaged."""
        if p is None:
            return None
        try:
            row_ids = np.load(self.dir / p.ids, allow_pickle=False)
            if row_ids.dtype != np.int64 or row_ids.shape != (p.rows,):
                raise ValueError("the ids file does not match the pointer")
            data = self.dir / f"vectors-{p.generation}.bf16"
            rows: mmap.mmap | None = None
            if p.rows:
                with open(data, "rb") as f:
                    if os.fstat(f.fileno()).st_size < p.rows * p.dim * 2:
                        raise ValueError("the vector file is shorter than its rows")
                    rows = mmap.mmap(f.fileno(), p.rows * p.dim * 2, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as e:
            log.info("vector file not usable (%s): rebuilt from the catalog", e)
            return None
        return VectorView(p.model, p.rev, row_ids, rows, p.dim, "file")

    def _from_catalog(self, model_id: str, rev: int) -> VectorView:
        return view_from_catalog(self._catalog, model_id, rev)

    def _rebuild(self, model_id: str, rev: int, generation: int) -> _Pointer:
        """A new generation from every vector in the catalog (read in storage order)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        data = self.dir / f"vectors-{generation}.bf16"
        ids: list[Ids] = []
        dim = 0
        with open(data, "wb") as f:
            for chunk_ids, mat in self._catalog.iter_vectors(model_id, 8192):
                dim = mat.shape[1]
                f.write(to_bf16(mat).tobytes())
                ids.append(chunk_ids)
            f.flush()
            os.fsync(f.fileno())
        row_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        if len(row_ids) > 10_000:
            log.info("vector file written: %d vectors of %s", len(row_ids), model_id)
        return self._commit(_Pointer(model_id, dim, self._catalog.catalog_id(), rev, generation,
                                     len(row_ids), ""), row_ids)

    def _patch(self, p: _Pointer, view: VectorView, rev: int) -> _Pointer:
        """Bring the file from the pointer's revision to ``rev``: vectors written since are
        appended, the rows they replace and those of removed photos marked dead."""
        cat = self._catalog
        changed = cat.changed_since(p.model, p.rev)
        present = cat.embedding_ids(p.model)
        row_ids = view._row_ids.copy()
        dead = (row_ids >= 0) & (~np.isin(row_ids, present) | np.isin(row_ids, changed))
        row_ids[dead] = -1
        new_ids, new_mat = cat.vectors(p.model, changed.tolist()) if len(changed) else \
            (np.zeros(0, np.int64), np.zeros((0, p.dim), np.float32))
        dim = p.dim or (new_mat.shape[1] if len(new_ids) else 0)
        live = int((row_ids >= 0).sum()) + len(new_ids)
        if len(row_ids) - live + len(new_ids) > max(live, 10_000):  # mostly dead: compact
            return self._compact(p, view, row_ids, new_ids, new_mat, rev)
        data = self.dir / f"vectors-{p.generation}.bf16"
        with open(data, "r+b") as f:
            f.truncate(p.rows * dim * 2)  # (rows a crash left past the pointer go)
            f.seek(p.rows * dim * 2)
            if len(new_ids):
                f.write(to_bf16(new_mat.reshape(len(new_ids), dim)).tobytes())
            f.flush()
            os.fsync(f.fileno())
        return self._commit(_Pointer(p.model, dim, p.catalog, rev, p.generation,
                                     len(row_ids) + len(new_ids), p.ids),
                            np.concatenate([row_ids, new_ids]))

    def _compact(self, p: _Pointer, view: VectorView, row_ids: Ids, new_ids: Ids,
                 new_mat: Floats, rev: int) -> _Pointer:
        generation = p.generation + 1
        data = self.dir / f"vectors-{generation}.bf16"
        kept: list[Ids] = []
        wide = np.empty((CHUNK, p.dim), np.uint32)
        with open(data, "wb") as f:
            for start in range(0, len(row_ids), CHUNK):
                stop = min(start + CHUNK, len(row_ids))
                live = row_ids[start:stop] >= 0
                if live.any():
                    f.write(to_bf16(view._block(start, stop, wide)[live]).tobytes())
                    kept.append(row_ids[start:stop][live])
            if len(new_ids):
                f.write(to_bf16(new_mat.reshape(len(new_ids), p.dim)).tobytes())
                kept.append(new_ids)
            f.flush()
            os.fsync(f.fileno())
        out = np.concatenate(kept) if kept else np.zeros(0, np.int64)
        log.info("vector file compacted: %d live vectors", len(out))
        return self._commit(_Pointer(p.model, p.dim, p.catalog, rev, generation, len(out), ""),
                            out)

    def _commit(self, p: _Pointer, row_ids: Ids) -> _Pointer:
        """Write the ids file, then point at it (the rows it names are on disk already)."""
        serial = int(p.ids.split(".")[1]) + 1 if p.ids.count(".") >= 3 else 1
        p.ids = f"vectors-{p.generation}.{serial}.ids.npy"
        path = self.dir / p.ids
        with open(path, "wb") as f:
            np.save(f, np.ascontiguousarray(row_ids, np.int64), allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        p.write(self.dir / POINTER)
        return p

    def _drop_old(self, p: _Pointer) -> None:
        """Files of older generations and older ids lists (a reader that still maps one keeps
        it open: on Windows it is removed by a later sync)."""
        keep = {p.ids, f"vectors-{p.generation}.bf16"}
        for f in self.dir.glob("vectors-*"):
            if f.name not in keep:
                try:
                    f.unlink()
                except OSError:
                    pass
