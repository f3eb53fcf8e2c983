"""``lib.folders``: the folders the library watches, and bringing the catalog and the
search index in step with what is in them (scan, encode, move, forget).

One process indexes a library at a time (``indexing.lock``); a removed folder's photos are
forgotten but what the user made for them is kept by content (see core/store/catalog.py).
"""

from __future__ import annotations

import builtins
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from photoclip.config import Settings
from photoclip.core.errors import NotFound, PhotoclipError
from photoclip.core.indexing.indexer import Indexer, Progress, Report
from photoclip.core.indexing.scan import not_a_photo_folder
from photoclip.core.lock import INDEXING_LOCK, FileLock
from photoclip.core.model.host import ModelHost
from photoclip.core.paths import is_within, shown
from photoclip.core.search.index_keeper import IndexKeeper
from photoclip.core.store.catalog import Catalog
from photoclip.core.store.catalog import Folder as Folder  # (the folders' record: re-exported)
from photoclip.core.store.recovery import backup_if_due

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]


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

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class FolderService:
    """Add, remove, relink and index the library's folders."""

    def __init__(self, home: Path, catalog: Catalog, settings: Settings, model: ModelHost,
                 search_index: IndexKeeper, after_index: Callable[[Report], None]):
        self._home = home
        self._catalog = catalog
        self._settings = settings
        self._model = model
        self._index = search_index
        self._after_index = after_index  # (tags what indexing embedded)
        self.lock = FileLock(home / INDEXING_LOCK)

    # -- the folders ----------------------------------------------------------------------

    def all(self) -> list[Folder]:
        """The library's folders, as the catalog records them."""
        return self._catalog.folders()

    def list(self) -> list[FolderStatus]:
        """Each folder with its counts for the current model (what ``status`` shows)."""
        counts = self._catalog.folder_counts(self._model.id)
        return [FolderStatus(f.path, f.online, *counts.get(f.id, (0, 0, 0)), f.last_scan)
                for f in self._catalog.folders()]

    def counts(self) -> dict[str, int]:
        """Photos, indexed, failed... for the whole library and the current model."""
        return self._catalog.counts(self._model.id)

    def add(self, path: PathLike) -> Folder:
        p = Path(path).expanduser()
        if not p.exists():
            raise NotFound(f"There is no folder {p}.")
        if not p.is_dir():
            raise PhotoclipError(f"{p} is a file, not a folder: add the folder that holds it.")
        real = self._fit_for_photos(p, "add the folders that hold your photos instead.")
        for f in self._catalog.folders():
            if is_within(real, f.path):
                raise PhotoclipError(f"{real} is already in the library (as part of {f.path}).")
        return self._catalog.add_folder(real)

    def get(self, path: PathLike) -> Folder:
        """The library's folder at ``path`` (however the user spelled it), else NotFound."""
        for cand in _spellings(path):
            f = self._catalog.folder_by_path(cand)
            if f is not None:
                return f
        raise NotFound(f"{path} is not a folder of this library.",
                       cli_hint="See 'photoclip status'.")

    def at(self, path: str) -> Folder | None:
        """The folder whose path is exactly ``path``, if the library has one."""
        return self._catalog.folder_by_path(path)

    def user_data(self, path: PathLike) -> Removed:
        """What removing this folder would forget (photos) and keep (the user's tags,
        removals and category examples on them), for the confirmation."""
        return self._user_data(self.get(path))

    def _user_data(self, folder: Folder) -> Removed:
        ids = [st.id for st in self._catalog.photo_states(folder.id).values()]
        tags, examples = self._catalog.user_data_counts(ids)
        return Removed(folder.path, len(ids), tags, examples)

    def remove(self, path: PathLike) -> Removed:
        """Forget a folder and its photos (the files are not touched). What the user made
        for them — manual tags, removals, category examples — is kept by content: it comes
        back when the same photos return (the folder added again, or found elsewhere), and
        goes at once to the same photos already in another folder of the library (the folder
        was moved or renamed and its new place added first)."""
        folder = self.get(path)
        before = self._user_data(folder)
        hashes = self._catalog.hashes_in(folder.id)
        ids = self._catalog.remove_folder(folder.id)
        before.adopted = self._catalog.adopt_kept(hashes)
        self._index.remove(ids)
        return before

    def relink(self, old: PathLike, new: PathLike) -> Folder:
        """A folder of the library moved or was renamed (another drive letter, a new mount
        point, a renamed root): point it at ``new``. Every photo keeps its row, vector,
        tags and examples; nothing is encoded again. Files that are not the same there are
        sorted out by the next scan, by content. When ``new`` is already a folder of the
        library, the old one is removed and what the user made goes to the same photos
        there."""
        folder = self.get(old)
        target = Path(new).expanduser()
        if not target.is_dir():
            raise NotFound(f"There is no folder {target}.")
        real = self._fit_for_photos(target, "choose the folder that holds the photos instead.")
        if real == folder.path:
            return folder
        existing = self._catalog.folder_by_path(real)
        if existing is not None:
            self.remove(folder.path)
            return existing
        for f in self._catalog.folders():
            if f.id != folder.id and (is_within(real, f.path) or is_within(f.path, real)):
                raise PhotoclipError(f"{shown(real)} overlaps {shown(f.path)}, which is already "
                                     "in the library: remove that one first.")
        moved = self._catalog.relink_folder(folder.id, real)
        log.info("folder %s relinked to %s (%d photos)", folder.path, real, moved)
        return self._catalog.folder_by_path(real) or folder

    def _fit_for_photos(self, folder: Path, instead: str) -> str:
        """``folder`` resolved, when it may be a photo folder: not a file-system root, a
        system folder, nor PhotoCLIP's own data folder (or inside it). Else PhotoclipError,
        ending with ``instead``."""
        real = str(folder.resolve())
        why = not_a_photo_folder(real)
        if why is None and is_within(real, str(self._home.resolve())):
            why = "PhotoCLIP's own data folder (or inside it)"
        if why:
            raise PhotoclipError(f"{shown(real)} is {why}: {instead}")
        return real

    def inside(self, folder: PathLike | None) -> str | None:
        """``folder`` resolved, checked to be inside one of the library's folders (None: the
        whole library)."""
        if folder is None:
            return None
        path = str(Path(folder).expanduser().resolve())
        if not any(is_within(path, f.path) for f in self._catalog.folders()):
            raise NotFound(f"{folder} is not inside a folder of this library.")
        return path

    # -- photos -----------------------------------------------------------------------------

    def photo_id(self, path: PathLike) -> int:
        """The id of the library's photo at ``path`` (the RAW of a RAW + JPEG pair names its
        photo too), else NotFound."""
        for cand in _spellings(path):
            st = self._catalog.photo_state(cand) or self._catalog.photo_with_companion(cand)
            if st is not None:
                return st.id
        raise NotFound(f"{path} is not a photo of this library.",
                       cli_hint="See 'photoclip status'.")

    def photo_ids(self, photos: Sequence[PathLike | int]) -> builtins.list[int]:
        """Ids for photos given as ids or paths."""
        return [p if isinstance(p, int) else self.photo_id(p) for p in photos]

    def moved(self, src: str, dst: str, folder: Folder) -> int:
        """A folder inside ``folder`` was renamed from ``src`` to ``dst`` (the watcher saw
        it): its photos keep their rows. Returns how many moved."""
        return self._catalog.move_prefix(src, dst, folder.id)

    def paths_under(self, prefix: str) -> builtins.list[str]:
        """The catalogued paths below ``prefix`` (a folder path ending in a separator)."""
        return self._catalog.paths_under(prefix)

    def failures(self, limit: int = 1000) -> builtins.list[tuple[str, str]]:
        """(path, why) of the files that could not be read, newest first."""
        return self._catalog.failures(limit)

    # -- indexing ---------------------------------------------------------------------------

    def indexer(self, require_model: bool = True, load_model: bool = True) -> Indexer:
        """An Indexer wired to this library. Without a model (unavailable and not required,
        or not to be loaded) it catalogues, moves and removes, and encodes nothing."""
        encoder = self._model.image_encoder() if require_model else \
            self._model.image_encoder_if_ready() if load_model else None
        if encoder is not None:
            return Indexer(self._catalog, encoder, self._index.for_indexing(),
                           batch_size=self._settings.batch_size,
                           threads=self._settings.decode_threads)
        return Indexer(self._catalog, None, self._index.for_indexing(load=False),
                       batch_size=self._settings.batch_size,
                       threads=self._settings.decode_threads)

    def planner(self) -> Indexer:
        """An Indexer for planning only: it finds what needs encoding for the current model
        without loading the model."""
        return Indexer(self._catalog, None, None, batch_size=self._settings.batch_size,
                       threads=self._settings.decode_threads,
                       plan_model=None if self._model.error else self._model.id)

    def index(self, progress: Callable[[Progress], None] | None = None,
              cancel: threading.Event | None = None, retry_failed: bool = False,
              require_model: bool = True,
              on_wait: Callable[[str], None] | None = None,
              on_model: Callable[[], None] | None = None) -> Report:
        """Scan every folder and bring catalog and index in step with the disk. One process
        indexes a library at a time: ``on_wait(holder)`` says whom this one waits for.

        Every folder is planned before anything heavy is loaded: with nothing to encode, the
        model (torch, a gigabyte) is never loaded. ``on_model()`` is called once it is, before
        any photo is encoded."""
        with self.indexing(on_wait):
            planner = self.planner()
            plans = [planner.plan_folder(f, retry_failed=retry_failed)
                     for f in self._catalog.folders()]
            indexer = planner
            if any(plan.work for plan in plans):
                indexer = self.indexer(require_model)
                if indexer.encoder is None:  # no model: photos waiting for one are no work
                    plans = [indexer.plan_folder(f, retry_failed=retry_failed)
                             for f in self._catalog.folders()]
                elif on_model is not None:
                    on_model()
            elif any(plan.missing for plan in plans):  # (removals patch a loaded graph)
                indexer = self.indexer(require_model=False, load_model=False)
            report = Report()
            try:
                for plan in plans:  # (known before any folder runs: a photo found in a new
                    if plan.offline:  # place inherits from its offline twin)
                        self._catalog.set_folder_online(plan.folder.id, False)
                for plan in plans:  # removals wait until every folder ran: moves between
                    report.merge(indexer.run(plan, progress, cancel, remove_missing=False))
                    if report.cancelled:  # folders keep their rows
                        break
                if not report.cancelled:
                    report.removed += indexer.remove_missing(plans)
                    # rows parked by a swap whose photo no file holds any more (deleted):
                    # forgotten now, what the user made for them kept by content
                    report.removed += self._catalog.forget_displaced()
                    backup_if_due(self._catalog)  # a rolling daily backup of a good state
            finally:
                self._save_index_if_changed(indexer)
            # (also when nothing was indexed: an apply that was interrupted, or a model
            # switched back, catches up by itself)
            self._after_index(report)
        return report

    def _save_index_if_changed(self, indexer: Indexer) -> None:
        if indexer.index_changed:
            self._index.mark_dirty()
            self._index.save()

    def index_paths(self, paths: Sequence[str]) -> Report:
        """Bring these files' rows in step with the disk now (files put back by an undo),
        like the watcher does for the paths it saw change."""
        report = Report()
        by_folder: dict[int, tuple[Folder, builtins.list[str]]] = {}
        folders = sorted(self._catalog.folders(), key=lambda f: len(f.path), reverse=True)
        for p in paths:
            folder = next((f for f in folders if is_within(p, f.path)), None)
            if folder is not None:
                by_folder.setdefault(folder.id, (folder, []))[1].append(p)
        if not by_folder:
            return report
        with self.indexing():
            indexer = self.indexer(require_model=False, load_model=True)
            try:
                for folder, ps in by_folder.values():
                    plan = indexer.plan_paths(folder, sorted(ps))
                    report.merge(indexer.run(plan, remove_missing=False))
            finally:
                self._save_index_if_changed(indexer)
        self._after_index(report)
        return report

    @contextmanager
    def indexing(self, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the library's indexing lock (another process indexing it makes this wait)."""
        self.lock.acquire(on_wait=on_wait)
        try:
            yield
        finally:
            self.lock.release()

    def backup_if_due(self) -> None:
        """A rolling daily backup of the catalog, when the last is a day old."""
        backup_if_due(self._catalog)


def _spellings(path: PathLike) -> tuple[str, str, str]:
    """How the catalog may spell a path the user typed: as given, absolute, resolved."""
    raw = str(Path(path).expanduser())
    return raw, os.path.abspath(raw), str(Path(raw).resolve())
