"""photoclip.core.errors: one sentence for each trouble a user can act on."""

from __future__ import annotations

import errno
import sqlite3

import pytest

from photoclip.core.errors import ModelUnavailable, NotFound, PhotoclipError, explain, for_gui


def test_the_cli_hint_is_for_the_terminal_only():
    err = PhotoclipError("Cannot write.", cli_hint="Use --home.")
    assert str(err) == "Cannot write. Use --home."
    assert for_gui(err) == "Cannot write."
    assert for_gui(ValueError("plain")) == "plain"
    assert str(PhotoclipError("Just this.")) == "Just this."


def test_exit_codes_tell_the_kinds_apart():
    assert (PhotoclipError.exit_code, ModelUnavailable.exit_code, NotFound.exit_code) == (1, 3, 4)
    assert issubclass(NotFound, PhotoclipError) and issubclass(ModelUnavailable, PhotoclipError)


@pytest.mark.parametrize("err, words", [
    (OSError(errno.ENOSPC, "No space left on device"), "is full"),
    (sqlite3.OperationalError("database or disk is full"), "is full"),
    (PermissionError(errno.EACCES, "Permission denied"), "cannot write"),
    (sqlite3.OperationalError("attempt to write a readonly database"), "cannot write"),
    (sqlite3.DatabaseError("database disk image is malformed"), "is damaged"),
    (sqlite3.OperationalError("database is locked"), "locked by another program"),
    (sqlite3.OperationalError("disk I/O error"), "I/O error"),
    (sqlite3.OperationalError("unable to open database file"), "cannot open its catalog"),
    (IsADirectoryError(errno.EISDIR, "Is a directory"), "in the way"),
])
def test_explain_names_the_trouble_and_the_folder(err, words):
    out = explain(err, "/data/home")
    assert isinstance(out, PhotoclipError)
    assert words in str(out) and "/data/home" in str(out)


def test_a_locked_catalog_is_not_called_damaged():
    out = explain(sqlite3.OperationalError("database is locked"), "/h")
    assert "damaged" not in str(out)


def test_explain_leaves_other_errors_alone():
    assert explain(ValueError("bug"), "/h") is None
    assert explain(sqlite3.OperationalError("no such table: x"), "/h") is None
    mine = NotFound("No such folder.")
    assert explain(mine, "/h") is mine


def test_the_permission_sentence_hints_the_cli_only_on_the_terminal():
    out = explain(PermissionError(errno.EACCES, "Permission denied"), "/h")
    assert "--home" in str(out) and "--home" not in for_gui(out)
