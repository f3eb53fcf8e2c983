"""A perceptual hash of a photo: 64 bits that stay (nearly) the same when the photo is
re-saved, resized, converted to another format or rotated by its EXIF tag, and differ in about
half their bits between two different photos.

It is the DCT hash (pHash, as in the ``imagehash`` library): the upright photo in grey at
32×32, its 2-D DCT, the 8×8 lowest frequencies, each bit "above their median". Written here
on NumPy (a 32×32 matrix product) rather than taking imagehash and SciPy for it; the indexer
computes it from the image it already decoded for the model, so it costs about a millisecond.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import numpy.typing as npt
from PIL import Image

SIDE = 32
BITS = 8  # 8×8 = 64 bits


@cache
def _dct_matrix(n: int = SIDE) -> npt.NDArray[np.float64]:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n))
    m[0] *= 1 / np.sqrt(2)
    return np.asarray(m * np.sqrt(2 / n))


def phash(image: Image.Image) -> int:
    """The image's 64-bit DCT hash as a signed 64-bit integer (how SQLite stores it)."""
    grey = image.convert("L")
    if min(grey.size) > 4 * SIDE:  # (a cheap box step first: LANCZOS over 2000 px is slow)
        grey = grey.reduce(max(1, min(grey.size) // (4 * SIDE)))
    small = np.asarray(grey.resize((SIDE, SIDE), Image.Resampling.LANCZOS), np.float64)
    c = _dct_matrix()
    low = (c @ small @ c.T)[:BITS, :BITS]
    bits = (low > np.median(low)).ravel()
    value = int(np.packbits(bits).view(">u8")[0])
    return value - (1 << 64) if value >= 1 << 63 else value


def distance(a: int, b: int) -> int:
    """How many of the 64 bits differ."""
    return ((a ^ b) & ((1 << 64) - 1)).bit_count()


def distances(a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Element-wise bit distances of two int64 arrays of hashes."""
    x = np.bitwise_xor(a, b).view(np.uint64)
    # (population count of 64-bit words, vectorised: NumPy has bitwise_count from 2.0)
    return np.bitwise_count(x).astype(np.int64)
