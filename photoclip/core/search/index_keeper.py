"""The library's search index over its lifetime: loaded (or rebuilt in the background) on
first use, patched as photos change, saved under ``index.lock`` (one process writes the
index files at a time), dropped when the model changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from photoclip.core.lock import INDEX_LOCK, FileLock, LockTimeout
from photoclip.core.search.vector_index import EXACT_MAX, VectorIndex
from photoclip.core.store.catalog import Catalog

log = logging.getLogger(__name__)

INDEX_DIR = "index"


class IndexKeeper:
    """Owns the :class:`VectorIndex` of the current model."""

    def __init__(self, home: Path, catalog: Catalog, model_id: Callable[[], str],
                 dim: Callable[[], int]):
        self.dir = home / INDEX_DIR
        self._catalog = catalog
        self._model_id = model_id
        self._dim = dim
        self._index: VectorIndex | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self.exact_max = EXACT_MAX  # above this many photos the index is an HNSW graph
        self.file_lock = FileLock(home / INDEX_LOCK)

    @property
    def index(self) -> VectorIndex:
        """The index, loaded from disk (patched to the catalog) or built, on first use."""
        with self._lock:
            if self._index is None:
                self._index = VectorIndex.load_or_build(
                    self.dir, self._model_id(), self._dim(), self._catalog,
                    exact_max=self.exact_max, background=True, on_built=self._built)
                self._dirty = self._dirty or self._index.needs_save
            return self._index

    @property
    def loaded(self) -> VectorIndex | None:
        """The index when it is in memory already (never loads)."""
        return self._index

    def _built(self, index: VectorIndex) -> None:
        """A graph rebuilt in the background is saved at once (build thread)."""
        with self._lock:
            if self._index is index:
                self._dirty = True
                try:
                    self.save()
                except OSError as e:
                    log.warning("could not save the rebuilt search index: %s", e)

    @contextmanager
    def loading(self) -> Iterator[None]:
        """The index loads in a thread of its own while the body runs (a cold search embeds
        its query meanwhile)."""
        if self._index is not None:
            yield
            return
        with ThreadPoolExecutor(1, thread_name_prefix="photoclip-index-load") as pool:
            loading = pool.submit(lambda: self.index)
            yield
            loading.result()

    def build_progress(self) -> tuple[int, int] | None:
        """(done, total) while the index is being rebuilt in the background."""
        index = self._index
        return index.build_progress if index is not None else None

    def wait_built(self, timeout: float | None = None) -> bool:
        """Wait for a background rebuild of the index (it is saved when done)."""
        index = self._index
        return index.wait_built(timeout) if index is not None else True

    def mark_dirty(self) -> None:
        """The index changed in memory: the next :meth:`save` writes it."""
        self._dirty = True

    def remove(self, ids: Sequence[int]) -> None:
        """Photos the catalog forgot leave the index (an index on disk is patched when it is
        next loaded)."""
        if self._index is not None:
            self._index.remove(ids)
            self._dirty = True
            self.save()

    def drop(self) -> None:
        """Forget the index (another model: its vectors are not this one's)."""
        with self._lock:
            if self._index is not None and self._index.build_progress is not None:
                self._index.cancel_build()
            self._index = None

    def save(self) -> None:
        with self._lock:
            if self._index is None or not self._dirty:
                return
            try:  # one process writes index files at a time
                self.file_lock.acquire(timeout=120)
            except LockTimeout as e:
                log.warning("search index not saved: %s kept its files locked", e.holder)
                return
            try:
                if self._index.mode == "hnsw":
                    # what the catalog holds now, so the saved revision is true: a vector
                    # committed but not yet added (a batch in flight) is added here
                    self._index.patch_from(self._catalog, level=logging.INFO)
                self._index.save(self.dir)
                self._dirty = False
            finally:
                self.file_lock.release()

    def close(self) -> None:
        index = self._index
        if index is not None and index.build_progress is not None:
            index.cancel_build()  # (the next start builds it again)
        self.save()

    def bytes_on_disk(self) -> int:
        return sum(f.stat().st_size for f in self.dir.glob("index-*")) if self.dir.is_dir() \
            else 0
