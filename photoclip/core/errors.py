"""Exceptions the core raises for conditions a user can act on.

Each carries a message written for the user, so the CLI and GUI can show it as is; what only a
command-line user can do (a command to type) goes in ``cli_hint``: ``str(err)`` includes it
(the CLI), :func:`for_gui` leaves it out (a GUI user is never told to type a command).
"""

import os


class PhotoclipError(Exception):
    """Base class: an error with a message meant for the user."""

    exit_code = 1

    def __init__(self, message: str = "", cli_hint: str = ""):
        super().__init__(message)
        self.message = message
        self.cli_hint = cli_hint

    def __str__(self) -> str:
        return f"{self.message} {self.cli_hint}" if self.cli_hint else self.message


def for_gui(err: BaseException) -> str:
    """The sentence for a window: the message without its command-line hint."""
    return err.message if isinstance(err, PhotoclipError) else str(err)


class ModelUnavailable(PhotoclipError):
    """The CLIP model cannot be loaded (weights not on disk and no download possible, bad spec)."""

    exit_code = 3


class NotFound(PhotoclipError):
    """A folder or photo the user named is not known or does not exist."""

    exit_code = 4


def explain(err: BaseException, home: str | os.PathLike[str]) -> PhotoclipError | None:
    """The one sentence for an OS or SQLite error a user can act on (disk full, no permission,
    a read-only or damaged data folder), or None for anything else. One place for all of them,
    so every command says the same thing about the same trouble."""
    import errno
    import sqlite3

    if isinstance(err, PhotoclipError):
        return err
    text = str(err)
    low = text.lower()
    code = getattr(err, "errno", None)
    if code == errno.ENOSPC or "disk is full" in low or "database or disk is full" in low:
        return PhotoclipError(
            f"The disk holding the data folder {home} is full: free some space and try "
            "again (the work done so far is kept).")
    if (isinstance(err, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS)
            or "readonly database" in low or "read-only file system" in low):
        return PhotoclipError(
            f"PhotoCLIP cannot write to its data folder {home} ({text.split(':')[0]}): check "
            "its permissions, or move the library to another folder (Settings → Data folder).",
            cli_hint="(Or use another folder with --home or PHOTOCLIP_HOME.)")
    if isinstance(err, sqlite3.DatabaseError) and any(w in low for w in (
            "malformed", "not a database", "corrupt")):
        return PhotoclipError(
            f"The catalog in {home} is damaged ({text}). Restart PhotoCLIP: it repairs it, "
            "keeping everything that can still be read.",
            cli_hint="Or run 'photoclip doctor --repair' now.")
    if isinstance(err, sqlite3.OperationalError) and ("locked" in low or "busy" in low):
        return PhotoclipError(
            f"The catalog in {home} is locked by another program; PhotoCLIP waited, then "
            "stopped without changing anything. Try again once that program is done.")
    if isinstance(err, sqlite3.OperationalError) and "i/o error" in low:
        return PhotoclipError(
            f"The disk holding the data folder {home} could not be read or written (I/O "
            "error); nothing was changed. Check that it is connected and has free space.")
    if isinstance(err, sqlite3.OperationalError) and "unable to open database" in low:
        return PhotoclipError(
            f"PhotoCLIP cannot open its catalog in {home}: check that the folder exists and "
            "can be written.", cli_hint="Or use another with --home.")
    if isinstance(err, IsADirectoryError | NotADirectoryError):
        return PhotoclipError(
            f"Something in the data folder {home} is in the way ({text}): move it aside.",
            cli_hint="'photoclip doctor' checks the whole folder.")
    return None
