"""XMP ownership is exact: PhotoCLIP takes out of a sidecar only what it recorded writing there,
import leaves its own automatic tags and categories as they are, names round-trip exactly,
and hostile or shared sidecars are refused, never hung on or cross-tagged."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import indexed_photos, write_photos
from exiftool_check import EXIFTOOL, as_list, exif, needs_exiftool
from PIL import Image

import photoclip.cli.main as cli
from photoclip.core import xmp
from photoclip.core.tags.model import Label, TagSet


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (a FIFO read blocks forever)."""
    def boom(*_):
        raise TimeoutError(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def side_of(photo: Path, naming: str = "ext") -> Path:
    return Path(xmp.sidecar_path(str(photo), naming))


def add_auto(lib, photo, name: str, confidence: float) -> None:
    """An automatic tag as apply() stores it (without running a model)."""
    tag_id = lib.tags.store.one_tag(name, create=False)
    with lib.catalog.transaction() as tx:
        tx.execute("INSERT INTO photo_tags(photo_id, tag_id, source, confidence, model) "
                   "VALUES (?, ?, 'auto', ?, 'test-model')",
                   (lib.folders.photo_id(photo), tag_id, confidence))


def add_raw_keyword(lib, photo, name: str) -> None:
    """A manual free keyword stored as given (e.g. from an old IPTC import), bypassing any
    name rule."""
    with lib.catalog.transaction() as tx:
        columns = {r[1] for r in tx.execute("PRAGMA table_info(tags)")}
        if "name_key" in columns:  # (each test's names differ by more than case)
            tag_id = tx.execute("INSERT INTO tags(tagset_id, name, name_key) VALUES "
                                "(NULL, ?, ?)", (name, name.casefold())).lastrowid
        else:
            tag_id = tx.execute("INSERT INTO tags(tagset_id, name) VALUES (NULL, ?)",
                                (name,)).lastrowid
        tx.execute("INSERT INTO photo_tags(photo_id, tag_id, source, confidence, model) "
                   "VALUES (?, ?, 'manual', NULL, NULL)", (lib.folders.photo_id(photo), tag_id))


def tags_of(lib, photo) -> set[tuple]:
    return {(t.tagset, t.name, t.source, t.confidence) for t in lib.tags.photo_tags(photo)}


@pytest.fixture
def lib_photos(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "Pictures", 3)
    lib.tags.create_set(TagSet("Animals", [Label("dog"), Label("cat")]))
    return lib, photos


# -- defect 5: round trips ------------------------------------------------------------------


def test_round_trip_keeps_auto_tags_auto_and_manual_ones_once(lib_photos):
    lib, photos = lib_photos
    add_auto(lib, photos[0], "Animals/dog", 0.31)
    add_auto(lib, photos[1], "Animals/cat", 0.27)  # perhaps wrong: a stricter setting may drop it
    lib.tags.set([photos[0]], "holiday")
    before = [tags_of(lib, p) for p in photos]
    assert lib.tags.export_xmp().written == 2
    report = lib.tags.import_xmp()
    assert [tags_of(lib, p) for p in photos] == before, "auto stays auto, with its confidence"
    assert report.tagged == 0 and report.own >= 2 and not report.failed
    assert lib.tags.import_xmp().tagged == 0, "importing again changes nothing"
    # a stricter threshold still removes the automatic tag: it never became the user's
    with lib.catalog.transaction() as tx:
        tx.execute("DELETE FROM photo_tags WHERE source='auto' AND photo_id=?",
                   (lib.folders.photo_id(photos[1]),))
    lib.tags.import_xmp()
    assert lib.tags.photo_tags(photos[1]) == []


def test_manual_tags_exported_import_into_another_library_as_manual(lib_photos, tmp_path,
                                                                    tiny_encoder):
    from conftest import make_library

    lib, photos = lib_photos
    add_auto(lib, photos[0], "Animals/dog", 0.31)
    lib.tags.set([photos[0]], "Animals/cat")
    lib.tags.export_xmp()
    other = make_library(tmp_path / "home2", tiny_encoder)
    try:
        other.folders.add(photos[0].parent)
        other.folders.index()
        other.tags.create_set(TagSet("Animals", [Label("dog"), Label("cat")]))
        other.tags.import_xmp()
        assert {(t.tagset, t.name, t.source) for t in other.tags.photo_tags(photos[0])} == \
            {("Animals", "cat", "manual")}, "the auto tag is the other library's to compute"
    finally:
        other.close()


def test_import_after_category_export_does_not_freeze_the_category(lib_photos):
    lib, photos = lib_photos
    lib.categories.create("Boats")
    rows = lib.catalog.photo_paths()
    members = {lib.folders.photo_id(photos[0])}
    assert xmp.export_category("Boats", members, rows).written == 1
    # and a sidecar of an older export, without PhotoCLIP's record
    side_of(photos[1]).write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:lr="http://ns.adobe.com/lightroom/1.0/"><dc:subject><rdf:Bag><rdf:li>Boats'
        '</rdf:li></rdf:Bag></dc:subject><lr:hierarchicalSubject><rdf:Bag><rdf:li>'
        'Categories|Boats</rdf:li></rdf:Bag></lr:hierarchicalSubject></rdf:Description>'
        '</rdf:RDF></x:xmpmeta>')
    report = lib.tags.import_xmp()
    assert report.tagged == 0 and report.own >= 2
    assert lib.tags.photo_tags(photos[0]) == [] and lib.tags.photo_tags(photos[1]) == []
    assert "Boats" not in [name for _, name in lib.tags.keywords()]


@needs_exiftool
def test_slash_pipe_and_markup_round_trip_exactly(lib_photos):
    lib, photos = lib_photos
    names = ["AC/DC", "rock|roll", 'a <b> & "c"']
    for n in names:
        add_raw_keyword(lib, photos[0], n)
    assert lib.tags.export_xmp().written == 1
    meta = exif(side_of(photos[0]))
    assert sorted(as_list(meta["Subject"])) == sorted(names)
    assert "rock|roll" not in as_list(meta["HierarchicalSubject"]), "Lightroom splits on |"
    assert "AC/DC" not in as_list(meta["TagsList"]), "digiKam splits on /"
    assert lib.tags.import_xmp().tagged == 0
    assert sorted(n for _, n in lib.tags.keywords()) == sorted(names), "no AC, DC, rock…"

    # a sidecar from elsewhere (or an older PhotoCLIP) holding the flat keyword in every field
    side = side_of(photos[1])
    subprocess.run([EXIFTOOL, "-q", "-o", str(side), "-XMP-dc:Subject=AC/DC",
                    "-XMP-digiKam:TagsList=AC/DC", "-XMP-dc:Subject=rock|roll",
                    "-XMP-lr:HierarchicalSubject=rock|roll", str(photos[1])], check=True)
    lib.tags.import_xmp()
    assert {t.name for t in lib.tags.photo_tags(photos[1])} == {"AC/DC", "rock|roll"}
    assert sorted(n for _, n in lib.tags.keywords()) == sorted(names)


# -- defect 6: what export touches -----------------------------------------------------------


@needs_exiftool
def test_user_keyword_sharing_a_name_with_a_tag_set_is_never_removed(lib_photos):
    lib, photos = lib_photos
    side = side_of(photos[0], "base")
    subprocess.run([EXIFTOOL, "-q", "-o", str(side), "-XMP-lr:HierarchicalSubject=Animals|dog",
                    "-XMP-dc:Subject=dog", "-XMP-xmp:Rating=3", str(photos[0])], check=True)
    lib.tags.set([photos[0]], "Animals/dog")
    lib.tags.export_xmp(naming="base")
    meta = exif(side)
    assert as_list(meta["TagsList"]) == ["Animals/dog"]
    lib.tags.set([photos[0]], "Animals/dog", present=False)
    lib.tags.export_xmp(naming="base")
    meta = exif(side)
    assert as_list(meta["HierarchicalSubject"]) == ["Animals|dog"], "the user's, not ours"
    assert as_list(meta["Subject"]) == ["dog"]
    assert "TagsList" not in meta, "what PhotoCLIP added is gone again"
    assert meta["Rating"] == 3

    # a tag set that merely shares the name: nothing of the user's goes either
    lib.tags.create_set(TagSet("Places", [Label("beach")]))
    side2 = side_of(photos[1], "base")
    subprocess.run([EXIFTOOL, "-q", "-o", str(side2), "-XMP-lr:HierarchicalSubject=Places|beach",
                    "-XMP-dc:Subject=beach", str(photos[1])], check=True)
    lib.tags.set([photos[1]], "Places/beach", present=False)
    assert lib.tags.export_xmp(naming="base").failed == []
    assert as_list(exif(side2)["HierarchicalSubject"]) == ["Places|beach"]


def test_base_naming_collision_is_refused_on_export_and_import(lib_photos, tmp_path):
    lib, _ = lib_photos
    folder = tmp_path / "Pairs"
    jpg = write_photos(folder, 1)[0]
    png = jpg.with_suffix(".png")
    Image.open(write_photos(tmp_path / "other", 1, start=7)[0]).save(png)
    lib.folders.add(folder)
    lib.folders.index()
    lib.tags.set([jpg], "Animals/dog")
    lib.tags.set([png], "Animals/cat")
    report = lib.tags.export_xmp(folder, naming="base")
    shared = str(folder / (jpg.stem + ".xmp"))
    assert [(s, sorted(ps)) for s, ps in report.collisions] == [(shared, sorted([str(jpg),
                                                                                 str(png)]))]
    assert not os.path.exists(shared) and report.written == 0
    assert any("--naming ext" in s for s in report.sentences())
    assert lib.tags.export_xmp(folder).written == 2, "photo.jpg.xmp names never collide"

    Path(shared).write_text(  # e.g. Lightroom's, for one of them
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
        '22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        '<dc:subject><rdf:Bag><rdf:li>sunset</rdf:li></rdf:Bag></dc:subject>'
        '</rdf:Description></rdf:RDF></x:xmpmeta>')
    report = lib.tags.import_xmp(folder)
    assert [s for s, _ in report.collisions] == [shared]
    assert "sunset" not in {t.name for p in (jpg, png) for t in lib.tags.photo_tags(p)}


def test_export_never_writes_beside_missing_photos(lib_photos):
    lib, photos = lib_photos
    for p in photos:
        lib.tags.set([p], "holiday")
    photos[0].unlink()  # deleted since indexing
    report = lib.tags.export_xmp()
    assert report.missing == [str(photos[0])] and report.written == 2
    assert not side_of(photos[0]).exists()
    # an unplugged drive: its mount point is there, empty, and the folder not yet marked
    for p in photos[1:]:
        side_of(p).unlink()
        p.unlink()
    report = lib.tags.export_xmp()
    assert report.written == 0 and len(report.missing) == 3
    assert list(photos[0].parent.iterdir()) == []
    assert any("no longer on disk" in s for s in report.sentences())


# -- defect 7: invalid XML, read-only sidecars -----------------------------------------------


@needs_exiftool
def test_names_with_control_characters_never_make_invalid_xml(lib_photos):
    lib, photos = lib_photos
    add_raw_keyword(lib, photos[0], "bad\x01name\x1b[31m\x7f")
    assert lib.tags.export_xmp().written == 1
    data = side_of(photos[0]).read_bytes()
    ET.fromstring(data.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])  # strict XML
    assert as_list(exif(side_of(photos[0]))["Subject"]) == ["bad name [31m"]


@needs_exiftool
def test_sidecar_an_older_version_broke_is_repaired_keeping_the_users_fields(lib_photos):
    lib, photos = lib_photos
    side = side_of(photos[0])
    subprocess.run([EXIFTOOL, "-q", "-o", str(side), "-XMP-xmp:Rating=5",
                    "-XMP-dc:Title=Pier", "-XMP-dc:Subject=old\x01tag", str(photos[0])],
                   check=True)
    text = side.read_bytes()
    if b"old\x01tag" not in text:  # exiftool escaped it: put the raw byte in, as we once did
        side.write_bytes(text.replace(b"old", b"old\x01", 1))
    lib.tags.set([photos[0]], "holiday")
    report = lib.tags.export_xmp()
    assert report.repaired == [str(side)] and not report.failed
    meta = exif(side)
    assert meta["Rating"] == 5 and meta["Title"] == "Pier"
    assert "holiday" in as_list(meta["Subject"])


def test_read_only_sidecar_is_reported_not_replaced(lib_photos):
    lib, photos = lib_photos
    lib.tags.set([photos[0]], "holiday")
    lib.tags.export_xmp()
    side = side_of(photos[0])
    side.chmod(0o444)
    before = side.read_bytes()
    lib.tags.set([photos[0]], "Animals/dog")
    report = lib.tags.export_xmp()
    assert report.read_only == [str(side)] and report.written == 0
    assert side.read_bytes() == before and (side.stat().st_mode & 0o777) == 0o444
    assert any("read-only" in s for s in report.sentences())
    side.chmod(0o644)
    assert lib.tags.export_xmp().written == 1


# -- defect 10: hostile sidecars, speed, character sets --------------------------------------


def test_fifo_device_and_huge_sidecars_are_refused_without_hanging(lib_photos):
    lib, photos = lib_photos
    for p in photos:
        lib.tags.set([p], "holiday")
    os.mkfifo(side_of(photos[0]))
    os.symlink("/dev/zero", side_of(photos[1], "base"))
    with open(side_of(photos[2]), "wb") as f:
        f.truncate(xmp.MAX_SIDECAR + 1)
    with deadline(20):
        exported = lib.tags.export_xmp()
        imported = lib.tags.import_xmp()
    assert sorted(p for p, _ in exported.failed) == [str(side_of(photos[0])),
                                                     str(side_of(photos[2]))]
    assert sorted(p for p, _ in imported.failed) == sorted(str(p) for p in photos)
    assert os.path.getsize(side_of(photos[2])) == xmp.MAX_SIDECAR + 1
    with deadline(20):
        assert lib.tags.export_xmp(naming="base").failed[0][0] == str(side_of(photos[1], "base"))
    assert os.path.islink(side_of(photos[1], "base"))


def test_symlinked_sidecar_is_never_written_through(lib_photos, tmp_path):
    lib, photos = lib_photos
    target = tmp_path / "elsewhere.xmp"
    target.write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf="
                      "'http://www.w3.org/1999/02/22-rdf-syntax-ns#'/></x:xmpmeta>")
    os.symlink(target, side_of(photos[0]))
    lib.tags.set([photos[0]], "holiday")
    report = lib.tags.export_xmp()
    assert [p for p, _ in report.failed] == [str(side_of(photos[0]))]
    assert os.path.islink(side_of(photos[0])) and "holiday" not in target.read_text()


def test_dtd_entities_are_refused(lib_photos, tmp_path):
    lib, photos = lib_photos
    (tmp_path / "secret").write_text("s3cret")
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY s SYSTEM "file://'
            f'{tmp_path}/secret">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&b;&s;</x:xmpmeta>')
    side_of(photos[0]).write_text(bomb)
    lib.tags.set([photos[0]], "holiday")
    assert [p for p, _ in lib.tags.export_xmp().failed] == [str(side_of(photos[0]))]
    assert side_of(photos[0]).read_text() == bomb
    assert [p for p, _ in lib.tags.import_xmp().failed] == [str(photos[0])]


def _sidecar_with_keywords(n: int) -> bytes:
    items = "".join(f"<rdf:li>keyword {i}</rdf:li>" for i in range(n))
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            '02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"'
            f'><dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject></rdf:Description>'
            '</rdf:RDF></x:xmpmeta>').encode()


def _sidecar_with_prefixes(n: int, start: int = 0) -> bytes:
    decls = "".join(f' xmlns:p{i}="http://example.com/ns/{i}/"' for i in range(start, start + n))
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            f'02/22-rdf-syntax-ns#"><rdf:Description{decls} xmlns:xmp="http://ns.adobe.com/xap/'
            '1.0/" xmp:Rating="2"/></rdf:RDF></x:xmpmeta>').encode()


def test_merging_is_linear_and_keeps_no_namespace_state_across_files(tmp_path):
    side = tmp_path / "big.jpg.xmp"
    side.write_bytes(_sidecar_with_keywords(20_000))
    mine = [([f"Set {i}", f"label {i}"], "auto") for i in range(20_000)]
    t = time.process_time()
    assert xmp.write_sidecar(str(side), mine, lambda *_: True) == "written"
    kw = xmp.read_sidecar(str(side))
    assert xmp.write_sidecar(str(side), mine[:10], lambda *_: True) == "written"
    elapsed = time.process_time() - t
    assert len(kw.flat) == 40_000 and len(kw.paths) == 20_000
    assert len(xmp.read_sidecar(str(side)).flat) == 20_010
    assert elapsed < 20, f"{elapsed:.1f} s: not linear"  # the old merge: minutes

    registry = dict(ET._namespace_map)
    for k in range(3):  # files with their own prefixes keep them, and nothing accumulates
        f = tmp_path / f"ns{k}.xmp"
        f.write_bytes(_sidecar_with_prefixes(200, start=1000 * k))
        assert xmp.write_sidecar(str(f), [(["holiday"], "manual")], lambda *_: True) \
            == "written"
        assert b'xmlns:xmp="http://ns.adobe.com/xap/1.0/"' in f.read_bytes()
        assert b'xmp:Rating="2"' in f.read_bytes()
    assert ET._namespace_map == registry
    absurd = tmp_path / "absurd.xmp"
    absurd.write_bytes(_sidecar_with_prefixes(20_000))
    t = time.process_time()
    with pytest.raises(xmp.XmpError, match="namespaces"):
        xmp.write_sidecar(str(absurd), [(["x"], "manual")], lambda *_: True)
    assert time.process_time() - t < 2


@needs_exiftool
def test_iptc_keywords_are_decoded_by_their_character_set(lib_photos):
    lib, photos = lib_photos
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-charset", "iptc=Latin",
                    "-IPTC:Keywords=Café", "-IPTC:Keywords=Ærø", str(photos[0])], check=True)
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-IPTC:CodedCharacterSet=UTF8",
                    "-IPTC:Keywords=Ølfestival", "-IPTC:Keywords=日本", str(photos[1])],
                   check=True)
    assert lib.tags.import_xmp().tagged == 4
    assert {t.name for t in lib.tags.photo_tags(photos[0])} == {"Café", "Ærø"}
    assert {t.name for t in lib.tags.photo_tags(photos[1])} == {"Ølfestival", "日本"}
    assert xmp.decode_iptc("Café".encode("latin-1")) == "Café"
    assert xmp.decode_iptc("Café".encode()) == "Café"
    assert xmp.decode_iptc("Ã©".encode("latin-1"), b"\x1b.A") == "Ã©"


# -- defect 11: temporary files of a killed export ---------------------------------------------


def test_temporary_file_of_a_killed_export_is_removed_by_the_next(lib_photos):
    lib, photos = lib_photos
    lib.tags.set([photos[0]], "holiday")
    side = side_of(photos[0])
    # an export killed -9 between writing its temporary file and renaming it
    code = ("import os, sys, time\nfrom photoclip.core import xmp\n"
            "os.replace = lambda *a: (print('written', flush=True), time.sleep(60))\n"
            "xmp._atomic_write(sys.argv[1], b'<x/>', None)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(side)], stdout=subprocess.PIPE)
    assert proc.stdout.readline() == b"written\n"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    left = [p for p in photos[0].parent.iterdir() if p.name.endswith(".photoclip-tmp")]
    assert len(left) == 1
    theirs = photos[0].parent / "notes.photoclip-tmp"  # not PhotoCLIP's naming: kept
    theirs.write_text("mine")
    report = lib.tags.export_xmp()
    assert report.cleaned == 1 and report.written == 1
    assert not left[0].exists() and theirs.exists()


def test_cli_says_each_outcome_in_a_sentence(lib_photos, capsys):
    lib, photos = lib_photos
    lib.tags.set([photos[0]], "holiday")
    lib.tags.set([photos[1]], "holiday")
    photos[1].unlink()
    home = lib.home
    code = cli.main(["--home", str(home), "--model", lib.model.id, "xmp", "export"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 sidecar written, 0 already up to date." in out
    assert "1 photo no longer on disk: nothing was written beside them." in out
    code = cli.main(["--home", str(home), "--model", lib.model.id, "xmp", "import"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Keywords found for 1 photo: 0 tags of yours added." in out
    assert "1 photo no longer on disk skipped." in out


def test_entries_of_a_renamed_or_deleted_category_are_taken_out(tmp_path, tiny_library):
    """Export Planes, rename it Jets, export, delete Jets, export tags: 'Planes', 'Jets' and
    their Categories| entries stayed in the sidecar for ever."""
    from conftest import indexed_photos

    from photoclip.core import xmp as xmp_mod

    lib = tiny_library
    (photo,) = indexed_photos(lib, tmp_path / "Pictures", 1)
    lib.categories.create("Planes")
    lib.categories.label("Planes", [photo], True)
    lib.categories.export_xmp("Planes")
    lib.categories.update("Planes", new_name="Jets")
    lib.categories.export_xmp("Jets")
    side = str(photo) + ".xmp"
    found = xmp_mod.read_sidecar(side)
    assert "Planes" not in found.flat and ["Categories", "Planes"] not in found.paths
    assert ["Categories", "Jets"] in found.paths
    lib.categories.delete("Jets")
    lib.tags.set([photo], "keep me")
    lib.tags.export_xmp()
    found = xmp_mod.read_sidecar(side)
    assert "Jets" not in found.flat and ["Categories", "Jets"] not in found.paths
    assert "keep me" in found.flat
