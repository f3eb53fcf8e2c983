"""XMP sidecars, checked with exiftool (what digiKam, darktable and Lightroom users rely on):
tags written in the three fields, foreign fields kept, keywords read back as manual tags."""

from __future__ import annotations

import subprocess

import pytest
from conftest import indexed_photos
from exiftool_check import EXIFTOOL, as_list, exif, needs_exiftool

from photoclip.core.tags.model import Label, TagSet


@pytest.fixture
def tagged_photos(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "Pictures", 3)
    lib.tags.create_set(TagSet("Places", [Label("beach"), Label("city street")]))
    lib.tags.set([photos[0]], "Places/beach")
    lib.tags.set([photos[0]], "Places/city street")
    lib.tags.set([photos[0]], "holiday")  # a free keyword
    return lib, photos


@needs_exiftool
def test_export_writes_the_three_fields_exiftool_reads(tagged_photos):
    lib, photos = tagged_photos
    report = lib.tags.export_xmp()
    assert report.written == 1 and not report.failed
    side = photos[0].with_name(photos[0].name + ".xmp")  # photo.jpg.xmp by default
    meta = exif(side)
    assert sorted(as_list(meta["Subject"])) == ["beach", "city street", "holiday"]
    assert sorted(as_list(meta["HierarchicalSubject"])) == ["Places|beach",
                                                            "Places|city street", "holiday"]
    assert sorted(as_list(meta["TagsList"])) == ["Places/beach", "Places/city street",
                                                 "holiday"]
    assert not photos[1].with_name(photos[1].name + ".xmp").exists(), \
        "a photo without tags gets no sidecar"
    assert lib.tags.export_xmp().unchanged == 1, "exporting again changes nothing"


@needs_exiftool
def test_existing_sidecar_keeps_its_foreign_fields(tagged_photos, tmp_path):
    lib, photos = tagged_photos
    side = photos[0].with_suffix(".xmp")  # Lightroom's naming
    subprocess.run([EXIFTOOL, "-q", "-o", str(side), "-XMP-xmp:Rating=4",
                    "-XMP-dc:Title=Sunset at the pier", "-XMP-dc:Subject=film",
                    "-XMP-lr:HierarchicalSubject=People|Anna",
                    "-XMP-photoshop:City=Lisbon", str(photos[0])], check=True)
    before = exif(side)
    lib.tags.export_xmp(naming="base")
    after = exif(side)
    for key in ("Rating", "Title", "City"):
        assert after[key] == before[key]
    assert sorted(as_list(after["Subject"])) == ["beach", "city street", "film", "holiday"]
    assert "People|Anna" in as_list(after["HierarchicalSubject"])

    # a tag taken off in PhotoCLIP leaves the sidecar too; the foreign keywords stay
    lib.tags.set([photos[0]], "Places/beach", present=False)
    lib.tags.export_xmp(naming="base")
    again = exif(side)
    assert "beach" not in as_list(again["Subject"]) and "film" in as_list(again["Subject"])
    assert "Places|beach" not in as_list(again["HierarchicalSubject"])
    assert again["Rating"] == 4


@needs_exiftool
def test_import_reads_sidecars_and_embedded_keywords_as_manual_tags(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "Pictures", 3)
    lib.tags.create_set(TagSet("Places", [Label("beach")]))
    subprocess.run([EXIFTOOL, "-q", "-o", str(photos[0]) + ".xmp", "-XMP-dc:Subject=beach",
                    "-XMP-lr:HierarchicalSubject=Places|beach", "-XMP-dc:Subject=Anna",
                    str(photos[0])], check=True)
    subprocess.run([EXIFTOOL, "-q", "-overwrite_original", "-IPTC:Keywords=sailing",
                    str(photos[1])], check=True)
    lib.tags.set([photos[1]], "sailing")
    lib.tags.set([photos[1]], "sailing", present=False)  # removed here before: stays removed
    report = lib.tags.import_xmp()
    assert report.photos == 2 and not report.failed
    tags = {(t.tagset, t.name, t.source) for t in lib.tags.photo_tags(photos[0])}
    assert tags == {("Places", "beach", "manual"), (None, "Anna", "manual")}
    assert lib.tags.photo_tags(photos[1]) == []
    assert lib.tags.photo_tags(photos[2]) == []


def test_broken_sidecar_is_reported_and_left_untouched(tagged_photos):
    lib, photos = tagged_photos
    side = photos[0].with_name(photos[0].name + ".xmp")
    side.write_bytes(b"<x:xmpmeta this is not xml")
    report = lib.tags.export_xmp()
    assert [p for p, _ in report.failed] == [str(side)]
    assert side.read_bytes() == b"<x:xmpmeta this is not xml"


def test_nothing_is_written_next_to_photos_without_export(tagged_photos):
    lib, photos = tagged_photos
    lib.tags.set([photos[1]], "Places/beach")
    folder = photos[0].parent
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in photos)
