"""photoclip.core.paths: file names that are not valid UTF-8, kept losslessly."""

from __future__ import annotations

import os
import sqlite3

import pytest

from photoclip.core.paths import from_db, fsync_dir, shown, to_db

LATIN1 = os.fsdecode(b"/photos/caf\xe9/\xff.jpg")  # bytes that are not UTF-8


def test_ordinary_names_are_untouched():
    for p in ("/photos/a.jpg", "/fotos/été/ü.jpg", "/写真/猫.png"):
        assert to_db(p) == p and from_db(p) == p and shown(p) == p


def test_undecodable_bytes_round_trip_through_sqlite():
    stored = to_db(LATIN1)
    assert len(stored) == len(LATIN1)  # one character for one: prefixes keep working
    stored.encode("utf-8")  # storable
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t(p TEXT)")
    conn.execute("INSERT INTO t VALUES (?)", (stored,))
    back = from_db(conn.execute("SELECT p FROM t").fetchone()[0])
    assert back == LATIN1
    assert os.fsencode(back) == b"/photos/caf\xe9/\xff.jpg"


def test_the_db_form_keeps_a_folder_prefix():
    folder = os.fsdecode(b"/photos/caf\xe9")
    assert to_db(LATIN1).startswith(to_db(folder) + "/")


def test_show_writes_undecodable_bytes_as_escapes():
    assert shown(LATIN1) == "/photos/caf\\xe9/\\xff.jpg"
    assert shown(LATIN1).encode("utf-8")


def test_a_real_file_with_such_a_name_opens_by_its_round_tripped_path(tmp_path):
    raw = os.path.join(os.fsencode(str(tmp_path)), b"\xe9t\xe9.jpg")
    try:
        with open(raw, "wb") as f:
            f.write(b"x")
    except OSError:
        pytest.skip("this file system refuses non-UTF-8 names")
    path = from_db(to_db(os.fsdecode(raw)))
    with open(path, "rb") as f:
        assert f.read() == b"x"


def test_fsync_dir_accepts_missing_folders(tmp_path):
    fsync_dir(tmp_path)
    fsync_dir(tmp_path / "absent")  # nothing to flush: no error
