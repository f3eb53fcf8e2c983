"""Duplicates, from the user's side: real photos of the shared library and the copies people's
libraries fill up with (made in the test), indexed with the fixture CLIP."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from PIL import Image

from photoclip.cli.main import main as cli
from tests.conftest import PHOTO_LIBRARY, duplicate_photos, make_library, trash_files

SAME_KINDS = ("byte copy", "re-saved", "half size", "png", "exif-rotated")


@pytest.fixture
def library(tmp_path, cifar_encoder):
    """12 originals with their copies, and 40 other real photos (wolves, foxes, monkeys,
    beetles: different photos of the same kinds of thing)."""
    root = tmp_path / "Pictures"
    kinds = duplicate_photos(root)
    (root / "others").mkdir()
    more = sorted(p for p in PHOTO_LIBRARY.glob("n0*.JPEG"))[10:50]
    for p in more:
        shutil.copy2(p, root / "others" / p.name)
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(root)
    report = lib.folders.index()
    assert not report.failed
    yield lib, root, kinds
    lib.close()


def _groups(lib, **kw):
    return {frozenset(m.path for m in g.members): g for g in lib.duplicates.find(**kw)}


def test_each_kind_of_copy_is_grouped_with_its_original_and_distinct_photos_never(library):
    lib, _, kinds = library
    groups = _groups(lib)
    want = {frozenset({str(kinds[k][0]), str(kinds[k][1])}) for k in SAME_KINDS}
    assert set(groups) == want  # nothing else: no two different photos
    for k in SAME_KINDS:
        g = groups[frozenset({str(kinds[k][0]), str(kinds[k][1])})]
        assert g.kind == "same" and g.keep.path == str(kinds[k][0]), (k, g.reason)
    half = groups[frozenset(map(str, kinds["half size"]))]
    assert half.reason == "largest"
    # the light crop (other proportions) is a near-identical shot, found when asked for
    with_similar = _groups(lib, similar=True)
    cropped = with_similar[frozenset(map(str, kinds["cropped"]))]
    assert cropped.kind == "similar" and cropped.keep.path == str(kinds["cropped"][0])
    assert cropped.keep.sharpness is not None
    assert set(with_similar) == want | {frozenset(map(str, kinds["cropped"]))}


def test_trash_keeps_what_the_user_made_resolved_groups_stay_away_and_undo_brings_back(
        library):
    lib, _, kinds = library
    half_orig, half = kinds["half size"]
    png_orig, png = kinds["png"]
    lib.tags.set([str(half)], "holiday", True)
    lib.tags.set([str(half_orig)], "blurry", True)
    lib.tags.set([str(half)], "blurry", False)  # removed by hand on the copy: the kept one's
    lib.categories.create("Animals")            # own word stands
    lib.categories.label("Animals", [str(png)], True)
    groups = lib.duplicates.find()
    res = lib.duplicates.resolve(groups, "trash")
    assert res.groups == 5 and not res.problems
    copies = [kinds[k][1] for k in SAME_KINDS]
    for c in copies:
        assert not c.exists()
    trashed = {p.name for p in trash_files().iterdir()}
    assert {c.name for c in copies} <= trashed
    assert {t.name for t in lib.tags.photo_tags(str(half_orig))} == {"holiday", "blurry"}
    assert lib.categories.photo_labels(lib.folders.photo_id(png_orig)) == {"Animals": True}
    assert not (set(map(str, copies)) & {h.path for h in lib.search.browse()})
    assert lib.duplicates.find() == []
    lib.folders.index()  # (a scan meanwhile changes nothing)
    assert lib.duplicates.find() == []

    undone = lib.duplicates.undo()
    assert sorted(undone.restored) == sorted(map(str, copies)) and not undone.problems
    for c in copies:
        assert c.exists()
    assert {t.name for t in lib.tags.photo_tags(str(half_orig))} == {"blurry"}
    assert {t.name for t in lib.tags.photo_tags(str(half))} == {"holiday"}  # its own, back
    assert lib.categories.photo_labels(lib.folders.photo_id(png_orig)) == {}
    assert lib.categories.photo_labels(lib.folders.photo_id(png)) == {"Animals": True}
    assert len(lib.duplicates.find()) == 5
    with pytest.raises(Exception, match="no resolution"):
        lib.duplicates.undo()


def test_marking_keeps_the_files_and_a_new_copy_makes_a_new_group(library, cifar_encoder):
    lib, root, kinds = library
    res = lib.duplicates.resolve(lib.duplicates.find(), "mark")
    assert len(res.marked) == 5 and not res.trashed
    copy = kinds["re-saved"][1]
    assert copy.exists()
    assert "duplicate" in {t.name for t in lib.tags.photo_tags(str(copy))}
    home = lib.home
    lib.close()
    lib = make_library(home, cifar_encoder)  # (remembered across restarts)
    try:
        assert lib.duplicates.find() == []
        again = root / "copies" / "again.jpg"
        shutil.copy(kinds["re-saved"][0], again)
        report = lib.folders.index()
        assert report.duplicates == 1  # flagged as it was indexed
        assert set(_groups(lib)) == {frozenset({str(kinds["re-saved"][0]), str(again)})}
    finally:
        lib.close()


def test_not_duplicates_is_remembered_and_scope_is_by_folder(library):
    lib, root, kinds = library
    g = _groups(lib)[frozenset(map(str, kinds["png"]))]
    lib.duplicates.resolve([g], "distinct")
    assert frozenset(map(str, kinds["png"])) not in _groups(lib)
    assert len(_groups(lib)) == 4
    assert lib.duplicates.find(folder=root / "others") == []
    assert lib.duplicates.find(folder=root / "copies") == []  # (the originals are outside)
    lib.duplicates.undo()
    assert len(_groups(lib)) == 5


def test_new_photos_that_duplicate_known_ones_are_counted_by_the_index_run(library):
    lib, root, kinds = library
    src = kinds["byte copy"][0]
    shutil.copy(src, root / "copies" / "one more.jpg")
    im = Image.open(kinds["png"][0])
    im.resize((im.width // 3, im.height // 3)).save(root / "copies" / "small.jpg")
    new = sorted(PHOTO_LIBRARY.glob("n0*.JPEG"))[-1]  # (a photo the library has not)
    shutil.copy(new, root / "copies" / "new.jpg")
    report = lib.folders.index()
    assert report.encoded + report.reused == 3 and report.duplicates == 2


def test_a_catalog_locked_while_resolving_leaves_files_and_catalog_as_they_were(library):
    lib, _, kinds = library
    groups = lib.duplicates.find()
    other = sqlite3.connect(lib.catalog.path)  # another program holds the catalog's write lock
    other.execute("BEGIN IMMEDIATE")
    lib.catalog.conn.execute("PRAGMA busy_timeout=200")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            lib.duplicates.resolve(groups, "trash")
    finally:
        other.rollback()
        other.close()
    for k in SAME_KINDS:  # back from the trash: nothing recorded, nothing lost
        assert kinds[k][1].exists()
    assert lib.duplicates.last() is None
    assert len(lib.duplicates.find()) == 5


def test_the_cli_forms_scripts_rely_on(library, cifar_spec, capsys, monkeypatch):
    import io
    import json

    lib, root, kinds = library
    home = str(lib.home)
    lib.close()
    spec = ["--home", home, "--model", cifar_spec]
    assert cli([*spec, "duplicates", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["groups"]) == 5
    g = out["groups"][0]
    assert set(g) == {"kind", "keep", "photos", "reason"} and g["keep"] == g["photos"][0]
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # (not a terminal: no question asked)
    assert cli([*spec, "duplicates", "resolve", "--folder", str(root)]) == 2
    assert "--yes" in capsys.readouterr().err
    assert all(kinds[k][1].exists() for k in SAME_KINDS)
    assert cli([*spec, "duplicates", "resolve", "--similar", "--trash", "--yes"]) == 0
    said = capsys.readouterr().out
    assert "6 files moved to the trash (6 groups)" in said
    assert not kinds["cropped"][1].exists()
    assert cli([*spec, "duplicates"]) == 0
    assert "No duplicates" in capsys.readouterr().out
    assert cli([*spec, "duplicates", "undo"]) == 0
    assert "6 files back from the trash" in capsys.readouterr().out
    assert kinds["cropped"][1].exists()
    assert cli([*spec, "duplicates", "undo"]) == 1
    assert "no resolution" in capsys.readouterr().err.lower()


def test_a_library_indexed_before_hashes_were_kept_finds_its_duplicates(library):
    """Photos indexed before migration 8 have no perceptual hash: the first search for
    duplicates reads them once and keeps the hashes."""
    lib, _, kinds = library
    conn = lib.catalog.conn
    conn.execute("UPDATE photos SET phash=NULL")  # (what migration 8 leaves)
    groups = _groups(lib)
    assert len(groups) == 5
    assert conn.execute("SELECT COUNT(*) FROM photos WHERE phash IS NULL").fetchone()[0] == 0
    kinds["half size"][1].unlink()  # a file gone since: the rest are still found
    conn.execute("UPDATE photos SET phash=NULL")
    assert len(_groups(lib)) == 4


def test_a_first_index_counts_each_copy_once_one_by_one_or_in_one_pass(library, monkeypatch):
    from photoclip.core.duplicates import service

    lib, _, _ = library
    counted = []
    for one_by_one in (10_000, 0):  # (a first index of a big library takes one pass)
        monkeypatch.setattr(service, "FLAG_ONE_BY_ONE", one_by_one)
        lib.catalog.set_meta(service.FLAGGED_REV, "-1")  # (as before the first index)
        counted.append(lib.duplicates.flag_new())
    assert counted == [5, 5]
    assert lib.duplicates.flag_new() == 0  # (nothing new since)
