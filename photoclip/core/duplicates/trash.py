"""The system trash: where "resolve" puts the duplicates it removes, and where undo finds them.

Files go to the trash through ``send2trash`` (the desktop's own trash on Windows, macOS and
Linux: recoverable, never deleted). On Linux and other freedesktop systems the trash is a known
folder layout (``files/`` + ``info/NAME.trashinfo`` with the original path), so PhotoCLIP
finds each file it trashed there and can put it back; elsewhere undo says which files to
restore from the Trash (the Recycle Bin) by hand. PhotoCLIP never deletes a photo outright:
when the trash cannot take a file, the file stays where it is and the reason is reported.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from photoclip.core.errors import PhotoclipError


class TrashUnavailable(PhotoclipError):
    """The file could not be moved to the trash (it stays where it was)."""


@dataclass(frozen=True)
class Trashed:
    """A file moved to the trash: where it was, and where it lies now (None: unknown)."""

    path: str
    in_trash: str | None


def to_trash(path: str) -> Trashed:
    """Move ``path`` to the system trash (TrashUnavailable, file untouched, when it cannot)."""
    from send2trash import send2trash  # (late: reads the trash's location when first used)

    if not os.path.lexists(path):
        raise TrashUnavailable(f"{path} is not there any more")
    try:
        send2trash(path)
    except Exception as e:  # (OSError, or send2trash's own errors on some systems)
        if os.path.lexists(path):
            raise TrashUnavailable(f"{path} could not be moved to the trash "
                                   f"({getattr(e, 'strerror', None) or e}); it was left "
                                   "where it is") from e
    return Trashed(path, _find_in_trash(path))


def restore(item: Trashed) -> str | None:
    """Put a trashed file back where it was; None when done, else why not (one sentence)."""
    if os.path.exists(item.path):
        return f"{item.path} exists again (not overwritten)"
    if item.in_trash is None or not os.path.exists(item.in_trash):
        return f"{item.path} is no longer in the trash (restore it yourself if you can)"
    try:
        os.makedirs(os.path.dirname(item.path), exist_ok=True)
        os.rename(item.in_trash, item.path)
    except OSError:
        try:
            import shutil
            shutil.move(item.in_trash, item.path)
        except OSError as e:
            return f"{item.path} could not be restored from the trash ({e.strerror or e})"
    info = _info_file(item.in_trash)
    if info is not None:
        info.unlink(missing_ok=True)
    return None


def _info_file(in_trash: str) -> Path | None:
    p = Path(in_trash)
    if p.parent.name != "files":
        return None
    return p.parent.parent / "info" / (p.name + ".trashinfo")


def _trash_dirs(path: str) -> list[Path]:
    """Where a freedesktop trash may have put ``path``: the home trash, then its volume's."""
    if sys.platform in ("win32", "darwin"):
        return []
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    dirs = [Path(data_home) / "Trash"]
    mount = os.path.realpath(path if os.path.isdir(path) else os.path.dirname(path))
    while not os.path.ismount(mount):
        mount = os.path.dirname(mount)
    uid = str(os.getuid())
    dirs += [Path(mount) / ".Trash" / uid, Path(mount) / f".Trash-{uid}"]
    return dirs


def _find_in_trash(path: str) -> str | None:
    """The file the trash made of ``path`` (the newest, should there be several)."""
    base, ext = os.path.splitext(os.path.basename(path))
    best: tuple[str, str] | None = None
    for trash in _trash_dirs(path):
        info_dir = trash / "info"
        if not info_dir.is_dir():
            continue
        top = trash.parent if trash.name == "Trash" else trash.parent.parent \
            if trash.parent.name == ".Trash" else trash.parent
        for info in info_dir.glob(f"{_glob_escape(base)}*{_glob_escape(ext)}.trashinfo"):
            try:
                text = info.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
            where = unquote(fields.get("Path", ""))
            if not os.path.isabs(where):
                where = os.path.join(top, where)
            if os.path.realpath(where) != os.path.realpath(path):
                continue
            stored = trash / "files" / info.name[:-len(".trashinfo")]
            when = fields.get("DeletionDate", "")
            if stored.exists() and (best is None or when >= best[0]):
                best = (when, str(stored))
    return best[1] if best else None


def _glob_escape(s: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in s)
