"""Walk photo folders: image files with their size and mtime, without reading them.

Skips hidden and system folders, follows symbolic links but never into a folder it has already
seen (so link loops end), and reports entries that look like photos but cannot be stat'ed
(dangling link, link loop) instead of failing.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass

from photoclip.core.imageio import is_image_name

log = logging.getLogger(__name__)

SKIP_DIRS = frozenset({
    "@eaDir", "#recycle", "$RECYCLE.BIN", "System Volume Information", "lost+found",
    "__MACOSX", "node_modules",
})


def skipped_name(name: str) -> bool:
    """Hidden entries and system folders (.thumbnails, @eaDir, $RECYCLE.BIN…) are never indexed."""
    return name.startswith(".") or name in SKIP_DIRS


def is_skipped(path: str, root: str) -> bool:
    """True for a path below ``root`` that a scan would not visit: the watcher applies the same
    rule as the scan."""
    return any(skipped_name(part) for part in os.path.relpath(path, root).split(os.sep))


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    mtime_ns: int
    error: str | None = None  # set when the entry looks like a photo but cannot be used


def scan(root: str) -> Iterator[FileInfo]:
    """Every image file below ``root`` (absolute paths), depth first, in a stable order."""
    seen: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
    except OSError as e:
        log.warning("cannot scan %s: %s", root, e.strerror or e)
        return
    seen.add((st.st_dev, st.st_ino))
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            log.warning("cannot list %s: %s", folder, e.strerror or e)
            continue
        subdirs = []
        for entry in entries:
            name = entry.name
            if skipped_name(name):
                continue
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False
            if is_dir:
                try:
                    dst = entry.stat()
                except OSError:
                    continue
                key = (dst.st_dev, dst.st_ino)
                if key in seen:
                    log.info("skipping %s: already scanned (symbolic link loop or alias)",
                             entry.path)
                    continue
                seen.add(key)
                subdirs.append(entry.path)
                continue
            if not is_image_name(name):
                continue
            yield file_info(entry.path, entry)
        stack.extend(reversed(subdirs))


def file_info(path: str, entry: os.DirEntry | None = None) -> FileInfo:
    """Size and mtime of ``path`` (following links), or a FileInfo carrying the reason it failed."""
    try:
        st = entry.stat() if entry is not None else os.stat(path)
    except OSError as e:
        try:
            lst = os.lstat(path)
            size, mtime = lst.st_size, lst.st_mtime_ns
        except OSError:
            size, mtime = 0, 0
        if e.errno == errno.ELOOP:
            reason = "symbolic link loop"
        elif e.errno == errno.ENOENT:
            reason = "broken symbolic link (its target does not exist)"
        else:
            reason = f"cannot read the file: {e.strerror or e}"
        return FileInfo(path, size, mtime, reason)
    if not stat.S_ISREG(st.st_mode):
        return FileInfo(path, 0, st.st_mtime_ns, "not a regular file")
    return FileInfo(path, st.st_size, st.st_mtime_ns)
