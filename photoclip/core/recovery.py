"""A damaged data folder is noticed, said in one sentence, set aside and repaired.

- **Rolling backups** of the catalog (SQLite's online backup API, consistent while in use):
  one a day at most, taken when a library is opened to be written (index, watch, the app),
  the newest :data:`KEEP_BACKUPS` kept in ``backups/``; and one before each schema migration.
- **Damage on open** (a file that is not a database, a junk header, a catalog truncated to
  0 bytes where a library existed): the file is moved aside as ``catalog.sqlite3.damaged-…``
  and the newest backup that passes SQLite's integrity check is restored. Without one, the
  folders are salvaged from the damaged file where possible and everything else is rebuilt by
  indexing again. :func:`open_catalog` says which in its message.
- **Damage found later** (a garbled page met by a query) surfaces as :class:`CatalogDamaged`;
  ``photoclip doctor`` checks everything (:func:`check`) and repairs (:func:`repair`).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from photoclip.core.catalog import Catalog, CatalogTooNew
from photoclip.core.errors import PhotoclipError

log = logging.getLogger(__name__)

BACKUP_DIR = "backups"
KEEP_BACKUPS = 2
BACKUP_EVERY = 24 * 3600.0


class CatalogDamaged(PhotoclipError):
    """The catalog cannot be read as a database."""


@dataclass
class Opened:
    catalog: Catalog
    notice: str | None = None  # one sentence for the user when something had to be repaired


def open_catalog(path: Path) -> Opened:
    """The catalog at ``path``, repaired from a backup first when it is damaged."""
    path = Path(path)
    problem = _damage(path)
    if problem is None:
        try:
            return Opened(Catalog(path))
        except CatalogTooNew:
            raise
        except sqlite3.DatabaseError as e:  # (a junk header shows up only when read)
            problem = str(e)
    return Opened(*_recover(path, problem))


def _damage(path: Path) -> str | None:
    """Why the file at ``path`` is no usable catalog, judged without opening it for writing."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"cannot read it: {e.strerror or e}"
    if size == 0:
        # SQLite writes its header with the first commit, and PhotoCLIP commits on creation:
        # an empty file where a library existed was truncated.
        home = path.parent
        if _backups(path) or (home / "index").exists() or (home / "models").exists():
            return "the file is empty (0 bytes)"
        return None
    with open(path, "rb") as f:
        header = f.read(16)
    if header != b"SQLite format 3\x00":
        return "it is not an SQLite database (damaged header)"
    return None


def _recover(path: Path, problem: str) -> tuple[Catalog, str]:
    aside = set_aside(path)
    for backup in _backups(path):
        if integrity_ok(backup):
            shutil.copy2(backup, path)
            _forget_index(path.parent)
            restored = Catalog(path)
            restored.new_identity()  # (an index saved after the backup is not this one's)
            restored.close()
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(backup.stat().st_mtime))
            notice = (f"The catalog was damaged ({problem}); it was set aside as {aside.name} "
                      f"and restored from the backup of {when}: photos changed since then are "
                      "indexed again.")
            log.warning(notice)
            return Catalog(path), notice
    folders = _salvage_folders(aside)
    _forget_index(path.parent)
    catalog = Catalog(path)
    for folder in folders:
        try:
            catalog.add_folder(folder)
        except sqlite3.Error:
            pass
    notice = (f"The catalog was damaged ({problem}) and there is no usable backup; it was set "
              f"aside as {aside.name} and a new one started"
              + (f" with its {len(folders)} folder(s): the photos are indexed again."
                 if folders else ": add your photo folders again."))
    log.warning(notice)
    return catalog, notice


def _forget_index(home: Path) -> None:
    """The search index mirrors the catalog that was lost: it is rebuilt from the restored one."""
    shutil.rmtree(home / "index", ignore_errors=True)


def set_aside(path: Path) -> Path:
    """Move the catalog (and its WAL and shared-memory files) out of the way; returns where."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        src = Path(f"{path}{suffix}")
        if src.exists():
            os.replace(src, Path(f"{aside}{suffix}"))
    return aside


def _salvage_folders(damaged: Path) -> list[str]:
    """The folder list of a damaged catalog, if SQLite can still read that table."""
    from photoclip.core.paths import from_db

    try:
        conn = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
        try:
            return [from_db(r[0]) for r in conn.execute("SELECT path FROM folders")]
        finally:
            conn.close()
    except sqlite3.Error:
        return []


def integrity_ok(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _backups(path: Path) -> list[Path]:
    """Backups of the catalog at ``path``, newest first."""
    folder = path.parent / BACKUP_DIR
    found = list(folder.glob(f"{path.stem}-*.sqlite3")) if folder.is_dir() else []
    found += path.parent.glob(f"{path.name}.v*.bak")  # taken before schema migrations
    return sorted((p for p in found if p.is_file()), key=lambda p: p.stat().st_mtime,
                  reverse=True)


def backup_if_due(catalog: Catalog, every: float = BACKUP_EVERY) -> Path | None:
    """Back the catalog up if its newest backup is older than ``every`` seconds."""
    backups = _backups(catalog.path)
    if backups and time.time() - backups[0].stat().st_mtime < every:
        return None
    return backup(catalog)


def backup(catalog: Catalog) -> Path | None:
    """A consistent copy of the catalog (while it is in use) in ``backups/``; the oldest
    beyond :data:`KEEP_BACKUPS` are deleted. A failure (disk full) is logged, not raised."""
    folder = catalog.path.parent / BACKUP_DIR
    dest = folder / f"{catalog.path.stem}-{time.strftime('%Y%m%d-%H%M%S')}.sqlite3"
    part = dest.with_name(dest.name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(part)
        try:
            catalog.conn.backup(target)
        finally:
            target.close()
        os.replace(part, dest)
    except (OSError, sqlite3.Error) as e:
        part.unlink(missing_ok=True)
        log.warning("could not back up the catalog: %s", e)
        return None
    for old in _backups(catalog.path)[KEEP_BACKUPS:]:
        old.unlink(missing_ok=True)
    return dest


# -- photoclip doctor --------------------------------------------------------------------------

@dataclass
class Finding:
    what: str
    ok: bool
    detail: str = ""


def check(home: Path, catalog_path: Path) -> list[Finding]:
    """Everything in the data folder that can be damaged, checked (read-only)."""
    from photoclip.config import Settings

    out = []
    problem = _damage(catalog_path)
    if problem is None and catalog_path.exists() and not integrity_ok(catalog_path):
        problem = "SQLite's integrity check failed"
    out.append(Finding("catalog", problem is None, problem or f"{catalog_path.name} is sound"))
    backups = [b for b in _backups(catalog_path) if integrity_ok(b)]
    out.append(Finding("backups", bool(backups),
                       f"{len(backups)} usable, newest {_age(backups[0])}" if backups
                       else "none yet (one is made each day the library is updated)"))
    settings = Settings.load(home)
    out.append(Finding("settings", not settings.problems, "; ".join(settings.problems)
                       or "settings.json is valid"))
    return out


def repair(catalog_path: Path) -> str:
    """Set a damaged catalog aside and restore the newest good backup (or start anew)."""
    problem = _damage(catalog_path) or "SQLite's integrity check failed"
    catalog, notice = _recover(catalog_path, problem)
    catalog.close()
    return notice


def _age(path: Path) -> str:
    hours = (time.time() - path.stat().st_mtime) / 3600
    return f"{hours:.0f} h old" if hours < 48 else f"{hours / 24:.0f} days old"
