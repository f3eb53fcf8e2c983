"""The facade: the one object the GUI and the CLI talk to.

A Library owns the catalog (SQLite), the lazily loaded CLIP encoder and the ANN index, and
offers the operations a user has: add/remove folders, index, search, find similar, status.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from photoclip.config import Settings, data_home, resolve_model_spec
from photoclip.core import xmp
from photoclip.core.categories.categories import Categories, Category, Trained, split_category_query
from photoclip.core.errors import ModelUnavailable, NotFound, PhotoclipError, for_gui
from photoclip.core.indexing.imageio import DecodeError, decode_for_model, read_file
from photoclip.core.indexing.indexer import Indexer, Progress, Report
from photoclip.core.indexing.scan import not_a_photo_folder
from photoclip.core.lock import FileLock, LibraryUse, LockTimeout
from photoclip.core.model.encoder import Encoder, canonical_spec, check_spec
from photoclip.core.model.precision import (
    CALIBRATION_FILE,
    CalibrationCache,
    cache_key,
    cpu_info,
    runtime_signature,
)
from photoclip.core.model.runtime import MODELS_DIR, ModelStore
from photoclip.core.paths import show
from photoclip.core.search import relevance
from photoclip.core.search.searcher import Filters, Hit, Searcher, embed_terms, parse_query
from photoclip.core.search.vector_index import EXACT_MAX, VectorIndex
from photoclip.core.store import userdata
from photoclip.core.store.catalog import Folder, is_within
from photoclip.core.store.recovery import backup_if_due, open_catalog
from photoclip.core.tags.tagsets import (
    LIBRARY,
    ApplyReport,
    PhotoTag,
    TagSet,
    TagSets,
    split_tag_query,
    vocabulary,
)

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"
INDEX_DIR = "index"


@dataclass
class Removed:
    """A folder forgotten: its photos, and the user's tags (and removals) and category
    examples on them, which are kept. ``adopted``: photos elsewhere in the library that got
    them at once (the same photos, the folder having moved)."""

    folder: str
    photos: int
    tags: int
    examples: int
    adopted: int = 0

    def describe(self) -> str:
        kept = _kept_sentence(self.tags, self.examples)
        return (f"{self.photos:,} photo{'s' if self.photos != 1 else ''} forgotten; no file "
                f"was touched" + (f"; {kept}" if kept else "") + ".")


def _kept_sentence(tags: int, examples: int) -> str:
    parts = []
    if tags:
        parts.append(f"{tags:,} tag{'s' if tags != 1 else ''} you set or removed")
    if examples:
        parts.append(f"{examples:,} category example{'s' if examples != 1 else ''}")
    if not parts:
        return ""
    many = tags + examples > 1
    return (" and ".join(parts) + " on them " + ("are kept and come" if many else
                                                 "is kept and comes")
            + " back if these photos return")


@dataclass(frozen=True)
class FolderStatus:
    path: str
    online: bool
    photos: int
    indexed: int
    failed: int
    last_scan: float | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class Library:
    def __init__(self, home: Path, settings: Settings | None = None, model: str | None = None,
                 encoder_loader: Callable[..., Encoder] = Encoder.load):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.settings = settings or Settings.load(self.home)
        self.model_spec = canonical_spec(resolve_model_spec(model, self.settings))
        # held (shared) while the library is open: a repair waits for it to be the only one
        self._use = LibraryUse(self.home)
        self._use.shared()
        try:
            opened = open_catalog(self.home / CATALOG_FILE, self._use)  # (repaired if damaged)
        except BaseException:
            self._use.release()
            raise
        self.catalog = opened.catalog
        self.notice = opened.notice  # a sentence for the user when something was repaired
        self.store = ModelStore(self.home / MODELS_DIR)
        self.calibration = CalibrationCache(self.home / CALIBRATION_FILE)
        self._encoder_loader = encoder_loader
        self._encoder: Encoder | None = None
        self._fast_text = None  # the exported text tower (runtime.OrtTextEncoder), if prepared
        self._fast_text_checked = False
        self._index: VectorIndex | None = None
        self._model_error: str | None = None  # why the model cannot be loaded (CLI words)
        self.model_problem: str | None = None  # the same for a window (no commands to type)
        # Separate locks: a search must not wait for the (seconds-long) model load to answer
        # from the exported text tower.
        self._load_lock = threading.RLock()  # the torch model
        self._text_lock = threading.Lock()  # the exported text tower
        self._index_lock = threading.RLock()
        self._index_dirty = False
        self.exact_max = EXACT_MAX  # above this many photos the index is an HNSW graph
        self.tagsets = TagSets(self.catalog)
        self.categories = Categories(self.catalog)
        self.indexing_lock = FileLock(self.home / "indexing.lock")
        self.index_lock = FileLock(self.home / "index.lock")
        self.user_data_guard = userdata.Guard(self.catalog, self.home)

    @classmethod
    def open(cls, home: Path | None = None, model: str | None = None,
             remember_model: bool = False, precision: str | None = None) -> Library:
        """Open the library in ``home`` (default: the data folder). With ``remember_model``,
        an explicit ``model`` becomes the saved setting; a ``precision`` is always saved."""
        home = Path(home) if home is not None else data_home()
        settings = Settings.load(home)
        if (model and remember_model) or precision:
            if model and remember_model:
                settings.model = check_spec(model)  # a typo is refused, not remembered
            if precision:
                settings.precision = precision
            settings.save(home)
        return cls(home, settings, model)

    # -- model and index ---------------------------------------------------------------------

    @property
    def model_id(self) -> str:
        return self.model_spec

    @property
    def encoder(self) -> Encoder:
        """The CLIP model, loaded on first use. Raises ModelUnavailable with a user message."""
        with self._load_lock:
            if self._encoder is None:
                try:
                    self._encoder = self._encoder_loader(
                        self.model_spec, device=self.settings.device,
                        precision=self.settings.precision, store=self.store,
                        calibration=self.calibration)
                except ModelUnavailable as e:
                    self._model_error = str(e)
                    self.model_problem = for_gui(e)
                    log.info("model %s cannot be loaded: %s", self.model_spec, e)
                    raise
                self._model_error = self.model_problem = None
                with self._text_lock:  # the load may just have prepared the text tower
                    if self._fast_text is None:
                        self._fast_text_checked = False
            return self._encoder

    def _fast_text_encoder(self):
        with self._text_lock:
            if not self._fast_text_checked:
                self._fast_text_checked = True
                self._fast_text = self.store.text_encoder(self.model_spec)
            return self._fast_text

    def text_encoder(self):
        """What turns a query into a vector: the exported text tower when this model has one
        (no torch: a cold search starts in about a second), else the model itself."""
        fast = self._fast_text_encoder()
        return fast if fast is not None else self.encoder

    def search_ready(self, retry: bool = False) -> bool:
        """Whether text searches can be answered now (loading what they need)."""
        return self._fast_text_encoder() is not None or self.model_ready(retry)

    def _dim(self) -> int:
        if self._encoder is not None:
            return self._encoder.dim
        known = self.store.meta(self.model_spec).get("dim")
        if isinstance(known, int):  # (without waiting for the text tower's session)
            return known
        fast = self._fast_text_encoder()
        return fast.dim if fast is not None else self.encoder.dim

    def model_ready(self, retry: bool = False) -> bool:
        """Load the model if possible; False (with :attr:`model_error`) when it cannot be.
        A failed load is not tried again (it can take seconds) unless ``retry``."""
        with self._load_lock:
            if self._encoder is not None:
                return True
            if self._model_error is not None and not retry:
                return False
            try:
                self.encoder  # noqa: B018 - loads it
            except ModelUnavailable:
                return False
            return True

    @property
    def model_error(self) -> str | None:
        return self._model_error

    @property
    def model_state(self) -> str:
        """"ready" (searches can be answered), "none" (the model failed to load: see
        :attr:`model_error`) or "loading" (not tried or not finished yet). Never loads."""
        if self._encoder is not None or self._fast_text is not None:
            return "ready"
        return "none" if self._model_error is not None else "loading"

    def try_model(self, spec: str, device: str | None = None,
                  precision: str | None = None) -> Encoder:
        """Load a model without switching to it (what Settings does before applying a change:
        the library keeps its working model until the new one is known to load).
        Raises ModelUnavailable with the sentence to show."""
        try:
            return self._encoder_loader(
                check_spec(spec), device=device or self.settings.device,
                precision=precision or self.settings.precision, store=self.store,
                calibration=self.calibration)
        except ModelUnavailable as e:
            log.info("model %s (device %s, precision %s) cannot be used: %s", spec,
                     device or self.settings.device, precision or self.settings.precision, e)
            raise

    def set_model(self, spec: str, device: str | None = None, precision: str | None = None,
                  encoder: Encoder | None = None) -> None:
        """Switch to another model, device or precision (saved in settings); photos are
        re-encoded by the next index when the model changed. ``encoder``: that model already
        loaded (by :meth:`try_model`). A failed earlier load is forgotten: the next use tries
        again, so setting a working value back recovers without a restart."""
        with self._load_lock:
            self.save_index()
            spec = canonical_spec(spec)
            same_model = spec == self.model_spec
            self.model_spec = spec
            self.settings.model = spec
            self.settings.device = device or self.settings.device
            self.settings.precision = precision or self.settings.precision
            self.settings.save(self.home)
            self._encoder = encoder
            self._model_error = self.model_problem = None
            with self._text_lock:
                self._fast_text, self._fast_text_checked = None, False
            if same_model:
                return  # (same vectors: the index stays)
            with self._index_lock:
                if self._index is not None and self._index.build_progress is not None:
                    self._index.cancel_build()
                self._index = None

    @property
    def index(self) -> VectorIndex:
        with self._index_lock:
            if self._index is None:
                self._index = VectorIndex.load_or_build(
                    self.home / INDEX_DIR, self.model_id, self._dim(), self.catalog,
                    exact_max=self.exact_max, background=True, on_built=self._index_built)
                self._index_dirty = self._index_dirty or self._index.needs_save
            return self._index

    def _index_built(self, index: VectorIndex) -> None:
        """A graph rebuilt in the background is saved at once (build thread)."""
        with self._index_lock:
            if self._index is index:
                self._index_dirty = True
                try:
                    self.save_index()
                except OSError as e:
                    log.warning("could not save the rebuilt search index: %s", e)

    def index_build_progress(self) -> tuple[int, int] | None:
        """(done, total) while the search index is being rebuilt in the background."""
        index = self._index
        return index.build_progress if index is not None else None

    def wait_for_index(self, timeout: float | None = None) -> bool:
        """Wait for a background rebuild of the index (it is saved when done)."""
        index = self._index
        return index.wait_built(timeout) if index is not None else True

    def mark_index_dirty(self) -> None:
        self._index_dirty = True

    def save_index(self) -> None:
        with self._index_lock:
            if self._index is None or not self._index_dirty:
                return
            try:  # one process writes index files at a time
                self.index_lock.acquire(timeout=120)
            except LockTimeout as e:
                log.warning("search index not saved: %s kept its files locked", e.holder)
                return
            try:
                self._save_index_locked()
            finally:
                self.index_lock.release()

    def _save_index_locked(self) -> None:
        if self._index.mode == "hnsw":
            # what the catalog holds now, so the saved revision is true: a vector committed
            # but not yet added (a batch in flight) is added here
            self._index.patch_from(self.catalog, level=logging.INFO)
        self._index.save(self.home / INDEX_DIR)
        self._index_dirty = False

    def protect_user_data(self) -> Path | None:
        """Snapshot what the user made, a minute after their last change (the worker calls
        this every half second; it costs one small read)."""
        return self.user_data_guard.poll()

    def close(self) -> None:
        index = self._index
        if index is not None and index.build_progress is not None:
            index.cancel_build()  # (the next start builds it again)
        self.save_index()
        try:
            self.user_data_guard.flush()  # (whatever changed since the last snapshot)
        except Exception as e:  # a snapshot must never keep a library from closing, nor
            # add a traceback to a damaged catalog's one sentence (the log has the details)
            log.info("user data not snapshotted: %s", e, exc_info=True)
        self.catalog.close()
        self._use.release()

    # -- folders -----------------------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike) -> Folder:
        p = Path(path).expanduser()
        if not p.exists():
            raise NotFound(f"There is no folder {p}.")
        if not p.is_dir():
            raise PhotoclipError(f"{p} is a file, not a folder: add the folder that holds it.")
        real = self._fit_for_photos(p, "add the folders that hold your photos instead.")
        for f in self.catalog.folders():
            if is_within(real, f.path):
                raise PhotoclipError(f"{real} is already in the library (as part of {f.path}).")
        return self.catalog.add_folder(real)

    def folder_user_data(self, path: str | os.PathLike) -> Removed:
        """What removing this folder would forget (photos) and keep (the user's tags,
        removals and category examples on them), for the confirmation."""
        return self._user_data(self._folder(path))

    def _user_data(self, folder: Folder) -> Removed:
        ids = [st.id for st in self.catalog.photo_states(folder.id).values()]
        tags, examples = self.catalog.user_data_counts(ids)
        return Removed(folder.path, len(ids), tags, examples)

    def remove_folder(self, path: str | os.PathLike) -> Removed:
        """Forget a folder and its photos (the files are not touched). What the user made
        for them — manual tags, removals, category examples — is kept by content: it comes
        back when the same photos return (the folder added again, or found elsewhere), and
        goes at once to the same photos already in another folder of the library (the folder
        was moved or renamed and its new place added first)."""
        folder = self._folder(path)
        before = self._user_data(folder)
        hashes = self.catalog.hashes_in(folder.id)
        ids = self.catalog.remove_folder(folder.id)
        before.adopted = self.catalog.adopt_kept(hashes)
        if self._index is not None:  # (an index on disk is patched when next loaded)
            self._index.remove(ids)
            self._index_dirty = True
            self.save_index()
        return before

    def relink_folder(self, old: str | os.PathLike, new: str | os.PathLike) -> Folder:
        """A folder of the library moved or was renamed (another drive letter, a new mount
        point, a renamed root): point it at ``new``. Every photo keeps its row, vector,
        tags and examples; nothing is encoded again. Files that are not the same there are
        sorted out by the next scan, by content. When ``new`` is already a folder of the
        library, the old one is removed and what the user made goes to the same photos
        there."""
        folder = self._folder(old)
        target = Path(new).expanduser()
        if not target.is_dir():
            raise NotFound(f"There is no folder {target}.")
        real = self._fit_for_photos(target, "choose the folder that holds the photos instead.")
        if real == folder.path:
            return folder
        existing = self.catalog.folder_by_path(real)
        if existing is not None:
            self.remove_folder(folder.path)
            return existing
        for f in self.catalog.folders():
            if f.id != folder.id and (is_within(real, f.path) or is_within(f.path, real)):
                raise PhotoclipError(f"{show(real)} overlaps {show(f.path)}, which is already "
                                     "in the library: remove that one first.")
        moved = self.catalog.relink_folder(folder.id, real)
        log.info("folder %s relinked to %s (%d photos)", folder.path, real, moved)
        return self.catalog.folder_by_path(real) or folder

    def _fit_for_photos(self, folder: Path, instead: str) -> str:
        """``folder`` resolved, when it may be a photo folder: not a file-system root, a
        system folder, nor PhotoCLIP's own data folder (or inside it). Else PhotoclipError,
        ending with ``instead``."""
        real = str(folder.resolve())
        why = not_a_photo_folder(real)
        if why is None and is_within(real, str(self.home.resolve())):
            why = "PhotoCLIP's own data folder (or inside it)"
        if why:
            raise PhotoclipError(f"{show(real)} is {why}: {instead}")
        return real

    def _folder(self, path: str | os.PathLike) -> Folder:
        for cand in _spellings(path):
            f = self.catalog.folder_by_path(cand)
            if f is not None:
                return f
        raise NotFound(f"{path} is not a folder of this library.",
                       cli_hint="See 'photoclip status'.")

    def folders(self) -> list[FolderStatus]:
        counts = self.catalog.folder_counts(self.model_id)
        return [FolderStatus(f.path, f.online, *counts.get(f.id, (0, 0, 0)), f.last_scan)
                for f in self.catalog.folders()]

    # -- indexing ----------------------------------------------------------------------------

    def indexer(self, require_model: bool = True, load_model: bool = True) -> Indexer:
        """An Indexer wired to this library. Without a model (unavailable and not required,
        or not to be loaded) it catalogues, moves and removes, and encodes nothing."""
        if require_model or (load_model and self.model_ready()):
            return Indexer(self.catalog, self.encoder, self.index,
                           batch_size=self.settings.batch_size,
                           threads=self.settings.decode_threads)
        return Indexer(self.catalog, None, self._index, batch_size=self.settings.batch_size,
                       threads=self.settings.decode_threads)

    def planner(self) -> Indexer:
        """An Indexer for planning only: it finds what needs encoding for the current model
        without loading the model."""
        return Indexer(self.catalog, None, None, batch_size=self.settings.batch_size,
                       threads=self.settings.decode_threads,
                       plan_model=None if self._model_error else self.model_id)

    def index_folders(self, progress: Callable[[Progress], None] | None = None,
                      cancel: threading.Event | None = None, retry_failed: bool = False,
                      require_model: bool = True,
                      on_wait: Callable[[str], None] | None = None) -> Report:
        """Scan every folder and bring catalog and index in step with the disk. One process
        indexes a library at a time: ``on_wait(holder)`` says whom this one waits for."""
        with self.indexing(on_wait):
            indexer = self.indexer(require_model)
            report = Report()
            try:
                plans = [indexer.plan_folder(f, retry_failed=retry_failed)
                         for f in self.catalog.folders()]
                for plan in plans:  # (known before any folder runs: a photo found in a new
                    if plan.offline:  # place inherits from its offline twin)
                        self.catalog.set_folder_online(plan.folder.id, False)
                for plan in plans:  # removals wait until every folder ran: moves between
                    report.merge(indexer.run(plan, progress, cancel, remove_missing=False))
                    if report.cancelled:  # folders keep their rows
                        break
                if not report.cancelled:
                    report.removed += indexer.remove_missing(plans)
                    # rows parked by a swap whose photo no file holds any more (deleted):
                    # forgotten now, what the user made for them kept by content
                    report.removed += self.catalog.forget_displaced()
                    backup_if_due(self.catalog)  # a rolling daily backup of a good state
            finally:
                if indexer.index_changed:
                    self.mark_index_dirty()
                    self.save_index()
            # (also when nothing was indexed: an apply that was interrupted, or a model
            # switched back, catches up by itself)
            for r in self.tag_new_photos():
                report.tagged += r.tagged
                if r.problem:
                    report.tag_problems[r.tagset] = r.problem
        return report

    @contextmanager
    def indexing(self, on_wait: Callable[[str], None] | None = None):
        """Hold the library's indexing lock (another process indexing it makes this wait)."""
        self.indexing_lock.acquire(on_wait=on_wait)
        try:
            yield
        finally:
            self.indexing_lock.release()

    # -- search ------------------------------------------------------------------------------

    def _searcher(self) -> Searcher:
        return Searcher(self.catalog, self.index, self.model_id)

    def search(self, query: str, limit: int = 50, filters: Filters | None = None) -> list[Hit]:
        """Photos best matching ``query`` (see search.py for the syntax), best first.
        ``tag:beach`` terms keep only photos carrying those tags; alone, they list them,
        manual tags first, then the most confident. A leading ``category:Receipts`` keeps a
        category's members; alone, it lists them, most likely first (score = probability)."""
        filters = filters or Filters()
        category, rest = split_category_query(query)
        if category is not None:
            members = self.category_members(category)
            if not rest:
                searcher = self._searcher()
                if filters.restricts_ids:
                    allowed = set(searcher.allowed_ids(filters).tolist())
                    members = [(i, p) for i, p in members if i in allowed]
                return searcher.hits(members[:limit + max(8, limit // 10)], limit)
            keep = frozenset(i for i, _ in members)
            filters = replace(filters, ids=keep if filters.ids is None else filters.ids & keep)
            query = rest
        names, rest = split_tag_query(query)
        if len(names) == 1 and not rest and not filters.restricts_ids:
            # the common case (a click on a tag): the best carriers straight from the catalog
            ids = self._tag_ids(names[0])
            ranked = self.tagsets.tagged_photos(ids, limit + max(8, limit // 10))
            return self._searcher().hits([(int(p), float(c)) for p, c in ranked], limit)
        if names:
            filters, ranked = self._tag_filter(names, filters)
            if not rest:
                searcher = self._searcher()
                if filters.folder or filters.after or filters.before:
                    allowed = set(searcher.allowed_ids(filters).tolist())
                    ranked = [(i, c) for i, c in ranked if i in allowed]
                return searcher.hits(ranked[:limit + max(8, limit // 10)], limit)
            query = rest
        terms = parse_query(query)
        with self._loading_index():  # (a cold start: while the query is embedded)
            encoder = self.text_encoder()
            vec = embed_terms(encoder, terms)
        hits = self._searcher().by_vector(vec, limit, filters, text=True)
        return self._rated(hits, relevance.query_words(terms), encoder)

    def _rated(self, hits: list[Hit], own: set[str], encoder) -> list[Hit]:
        """The hits with their relevance (see core.relevance): whether each photo shows the
        query better than what it shows best among everyday alternatives."""
        if not hits:
            return hits
        words = vocabulary()
        alternatives = self.tagsets.vocabulary_vectors(self.model_id, encoder, words)
        ids, mat = self.catalog.vectors(self.model_id, [h.id for h in hits])
        row = {int(i): k for k, i in enumerate(ids.tolist())}
        have = [h for h in hits if h.id in row]
        if not have:
            return hits
        vectors = mat[[row[h.id] for h in have]]
        rated = relevance.rate(np.array([h.score for h in have]), vectors, alternatives, words,
                               own, float(encoder.logit_scale))
        for h, r in zip(have, rated.tolist(), strict=True):
            h.relevance = r
        return hits

    def _tag_ids(self, name: str) -> list[int]:
        ids = self.tagsets.resolve(name)
        if not ids:
            raise NotFound(f"No photo carries a tag called {name}.",
                           cli_hint="See 'photoclip tagset list'.")
        return ids

    def _tag_filter(self, names: list[str],
                    filters: Filters) -> tuple[Filters, list[tuple[int, float]]]:
        """Filters narrowed to the photos carrying every tag in ``names``, and those photos
        ranked by the first tag's confidence."""
        keep: set[int] | None = None
        ranked: list[tuple[int, float]] = []
        for k, name in enumerate(names):
            ids = self._tag_ids(name)
            if k == 0:
                ranked = [(int(p), float(c)) for p, c in self.tagsets.tagged_photos(ids)]
                keep = {p for p, _ in ranked}
            else:
                keep &= set(self.tagsets.tagged_ids(ids).tolist())
        ranked = [(p, c) for p, c in ranked if p in keep]
        if filters.ids is not None:
            keep &= filters.ids
        return replace(filters, ids=frozenset(keep)), ranked

    def prepare_search(self) -> bool:
        """Load what a text search needs (the text encoder and the index, side by side), so
        the first search is as quick as the next; False when no model can answer one."""
        if not isinstance(self.store.meta(self.model_spec).get("dim"), int) \
                and not self.search_ready():
            return False  # (the index needs the vector size: only a model can tell it)
        with self._loading_index():
            ready = self.search_ready()
            if ready:
                encoder = self.text_encoder()
                encoder.encode_texts(["a photo"])  # tokenizer and first run
                # what good matches are judged against (encoded once per model, then stored)
                self.tagsets.vocabulary_vectors(self.model_id, encoder, vocabulary())
        return ready

    @contextmanager
    def _loading_index(self):
        """The search index loads in a thread of its own while the body runs."""
        if self._index is not None:
            yield
            return
        with ThreadPoolExecutor(1, thread_name_prefix="photoclip-index-load") as pool:
            loading = pool.submit(lambda: self.index)
            yield
            loading.result()

    def similar(self, photo: str | int, limit: int = 50,
                filters: Filters | None = None) -> list[Hit]:
        """Photos most like ``photo``: a catalogued photo (id or path) or any image file."""
        vec, self_id = self.image_vector(photo)
        exclude = frozenset({self_id}) if self_id is not None else frozenset()
        return self._searcher().by_vector(vec, limit, filters, exclude=exclude)

    def image_vector(self, photo: str | int) -> tuple[np.ndarray, int | None]:
        if isinstance(photo, int):
            vec = self._stored_vector(photo)
            if vec is None:
                raise NotFound(f"Photo #{photo} has not been indexed.")
            return vec, photo
        path = str(Path(photo).expanduser().resolve()) if os.path.exists(photo) else str(photo)
        st = self.catalog.photo_state(path)
        if st is not None:
            vec = self._stored_vector(st.id)
            if vec is not None:
                return vec, st.id
        if not os.path.exists(path):
            raise NotFound(f"There is no photo {photo}.")
        try:
            _, arr = decode_for_model(read_file(path), self.encoder.preprocess)
        except DecodeError as e:
            raise PhotoclipError(f"Cannot use {photo} as a search image: {e}.") from None
        return self.encoder.encode_images(arr[None])[0], (st.id if st else None)

    def _stored_vector(self, photo_id: int) -> np.ndarray | None:
        vec = self.index.vector(photo_id)
        return vec if vec is not None else self.catalog.vector_of(photo_id, self.model_id)

    def browse(self, filters: Filters | None = None, limit: int = 1_000_000) -> list[Hit]:
        """The library newest first, as hits without a score (what an empty search shows)."""
        f = filters or Filters()
        rows = self.catalog.browse(f.folder, f.after, f.before, limit)
        offline = {f.id for f in self.catalog.folders() if not f.online}
        return [Hit(r["id"], r["path"], float("nan"), r["width"], r["height"], r["taken_at"],
                    r["size"], offline=r["folder_id"] in offline) for r in rows]

    # -- tags --------------------------------------------------------------------------------

    def create_tagset(self, tagset: TagSet) -> TagSet:
        return self.tagsets.create(tagset)

    def apply_tagset(self, name: str, folder: str | os.PathLike | None = None) -> ApplyReport:
        """Tag the library (or one of its folders) with a set now, and every new photo there
        from now on. Tags come from the stored embeddings: nothing is re-encoded."""
        ts = self.tagsets.get(name)
        self.tagsets.add_scope(ts, self._inside(folder) or LIBRARY)
        return self.retag(ts.name)

    def retag(self, name: str) -> ApplyReport:
        """Redo a set's auto tags over its folders (after an edit or a threshold change)."""
        ts = self.tagsets.get(name)
        if not ts.applied:
            raise PhotoclipError(f"{ts.name} is not applied to any folder yet.",
                                 cli_hint=f"Apply it: 'photoclip tagset apply {ts.name}'.")
        return self.tagsets.apply(ts, self.model_id, self.text_encoder())

    def tag_new_photos(self) -> list[ApplyReport]:
        """Tag what was embedded since the applied sets last ran (the worker calls this after
        indexing). Nothing to do costs one query per applied set."""
        applied = [ts for ts in self.tagsets.all() if ts.applied]
        if not applied:
            return []
        if not self.search_ready():
            return []  # no model: photos are tagged when they are embedded
        try:
            vocabulary()  # (a broken install: said once per set, indexing goes on)
        except OSError as e:
            return [self.tagsets._failed(ts, PhotoclipError(
                f"PhotoCLIP's list of everyday things cannot be read ({e}): reinstall it"))
                for ts in applied]
        return self.tagsets.catch_up(self.model_id, self.text_encoder(), applied)

    def photo_id(self, path: str | os.PathLike) -> int:
        for cand in _spellings(path):
            st = self.catalog.photo_state(cand)
            if st is not None:
                return st.id
        raise NotFound(f"{path} is not a photo of this library.",
                       cli_hint="See 'photoclip status'.")

    def set_tag(self, paths: list[str | os.PathLike] | list[int], name: str | int,
                present: bool = True) -> int:
        """Tag (or untag) photos by hand: the user's word wins over every later auto-tagging.
        A name that is no label becomes a free keyword when tagging. Returns the tag's id."""
        ids = [p if isinstance(p, int) else self.photo_id(p) for p in paths]
        tag_id = name if isinstance(name, int) else \
            self.tagsets.one_tag(name, create=present, photo_ids=ids)
        self.tagsets.set_manual(ids, tag_id, present)
        return tag_id

    def export_xmp(self, folder: str | os.PathLike | None = None,
                   naming: str = "ext") -> xmp.ExportReport:
        """Write tags to XMP sidecars beside the photos (the one time PhotoCLIP writes next
        to them, on request): merged into existing sidecars, never clobbering them."""
        return xmp.export_tags(self.tagsets, self.catalog.photo_paths(self._inside(folder)),
                               naming, {c.name for c in self.categories.all()})

    def import_xmp(self, folder: str | os.PathLike | None = None) -> xmp.ImportReport:
        """Keywords from sidecars and embedded XMP/IPTC become manual tags; what PhotoCLIP
        exported itself as automatic tags or category members is left as it is."""
        return xmp.import_tags(self.tagsets, self.catalog.photo_paths(self._inside(folder)),
                               categories=[c.name for c in self.categories.all()])

    def _inside(self, folder: str | os.PathLike | None) -> str | None:
        if folder is None:
            return None
        path = str(Path(folder).expanduser().resolve())
        if not any(is_within(path, f.path) for f in self.catalog.folders()):
            raise NotFound(f"{folder} is not inside a folder of this library.")
        return path

    def photo_tags(self, photo: str | os.PathLike | int) -> list[PhotoTag]:
        pid = photo if isinstance(photo, int) else self.photo_id(photo)
        return self.tagsets.photo_tags(pid)

    # -- categories ----------------------------------------------------------------------------

    def create_category(self, name: str, description: str = "") -> Category:
        return self.categories.create(name, description)

    def label_photos(self, name: str, photos: list[str | os.PathLike] | list[int],
                     positive: bool | None) -> Category:
        """Mark photos as in (True) or not in (False) a category, or forget them (None)."""
        ids = [p if isinstance(p, int) else self.photo_id(p) for p in photos]
        return self.categories.label(name, ids, positive)

    def train_category(self, name: str, quality: bool = False) -> Trained | None:
        """The category's probe for the current model, retrained first if its labels (or the
        model) changed. None while no photo has a vector for this model."""
        return self._trained(self.categories.get(name), quality)

    def _trained(self, cat: Category, quality: bool = False) -> Trained | None:
        encoder = self.text_encoder() if self.search_ready() else None
        return self.categories.trained(cat, self.model_id, encoder, quality=quality)

    def category_members(self, name: str, limit: int | None = None) -> list[tuple[int, float]]:
        """(photo id, probability) of a category's members, most likely first."""
        cat = self.categories.get(name)
        trained = self._trained(cat)
        if trained is None:
            return []
        return self.categories.members(cat, trained, self.model_id, limit)

    def category_suggestions(self, name: str, limit: int = 20) -> list[Hit]:
        """Unlabelled photos the category is least sure about: the ones to answer next."""
        cat = self.categories.get(name)
        trained = self._trained(cat)
        if trained is None:
            return []
        return self._searcher().hits(self.categories.suggest(cat, trained, self.model_id,
                                                             limit), limit)

    def category_overview(self, quality: bool = True) -> list[dict]:
        """Every category: name, description, threshold, examples (+/−), members and, with
        ``quality``, the cross-validated estimate (what 'category list' shows)."""
        cats = self.categories.all()
        trained = [self._trained(c, quality) for c in cats]
        ready = [(c, t) for c, t in zip(cats, trained, strict=True) if t is not None]
        counts = dict(zip([c.id for c, _ in ready],
                          self.categories.counts(ready, self.model_id), strict=True))
        out = []
        for cat, t in zip(cats, trained, strict=True):
            row = cat.to_dict()
            row["members"] = counts.get(cat.id, 0)
            row["name_used"] = round(t.probe.trust, 2) if t is not None else None
            if quality:
                q = t.quality if t is not None else None
                row["quality"] = q.to_dict() if q is not None else None
                row["quality_text"] = q.describe() if q is not None else \
                    "no photo of this library is indexed yet"
            out.append(row)
        return out

    def export_category_xmp(self, name: str, folder: str | os.PathLike | None = None,
                            naming: str = "ext") -> xmp.ExportReport:
        """Write a category's members to XMP sidecars as the keyword Categories|name."""
        cat = self.categories.get(name)
        members = {i for i, _ in self.category_members(cat.name)}
        return xmp.export_category(cat.name, members,
                                   self.catalog.photo_paths(self._inside(folder)), naming,
                                   {c.name for c in self.categories.all()})

    # -- status ------------------------------------------------------------------------------

    def status(self, load_model: bool = False) -> dict:
        counts = self.catalog.counts(self.model_id)
        index_dir = self.home / INDEX_DIR
        index_bytes = sum(f.stat().st_size for f in index_dir.glob("index-*")) \
            if index_dir.is_dir() else 0
        model_state = "not loaded"
        if load_model:
            model_state = "ready" if self.model_ready() else "unavailable"
        elif self._encoder is not None:
            model_state = "ready"
        out = {
            "home": str(self.home),
            "model": self.model_id,
            "model_state": model_state,
            "model_error": self._model_error,
            "folders": [f.to_dict() for f in self.folders()],
            **counts,
            "index": {"vectors": counts["indexed"], "bytes_on_disk": index_bytes,
                      "mode": self._index.mode if self._index is not None else None},
        }
        if self._encoder is not None:
            out["device"] = self._encoder.device
        out.update(self.encoding_info())
        return out

    def encoding_info(self) -> dict:
        """How photos are encoded and queries answered, and why, without loading the model:
        ``precision``/``precision_why`` (when known) and ``fast_search``."""
        out = {}
        if self._encoder is not None:
            out["precision"] = self._encoder.precision
            out["precision_why"] = self._encoder.choice.reason
        elif self.settings.precision == "auto":
            known = self.calibration.get(cache_key(self.model_id, cpu_info(),
                                                   runtime_signature()))
            if known is not None:
                out["precision"] = known.precision
                out["precision_why"] = known.reason
        text = self.store.meta(self.model_id).get("text") or {}
        out["fast_search"] = ("ready (exported text tower, ONNX Runtime)" if text.get("ok")
                              else f"off: {text['why']}" if "why" in text
                              else "prepared when the model is first loaded (photoclip index)")
        return out

    def failures(self, limit: int = 1000) -> list[tuple[str, str]]:
        return self.catalog.failures(limit)


def _spellings(path: str | os.PathLike) -> tuple[str, str, str]:
    """How the catalog may spell a path the user typed: as given, absolute, resolved."""
    raw = str(Path(path).expanduser())
    return raw, os.path.abspath(raw), str(Path(raw).resolve())
