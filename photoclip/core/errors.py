"""Exceptions the core raises for conditions a user can act on.

Each carries a message written for the user, so the CLI and GUI can show it as is.
"""


class PhotoclipError(Exception):
    """Base class: an error with a message meant for the user."""

    exit_code = 1


class ModelUnavailable(PhotoclipError):
    """The CLIP model cannot be loaded (weights not on disk and no download possible, bad spec)."""

    exit_code = 3


class NotFound(PhotoclipError):
    """A folder or photo the user named is not known or does not exist."""

    exit_code = 4


def explain(err: BaseException, home) -> PhotoclipError | None:
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
            f"The disk holding the data folder {home} is full: free some space and run the "
            "command again (the work done so far is kept).")
    if (isinstance(err, PermissionError) or code in (errno.EACCES, errno.EPERM, errno.EROFS)
            or "readonly database" in low or "read-only file system" in low):
        return PhotoclipError(
            f"PhotoCLIP cannot write to its data folder {home} ({text.split(':')[0]}): check "
            "its permissions, or use another folder with --home or PHOTOCLIP_HOME.")
    if isinstance(err, sqlite3.DatabaseError) and any(w in low for w in (
            "malformed", "not a database", "disk i/o error", "corrupt")):
        return PhotoclipError(
            f"The catalog in {home} is damaged ({text}). Run 'photoclip doctor --repair' to "
            "set it aside and restore the last backup.")
    if isinstance(err, sqlite3.OperationalError) and "unable to open database" in low:
        return PhotoclipError(
            f"PhotoCLIP cannot open its catalog in {home}: check that the folder exists and "
            "can be written, or use another with --home.")
    if isinstance(err, IsADirectoryError | NotADirectoryError):
        return PhotoclipError(
            f"Something in the data folder {home} is in the way ({text}): move it aside, or "
            "run 'photoclip doctor'.")
    return None
