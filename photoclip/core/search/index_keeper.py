"""The library's search index over its lifetime: loaded (or rebuilt in the background) on
first use, patched as photos change, saved under ``index.lock`` (one process writes the
index files at a time), dropped when the model changes.

A long-lived process (the app, ``photoclip watch``) keeps a :class:`VectorIndex` — the HNSW graph
of a big library — in memory, loaded on the first search in a thread (seconds at a million
photos), or built there when there is no usable graph on disk, from the catalog streamed in
chunks (the graph is all the memory the build takes); the vector file is scanned meanwhile,
and changes made meanwhile reach the graph from the catalog (:meth:`VectorIndex.patch_from`)
before it is put in use.

A one-shot command never loads the graph: it searches the vector file (:class:`ScanIndex`, exact,
a fraction of a second at a million photos), adds nothing to an index while it indexes (the
graph on disk is patched from the catalog when a long-lived process next loads it) and saves
nothing."""

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


class _Build:
    """A graph being loaded, or built, in the background."""

    def __init__(self, total: int):
        self.done = 0
        self.total = total
        self.building = False  # (loading, until the graph on disk proves unusable)
        self.cancel = threading.Event()
        self.thread: threading.Thread | None = None


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
        self._building: _Build | None = None
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
            if self._index is None:
                self._index = self._open() if self.long_lived else ScanIndex(self.vectors)
                self._dirty = self._dirty or self._index.needs_save
            return self._index

    def _open(self) -> SearchIndex:
        """A small library's exact index (from disk or the catalog: a fraction of a second);
        a big one's graph is loaded from disk — or built, when there is none to load — in a
        thread, while the vector file is scanned (exact) meanwhile: the first search of the
        app does not wait seconds for a million photos' graph, and an app that only browses
        never holds it."""
        model_id, dim = self._model_id(), self._dim()
        count = self._catalog.embedding_count(model_id)
        if count <= self.exact_max:
            return VectorIndex.load_or_build(self.dir, model_id, dim, self._catalog,
                                             self.exact_max)
        self.vectors()  # (written now if it is not: the scan answers from it meanwhile)
        self._open_in_background(count, dim, model_id)
        return ScanIndex(self.vectors)

    def _open_in_background(self, total: int, dim: int, model_id: str) -> None:
        """Load the graph in a thread, else build it from the catalog's float32 vectors,
        streamed in chunks (its memory is the graph's); patch in what changed meanwhile, put
        it in use, and save it when it changed."""
        build = _Build(total)

        def progress(done: int) -> None:
            build.done = done

        def run() -> None:
            try:
                graph = self._load_or_build(build, dim, model_id, progress)
                if graph is None:
                    return
                # what the catalog gained, lost or rewrote while the graph was read or built
                graph.patch_from(self._catalog, level=logging.INFO)
                with self._lock:
                    if build.cancel.is_set() or self._building is not build:
                        return
                    self._index = graph
                    self._dirty = self._dirty or graph.needs_save
                try:
                    self.save()
                except OSError as e:
                    log.warning("could not save the rebuilt search index: %s", e)
            except Exception:  # the scan keeps answering; the next start tries again
                log.exception("loading the search index failed")
            finally:
                with self._lock:
                    if self._building is build:
                        self._building = None

        build.thread = threading.Thread(target=run, name="photoclip-index-open", daemon=True)
        self._building = build
        build.thread.start()

    def _load_or_build(self, build: _Build, dim: int, model_id: str,
                       progress: Callable[[int], None]) -> VectorIndex | None:
        graph, why = VectorIndex.load(self.dir, model_id, dim, self._catalog, self.exact_max)
        if graph is not None or build.cancel.is_set():
            return graph
        log.warning("rebuilding the search index from %d stored embeddings: %s",
                    build.total, why)
        build.building = True
        rev = self._catalog.max_rev()  # (the vectors read next hold at least this)
        graph = VectorIndex.graph_from(self._catalog.iter_vectors(model_id, 4096),
                                       build.total, rev, dim, model_id, self.exact_max,
                                       progress, build.cancel)
        if graph is not None:
            graph.source_id = self._catalog.catalog_id()
            graph.needs_save = True
            log.info("search index built: %d vectors", len(graph))
        return graph

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

    @contextmanager
    def loading(self) -> Iterator[None]:
        """A small library's index loads in a thread of its own while the body runs (a cold
        search embeds its query meanwhile). A big one's graph is left for the first search
        to start loading (an app that only browses never holds it: 2.3 GB at 1M photos)."""
        if self._index is not None or not self.long_lived \
                or self._catalog.embedding_count(self._model_id()) > self.exact_max:
            yield
            return
        with ThreadPoolExecutor(1, thread_name_prefix="photoclip-index-load") as pool:
            loading = pool.submit(lambda: self.index)
            yield
            loading.result()

    def build_progress(self) -> tuple[int, int] | None:
        """(done, total) while the graph is being built in the background (not while it is
        loaded: seconds, not minutes)."""
        build = self._building
        return (build.done, build.total) if build is not None and build.building else None

    def wait_built(self, timeout: float | None = None) -> bool:
        """Wait for the graph to be loaded or built in the background (a built one is saved
        when done); True when nothing runs in the background any more."""
        build = self._building
        if build is not None and build.thread is not None:
            build.thread.join(timeout)
        return self._building is None

    def _cancel_build(self) -> None:
        build = self._building
        if build is not None:
            build.cancel.set()
            if build.thread is not None:
                build.thread.join(30)
            self._building = None

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
        self._cancel_build()  # (not under the lock: the build takes it to finish)
        with self._lock:
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
        self._cancel_build()  # (the next start builds it again)
        self.save()
        self.vector_file.forget()

    def bytes_on_disk(self) -> int:
        """The index files' size (the graph and the vector file)."""
        graph = sum(f.stat().st_size for f in self.dir.glob("index-*")) \
            if self.dir.is_dir() else 0
        return graph + self.vector_file.bytes_on_disk()
