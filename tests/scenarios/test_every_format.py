"""A user's library in every format their phone and camera write: HEIC (upper-case .HEIC with an
EXIF orientation, as iPhones write it), AVIF, JPEG 2000, WebP, TIFF, PNG and camera RAW (DNG
with and without the preview cameras embed) — each indexed, found by a search, thumbnailed and
shown upright; RAW + JPEG pairs shown, indexed and tagged once; unreadable files of each kind
reported with a reason. The files are made here from CIFAR photos (tests/samples.py)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import samples
from conftest import CIFAR_SAMPLE, make_library
from PIL import Image

from photoclip.core.indexing import imageio
from photoclip.core.indexing.imageio import Preprocess

pytestmark = pytest.mark.slow

CLASSES = ("horse", "ship", "truck")
PER_CLASS = 4
SIDE = 96  # CIFAR's 32 px, upscaled: every encoder (HEIC's too) takes it
# kind -> (extension, writer); the HEIC is stored rotated with orientation 6, like a phone's
WRITERS = {
    "heic": (".HEIC", lambda im: samples.heic(im, orientation=6, thumbnails=(48,))),
    "avif": (".avif", lambda im: samples.pillow(im, "avif")),
    "jp2": (".jp2", lambda im: samples.pillow(im, "jp2")),
    "webp": (".webp", lambda im: samples.pillow(im, "webp")),
    "tiff": (".tif", lambda im: samples.pillow(im, "tiff", orientation=8)),
    "png": (".png", lambda im: samples.pillow(im, "png")),
    "dng": (".dng", lambda im: samples.dng(im, preview=True, orientation=6)),
    "dng-raw": (".DNG", lambda im: samples.dng(im, preview=False)),
}


def _source(cls: str, i: int) -> Image.Image:
    path = sorted((CIFAR_SAMPLE / cls).iterdir())[i]
    with Image.open(path) as im:
        return im.convert("RGB").resize((SIDE, SIDE), Image.Resampling.BICUBIC)


@pytest.fixture(scope="module")
def formats_library(tmp_path_factory, cifar_encoder):
    """CIFAR horses, ships and trucks in every format, one folder per format, indexed."""
    root = tmp_path_factory.mktemp("formats")
    pictures = root / "Pictures"
    for kind, (ext, write) in WRITERS.items():
        (pictures / kind).mkdir(parents=True)
        for cls in CLASSES:
            for i in range(PER_CLASS):
                (pictures / kind / f"{cls}_{i}{ext}").write_bytes(write(_source(cls, i)))
    lib = make_library(root / "home", cifar_encoder)
    lib.folders.add(pictures)
    report = lib.folders.index()
    yield lib, pictures, report
    lib.close()


def _kind(path: str) -> str:
    return Path(path).parent.name


def test_every_format_is_indexed_without_a_failure(formats_library):
    _, _, report = formats_library
    assert report.failed == []
    assert report.encoded == len(WRITERS) * len(CLASSES) * PER_CLASS


@pytest.mark.parametrize("cls", CLASSES)
def test_a_search_finds_the_photos_in_each_format(formats_library, cls):
    lib, _, _ = formats_library
    hits = lib.search.find(f"a photo of a {cls}", limit=10_000)
    for kind in WRITERS:
        ranked = [Path(h.path).name.split("_")[0] for h in hits if _kind(h.path) == kind]
        assert len(ranked) == len(CLASSES) * PER_CLASS, kind
        assert ranked[:PER_CLASS].count(cls) >= PER_CLASS - 1, (kind, ranked)


def test_each_format_embeds_like_the_photo_it_holds(formats_library, cifar_encoder):
    """The vector of a file is (nearly) the vector of the upright original: a sideways, colour-
    swapped or cropped decode would not be."""
    lib, pictures, _ = formats_library
    pre: Preprocess = cifar_encoder.preprocess
    originals = np.stack([pre(_source(c, i)) for c in CLASSES for i in range(PER_CLASS)])
    want = cifar_encoder.encode_images(originals)
    worst = {}
    for kind, (ext, _) in WRITERS.items():
        got = np.stack([lib.search.image_vector(str(pictures / kind / f"{c}_{i}{ext}"))[0]
                        for c in CLASSES for i in range(PER_CLASS)])
        worst[kind] = float(np.min(np.sum(got * want, axis=1)))
    # (lossy AVIF/HEIC/WebP at 96 px and a demosaiced Bayer mosaic change pixels a little)
    assert all(c >= 0.9 for c in worst.values()), sorted(worst.items(), key=lambda kv: kv[1])


@pytest.mark.parametrize("kind", list(WRITERS))
def test_thumbnails_and_previews_are_upright(formats_library, kind):
    _, pictures, _ = formats_library
    ext = WRITERS[kind][0]
    path = pictures / kind / f"ship_0{ext}"
    original = np.asarray(_source("ship", 0).resize((48, 48)), np.float32)
    for side in (48, 1600):  # a thumbnail, a preview
        im = imageio.open_upright(path, side)
        assert im.size == (SIDE, SIDE) if side > SIDE else max(im.size) == side
        got = np.asarray(im.resize((48, 48)), np.float32)
        # the right way up: far closer to the original than to any rotation of it
        err = np.abs(got - original).mean()
        turned = min(np.abs(got - np.rot90(original, k)).mean() for k in (1, 2, 3))
        assert err < 0.5 * turned, (kind, side, err, turned)


def test_upper_case_heic_carries_its_capture_date(tmp_path):
    data = samples.heic(_source("horse", 0), orientation=6, taken="2023:05:06 07:08:09")
    dec = imageio.decode(data, name="IMG_0001.HEIC")
    assert dec.taken_at == "2023-05-06T07:08:09"
    assert (dec.width, dec.height) == (SIDE, SIDE)


def test_a_raw_file_carries_its_capture_date_and_upright_size():
    wide = Image.new("RGB", (80, 40), (90, 120, 40))
    data = samples.dng(wide, preview=False, orientation=6, taken="2019:12:24 18:00:00")
    dec = imageio.decode(data, name="DSC_0042.DNG")
    assert dec.taken_at == "2019-12-24T18:00:00"
    assert (dec.width, dec.height) == (80, 40)  # stored 40×80, shown 80 wide


UNREADABLE = {
    "IMG_0002.HEIC": (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 200,
                      "not a readable HEIC file"),
    "cut.avif": (None, "not a readable AVIF file (damaged, cut short"),
    "DSC_0001.NEF": (b"II*\x00" + os.urandom(300), "a RAW file LibRaw cannot read"),
    "cut.jp2": (None, "damaged image"),
    "cut.webp": (None, "damaged image"),
}


def test_an_unreadable_file_of_each_kind_is_reported_with_a_reason(tmp_path, cifar_encoder):
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    im = _source("ship", 1)
    for name, (data, _) in UNREADABLE.items():
        if data is None:  # a real file of that format, cut short (a copy interrupted)
            whole = samples.pillow(im, Path(name).suffix.lstrip("."))
            data = whole[: len(whole) // 2]
        (pictures / name).write_bytes(data)
    (pictures / "fine.HEIC").write_bytes(samples.heic(im))
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(pictures)
    report = lib.folders.index()
    assert report.encoded == 1
    reasons = dict(report.failed)
    assert set(reasons) == {str(pictures / n) for n in UNREADABLE}
    for name, (_, words) in UNREADABLE.items():
        assert words in reasons[str(pictures / name)], (name, reasons[str(pictures / name)])
    # status explains them too (the skipped list)
    assert dict(lib.folders.failures()) == reasons
    lib.close()
