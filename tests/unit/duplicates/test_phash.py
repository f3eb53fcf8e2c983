"""The perceptual hash: the same photo keeps (nearly) its hash; different photos differ."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from photoclip.core.duplicates import phash
from tests.conftest import PHOTO_LIBRARY


@pytest.fixture(scope="module")
def photos():
    paths = sorted(PHOTO_LIBRARY.glob("*.jpg"))[:6]
    return [Image.open(p).convert("RGB") for p in paths]


def _resaved(im, q):
    b = io.BytesIO()
    im.save(b, "JPEG", quality=q)
    return Image.open(io.BytesIO(b.getvalue()))


def test_copies_keep_their_hash_and_different_photos_do_not(photos):
    for im in photos:
        h = phash.phash(im)
        assert phash.distance(h, phash.phash(_resaved(im, 40))) <= 4
        assert phash.distance(h, phash.phash(im.resize((im.width // 3, im.height // 3)))) <= 4
        assert phash.distance(h, phash.phash(im.convert("L").convert("RGB"))) <= 4
    hashes = [phash.phash(im) for im in photos]
    for i in range(len(hashes)):
        for j in range(i + 1, len(hashes)):
            assert phash.distance(hashes[i], hashes[j]) > 12


def test_the_hash_is_a_signed_64_bit_integer_and_distances_agree():
    rng = np.random.default_rng(0)
    ims = [Image.fromarray(rng.integers(0, 255, (40, 60, 3), np.uint8)) for _ in range(8)]
    hs = np.asarray([phash.phash(im) for im in ims], np.int64)  # (fits SQLite's INTEGER)
    assert all(-(1 << 63) <= int(h) < (1 << 63) for h in hs)
    assert (hs < 0).any() or (hs >= 0).all()
    pairwise = phash.distances(hs[:4], hs[4:])
    assert pairwise.tolist() == [phash.distance(int(a), int(b)) for a, b in
                                 zip(hs[:4], hs[4:], strict=True)]
    assert phash.distance(int(hs[0]), int(hs[0])) == 0


def test_a_flat_image_has_a_hash():
    assert isinstance(phash.phash(Image.new("RGB", (10, 10), "gray")), int)
