"""Paths in Qt: file URLs that keep every byte of a file name.

Qt strings cannot hold the undecodable bytes of a file name that is not valid UTF-8 (PySide
drops them: see core/paths.py), so such paths never pass through a Qt string: signals carry
them as Python objects, labels show :func:`photoclip.core.paths.shown`, and URLs are built from
the name's bytes.
"""

from __future__ import annotations

import os
from urllib.parse import quote

from PySide6.QtCore import QUrl

from photoclip.core.paths import shown

__all__ = ["file_url", "shown"]


def file_url(path: str) -> QUrl:
    """``file://`` URL of ``path``, percent-encoding the name's bytes as they are on disk."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        raw = quote(os.fsencode(os.path.abspath(path)), safe="/")
        return QUrl.fromEncoded(f"file://{raw}".encode("ascii"))
    return QUrl.fromLocalFile(path)
