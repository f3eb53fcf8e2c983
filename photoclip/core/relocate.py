"""Moving the data folder (catalog, search index, exported models, settings, backups) elsewhere.

Copy, verify, then switch — never the other way round:

1. :func:`plan_move` checks the destination (not inside the library, not another library,
   writable, enough free space) and lists what is to be copied;
2. :func:`copy_library` copies into a hidden staging folder inside the destination (the catalog
   through SQLite's backup API, so it is consistent even while open), verifies the copy (SQLite's
   integrity check, the same number of photos, the same file sizes), and only then renames it
   into place and names it the data folder (config's location file). Any failure removes the
   staging folder and leaves the library where it was;
3. the old copy is kept until the library has opened from its new place: :func:`finish_move`,
   called on start, removes what was copied from the old folder and says so.

The caller stops writing (the background worker) before step 2. Nothing here touches photos.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from photoclip.config import set_data_home
from photoclip.core.errors import PhotoclipError
from photoclip.core.lock import LOCK_FILES, FileLock, LockTimeout
from photoclip.core.paths import shown

log = logging.getLogger(__name__)

CATALOG = "catalog.sqlite3"
NOTE = "moved-from.json"  # in the new folder, until the old copy is removed
STAGING = ".photoclip-moving"
# Files that belong to one running process, not to the library.
SKIP = {*LOCK_FILES, "photoclip.log", NOTE, STAGING,
        f"{CATALOG}-wal", f"{CATALOG}-shm", f"{CATALOG}-journal"}
# Written to the old folder after the copy, by the window as it closed for the restart.
LATE = ("window.ini",)


@dataclass
class MovePlan:
    src: Path
    dst: Path
    files: list[tuple[str, int]] = field(default_factory=list)  # (relative path, bytes)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size in self.files)


def plan_move(src: Path, dst: Path) -> MovePlan:
    """What moving the library in ``src`` to ``dst`` copies; PhotoclipError with the reason
    when it cannot be done. A destination that already holds other files gets a ``PhotoCLIP``
    folder of its own, so the library never mixes with them."""
    src, dst = Path(src).resolve(), Path(dst).expanduser().resolve()
    if dst == src:
        raise PhotoclipError(f"The library is already in {shown(str(dst))}.")
    if dst.is_relative_to(src):
        raise PhotoclipError(f"{shown(str(dst))} is inside the current data folder; choose a "
                             "folder outside it.")
    if src.is_relative_to(dst) and (dst / CATALOG).exists():
        raise PhotoclipError(f"{shown(str(dst))} holds the library's parent folder; choose "
                             "another.")
    if (dst / CATALOG).exists():
        raise PhotoclipError(f"{shown(str(dst))} already holds a PhotoCLIP library; choose an "
                             "empty folder (or remove that library first).")
    if dst.exists() and not dst.is_dir():
        raise PhotoclipError(f"{shown(str(dst))} is a file, not a folder.")
    if dst.is_dir() and any(p.name != STAGING for p in dst.iterdir()):
        dst = dst / "PhotoCLIP"
        if dst.exists() and any(dst.iterdir()):
            raise PhotoclipError(f"{shown(str(dst))} is not empty; choose an empty folder.")
    plan = MovePlan(src, dst)
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if rel.parts[0] in SKIP or not path.is_file() or path.is_symlink():
            continue
        plan.files.append((str(rel), path.stat().st_size))
    existing = dst
    while not existing.exists():
        existing = existing.parent
    if not os.access(existing, os.W_OK):
        raise PhotoclipError(f"PhotoCLIP may not write to {shown(str(existing))}; choose another "
                             "folder.")
    free = shutil.disk_usage(existing).free
    need = plan.total_bytes + (plan.total_bytes >> 4) + 50 * 2**20
    if free < need:
        raise PhotoclipError(f"{shown(str(existing))} has {free / 2**20:,.0f} MB free; the library "
                             f"needs {need / 2**20:,.0f} MB.")
    return plan


def copy_library(plan: MovePlan, progress: Callable[[int, int], None] | None = None,
                 cancel: threading.Event | None = None, remember: bool = True) -> Path:
    """Copy, verify, put in place and (with ``remember``) make ``plan.dst`` the data folder.
    ``progress(bytes done, bytes in all)``; ``cancel`` stops between files. On any failure
    the destination is left as it was and PhotoclipError says why."""
    stage = plan.dst / STAGING
    total, done = plan.total_bytes, 0
    try:
        if stage.exists():
            shutil.rmtree(stage)  # (an earlier move that did not finish)
        stage.mkdir(parents=True)
        for rel, size in plan.files:
            if cancel is not None and cancel.is_set():
                raise PhotoclipError("The move was cancelled; the library stays where it was.")
            target = stage / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel == CATALOG:
                _copy_catalog(plan.src / rel, target)
            else:
                shutil.copy2(plan.src / rel, target)
            done += size
            if progress is not None:
                progress(done, total)
        _verify(plan, stage)
        for entry in stage.iterdir():
            os.replace(entry, plan.dst / entry.name)
        stage.rmdir()
        (plan.dst / NOTE).write_text(json.dumps(
            {"from": str(plan.src), "files": [rel for rel, _ in plan.files]}), encoding="utf-8")
    except PhotoclipError:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    except (OSError, sqlite3.Error) as e:
        shutil.rmtree(stage, ignore_errors=True)
        log.warning("moving the library to %s failed: %s", plan.dst, e)
        raise PhotoclipError(f"The library could not be copied to {shown(str(plan.dst))} "
                             f"({getattr(e, 'strerror', None) or e}); it stays where it "
                             "was.") from None
    if remember:
        set_data_home(plan.dst)
    log.info("library copied from %s to %s (%d files, %d bytes), verified", plan.src, plan.dst,
             len(plan.files), total)
    return plan.dst


def _copy_catalog(src: Path, dst: Path) -> None:
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
    finally:
        target.close()
        source.close()


def _photos(path: Path, check: bool = False) -> int:
    """Photos in the catalog at ``path``; with ``check``, SQLite's quick_check first."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if check and conn.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise PhotoclipError(f"The copy of the catalog in {shown(str(path.parent))} is "
                                 "damaged; the library stays where it was.")
        count: int = conn.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
        return count
    finally:
        conn.close()


def _verify(plan: MovePlan, stage: Path) -> None:
    for rel, size in plan.files:
        if rel == CATALOG:
            continue
        copied = stage / rel
        if not copied.is_file() or copied.stat().st_size != size:
            raise PhotoclipError(f"The copy of {rel} in {shown(str(plan.dst))} is incomplete; the "
                                 "library stays where it was.")
    if (plan.src / CATALOG).exists() and \
            _photos(stage / CATALOG, check=True) != _photos(plan.src / CATALOG):
        raise PhotoclipError(f"The copy of the catalog in {shown(str(plan.dst))} does not hold "
                             "every photo; the library stays where it was.")


def finish_move(home: Path) -> str | None:
    """Once the library has opened from ``home``: remove the old copy left by a move (only the
    files the move copied) and say so; None when there was no move to finish."""
    note = Path(home) / NOTE
    try:
        info = json.loads(note.read_text(encoding="utf-8"))
        old, files = Path(info["from"]), list(info["files"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("cannot read %s: %s", note, e)
        note.unlink(missing_ok=True)
        return None
    for rel in LATE:  # (newer there: the window saved its size there as it closed)
        late, here = old / rel, Path(home) / rel
        try:
            if late.is_file() and (not here.exists()
                                   or late.stat().st_mtime > here.stat().st_mtime):
                shutil.copy2(late, here)
        except OSError as e:
            log.warning("cannot carry %s over to %s: %s", late, home, e)
    for rel in [*files, *LATE, "photoclip.log", f"{CATALOG}-journal"]:
        (old / rel).unlink(missing_ok=True)
    for suffix in ("-wal", "-shm"):
        (old / f"{CATALOG}{suffix}").unlink(missing_ok=True)
    for name in LOCK_FILES:  # a lock is removed only when no process holds it (one may still run)
        lock = FileLock(old / name)
        if not lock.path.exists():
            continue
        try:
            lock.acquire(timeout=0)
        except LockTimeout as e:
            log.info("%s is still in use by %s: left in place", lock.path, e.holder)
            continue
        try:
            lock.path.unlink(missing_ok=True)
        finally:
            lock.release()
    for folder in sorted({p for rel in files for p in (old / rel).parents if p != old
                          and p.is_relative_to(old)}, key=lambda p: -len(p.parts)):
        try:
            folder.rmdir()
        except OSError:
            pass
    note.unlink(missing_ok=True)
    log.info("old copy of the library in %s removed after the move to %s", old, home)
    return (f"The library now lives in {shown(str(home))}; the old copy in {shown(str(old))} "
            "was removed.")
