"""Handing a photo to the desktop: open it, show it in the file manager, copy its path.

Each says what went wrong instead of failing silently (no application for the file type, no
file manager): the caller shows the returned sentence.
"""

from __future__ import annotations

import mimetypes
import os
import subprocess
import sys

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices

from photoclip.gui.file_urls import file_url, shown


def open_photo(path: str) -> str | None:
    """Open in the user's default viewer; a sentence when that cannot be done, else None."""
    if not os.path.exists(path):
        return f"{shown(path)} cannot be opened: the file is not there (moved, or its drive is "\
               "not connected)."
    if QDesktopServices.openUrl(file_url(path)):
        return None
    kind = mimetypes.guess_type(path)[0] or "this kind of file"
    return (f"No application on this computer is set to open {kind} files: choose one in your "
            "desktop's settings (Default applications), or use the preview (Space).")


def show_in_folder(path: str) -> str | None:
    """Open the file manager with the photo selected where the platform allows it (else its
    folder); a sentence when no file manager answered, else None."""
    try:
        if sys.platform == "darwin":
            subprocess.Popen(["open", "-R", path])
            return None
        if sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", os.path.normpath(path)])
            return None
    except OSError as e:
        return f"The file manager could not be started ({e.strerror or e})."
    if _freedesktop_show_item(path):
        return None
    folder = os.path.dirname(path)
    if QDesktopServices.openUrl(file_url(folder)):
        return None
    return (f"No file manager answered. The photo is in {shown(folder)} (copy its path with "
            "Ctrl+C).")


def _freedesktop_show_item(path: str) -> bool:
    """Ask the desktop's file manager (org.freedesktop.FileManager1) to select the file."""
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    iface = QDBusInterface("org.freedesktop.FileManager1", "/org/freedesktop/FileManager1",
                           "org.freedesktop.FileManager1", bus)
    if not iface.isValid():
        return False
    url = file_url(path).toString(QUrl.ComponentFormattingOption.FullyEncoded)
    reply = iface.call("ShowItems", [url], "")
    return not reply.errorMessage()
