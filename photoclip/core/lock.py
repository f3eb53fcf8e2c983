"""Inter-process locks in the data folder: one indexer and one index writer at a time.

Two processes may share a library (the app and a `photoclip index`, two terminals): SQLite keeps
the catalog safe, but two runs would encode the same photos twice, and two index saves would
write the same generation files at once (one of them crashed on the other's temporary file).
So an indexing run holds ``indexing.lock`` and an index save holds ``index.lock``; a second
process waits, and says who it waits for.

The lock is an OS file lock (``flock`` / ``msvcrt.locking``): it goes away with its process,
so a crash or ``kill -9`` never leaves a stale lock behind.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

# The lock files in a data folder: the indexing run, the index save, the app's one window.
INDEXING_LOCK, INDEX_LOCK, APP_LOCK = "indexing.lock", "index.lock", "app.lock"
LOCK_FILES = (INDEXING_LOCK, INDEX_LOCK, APP_LOCK)


class LockTimeout(Exception):
    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder


class FileLock:
    """An exclusive lock on ``path``, re-entrant within one process."""

    def __init__(self, path: Path, what: str = ""):
        self.path = Path(path)
        self.what = what or " ".join(Path(a).name for a in sys.argv[:2]) or "PhotoCLIP"
        self._fd: int | None = None
        self._depth = 0
        self._mutex = threading.RLock()

    def acquire(self, timeout: float | None = None,
                on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lock, waiting up to ``timeout`` seconds (None: as long as it takes).
        ``on_wait(holder)`` is called once if another process holds it. Raises LockTimeout."""
        self._mutex.acquire()
        if self._depth:
            self._depth += 1
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            deadline = None if timeout is None else time.monotonic() + timeout
            told = False
            while not _try_lock(fd):
                if not told and on_wait is not None:
                    on_wait(self.holder())
                    told = True
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    raise LockTimeout(self.holder())
                time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {self.what}".encode())
            self._fd, self._depth = fd, 1
        except BaseException:
            self._mutex.release()
            raise

    def release(self) -> None:
        if not self._depth:
            return
        self._depth -= 1
        if not self._depth and self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass
            _unlock(fd)
            os.close(fd)
        self._mutex.release()

    def holder(self) -> str:
        """'PID what' of the process holding the lock, as it wrote it (or 'another process')."""
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            text = ""
        pid, _, what = text.partition(" ")
        return f"{what or 'PhotoCLIP'} (process {pid})" if pid.isdigit() else "another process"

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class LibraryUse:
    """Every process that has a library open holds ``library.lock`` shared; a repair of the
    catalog takes it exclusive, so it never swaps the file from under another process that
    would go on writing into the damaged one (POSIX flock; on Windows, where a file that is
    open cannot be renamed anyway, this is a no-op)."""

    def __init__(self, home: Path):
        self.path = Path(home) / "library.lock"
        self._fd: int | None = None

    def _open(self) -> int | None:
        if self._fd is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError:  # (a read-only data folder: nothing to guard, nothing written)
                return None
        return self._fd

    def shared(self) -> None:
        fd = self._open()
        if fd is not None and os.name != "nt":
            fcntl.flock(fd, fcntl.LOCK_SH)

    WAIT = 10.0  # seconds a repair waits for other processes to close the library

    def exclusive(self, timeout: float | None = None) -> None:
        """The library to this process alone; PhotoclipError after ``timeout`` seconds
        (default WAIT) when another PhotoCLIP keeps it open."""
        fd = self._open()
        if fd is None or os.name == "nt":
            return
        deadline = time.monotonic() + (self.WAIT if timeout is None else timeout)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    from photoclip.core.errors import PhotoclipError

                    raise PhotoclipError(
                        f"The catalog in {self.path.parent} is damaged and needs repairing, "
                        "but another PhotoCLIP (the app, 'watch' or another command) has "
                        "this library open: close it, then start again.") from None
                time.sleep(0.2)

    def release(self) -> None:
        if self._fd is not None:
            if os.name != "nt":
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


if sys.platform == "win32":  # pragma: no cover - Windows
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
