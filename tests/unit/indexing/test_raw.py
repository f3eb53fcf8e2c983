"""photoclip.core.indexing.raw: a RAW file is read through the camera's preview when it has one
big enough, else demosaiced at half size (full size only when more is asked for)."""

from __future__ import annotations

import numpy as np
import pytest
import samples
from PIL import Image

from photoclip.core.indexing import imageio
from photoclip.core.indexing.imageio import DecodeError


def _photo(size=(200, 120)) -> Image.Image:
    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def test_the_embedded_preview_is_used_at_the_size_asked_for():
    data = samples.dng(_photo(), preview=True)
    dec = imageio.decode(data, min_side=30, name="a.dng")  # JPEG draft: 1/4 of 120 = 30
    assert (dec.width, dec.height) == (200, 120)
    assert min(dec.image.size) == 30


def test_a_preview_smaller_than_needed_gives_way_to_the_sensor_data():
    data = samples.dng(_photo(), preview=True, preview_side=40)
    assert imageio.decode(data, min_side=24, name="a.dng").image.size == (40, 24)
    assert imageio.decode(data, min_side=50, name="a.dng").image.size == (100, 60)  # half
    assert imageio.decode(data, min_side=90, name="a.dng").image.size == (200, 120)  # full


def test_without_a_preview_the_demosaic_is_true_to_the_photo():
    photo = _photo()
    dec = imageio.decode(samples.dng(photo, preview=False), min_side=50, name="a.DNG")
    got = np.asarray(dec.image.resize((50, 30)), np.float32)
    want = np.asarray(photo.resize((50, 30)), np.float32)
    assert np.abs(got - want).mean() < 12  # of 255: colours and brightness as shot


@pytest.mark.parametrize("data, words", [
    (b"plain text", "damaged or cut-short RAW file \\(LibRaw: input/output error\\)"),
    (b"II*\x00" + bytes(range(256)) * 4, "a RAW file LibRaw cannot read"),
    (samples.dng(_photo(), preview=False)[:2000], "RAW file"),
])
def test_an_unreadable_raw_gives_a_reason(data, words):
    with pytest.raises(DecodeError, match=words):
        imageio.decode(data, min_side=50, name="DSC_0001.NEF")
