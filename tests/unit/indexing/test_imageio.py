"""photoclip.core.indexing.imageio: every file becomes an RGB image or a clear reason.
(Unusual modes and JPEG draft decoding are in scenarios/test_hostile_files.py.)"""

from __future__ import annotations

import io
import os
from datetime import datetime

import numpy as np
import pytest
from PIL import Image

from photoclip.core.indexing import imageio
from photoclip.core.indexing.imageio import DecodeError, Preprocess


def _jpeg(size=(60, 40), color=(200, 50, 50), exif=None) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", **({"exif": exif} if exif else {}))
    return buf.getvalue()


def test_the_content_hash_follows_content_not_name():
    a = _jpeg()
    assert imageio.content_hash(a) == imageio.content_hash(bytes(a))
    assert imageio.content_hash(a) != imageio.content_hash(_jpeg(color=(0, 0, 0)))
    assert len(imageio.content_hash(a)) == 32


@pytest.mark.parametrize("make, reason", [
    (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
    (lambda p: None, "the file disappeared before it could be read"),
    (lambda p: p.mkdir(), "not a file"),
    (lambda p: os.mkfifo(p), "not a regular file (a pipe or a device)"),
])
def test_unreadable_files_give_a_reason(tmp_path, make, reason):
    p = tmp_path / "x.jpg"
    make(p)
    with pytest.raises(DecodeError) as e:
        imageio.read_file(str(p))  # (a FIFO must not hang)
    assert str(e.value) == reason


def test_a_file_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(imageio, "MAX_FILE_BYTES", 10)
    p = tmp_path / "big.jpg"
    p.write_bytes(b"x" * 11)
    with pytest.raises(DecodeError, match="file too large"):
        imageio.read_file(str(p))


@pytest.mark.parametrize("data, words", [
    (b"plain text, not a photo", "not an image"),
    (_jpeg()[:300], "truncated"),
])
def test_bad_images_give_a_reason(data, words):
    with pytest.raises(DecodeError, match=words):
        imageio.decode(data)


def test_a_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(DecodeError, match="too large to decode safely"):
        imageio.decode(_jpeg(size=(60, 40)))


def test_exif_date_and_orientation_are_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° to display
    exif.get_ifd(0x8769)[36867] = "2021:07:04 18:30:05"
    dec = imageio.decode(_jpeg(size=(60, 40), exif=exif))
    assert dec.taken_at == "2021-07-04T18:30:05"
    assert (dec.width, dec.height) == (40, 60) and dec.image.size == (40, 60)
    assert imageio.decode(_jpeg()).taken_at is None


def test_transparency_becomes_white_not_black():
    buf = io.BytesIO()
    Image.new("RGBA", (8, 8), (255, 0, 0, 0)).save(buf, "PNG")
    dec = imageio.decode(buf.getvalue())
    assert dec.image.mode == "RGB" and dec.image.getpixel((3, 3)) == (255, 255, 255)


def test_preprocess_normalises_channels_first():
    pre = Preprocess(16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    arr = pre(Image.new("RGB", (40, 20), (255, 0, 51)))
    assert arr.shape == (3, 16, 16) and arr.dtype == np.float32
    assert arr[:, 8, 8] == pytest.approx([2.0, -2.0, -1.2], abs=1e-5)


@pytest.mark.parametrize("mode", ["shortest", "longest", "squash"])
def test_every_resize_mode_gives_the_model_size(mode):
    pre = Preprocess(16, (0.0,) * 3, (1.0,) * 3, resize_mode=mode, fill=0)
    arr = pre(Image.new("RGB", (64, 16), (255, 255, 255)))
    assert arr.shape == (3, 16, 16)
    corner = arr[:, 0, 0]
    assert corner == pytest.approx([0.0] * 3 if mode == "longest" else [1.0] * 3, abs=1e-5)


def test_open_upright_fits_within_the_asked_side(tmp_path):
    p = tmp_path / "a.jpg"
    p.write_bytes(_jpeg(size=(300, 120)))
    im = imageio.open_upright(p, 64)
    assert max(im.size) == 64 and im.mode == "RGB"


def test_mtime_iso_is_local_time_to_the_second():
    ns = 1_600_000_000_123_456_789
    assert imageio.mtime_iso(ns) == datetime.fromtimestamp(1_600_000_000).isoformat()
