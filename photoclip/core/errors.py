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
