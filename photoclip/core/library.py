"""The facade: the one object the GUI and the CLI talk to.

A Library owns the catalog (SQLite), the lazily loaded CLIP encoder and the ANN index, and
offers the operations a user has: add/remove folders, index, search, find similar, status.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from photoclip.config import Settings, data_home, resolve_model_spec
from photoclip.core.catalog import Catalog, Folder, is_within
from photoclip.core.encoder import Encoder, canonical_spec
from photoclip.core.errors import ModelUnavailable, NotFound, PhotoclipError
from photoclip.core.imageio import DecodeError, decode_for_model, read_file
from photoclip.core.index import VectorIndex
from photoclip.core.indexer import Indexer, Progress, Report
from photoclip.core.search import Filters, Hit, Searcher, embed_terms, parse_query

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"
INDEX_DIR = "index"


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
        self.catalog = Catalog(self.home / CATALOG_FILE)
        self._encoder_loader = encoder_loader
        self._encoder: Encoder | None = None
        self._index: VectorIndex | None = None
        self._model_error: str | None = None
        self._load_lock = threading.RLock()
        self._index_dirty = False

    @classmethod
    def open(cls, home: Path | None = None, model: str | None = None,
             remember_model: bool = False) -> Library:
        """Open the library in ``home`` (default: the data folder). With ``remember_model``,
        an explicit ``model`` becomes the saved setting."""
        home = Path(home) if home is not None else data_home()
        settings = Settings.load(home)
        if model and remember_model:
            settings.model = canonical_spec(model)
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
                        precision=self.settings.precision)
                except ModelUnavailable as e:
                    self._model_error = str(e)
                    raise
                self._model_error = None
            return self._encoder

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

    def set_model(self, spec: str) -> None:
        """Switch to another model (saved in settings); photos are re-encoded by the next index."""
        with self._load_lock:
            self.save_index()
            self.model_spec = canonical_spec(spec)
            self.settings.model = self.model_spec
            self.settings.save(self.home)
            self._encoder = None
            self._index = None
            self._model_error = None

    @property
    def index(self) -> VectorIndex:
        with self._load_lock:
            if self._index is None:
                self._index = VectorIndex.load_or_build(
                    self.home / INDEX_DIR, self.model_id, self.encoder.dim, self.catalog)
            return self._index

    def mark_index_dirty(self) -> None:
        self._index_dirty = True

    def save_index(self) -> None:
        with self._load_lock:
            if self._index is not None and self._index_dirty:
                self._index.save(self.home / INDEX_DIR)
                self._index_dirty = False

    def close(self) -> None:
        self.save_index()
        self.catalog.close()

    # -- folders -----------------------------------------------------------------------------

    def add_folder(self, path: str | os.PathLike) -> Folder:
        p = Path(path).expanduser()
        if not p.exists():
            raise NotFound(f"There is no folder {p}.")
        if not p.is_dir():
            raise PhotoclipError(f"{p} is a file, not a folder: add the folder that holds it.")
        real = str(p.resolve())
        for f in self.catalog.folders():
            if is_within(real, f.path):
                raise PhotoclipError(f"{real} is already in the library (as part of {f.path}).")
        return self.catalog.add_folder(real)

    def remove_folder(self, path: str | os.PathLike) -> int:
        """Forget a folder and everything known about its photos. The files are not touched."""
        folder = self._folder(path)
        ids = self.catalog.remove_folder(folder.id)
        if self._index is not None:  # (an index on disk is patched when next loaded)
            self._index.remove(ids)
            self._index_dirty = True
            self.save_index()
        return len(ids)

    def _folder(self, path: str | os.PathLike) -> Folder:
        raw = str(Path(path).expanduser())
        for cand in (raw, os.path.abspath(raw), str(Path(raw).resolve())):
            f = self.catalog.folder_by_path(cand)
            if f is not None:
                return f
        raise NotFound(f"{path} is not a folder of this library. See 'photoclip status'.")

    def folders(self) -> list[FolderStatus]:
        counts = self.catalog.folder_counts(self.model_id)
        return [FolderStatus(f.path, f.online, *counts.get(f.id, (0, 0, 0)), f.last_scan)
                for f in self.catalog.folders()]

    # -- indexing ----------------------------------------------------------------------------

    def indexer(self, require_model: bool = True) -> Indexer:
        """An Indexer wired to this library; without a model (and not required) it catalogues."""
        if require_model or self.model_ready():
            return Indexer(self.catalog, self.encoder, self.index,
                           batch_size=self.settings.batch_size,
                           threads=self.settings.decode_threads)
        return Indexer(self.catalog, None, None, batch_size=self.settings.batch_size,
                       threads=self.settings.decode_threads)

    def index_folders(self, progress: Callable[[Progress], None] | None = None,
                      cancel: threading.Event | None = None, retry_failed: bool = False,
                      require_model: bool = True) -> Report:
        """Scan every folder and bring catalog and index in step with the disk."""
        indexer = self.indexer(require_model)
        report = Report()
        try:
            for folder in self.catalog.folders():
                plan = indexer.plan_folder(folder, retry_failed=retry_failed)
                report.merge(indexer.run(plan, progress, cancel))
                if report.cancelled:
                    break
        finally:
            if indexer.index is not None:
                self.mark_index_dirty()
                self.save_index()
        return report

    # -- search ------------------------------------------------------------------------------

    def _searcher(self) -> Searcher:
        return Searcher(self.catalog, self.index, self.model_id)

    def search(self, query: str, limit: int = 50, filters: Filters | None = None) -> list[Hit]:
        """Photos best matching ``query`` (see search.py for the syntax), best first."""
        vec = embed_terms(self.encoder, parse_query(query))
        return self._searcher().by_vector(vec, limit, filters)

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
        return [Hit(r["id"], r["path"], float("nan"), r["width"], r["height"], r["taken_at"],
                    r["size"]) for r in rows]

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
            out["precision"] = self._encoder.precision
        return out

    def failures(self, limit: int = 1000) -> list[tuple[str, str]]:
        return self.catalog.failures(limit)
