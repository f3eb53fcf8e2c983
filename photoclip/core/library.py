"""The library: the one object the GUI and the CLI talk to.

A Library opens the catalog (SQLite), owns the CLIP model (:attr:`model`) and the search
index (:attr:`search_index`) over their lifetimes, and offers what a user does through five
typed services:

- :attr:`folders` — add, remove, relink and index folders (core/indexing/folders.py);
- :attr:`search` — a search typed in the bar, find similar, browse (core/search/service.py);
- :attr:`tags` — tag sets, tags set by hand, XMP sidecars (core/tags/service.py);
- :attr:`categories` — the user's categories and their probes (core/categories/service.py);
- :attr:`duplicates` — the same photo saved twice, near-identical shots (core/duplicates/);

plus :meth:`status`, :meth:`switch_model` and :meth:`close`. The GUI and CLI use only these
(tests/test_architecture.py checks it); ``catalog`` is for core and tests.

Every call may touch the disk or the model: the GUI makes them off its thread
(gui/executors.py), except the few documented as "never loads" (``model.state``,
``model.problem``, ``search_index.build_progress``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from photoclip.config import Settings, data_home, resolve_model_spec
from photoclip.core.categories.service import CategoryService
from photoclip.core.duplicates.service import DuplicateService
from photoclip.core.indexing.folders import FolderService
from photoclip.core.indexing.indexer import Report
from photoclip.core.lock import LibraryUse
from photoclip.core.model.encoder import Encoder, check_spec
from photoclip.core.model.host import EncoderLoader, ModelHost
from photoclip.core.search.index_keeper import IndexKeeper
from photoclip.core.search.service import SearchService
from photoclip.core.store import userdata
from photoclip.core.store.recovery import Finding, RepairReport, check, open_catalog, repair
from photoclip.core.tags.service import TagService

log = logging.getLogger(__name__)

CATALOG_FILE = "catalog.sqlite3"


class Library:
    def __init__(self, home: Path, settings: Settings | None = None, model: str | None = None,
                 encoder_loader: EncoderLoader = Encoder.load, long_lived: bool = True):
        """``long_lived``: this process answers many searches (the app, ``watch``) and keeps
        the search graph in memory; a one-shot command (False) searches the vector file."""
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.settings = settings or Settings.load(self.home)
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
        self.model = ModelHost(self.home, self.settings,
                               resolve_model_spec(model, self.settings), encoder_loader)
        self.search_index = IndexKeeper(self.home, self.catalog, lambda: self.model.id,
                                        self.model.dim, long_lived)
        self.folders = FolderService(self.home, self.catalog, self.settings, self.model,
                                     self.search_index, self._tag_what_was_indexed)
        vectors = self.search_index.vector_file.view
        self.categories = CategoryService(self.catalog, self.model, self.folders,
                                          lambda: self.search.searcher(), vectors)
        self.tags = TagService(self.catalog, self.model, self.folders, self.categories.names,
                               vectors)
        self.search = SearchService(self.catalog, self.model, self.search_index, self.tags,
                                    self.categories)
        self.duplicates = DuplicateService(self.catalog, self.model, self.folders,
                                           self.search_index, self.settings.decode_threads)
        self.user_data_guard = userdata.Guard(self.catalog, self.home)

    @classmethod
    def open(cls, home: Path | None = None, model: str | None = None,
             remember_model: bool = False, precision: str | None = None,
             long_lived: bool = True) -> Library:
        """Open the library in ``home`` (default: the data folder). With ``remember_model``,
        an explicit ``model`` becomes the saved setting; a ``precision`` is always saved.
        ``long_lived``: see :class:`Library`."""
        home = Path(home) if home is not None else data_home()
        settings = Settings.load(home)
        if (model and remember_model) or precision:
            if model and remember_model:
                settings.model = check_spec(model)  # a typo is refused, not remembered
            if precision:
                settings.precision = precision
            settings.save(home)
        return cls(home, settings, model, long_lived=long_lived)

    def _tag_what_was_indexed(self, report: Report) -> None:
        for r in self.tags.tag_new_photos():
            report.tagged += r.tagged
            if r.problem:
                report.tag_problems[r.tagset] = r.problem
        self.flag_duplicates(report)

    def flag_duplicates(self, report: Report) -> None:
        """Count the new photos that duplicate one already in the library (an index run's
        report says so; a failure here never fails the run)."""
        if not (report.encoded or report.reused):
            return
        try:
            report.duplicates += self.duplicates.flag_new()
        except Exception:  # (a count for the report: the photos are indexed either way)
            log.exception("could not check the new photos for duplicates")

    def switch_model(self, spec: str, device: str | None = None, precision: str | None = None,
                     encoder: Encoder | None = None) -> None:
        """Switch to another model, device or precision (saved in settings); photos are
        re-encoded by the next index when the model changed. ``encoder``: that model already
        loaded (by ``model.try_load``)."""
        self.search_index.save()
        if self.model.switch(spec, device, precision, encoder):
            self.search_index.drop()  # (another model's vectors)

    def protect_user_data(self) -> Path | None:
        """Snapshot what the user made, a minute after their last change (the worker calls
        this every half second; it costs one small read)."""
        return self.user_data_guard.poll()

    def close(self) -> None:
        self.search_index.close()
        try:
            self.user_data_guard.flush()  # (whatever changed since the last snapshot)
        except Exception as e:  # a snapshot must never keep a library from closing, nor
            # add a traceback to a damaged catalog's one sentence (the log has the details)
            log.info("user data not snapshotted: %s", e, exc_info=True)
        self.catalog.close()
        self._use.release()

    def status(self, load_model: bool = False) -> dict[str, Any]:
        """What ``photoclip status`` shows: folders, counts, the model and the index."""
        counts = self.folders.counts()
        model_state = "not loaded"
        if load_model:
            model_state = "ready" if self.model.ready() else "unavailable"
        elif self.model.loaded is not None:
            model_state = "ready"
        index = self.search_index.loaded
        out: dict[str, Any] = {
            "home": str(self.home),
            "model": self.model.id,
            "model_state": model_state,
            "model_error": self.model.error,
            "folders": [f.to_dict() for f in self.folders.list()],
            **counts,
            "index": {"vectors": counts["indexed"],
                      "bytes_on_disk": self.search_index.bytes_on_disk(),
                      "mode": index.mode if index is not None else None},
        }
        if self.model.loaded is not None:
            out["device"] = self.model.loaded.device
        out.update(self.model.encoding_info())
        return out


def check_library(home: Path) -> list[Finding]:
    """What can be damaged in a data folder, checked without opening the library (it may not
    open): ``photoclip doctor``."""
    return check(home, home / CATALOG_FILE)


def repair_library(home: Path) -> RepairReport | None:
    """Repair a damaged catalog from everything that can still be read (None: it is sound)."""
    return repair(home / CATALOG_FILE)
