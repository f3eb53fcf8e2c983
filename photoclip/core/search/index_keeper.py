"""The library's search index over its lifetime: loaded (or rebuilt in the background) on
first use, patched as photos change, saved under ``index.lock`` (one process writes the
index files at a time), dropped when the model changes.

A long-lived process (the app, ``photoclip watch``) keeps a :class:`VectorIndex` — the HNSW graph
of a big library — in memory. A one-shot command never loads the graph: it searches the vector
file (:class:`ScanIndex`, exact, a fraction of a second at a million photos), adds nothing to an
index while it indexes (the graph on disk is patched from the catalog when a long-lived process
next loads it) and saves nothing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from photoclip.core.lock import INDEX_LOCK, FileLock, LockTimeout
from photoclip.core.search.scan_index import ScanIndex
from photoclip.core.search.vector_index import EXACT_MAX, VectorIndex
from photoclip.core.store.catalog import Catalog
from photoclip.core.store.vectors import VectorFile, VectorView

log = logging.getLogger(__name__)

INDEX_DIR = "index"


SearchIndex = VectorIndex | ScanIndex


class IndexKeeper:
    """Owns the search index of the current model and the vector file."""

    def __init__(self, home: Path, catalog: Catalog, model_id: Callable[[], str],
                 dim: Callable[[], int], long_lived: bool = True):
        self.dir = home / INDEX_DIR
        self.long_lived = long_lived
        self._catalog = catalog
        self._model_id = model_id
        self._dim = dim
        self._index: SearchIndex | None = None
        self._lock = threading.RLock()
        self._dirty = False
        self.exact_max = EXACT_MAX  # above this many photos the index is an HNSW graph
        self.file_lock = FileLock(home / INDEX_LOCK)
        self.vector_file = VectorFile(self.dir, catalog, self.file_lock)

    def vectors(self) -> VectorView:
        """The current model's vectors, as the catalog holds them now (from the vector file:
        scanned in chunks, never all in memory)."""
        return self.vector_file.view(self._model_id())

    @property
    def index(self) -> SearchIndex:
        """The index, loaded from disk (patched to the catalog) or built, on first use; in a
        one-shot process, a scan of the vector file."""
        with self._lock:
            if self._index is None and not self.long_lived:
                self._index = ScanIndex(self.vectors)
            if self._index is None:
                self._index = VectorIndex.load_or_build(
                    self.dir, self._model_id(), self._dim(), self._catalog,
                    exact_max=self.exact_max, background=True, on_built=self._built)
                self._dirty = self._dirty or self._index.needs_save
            return self._index

    @property
    def loaded(self) -> SearchIndex | None:
        """The index when it is in memory already (never loads)."""
        return self._index

    def for_indexing(self, load: bool = True) -> VectorIndex | None:
        """The index an indexing run adds its vectors to: the graph in a long-lived process
        (only if in memory already, without ``load``); none in a one-shot one (the graph on
        disk catches up when next loaded)."""
        index = (self.index if load else self._index) if self.long_lived else None
        return index if isinstance(index, VectorIndex) else None

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
        if self._index is not None or not self.long_lived:
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
            self.vector_file.forget()

    def save(self) -> None:
        with self._lock:
            if not isinstance(self._index, VectorIndex) or not self._dirty:
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
        self.vector_file.forget()

    def bytes_on_disk(self) -> int:
        """The index files' size (the graph and the vector file)."""
        graph = sum(f.stat().st_size for f in self.dir.glob("index-*")) \
            if self.dir.is_dir() else 0
        return graph + self.vector_file.bytes_on_disk()
