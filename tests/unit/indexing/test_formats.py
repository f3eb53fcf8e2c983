"""photoclip.core.indexing.formats: which files are photos, and which files are one shot."""

from __future__ import annotations

from PIL import Image

from photoclip.core.indexing import formats


def test_photo_names_are_recognised_whatever_their_case():
    assert all(formats.is_image_name(n) for n in ("a.JPG", "b.jpeg", "c.Png", "d.webp", "e.TIF"))
    assert not any(formats.is_image_name(n) for n in ("a.mp4", "b.txt", "jpg", "c.jpg.part"))


def test_every_still_format_the_installed_pillow_reads_is_a_photo():
    Image.init()
    for ext, fmt in Image.registered_extensions().items():
        if fmt in ("JPEG", "PNG", "WEBP", "AVIF", "JPEG2000", "TIFF", "BMP", "GIF"):
            assert formats.is_image_name(f"a{ext}") and formats.is_image_name(f"A{ext.upper()}")
    assert all(formats.is_image_name(n) for n in ("x.avif", "x.jp2", "x.J2K", "x.qoi", "x.psd"))


def test_what_pillow_only_identifies_or_needs_other_software_for_is_not():
    for name in ("a.pdf", "a.eps", "a.mpg", "a.grib", "a.h5", "a.bufr", "a.iim"):
        assert not formats.is_image_name(name), name
    for name in ("clip.mp4", "clip.MOV", "photo.jpg.xmp", "notes.txt", "jpg", "c.jpg.part"):
        assert not formats.is_image_name(name), name


def test_phone_and_camera_formats_whatever_their_case():
    for name in ("IMG_1234.HEIC", "a.heif", "a.hif", "DSC_0042.NEF", "a.CR2", "a.cr3", "a.ARW",
                 "a.raf", "a.ORF", "a.rw2", "a.pef", "a.DNG"):
        assert formats.is_image_name(name), name
    assert formats.is_raw_name("DSC_0042.NEF") and not formats.is_raw_name("a.tif")
    assert [formats.kind(n) for n in ("a.NEF", "b.HEIC", "c.jpeg", "d.webp")] == \
        ["RAW", "HEIC", "JPEG", "WEBP"]


def test_a_raw_pairs_with_the_preferred_image_of_its_name():
    names = ["DSC_1.NEF", "DSC_1.TIF", "DSC_1.JPG",  # the JPEG stands for the shot
             "DSC_2.CR3", "dsc_2.heic",  # a phone's RAW + HEIC; names differ only in case
             "DSC_3.ARW",  # a RAW alone
             "DSC_4.jpg", "DSC_4.png",  # no RAW: two photos
             "DSC_5.dng", "DSC_5.DNG.jpg"]  # not the same name
    assert formats.pair_up(names) == {"DSC_1.JPG": "DSC_1.NEF", "dsc_2.heic": "DSC_2.CR3"}
