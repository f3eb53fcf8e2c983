"""The background worker: one thread that owns the encoder and every write to catalog and index.

Work arrives on a priority queue — a folder the user is looking at first, live changes from the
watcher next, the start-up reconcile (backfill) last — and is done by the Indexer. The worker
can be paused, resumed and cancelled, reports progress through a plain callback (the CLI prints
it; the GUI turns it into Qt signals), and saves the index now and then so a restart has little
to patch. Searches never wait for it: they read the last committed state.
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from photoclip.core.errors import explain
from photoclip.core.indexing.indexer import Indexer, Plan, Progress, Report
from photoclip.core.indexing.watcher import Change, FolderWatcher
from photoclip.core.paths import is_within
from photoclip.core.store.catalog import Folder

if TYPE_CHECKING:
    from photoclip.core.indexing.folders import Removed
    from photoclip.core.library import Library

log = logging.getLogger(__name__)

PRIORITY_USER, PRIORITY_LIVE, PRIORITY_BACKFILL = 0, 1, 2
FOLDER_SYNC = 2.0  # seconds between checks for folders added or removed by another process
REMOVAL_GRACE = 3.0  # seconds a vanished photo waits before it is forgotten (see _remove_gone)


@dataclass(order=True)
class _Job:
    priority: int
    seq: int
    kind: str = field(compare=False)  # scan | scan all | change | stop
    root: str = field(compare=False, default="")
    change: Change | None = field(compare=False, default=None)


@dataclass(frozen=True)
class WorkerStatus:
    state: str  # idle | working | paused | stopped
    done: int = 0
    total: int = 0
    failed: int = 0  # failures in the current job
    rate: float = 0.0
    eta: float | None = None
    current: str = ""
    queued: int = 0
    message: str = ""  # e.g. why search is off, which folder is polled
    root: str = ""  # the folder being indexed
    job_done: int = 0  # of that folder's files to read
    job_total: int = 0


class Worker:
    def __init__(self, library: Library, on_status: Callable[[WorkerStatus], None] | None = None,
                 on_report: Callable[[Report], None] | None = None, watch: bool = True,
                 save_interval: float = 15.0, quiet: float = 0.5, force_polling: bool = False):
        self.library = library
        self.on_status = on_status
        self.on_report = on_report
        self.save_interval = save_interval
        self._queue: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._seq = itertools.count()
        self._paused = threading.Event()
        self._cancel = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="photoclip-worker", daemon=True)
        self._last_save = time.monotonic()
        self._status = WorkerStatus("idle")
        self._removals: list[tuple[float, Plan]] = []  # (due, plan) of vanished photos
        self._roots: set[str] = set()  # the folders being watched and indexed
        self._reconcile = True
        self.started = threading.Event()  # set once the folders are read and watched
        self._last_sync = 0.0  # when _sync_folders last read the catalog's folders
        self._user_data_polled = 0.0  # when a long run last gave the user-data guard a look
        # One progress for the whole run of work (until idle), not one per folder job: files
        # read by the jobs before this one, and what the queued folders hold (planned ahead).
        self._run_done = self._job_done = 0
        self._ahead: dict[str, int] = {}
        self._job_root = ""
        self.watcher = (FolderWatcher(self._on_change, quiet=quiet, force_polling=force_polling)
                        if watch else None)

    # -- control (any thread) ----------------------------------------------------------------

    def start(self, reconcile: bool = True) -> None:
        """Start working; with ``reconcile``, first diff every folder against the disk. The
        folders are read in the worker's own thread (the caller may be the GUI thread)."""
        self._reconcile = reconcile
        self._idle.clear()  # (its first work is queued by the thread itself)
        self._thread.start()

    def _begin(self) -> None:  # worker thread, before the first job
        folders = [f.path for f in self.library.folders.all()]
        self._roots |= set(folders)  # (a folder added meanwhile stays)
        self._last_sync = time.monotonic()
        if self._reconcile:
            for root in folders:
                self._put(PRIORITY_BACKFILL, "scan", root)
        if self.watcher is not None:
            self.watcher.start(folders)
        self.started.set()

    def stop(self, timeout: float = 30) -> None:
        self._stopping.set()
        self._cancel.set()
        self._paused.clear()
        if self.watcher is not None:
            self.watcher.stop()
        self._queue.put(_Job(-1, next(self._seq), "stop"))
        if self._thread.is_alive():
            self._thread.join(timeout)
        self.library.search_index.save()
        self._emit(WorkerStatus("stopped"))

    def pause(self) -> None:
        self._paused.set()
        self._emit(replace(self._status, state="paused"))

    def resume(self) -> None:
        self._paused.clear()
        self._emit(replace(self._status, state="working" if not self._idle.is_set() else "idle"))

    @property
    def paused(self) -> bool:
        return self._paused.is_set()

    def cancel(self) -> None:
        """Drop the queued work and stop the current job after its batch (nothing is lost:
        the next reconcile picks up what was left)."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._cancel.set()

    def add_folder(self, path: str) -> Folder:
        folder = self.library.folders.add(path)
        self._roots.add(folder.path)
        if self.watcher is not None:
            self.watcher.watch(folder.path)
        self._put(PRIORITY_USER, "scan", folder.path)
        return folder

    def remove_folder(self, path: str) -> Removed:
        folder = self.library.folders.get(path)
        self._roots.discard(folder.path)
        if self.watcher is not None:
            self.watcher.unwatch(folder.path)
        return self.library.folders.remove(folder.path)

    def relink_folder(self, old: str, new: str) -> Folder:
        """A folder moved or was renamed (see FolderService.relink); then checked."""
        folder = self.library.folders.relink(old, new)
        self._roots.discard(old)
        self._roots.add(folder.path)
        if self.watcher is not None:
            self.watcher.unwatch(old)
            self.watcher.watch(folder.path)
        self._put(PRIORITY_USER, "scan", folder.path)
        return folder

    def rescan(self, root: str | None = None, priority: int = PRIORITY_USER) -> None:
        """Reconcile one folder (or all: the worker's thread lists them) now, ahead of the
        backfill."""
        self._put(priority, "scan" if root else "scan all", root or "")

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until the queue is empty and nothing is running (tests, CLI)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._idle.wait(left):
                return False
            if self._queue.empty() and self._idle.is_set():
                return True
            time.sleep(0.01)

    @property
    def status(self) -> WorkerStatus:
        return self._status

    # -- internals ---------------------------------------------------------------------------

    def _put(self, priority: int, kind: str, root: str = "",
             change: Change | None = None) -> None:
        self._idle.clear()
        self._queue.put(_Job(priority, next(self._seq), kind, root, change))

    def _on_change(self, change: Change) -> None:  # watcher thread
        self._put(PRIORITY_LIVE, "change", change.root, change)

    def _emit(self, status: WorkerStatus) -> None:
        self._status = status
        if self.on_status is not None:
            try:
                self.on_status(status)
            except Exception:  # a failing listener must not kill the worker
                log.exception("status listener failed")

    def _progress(self, p: Progress) -> None:
        """Called by the indexer between files: reports, and blocks here while paused."""
        state = "paused" if self._paused.is_set() else "working"
        self._job_done = p.done
        now = time.monotonic()
        if now - self._user_data_polled >= 5.0:  # (tags made during a long run are kept too)
            self._user_data_polled = now
            self._guard(self.library.protect_user_data)
        done = self._run_done + p.done
        total = self._run_done + p.total + sum(self._ahead.values())
        eta = (total - done) / p.rate if p.rate > 0 and p.done >= 8 else None
        self._emit(WorkerStatus(state, done, total, p.failed, p.rate, eta, p.current,
                                self._queue.qsize(), self._status.message, self._job_root,
                                p.done, p.total))
        while self._paused.is_set() and not self._stopping.is_set():
            time.sleep(0.05)

    def _run(self) -> None:
        self._guard(self._begin)
        while True:
            try:
                job = self._queue.get(timeout=0.5)
            except queue.Empty:
                self._sync_folders()
                self._guard(self.library.protect_user_data)
                if self._removals:
                    self._guard(self._remove_gone)
                elif not self._idle.is_set():
                    self._become_idle()
                continue
            if job.kind == "stop" or self._stopping.is_set():
                self._idle.set()
                return
            self._idle.clear()
            self._cancel.clear()
            self._guard(functools.partial(self._do, job))
            if self._queue.empty() and not self._removals:
                self._become_idle()
            else:
                self._maybe_save(force=False)

    def _sync_folders(self) -> None:
        """Folders added or removed by another process (`photoclip add` while the app or
        `watch` runs): watch and index the new ones, stop watching the removed ones."""
        now = time.monotonic()
        if now - self._last_sync < FOLDER_SYNC:
            return
        self._last_sync = now
        roots = {f.path for f in self.library.folders.all()}
        known = self._roots
        self._roots = roots
        for root in sorted(roots - known):
            log.info("folder added to the library: %s", root)
            if self.watcher is not None:
                self.watcher.watch(root)
            self._put(PRIORITY_USER, "scan", root)
        for root in known - roots:
            if self.watcher is not None:
                self.watcher.unwatch(root)

    def _guard(self, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as e:  # keep working: one bad job must not stop the library
            log.exception("background job failed")
            explained = explain(e, self.library.home)
            self._emit(replace(self._status, message=str(explained) if explained is not None
                               else f"error: {e}"))

    def _remove_gone(self) -> None:
        """Forget photos found missing at least REMOVAL_GRACE ago and still missing. Waiting
        lets a photo moved to another folder arrive there first and keep its row (the move
        shows up as a deletion here and a new file there, in either order)."""
        now = time.monotonic()
        due = [plan for t, plan in self._removals if t <= now]
        if not due:
            return
        self._removals = [(t, plan) for t, plan in self._removals if t > now]
        lib = self.library
        with lib.folders.indexing(self._waiting):
            indexer = lib.folders.indexer(require_model=False, load_model=False)
            removed = indexer.remove_missing(due)
        if indexer.index_changed:
            lib.search_index.mark_dirty()
        if removed and self.on_report is not None:
            self.on_report(Report(removed=removed))

    def _waiting(self, holder: str) -> None:
        self._emit(replace(self._status, message=f"waiting for {holder} to finish indexing"))

    def _become_idle(self) -> None:
        """Nothing queued: save the index (and back the catalog up, once a day) now and tell
        the listeners."""
        self._maybe_save(force=True)
        self._guard(self.library.folders.backup_if_due)
        self._run_done, self._ahead, self._job_root = 0, {}, ""
        self._idle.set()
        self._emit(WorkerStatus("paused" if self.paused else "idle", message=self._message()))

    def _message(self) -> str:
        lib = self.library
        parts = []
        if lib.model.error:
            parts.append("search is off until a model is available")
        if self.watcher is not None and self.watcher.polling:
            parts.append("polling " + ", ".join(sorted(self.watcher.polling)))
        return "; ".join(parts)

    def _do(self, job: _Job) -> None:
        lib = self.library
        if job.kind == "scan all":
            for root in sorted(self._roots):
                self._put(job.priority, "scan", root)
            return
        folder = lib.folders.at(job.root)
        if folder is None:
            return  # removed meanwhile
        planner = lib.folders.planner()
        change = job.change
        if job.kind == "scan" or change is None or change.rescan:
            plan = planner.plan_folder(folder)
        else:
            for src, dst in change.moved_dirs:
                n = lib.folders.moved(src, dst, folder)
                if n:
                    log.info("folder moved: %s -> %s (%d photos kept)", src, dst, n)
            paths: set[str] = set()
            for p in change.paths:
                if p.endswith(os.sep):  # a folder appeared or vanished: everything below it
                    paths.update(lib.folders.paths_under(p[:-1]))
                elif is_within(p, folder.path):
                    paths.add(p)
            if not os.path.isdir(folder.path):  # the whole folder went away: offline, not gone
                plan = planner.plan_folder(folder)
            else:
                plan = planner.plan_paths(folder, sorted(paths))
        self._ahead.pop(folder.path, None)
        if not plan.work and not plan.missing and not plan.offline and folder.online:
            return
        if plan.work:
            self._plan_ahead(planner, folder.path)
        self._job_root = folder.path
        with lib.folders.indexing(self._waiting):  # (a CLI `index` of this library goes first)
            # The model is loaded only for files to read: an idle library never loads it.
            indexer = lib.folders.indexer(require_model=False, load_model=bool(plan.work))
            report = indexer.run(plan, self._progress, self._cancel, remove_missing=False)
        self._run_done += self._job_done
        self._job_done = 0
        if plan.missing and not report.cancelled:
            self._removals.append((time.monotonic() + REMOVAL_GRACE, plan))
        if indexer.index_changed:
            lib.search_index.mark_dirty()
        # new photos in folders a tag set is applied to get their tags now (and a set whose
        # apply was interrupted, or that last ran with another model, catches up)
        self._guard(lambda: self._tag(report))
        if self.on_report is not None:
            self.on_report(report)

    def _tag(self, report: Report) -> None:
        for r in self.library.tags.tag_new_photos():
            report.tagged += r.tagged
            if r.problem:
                report.tag_problems[r.tagset] = r.problem
        self.library.flag_duplicates(report)

    def _plan_ahead(self, planner: Indexer, current: str) -> None:
        """How many files the folders queued behind this job hold to read (a directory scan
        each, once per run), so progress and its estimate cover all the work in sight."""
        with self._queue.mutex:
            roots = {j.root for j in self._queue.queue if j.kind == "scan"}
        for root in sorted(roots - {current} - set(self._ahead)):
            folder = self.library.folders.at(root)
            if folder is not None:
                try:
                    self._ahead[root] = len(planner.plan_folder(folder).work)
                except OSError as e:
                    log.debug("cannot look ahead into %s: %s", root, e)

    def _maybe_save(self, force: bool) -> None:
        if force or time.monotonic() - self._last_save > self.save_interval:
            try:
                self.library.search_index.save()
            except OSError as e:
                log.warning("could not save the search index: %s", e)
            self._last_save = time.monotonic()
