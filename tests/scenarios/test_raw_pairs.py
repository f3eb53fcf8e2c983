"""A camera that writes RAW + JPEG: ``DSC_0042.dng`` beside ``DSC_0042.JPG`` is one shot — one
photo in the library, one search result (marked as a pair), one set of tags, and sidecars for
both files. Whichever file of the pair comes first or goes first, the photo keeps what the user
made for it."""

from __future__ import annotations

from pathlib import Path

import pytest
import samples
from conftest import CIFAR_SAMPLE, make_library
from PIL import Image

from photoclip.core.indexing.formats import pair_up

pytestmark = pytest.mark.slow


def _image(cls: str = "ship", i: int = 0) -> Image.Image:
    with Image.open(sorted((CIFAR_SAMPLE / cls).iterdir())[i]) as im:
        return im.convert("RGB").resize((96, 96))


def _shoot(folder: Path, stem: str, cls: str = "ship", i: int = 0, raw: bool = True,
           jpeg: bool = True) -> tuple[Path, Path]:
    """What a camera set to RAW + JPEG writes for one shot."""
    folder.mkdir(parents=True, exist_ok=True)
    im = _image(cls, i)
    raw_path, jpeg_path = folder / f"{stem}.dng", folder / f"{stem}.JPG"
    if raw:
        raw_path.write_bytes(samples.dng(im, preview=True))
    if jpeg:
        im.save(jpeg_path, quality=92)
    return raw_path, jpeg_path


@pytest.fixture
def camera(tmp_path, cifar_encoder):
    lib = make_library(tmp_path / "home", cifar_encoder)
    folder = tmp_path / "Pictures" / "2024-06 Holiday"
    folder.mkdir(parents=True)
    lib.folders.add(folder)
    yield lib, folder
    lib.close()


def test_pairs_are_told_by_name_whatever_the_case():
    names = ["DSC_0042.NEF", "dsc_0042.jpg", "DSC_0043.NEF", "IMG_1.HEIC", "IMG_1.dng",
             "a.jpg", "a.png", "notes.txt"]
    assert pair_up(names) == {"dsc_0042.jpg": "DSC_0042.NEF", "IMG_1.HEIC": "IMG_1.dng"}


def test_a_raw_and_jpeg_pair_is_one_photo_found_once(camera):
    lib, folder = camera
    raw, jpeg = _shoot(folder, "DSC_0042", "ship")
    _shoot(folder, "DSC_0043", "horse", raw=False)
    _shoot(folder, "DSC_0044", "truck", jpeg=False)  # a RAW alone is a photo by itself
    report = lib.folders.index()
    assert report.failed == [] and report.encoded == 3
    hits = lib.search.find("a photo of a ship", limit=10)
    assert sorted(Path(h.path).name for h in hits) == ["DSC_0042.JPG", "DSC_0043.JPG",
                                                       "DSC_0044.dng"]
    pair = next(h for h in hits if h.path == str(jpeg))
    assert pair.companion == str(raw) and pair.to_dict()["raw"] == str(raw)
    assert all(h.companion is None for h in hits if h is not pair)
    assert [h.path for h in lib.search.browse()].count(str(jpeg)) == 1
    # either file names the photo: tagging through the RAW tags the shot, once
    lib.tags.set([str(raw)], "keeper")
    assert [t.name for t in lib.tags.photo_tags(str(jpeg))] == ["keeper"]
    assert lib.folders.photo_id(raw) == lib.folders.photo_id(jpeg)
    # nothing to do on the next scan
    again = lib.folders.index()
    assert (again.encoded, again.removed, again.paired) == (0, 0, 0)


def test_tags_go_to_both_sidecars_and_come_back_from_either(camera):
    lib, folder = camera
    raw, jpeg = _shoot(folder, "DSC_0042")
    lib.folders.index()
    lib.tags.set([str(jpeg)], "harbour")
    report = lib.tags.export_xmp(folder)  # digiKam/darktable: photo.ext.xmp for each file
    assert report.collisions == [] and report.written == 2
    for f in (raw, jpeg):
        assert "harbour" in Path(f"{f}.xmp").read_text(encoding="utf-8")
    report = lib.tags.export_xmp(folder, naming="base")  # Lightroom: one photo.xmp per shot
    assert report.collisions == [] and report.written == 1
    assert "harbour" in (folder / "DSC_0042.xmp").read_text(encoding="utf-8")
    # a keyword another program wrote into the RAW's sidecar becomes the shot's tag
    side = Path(f"{raw}.xmp")
    side.write_text(side.read_text(encoding="utf-8").replace(
        "<rdf:li>harbour</rdf:li>", "<rdf:li>harbour</rdf:li><rdf:li>sunset</rdf:li>", 1),
        encoding="utf-8")
    assert "sunset" in side.read_text(encoding="utf-8")
    imported = lib.tags.import_xmp(folder)
    assert imported.photos == 1 and imported.collisions == []
    assert {t.name for t in lib.tags.photo_tags(str(jpeg))} >= {"harbour", "sunset"}


def test_the_raw_carries_the_photo_when_the_jpeg_is_deleted(camera):
    lib, folder = camera
    raw, jpeg = _shoot(folder, "DSC_0042")
    lib.folders.index()
    pid = lib.folders.photo_id(jpeg)
    lib.tags.set([pid], "keeper")
    jpeg.unlink()
    report = lib.folders.index()
    assert report.paired == 1 and report.removed == 0 and report.failed == []
    assert lib.folders.photo_id(raw) == pid
    assert [t.name for t in lib.tags.photo_tags(pid)] == ["keeper"]
    hit, = lib.search.find("a photo of a ship", limit=5)
    assert hit.path == str(raw) and hit.companion is None


def test_a_jpeg_that_joins_a_raw_takes_the_photo_over_with_its_tags(camera):
    lib, folder = camera
    raw, jpeg = _shoot(folder, "DSC_0042", jpeg=False)
    lib.folders.index()
    pid = lib.folders.photo_id(raw)
    lib.tags.set([pid], "keeper")
    _shoot(folder, "DSC_0042", raw=False)  # the JPEG, exported or copied later
    report = lib.folders.index()
    assert report.paired == 1 and report.removed == 0
    assert lib.folders.photo_id(jpeg) == pid == lib.folders.photo_id(raw)
    assert [t.name for t in lib.tags.photo_tags(pid)] == ["keeper"]
    hit, = lib.search.find("a photo of a ship", limit=5)
    assert (hit.path, hit.companion) == (str(jpeg), str(raw))


def test_a_deleted_raw_leaves_the_jpeg_a_photo_by_itself(camera):
    lib, folder = camera
    raw, jpeg = _shoot(folder, "DSC_0042")
    lib.folders.index()
    raw.unlink()
    lib.folders.index()
    hit, = lib.search.find("a photo of a ship", limit=5)
    assert (hit.path, hit.companion) == (str(jpeg), None)


@pytest.mark.parametrize("change", ["jpeg arrives", "jpeg deleted", "raw deleted"])
def test_the_watcher_keeps_pairs_in_step(camera, change):
    """What the running app sees: single file events, planned path by path."""
    lib, folder = camera
    raw, jpeg = _shoot(folder, "DSC_0042", jpeg=change != "jpeg arrives")
    lib.folders.index()
    first = lib.folders.photo_id(raw if change == "jpeg arrives" else jpeg)
    lib.tags.set([first], "keeper")
    if change == "jpeg arrives":
        _shoot(folder, "DSC_0042", raw=False)
        event = jpeg
    else:
        event = jpeg if change == "jpeg deleted" else raw
        event.unlink()
    planner = lib.folders.planner()
    folder_row = lib.folders.at(str(folder))
    indexer = lib.folders.indexer()
    indexer.run(planner.plan_paths(folder_row, [str(event)]))
    shown = raw if change == "jpeg deleted" else jpeg
    hits = lib.search.find("a photo of a ship", limit=5)
    assert [h.path for h in hits] == [str(shown)]
    assert hits[0].companion == (str(raw) if change == "jpeg arrives" else None)
    assert [t.name for t in lib.tags.photo_tags(str(shown))] == ["keeper"]
