"""Watch the library's folders with watchdog and turn file-system noise into clean changes.

- Events are debounced: a path is handed on only once it has been quiet for ``quiet`` seconds
  and its size and mtime stopped changing (a file still being copied is not read half-written).
- A folder move is one change (a prefix rename in the catalog), not N deletes and N creates.
- A folder that appears is scanned (its files may have landed before it was watched).
- When the native observer cannot watch a folder (inotify watch limit, network file system),
  that folder is polled instead, and this is said once in the log and in :attr:`polling`.

The watcher does no indexing itself: it calls ``on_change(Change)`` from its own thread, and the
worker (see worker.py) queues the work.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from photoclip.core.indexing.formats import is_image_name
from photoclip.core.indexing.scan import fs_type, is_skipped, scan
from photoclip.core.paths import is_within

log = logging.getLogger(__name__)

NETWORK_FS = frozenset({"nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "9p", "afpfs",
                        "fuse.rclone", "davfs", "fuse.gvfsd-fuse"})


@dataclass
class Change:
    """What changed in one folder since the last report."""

    root: str
    paths: set[str] = field(default_factory=set)  # files created, modified or deleted
    moved_dirs: list[tuple[str, str]] = field(default_factory=list)  # (src, dst), in order
    rescan: bool = False  # the folder came back (or the watch broke): reconcile it fully


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher, root: str):
        self.watcher = watcher
        self.root = root

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        self.watcher._event(self.root, event)


class FolderWatcher:
    def __init__(self, on_change: Callable[[Change], None], quiet: float = 0.5,
                 tick: float = 0.1, force_polling: bool = False):
        self.on_change = on_change
        self.quiet = quiet
        self.tick = tick
        self.force_polling = force_polling
        self.polling: dict[str, str] = {}  # root -> why it is polled
        self._observers: dict[str, BaseObserver] = {}
        self._lock = threading.Lock()
        # root -> path -> (when last touched, its (size, mtime) then; None for a folder)
        self._pending: dict[str, dict[str, tuple[float, tuple[int, int] | None]]] = {}
        self._moves: dict[str, list[tuple[str, str]]] = {}
        self._rescan: set[str] = set()
        self._online: dict[str, bool] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="photoclip-watch", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, roots: list[str]) -> None:
        for root in roots:
            self.watch(root)
        _OVERFLOWS.add(self)
        self._thread.start()

    def stop(self) -> None:
        _OVERFLOWS.discard(self)
        self._stop.set()
        for obs in list(self._observers.values()):
            obs.stop()
        for obs in list(self._observers.values()):
            obs.join(timeout=5)
        self._observers.clear()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def watch(self, root: str) -> None:
        if root in self._observers:
            return
        self._online[root] = os.path.isdir(root)
        if not self._online[root]:
            return  # watched again when it comes back (see _check_roots)
        reason = "polling forced" if self.force_polling else _network_fs(root)
        if reason is None:
            try:
                obs = Observer()
                obs.schedule(_Handler(self, root), root, recursive=True)
                obs.start()
                self._observers[root] = obs
                return
            except OSError as e:  # inotify watch/instance limit, unsupported file system
                reason = f"the system refused a native watch ({e.strerror or e})"
        log.warning("watching %s by polling every few seconds: %s", root, reason)
        self.polling[root] = reason
        obs = PollingObserver(timeout=2)
        obs.schedule(_Handler(self, root), root, recursive=True)
        obs.start()
        self._observers[root] = obs

    def unwatch(self, root: str) -> None:
        obs = self._observers.pop(root, None)
        self._online.pop(root, None)
        if obs is not None:
            obs.stop()
            obs.join(timeout=5)

    # -- events ------------------------------------------------------------------------------

    def _event(self, root: str, event: FileSystemEvent) -> None:
        now = time.monotonic()
        src = os.fsdecode(event.src_path)
        dst = os.fsdecode(getattr(event, "dest_path", "") or "")
        if is_skipped(src, root) and (not dst or is_skipped(dst, root)):
            return  # hidden or system folders (.thumbnails, @eaDir…) are never indexed
        with self._lock:
            pend = self._pending.setdefault(root, {})
            if isinstance(event, DirMovedEvent):
                if is_within(dst, root) and not is_skipped(dst, root):
                    self._moves.setdefault(root, []).append((src, dst))
                    pend[dst + os.sep] = (now, None)  # scan the new place once it settles
                else:
                    pend[src + os.sep] = (now, None)  # moved out: its photos are gone
                return
            if isinstance(event, (DirCreatedEvent, DirDeletedEvent)):
                pend[src + os.sep] = (now, None)
                return
            if event.is_directory:
                return
            for path in (src, dst):
                if path and is_image_name(path) and is_within(path, root) \
                        and not is_skipped(path, root):
                    # remember size/mtime now: unchanged after the quiet period means settled
                    pend[path] = (now, _signature(path))

    def _loop(self) -> None:
        last_roots_check = 0.0
        while not self._stop.wait(self.tick):
            now = time.monotonic()
            if now - last_roots_check > 2.0:
                last_roots_check = now
                self._check_roots()
            for change in self._ready(now):
                try:
                    self.on_change(change)
                except Exception:  # the watcher must outlive a failing consumer
                    log.exception("change handler failed for %s", change.root)

    def _ready(self, now: float) -> list[Change]:
        out: list[Change] = []
        with self._lock:
            roots = set(self._pending) | set(self._moves) | self._rescan
            for root in roots:
                change = Change(root, rescan=root in self._rescan)
                self._rescan.discard(root)
                pend = self._pending.get(root, {})
                for path, (last, seen) in list(pend.items()):
                    if now - last < self.quiet:
                        continue
                    cur = _signature(path)
                    if path.endswith(os.sep) or cur is None or cur == seen:
                        del pend[path]
                        if path.endswith(os.sep):
                            change.paths.update(_expand_dir(path[:-1]))
                            change.paths.add(path)
                        else:
                            change.paths.add(path)
                    else:  # still changing (being copied): wait for it to settle
                        pend[path] = (now, cur)
                if self._moves.get(root):
                    change.moved_dirs = self._moves.pop(root)
                if change.paths or change.moved_dirs or change.rescan:
                    out.append(change)
        return out

    def events_lost(self, below: str | None = None) -> None:
        """The system dropped events (inotify queue overflow) or a watch broke: every folder
        concerned is reconciled with a full scan, so nothing that happened is missed."""
        roots = [r for r in self._observers if below is None or is_within(below, r)
                 or is_within(r, below)]
        log.warning("file-system events were lost for %s: rescanning", ", ".join(roots) or "-")
        with self._lock:
            self._rescan.update(roots)

    def _check_roots(self) -> None:
        """Notice folders that went offline (unplugged) or came back, and watches that died."""
        for root, obs in list(self._observers.items()):
            if not obs.is_alive() and not self._stop.is_set() and os.path.isdir(root):
                log.warning("the watch on %s stopped: watching it again", root)
                self._observers.pop(root, None)
                self.watch(root)
                self.events_lost(root)
        for root, was_online in list(self._online.items()):
            online = os.path.isdir(root)
            if online == was_online:
                continue
            self._online[root] = online
            gone = self._observers.pop(root, None)
            if gone is not None:
                gone.stop()
            if online:
                log.info("%s is back: reconciling it", root)
                self.watch(root)
            else:
                log.info("%s went offline: its photos are kept", root)
            with self._lock:
                self._rescan.add(root)


class _OverflowListener(logging.Handler):
    """watchdog rebuilds its inotify watches after a queue overflow but tells its handlers
    nothing: the events are simply gone. It does log it, with the folder: that is our cue."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self._watchers: set[FolderWatcher] = set()
        self._lock = threading.Lock()

    def add(self, watcher: FolderWatcher) -> None:
        with self._lock:
            if not self._watchers:
                for name in ("watchdog.observers.inotify", "watchdog.observers.inotify_c"):
                    logging.getLogger(name).addHandler(self)
            self._watchers.add(watcher)

    def discard(self, watcher: FolderWatcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def emit(self, record: logging.LogRecord) -> None:
        if "overflow" not in str(record.msg).lower():
            return
        # (watchdog passes the watched path, str or bytes; anything else: rescan everything
        # rather than raise inside watchdog's logging call, in its observer thread)
        arg = record.args[0] if isinstance(record.args, tuple) and record.args else None
        below = os.fsdecode(arg) if isinstance(arg, str | bytes) else None
        with self._lock:
            watchers = list(self._watchers)
        for w in watchers:
            w.events_lost(below)


_OVERFLOWS = _OverflowListener()


def _signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _expand_dir(path: str) -> list[str]:
    return [fi.path for fi in scan(path)] if os.path.isdir(path) else []


def _network_fs(path: str) -> str | None:
    """'network file system (nfs)' when ``path`` lies on one, where inotify sees no remote
    changes; None otherwise (or when it cannot be told)."""
    kind = fs_type(path)
    return f"network file system ({kind})" if kind in NETWORK_FS else None
