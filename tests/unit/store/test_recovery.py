"""photoclip.core.store.recovery: damage is told from a busy catalog, repaired, and backed up."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from photoclip.core.store import recovery
from photoclip.core.store.catalog import Catalog, CatalogTooNew, PhotoRecord
from photoclip.core.store.schema import SCHEMA_VERSION


def _catalog(home, folder="/photos/trip", photo="/photos/trip/a.jpg"):
    """A real catalog in ``home`` with one folder and one photo; closed."""
    cat = Catalog(home / "catalog.sqlite3")
    f = cat.add_folder(folder)
    with cat.transaction() as tx:
        cat.upsert_photo(tx, PhotoRecord(photo, f.id, 10, 1, "abc"))
    return cat


def _junk_header(path):
    with open(path, "r+b") as f:
        f.write(b"this is no database")


def test_a_new_catalog_opens_without_a_notice(tmp_path):
    opened = recovery.open_catalog(tmp_path / "catalog.sqlite3")
    try:
        assert opened.notice is None and opened.catalog.folders() == []
    finally:
        opened.catalog.close()


def test_a_garbage_header_is_damage_repaired_from_the_backup(tmp_path):
    cat = _catalog(tmp_path)
    assert recovery.backup(cat) is not None
    cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    cat.close()
    path = tmp_path / "catalog.sqlite3"
    _junk_header(path)
    damaged = path.read_bytes()
    assert recovery._damage(path) == "it is not an SQLite database (damaged header)"
    opened = recovery.open_catalog(path)
    try:
        assert "damaged" in opened.notice and "damaged header" in opened.notice
        assert "photos restored from the backup" in opened.notice
        assert [f.path for f in opened.catalog.folders()] == ["/photos/trip"]
        assert opened.catalog.photo_state("/photos/trip/a.jpg").content_hash == "abc"
    finally:
        opened.catalog.close()
    aside = list(tmp_path.glob("catalog.sqlite3.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged
    assert recovery.integrity_problem(path) is None


def test_a_locked_catalog_is_busy_not_damage_and_is_left_alone(tmp_path, monkeypatch):
    _catalog(tmp_path).close()
    path = tmp_path / "catalog.sqlite3"
    before = path.read_bytes()
    monkeypatch.setattr(Catalog, "BUSY_TIMEOUT", 0.3)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(recovery.CatalogUnavailable, match="locked by another program"):
            recovery.open_catalog(path)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("catalog.sqlite3.damaged-*"))


def test_a_catalog_from_a_newer_version_is_not_taken_for_damage(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")  # (as every PhotoCLIP writes it)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CatalogTooNew):
        recovery.open_catalog(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob("catalog.sqlite3.damaged-*"))


@pytest.mark.parametrize("err, damaged", [
    (sqlite3.DatabaseError("database disk image is malformed"), True),
    (sqlite3.DatabaseError("file is not a database"), True),
    (sqlite3.OperationalError("database is locked"), False),
    (sqlite3.OperationalError("database or disk is full"), False),
    (sqlite3.OperationalError("disk I/O error"), False),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), True),
])
def test_only_corruption_counts_as_damage(err, damaged):
    assert recovery.is_corruption(err) is damaged


def test_an_empty_file_is_damage_only_where_a_library_was(tmp_path):
    path = tmp_path / "catalog.sqlite3"
    path.write_bytes(b"")
    assert recovery._damage(path) is None  # a fresh data folder
    (tmp_path / "index").mkdir()
    assert recovery._damage(path) == "the file is empty (0 bytes)"


def test_a_missing_catalog_with_a_backup_is_restored_not_started_empty(tmp_path):
    cat = _catalog(tmp_path)
    recovery.backup(cat)
    cat.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"catalog.sqlite3{suffix}").unlink(missing_ok=True)
    opened = recovery.open_catalog(tmp_path / "catalog.sqlite3")
    try:
        assert "the catalog file is missing" in opened.notice
        assert [f.path for f in opened.catalog.folders()] == ["/photos/trip"]
    finally:
        opened.catalog.close()


def test_backups_keep_only_the_newest_ones(tmp_path):
    cat = _catalog(tmp_path)
    folder = tmp_path / recovery.BACKUP_DIR
    folder.mkdir()
    for k, day in enumerate(("20200101", "20200102", "20200103")):
        old = folder / f"catalog-{day}-000000.sqlite3"
        old.write_bytes(b"old")
        os.utime(old, (time.time() - 86400 * (10 - k),) * 2)
    new = recovery.backup(cat)
    kept = sorted(p.name for p in folder.glob("catalog-*.sqlite3"))
    assert len(kept) == recovery.KEEP_BACKUPS == 2
    assert kept == ["catalog-20200103-000000.sqlite3", new.name]
    assert recovery.integrity_ok(new)
    assert recovery.backup_if_due(cat) is None  # one was made just now
    cat.close()


def test_a_sound_catalog_needs_no_repair(tmp_path):
    _catalog(tmp_path).close()
    path = tmp_path / "catalog.sqlite3"
    assert recovery.integrity_problem(path) is None
    assert recovery.repair(path) is None
    assert not list(tmp_path.glob("catalog.sqlite3.damaged-*"))
