"""File names that are not valid UTF-8, kept losslessly.

On Linux a file name is bytes; old archives and zips often hold names in Latin-1 or CP437
(``'!\\xff.jpg'``). Python gives them to us as ``str`` with each undecodable byte as a lone
surrogate (U+DC80–U+DCFF, the ``surrogateescape`` convention): such a string opens the file
fine, but cannot be written to SQLite (which stores UTF-8) or printed.

- :func:`to_db` / :func:`from_db`: in the catalog each such byte is stored as a private-use
  character (U+10FE80–U+10FEFF, one character for one, so prefixes and lengths are kept) and
  turned back on the way out: paths round-trip exactly, and ordinary names are untouched.
- :func:`shown`: a path as people see it — undecodable bytes written as ``\\xNN``.
"""

from __future__ import annotations

import os

_SURROGATE_BASE = 0xDC00
_PRIVATE_BASE = 0x10FE00  # + byte value (0x80–0xFF): a plane-16 private-use code point
_TO_DB = {_SURROGATE_BASE + b: _PRIVATE_BASE + b for b in range(0x80, 0x100)}
_FROM_DB = {v: k for k, v in _TO_DB.items()}
_FIRST_PRIVATE = chr(_PRIVATE_BASE + 0x80)


def to_db(path: str) -> str:
    """The catalog's form of ``path`` (valid UTF-8 whatever the file name's bytes)."""
    if path.isascii():
        return path
    return path.translate(_TO_DB)


def from_db(text: str) -> str:
    """The real path (with surrogate escapes where the name's bytes are not UTF-8)."""
    if text.isascii() or max(text) < _FIRST_PRIVATE:
        return text
    return text.translate(_FROM_DB)


def is_within(path: str, folder: str) -> bool:
    """True when ``path`` is ``folder`` or lies inside it (plain string paths, no I/O)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def shown(path: str) -> str:
    """``path`` for printing and for the GUI: undecodable bytes as ``\\xNN``."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return path


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Flush a folder's entries to disk (a rename inside it survives a power cut). Where a
    folder cannot be opened for that (Windows), nothing to do."""
    try:
        fd = os.open(os.fspath(folder) or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
