"""What users made survives the accidents that used to destroy it (issue 18, items 1 and 2):
a full disk or a locked catalog is not damage; a damaged catalog is salvaged, not replaced by
an old backup; user data is snapshotted when it changes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from conftest import write_photos

from photoclip.core.store import recovery, userdata
from photoclip.core.store.catalog import Catalog


def _cli(*args, home):
    from photoclip.cli.main import main

    return main(["--home", str(home), *args])


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _small_disk(tmp_path: Path, size: str = "4m"):
    """A real file system of ``size`` (tmpfs), or a skip where mounting is not allowed."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(folder: Path) -> None:
    with open(folder / "filler", "wb") as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 65536)
            f.flush()


def _made_by_hand(home: Path) -> dict:
    """What the user made, as the CLI lists it."""
    conn = sqlite3.connect(home / "catalog.sqlite3")
    try:
        data = userdata.read(conn)
    finally:
        conn.close()
    return {"sets": sorted(t["name"] for t in data.tagsets),
            "categories": sorted(c["name"] for c in data.categories),
            "tags": sorted((Path(r[0]).name, r[3], r[4]) for r in data.tags),
            "examples": sorted((Path(r[0]).name, r[2], r[3]) for r in data.examples)}


def test_a_full_disk_at_open_is_said_and_changes_nothing(tmp_path, capsys):
    """With the disk full, 'tagset list' took the healthy catalog for damaged, set it aside
    and left a 0-byte one."""
    with _small_disk(tmp_path) as disk:
        home = disk / "home"
        assert _cli("tagset", "create", "Places", "beach", "snow", home=home) == 0
        before = _digest(home / "catalog.sqlite3")
        _fill(disk)
        capsys.readouterr()
        assert _cli("tagset", "list", home=home) == 1
        err = capsys.readouterr().err
        assert "is full" in err and "changed nothing" in err and "Traceback" not in err
        assert _digest(home / "catalog.sqlite3") == before
        assert not list(home.glob("catalog.sqlite3.damaged-*"))
        (disk / "filler").unlink()
        assert _cli("tagset", "list", home=home) == 0
        assert "Places" in capsys.readouterr().out


def test_a_catalog_locked_by_another_program_is_waited_for_then_said(tmp_path, capsys,
                                                                     monkeypatch):
    """'The catalog was damaged (database is locked)': everything since the backup gone."""
    home = tmp_path / "home"
    assert _cli("tagset", "create", "Places", "beach", home=home) == 0
    monkeypatch.setattr(Catalog, "BUSY_TIMEOUT", 0.5)
    other = sqlite3.connect(home / "catalog.sqlite3", isolation_level=None)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        capsys.readouterr()
        started = time.monotonic()
        assert _cli("tagset", "create", "Things", "cup", home=home) == 1
        err = capsys.readouterr().err
        assert time.monotonic() - started >= 0.5, "it waits first"
        assert "locked by another program" in err and "damaged" not in err
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not list(home.glob("catalog.sqlite3.damaged-*"))
    assert _cli("tagset", "list", "--json", home=home) == 0
    assert [s["name"] for s in json.loads(capsys.readouterr().out)["tagsets"]] == ["Places"]


def test_two_repairs_in_one_second_keep_both_damaged_files(tmp_path):
    """Two commands in the same second gave the set-aside files one name: the second
    overwrote the first."""
    cat = tmp_path / "catalog.sqlite3"
    kept = []
    for junk in (b"first damaged catalog", b"second damaged catalog"):
        cat.write_bytes(junk)
        report = recovery.repair_catalog(cat, "test")
        kept.append(tmp_path / report.set_aside)
    assert kept[0] != kept[1]
    assert kept[0].read_bytes() == b"first damaged catalog"
    assert kept[1].read_bytes() == b"second damaged catalog"


@pytest.fixture
def handmade(tmp_path, tiny_spec):
    """A library with photos, a tag set with manual tags and removals, a category with
    examples — part of it made after the daily backup, as happens on any day."""
    home = tmp_path / "home"
    photos = write_photos(tmp_path / "photos", 6)
    assert _cli("--model", tiny_spec, "add", str(tmp_path / "photos"), home=home) == 0
    assert _cli("index", home=home) == 0  # (takes the daily backup)
    assert list((home / "backups").glob("catalog-*.sqlite3"))
    # everything below is newer than the backup
    assert _cli("tagset", "create", "Places", "beach", "snow", home=home) == 0
    assert _cli("tag", str(photos[0]), "Places/beach", home=home) == 0
    assert _cli("tag", str(photos[1]), "holiday", home=home) == 0
    assert _cli("untag", str(photos[2]), "Places/snow", home=home) == 0
    assert _cli("category", "create", "Rex", home=home) == 0
    assert _cli("category", "add", "Rex", str(photos[3]), str(photos[4]), home=home) == 0
    assert _cli("category", "add", "Rex", "--not", str(photos[5]), home=home) == 0
    return home, photos


def _garble(cat: Path, tables: set[str]) -> int:
    """Overwrite the pages that hold ``tables`` (and their indexes) with junk."""
    db = sqlite3.connect(cat)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = db.execute("PRAGMA page_size").fetchone()[0]
    pages = [r[0] for r in db.execute(
        "SELECT pageno FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
        f"WHERE tbl_name IN ({','.join('?' * len(tables))})) AND pagetype = 'leaf'",
        sorted(tables))]
    db.close()
    data = bytearray(cat.read_bytes())
    for p in pages:
        start = (p - 1) * page
        data[start + 8:start + page] = b"\xa5" * (page - 8)
    cat.write_bytes(bytes(data))
    return len(pages)


def _junk_header(cat: Path) -> None:
    """A catalog whose first 100 bytes are junk, its WAL gone: nothing can be read."""
    data = bytearray(cat.read_bytes())
    data[:100] = b"\x00garbage" * 12 + b"\x00" * 4
    cat.write_bytes(bytes(data))
    for extra in ("-wal", "-shm"):
        Path(f"{cat}{extra}").unlink(missing_ok=True)


def test_repair_with_damage_in_the_vectors_keeps_everything_the_user_made(handmade, capsys):
    """doctor --repair restored the day-old backup although the tags, sets and categories
    still read fine: all of today's work was gone."""
    home, _photos = handmade
    before = _made_by_hand(home)
    for snap in userdata.snapshots(home):  # (the salvage alone must keep it)
        snap.unlink()
    assert _garble(home / "catalog.sqlite3", {"embeddings"}) >= 1
    assert _cli("doctor", home=home) == 1
    assert "BAD  catalog" in capsys.readouterr().out
    assert _cli("doctor", "--repair", home=home) == 0
    said = capsys.readouterr().out
    assert "repaired" in said and "1 tag sets" in said and "3 your tags" in said \
        and "3 category examples" in said, said
    assert _made_by_hand(home) == before
    assert len([p for p in home.glob("catalog.sqlite3.damaged-*") if "-wal" not in p.name
                and "-shm" not in p.name]) == 1
    # the lost vectors are encoded again; the user's rows stay as they are
    assert _cli("index", home=home) == 0
    capsys.readouterr()
    assert _cli("search", "noise", "--json", home=home) == 0
    assert len(json.loads(capsys.readouterr().out)) == 6
    assert _made_by_hand(home) == before


def test_a_catalog_damaged_beyond_reading_gets_the_users_work_from_the_snapshot(handmade,
                                                                              capsys):
    """A junk header: nothing can be read. The photos come back from the backup and what the
    user made since then from the snapshot taken when they made it."""
    home, _photos = handmade
    before = _made_by_hand(home)
    assert userdata.snapshots(home), "a snapshot was taken when the CLI closed the library"
    _junk_header(home / "catalog.sqlite3")
    capsys.readouterr()
    assert _cli("search", "noise", "--json", home=home) == 0
    out, err = capsys.readouterr()
    assert "repaired" in err and "6 photos restored from the backup" in err, err
    assert len(json.loads(out)) == 6, "no photo to encode again"
    assert _made_by_hand(home) == before


def test_a_repair_without_room_for_the_new_catalog_changes_nothing(tmp_path, capsys):
    with _small_disk(tmp_path, "3m") as disk:
        home = disk / "home"
        assert _cli("tagset", "create", "Places", "beach", home=home) == 0
        cat = home / "catalog.sqlite3"
        data = bytearray(cat.read_bytes())
        data[:16] = b"not a database!!"
        cat.write_bytes(bytes(data))
        _fill(disk)
        before = _digest(cat)
        capsys.readouterr()
        assert _cli("tagset", "list", home=home) == 1
        err = capsys.readouterr().err
        assert "free space" in err and "Nothing was changed" in err
        assert _digest(cat) == before and not list(home.glob("*.damaged-*"))


def test_user_data_is_snapshotted_a_minute_after_it_changes(tmp_path):
    cat = Catalog(tmp_path / "catalog.sqlite3")
    guard = userdata.Guard(cat, tmp_path, quiet=60, at_most=300)
    assert guard.poll(now=0) is None, "nothing made yet: nothing to keep"
    cat.set_meta("x", "1")  # (not user data)
    with cat.transaction() as tx:
        tx.execute("INSERT INTO categories(id, name, name_key, threshold, created_at) "
                   "VALUES (1, 'Rex', 'rex', 0.5, 0)")
    assert guard.poll(now=10) is None
    assert guard.poll(now=50) is None, "within the minute after the change"
    snap = guard.poll(now=71)
    assert snap is not None and [c["name"] for c in userdata.load(snap).categories] == ["Rex"]
    assert guard.poll(now=500) is None, "nothing changed since"
    # changes that keep coming are saved at the latest five minutes after the first
    for t in range(600, 960, 30):
        with cat.transaction() as tx:
            tx.execute("UPDATE categories SET threshold=? WHERE id=1", (t / 1000,))
        if guard.poll(now=t) is not None:
            break
    assert t <= 900
    cat.close()


def test_snapshots_keep_several_generations(tmp_path, monkeypatch):
    cat = Catalog(tmp_path / "catalog.sqlite3")
    clock = iter(range(100))
    monkeypatch.setattr(time, "strftime",
                        lambda fmt, *a: f"20261130-1200{next(clock):02d}")
    for k in range(15):
        with cat.transaction() as tx:
            tx.execute("INSERT INTO categories(id, name, name_key, threshold, created_at) "
                       "VALUES (?, ?, ?, 0.5, 0)", (k + 1, f"c{k}", f"c{k}"))
        assert userdata.write_snapshot(cat, tmp_path) is not None
    assert len(userdata.snapshots(tmp_path)) == userdata.KEEP_RECENT
    newest = userdata.newest(tmp_path)
    assert newest is not None and len(newest[1].categories) == 15
    cat.close()


def _catalog_v5(path: Path) -> sqlite3.Connection:
    """A catalog as PhotoCLIP before migration 6 wrote it."""
    from photoclip.core.store.schema import MIGRATIONS

    conn = sqlite3.connect(path, isolation_level=None)
    for k, sql in enumerate(MIGRATIONS[:5]):
        conn.executescript(f"BEGIN;{sql};PRAGMA user_version={k + 1};COMMIT;")
    return conn


def test_names_an_older_photoclip_let_in_twice_stay_reachable(tmp_path):
    """SQLite's NOCASE folds ASCII only: 'ärger' after 'Ärger' made a second category that no
    name could reach."""
    conn = _catalog_v5(tmp_path / "catalog.sqlite3")
    conn.execute("INSERT INTO categories(name, threshold, created_at) VALUES ('Ärger', .5, 0)")
    conn.execute("INSERT INTO categories(name, threshold, created_at) VALUES ('ärger', .5, 0)")
    conn.execute("INSERT INTO tagsets(name, threshold, created_at) VALUES ('Line\nbreak', 0, 0)")
    conn.close()
    from photoclip.core.store.categories import CategoryStore
    from photoclip.core.store.tags import TagStore

    cat = Catalog(tmp_path / "catalog.sqlite3")
    names = sorted(c.name for c in CategoryStore(cat).all())
    assert names == ["Ärger", "ärger (2)"]
    assert CategoryStore(cat).get("ÄRGER (2)").name == "ärger (2)"
    assert TagStore(cat).get("line break").name == "Line break"
    cat.close()


def test_repairing_a_catalog_from_before_migration_6_keeps_every_name(tmp_path):
    conn = _catalog_v5(tmp_path / "catalog.sqlite3")
    for n in ("Places", "Things", "Events"):
        conn.execute("INSERT INTO tagsets(name, threshold, created_at) VALUES (?, 0, 0)", (n,))
    conn.close()
    report = recovery.repair_catalog(tmp_path / "catalog.sqlite3", "test")
    assert report.salvaged["tagsets"] == 3
    from photoclip.core.store.tags import TagStore

    cat = Catalog(tmp_path / "catalog.sqlite3")
    assert sorted(t.name for t in TagStore(cat).all()) == ["Events", "Places", "Things"]
    cat.close()


def test_a_read_error_reported_as_damage_is_not_repaired(tmp_path, monkeypatch):
    """SQLite reports a disk's read error (EIO) as 'database disk image is malformed': a
    sound catalog was set aside and rebuilt on every command while a USB drive hiccuped."""
    home = tmp_path / "home"
    assert _cli("tagset", "create", "Places", "beach", home=home) == 0
    cat = home / "catalog.sqlite3"
    before = _digest(cat)
    real = Catalog.__init__

    def hiccup(self, path):
        raise sqlite3.DatabaseError("database disk image is malformed")

    monkeypatch.setattr(Catalog, "__init__", hiccup)
    with pytest.raises(recovery.CatalogUnavailable, match="checks sound now"):
        recovery.open_catalog(cat)
    monkeypatch.setattr(Catalog, "__init__", real)
    assert _digest(cat) == before and not list(home.glob("catalog.sqlite3.damaged-*"))


def test_repair_does_not_bring_back_what_the_user_deleted(handmade, capsys):
    """The backup held a tag set, a category and a folder the user deleted afterwards: a
    repair of damaged vectors brought all three back."""
    home, _ = handmade
    extra = home.parent / "other"
    write_photos(extra, 2, start=50)
    for args in (("tagset", "create", "OldSet", "x"), ("category", "create", "OldCat"),
                 ("add", str(extra)), ("index",)):
        assert _cli(*args, home=home) == 0
    for backup in (home / "backups").glob("catalog-*.sqlite3"):
        backup.unlink()
    assert _cli("index", home=home) == 0  # (a backup with all three)
    for args in (("tagset", "delete", "OldSet"), ("category", "delete", "OldCat"),
                 ("remove", str(extra))):
        assert _cli(*args, home=home) == 0
    before = _made_by_hand(home)
    assert _garble(home / "catalog.sqlite3", {"embeddings"}) >= 1
    assert _cli("doctor", "--repair", home=home) == 0
    assert _made_by_hand(home) == before
    conn = sqlite3.connect(home / "catalog.sqlite3")
    assert [r[0] for r in conn.execute("SELECT path FROM folders")] == \
        [str(handmade[1][0].parent)]
    conn.close()


def test_repair_waits_for_other_processes_to_close_the_library(handmade, capsys,
                                                               monkeypatch):
    """'doctor --repair' swapped the catalog from under a running 'watch', which went on
    indexing into the set-aside file."""
    from photoclip.core.lock import LibraryUse

    home, _ = handmade
    assert _garble(home / "catalog.sqlite3", {"embeddings"}) >= 1
    monkeypatch.setattr(LibraryUse, "WAIT", 0.5)
    other = LibraryUse(home)  # (the app, holding the library open)
    other.shared()
    try:
        capsys.readouterr()
        assert _cli("doctor", "--repair", home=home) == 1
        assert "has this library open" in capsys.readouterr().err
        assert not list(home.glob("catalog.sqlite3.damaged-*"))
    finally:
        other.release()
    assert _cli("doctor", "--repair", home=home) == 0


def test_a_missing_catalog_is_restored_not_started_empty(handmade, capsys):
    home, _ = handmade
    before = _made_by_hand(home)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{home / 'catalog.sqlite3'}{suffix}").unlink(missing_ok=True)
    capsys.readouterr()
    assert _cli("search", "noise", "--json", home=home) == 0
    out, err = capsys.readouterr()
    assert "missing" in err and len(json.loads(out)) == 6
    assert _made_by_hand(home) == before


def test_a_snapshot_of_the_wrong_shape_is_skipped_not_crashed_on(tmp_path):
    import gzip

    folder = tmp_path / "backups"
    folder.mkdir()
    with gzip.open(folder / "userdata-20990101-000000-r000000000009.json.gz", "wt") as f:
        json.dump([1, 2, 3], f)
    with gzip.open(folder / "userdata-20990101-000000-r000000000008.json.gz", "wt") as f:
        json.dump({"format": "photoclip-userdata", "version": 1, "tags": [["a", 1]]}, f)
    assert userdata.newest(tmp_path) is None


def test_garbled_table_definitions_are_repaired_not_an_unexpected_error(tmp_path, capsys):
    """Found by the torture soak: garbled bytes in a table's name made SQLite's own error
    message undecodable (UnicodeDecodeError, not DatabaseError): every command then said
    'unexpected error' and nothing repaired it."""
    home = tmp_path / "home"
    assert _cli("tagset", "create", "Places", "beach", home=home) == 0
    cat = home / "catalog.sqlite3"
    data = bytearray(cat.read_bytes())
    at = data.find(b"photos_keep_user_data")
    data[at:at + 6] = b"\x91\x92\x93\x94\x95\x96"
    cat.write_bytes(bytes(data))
    capsys.readouterr()
    assert _cli("tagset", "list", home=home) == 0
    out, err = capsys.readouterr()
    assert "garbled" in err and "repaired" in err and "unexpected" not in err
    assert "Places" in out, "the tag set is back from the snapshot"


def test_a_photo_moved_after_the_backup_gets_its_newest_tags_after_a_repair(handmade,
                                                                           capsys):
    """Found by the torture soak: after a repair from the backup, a photo moved since then
    was matched to its old row by content, and the tags the snapshot held for it stayed in
    the kept store instead of coming back onto it."""
    home, photos = handmade
    moved = photos[0].with_name("renamed.jpg")
    photos[0].rename(moved)
    assert _cli("index", home=home) == 0
    assert _cli("tag", str(moved), "after the move", home=home) == 0
    _junk_header(home / "catalog.sqlite3")
    assert _cli("index", home=home) == 0
    capsys.readouterr()
    assert _cli("tags", str(moved), "--json", home=home) == 0
    labels = {t["label"] for t in json.loads(capsys.readouterr().out)}
    assert {"beach", "after the move"} <= labels
