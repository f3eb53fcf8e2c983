"""Walk photo folders: image files with their size and mtime, without reading them.

A RAW file beside a JPEG of the same name is not a photo of its own: it is reported as the
JPEG's ``companion`` (one shot, :func:`formats.pair_up`).

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

from photoclip.core.indexing.formats import is_image_name, pair_up

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


PSEUDO_FS = frozenset({
    "proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "tracefs",
    "securityfs", "pstore", "bpf", "configfs", "fusectl", "mqueue", "hugetlbfs", "autofs",
    "binfmt_misc", "efivarfs", "rpc_pipefs", "nsfs",
})
SYSTEM_DIRS = ("/proc", "/sys", "/dev", "/run", "/boot", "/etc", "/usr", "/bin", "/sbin",
               "/lib", "/lib64", "/var/lib", "/snap")


def not_a_photo_folder(path: str) -> str | None:
    """Why ``path`` must not be added as a photo folder (a file-system root, a system folder,
    a pseudo file system like /proc whose links lead anywhere), or None."""
    p = os.path.abspath(path)
    if os.path.dirname(p) == p:
        return "the root of a file system (the whole disk)"
    if os.name == "posix":
        for d in SYSTEM_DIRS:
            if p == d or p.startswith(d + os.sep):
                return "a system folder"
        kind = fs_type(p)
        if kind in PSEUDO_FS:
            return f"a system pseudo file system ({kind})"
    return None


def fs_type(path: str) -> str | None:
    """The type of the file system ``path`` lies on ('ext4', 'nfs4', 'proc'…), from
    /proc/mounts; None where that cannot be told."""
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            mounts = [line.split()[1:3] for line in f]
    except OSError:
        return None
    best, kind = "", None
    for mnt, fstype in mounts:
        mnt = mnt.replace("\\040", " ")
        if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
            best, kind = mnt, fstype
    return kind


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    mtime_ns: int
    error: str | None = None  # set when the entry looks like a photo but cannot be used
    inode: int | None = None  # st_ino: a rename keeps it (identical copies told apart)
    companion: str | None = None  # the RAW beside this JPEG (one shot)


def scan(root: str) -> Iterator[FileInfo]:
    """Every image file below ``root`` (absolute paths), depth first, in a stable order.
    A symbolic link to a folder is followed only when it stays inside ``root``: a link out
    (to another disk, to / through /proc/…/cwd) is not the user's photo folder."""
    seen: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
        real_root = os.path.realpath(root)
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
        pairs = pair_up(e.name for e in entries)  # (it looks at photo names only)
        companions = set(pairs.values())
        for entry in entries:
            name = entry.name
            if skipped_name(name) or name in companions:
                continue
            try:
                is_dir = entry.is_dir()  # follows links
            except OSError:
                is_dir = False
            if is_dir:
                try:
                    dst = entry.stat()
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if not (target == real_root
                                or target.startswith(real_root.rstrip(os.sep) + os.sep)):
                            log.info("not following %s: it links out of %s (add %s as a "
                                     "folder to include it)", entry.path, root, target)
                            continue
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
            raw = pairs.get(name)
            yield file_info(entry.path, entry, os.path.join(folder, raw) if raw else None)
        stack.extend(reversed(subdirs))


def pairs_in(folder: str) -> dict[str, str]:
    """The RAW + JPEG pairs of one folder now, as :func:`formats.pair_up` names them."""
    try:
        with os.scandir(folder) as it:
            names = [e.name for e in it if not skipped_name(e.name)]
    except OSError:
        return {}
    return pair_up(names)


def file_info(path: str, entry: os.DirEntry[str] | None = None,
              companion: str | None = None) -> FileInfo:
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
        return FileInfo(path, size, mtime, reason, companion=companion)
    if not stat.S_ISREG(st.st_mode):
        return FileInfo(path, 0, st.st_mtime_ns, "not a regular file", companion=companion)
    return FileInfo(path, st.st_size, st.st_mtime_ns, inode=st.st_ino or None,
                    companion=companion)
