"""Which photos are duplicates: pure functions over what the catalog already stores.

Three signals, cheapest first (docs/duplicates.md has the measurements behind the cut-offs):

1. **Identical content** (the catalog's content hash): byte copies, always "the same photo".
2. **CLIP neighbours** propose candidates: each photo's ``NEIGHBOURS`` nearest photos above a
   floor, found in one pass — exact block products for a small library, an inverted-file
   pass (k-means lists, each photo compared with the lists nearest it) for a large one. Never
   all pairs of a big library.
3. **The perceptual hash** (phash.py) confirms them. CLIP alone cannot tell a resized copy
   from another photo of the same scene (with the fixture model a half-size copy can score
   below two unrelated photos); a DCT hash cannot tell a dark photo from another dark photo.
   A pair is "the same photo" when both agree within the ``same`` cut-offs, a "near-identical
   shot" (bursts, light crops and edits) within the looser ``similar`` ones.

Groups are the connected photos; a "same" group joins only by "same" pairs, so switching
near-identical shots on never changes what "the same photo" finds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from photoclip.core.duplicates import phash

NEIGHBOURS = 8  # candidates per photo from the CLIP pass
# (phash bits that may differ at most, CLIP cosine at least); measured in
# bench/calibrate_duplicates.py on copies of real photos, see docs/duplicates.md
CUTOFFS: dict[str, tuple[int, float]] = {"same": (6, 0.50), "similar": (12, 0.50)}
FLOOR = min(c for _, c in CUTOFFS.values())  # the CLIP pass keeps nothing below this
EXACT_MAX = 8_000  # above: the inverted-file pass (exact: n² products)
_BLOCK = 2048

Progress = Callable[[int, int], None]


def rule_holds(kind: str, bits: npt.NDArray[np.int64] | int,
               cos: npt.NDArray[np.floating] | float) -> npt.NDArray[np.bool_]:
    """Whether pairs at these hash distances and cosines are ``kind`` ("same"/"similar")."""
    max_bits, min_cos = CUTOFFS[kind]
    return np.asarray((np.asarray(bits) <= max_bits) & (np.asarray(cos) >= min_cos))


@dataclass(frozen=True)
class Pairs:
    """Candidate pairs (row numbers into the vectors given, a < b) and their cosines."""

    a: npt.NDArray[np.int64]
    b: npt.NDArray[np.int64]
    cos: npt.NDArray[np.float32]


def near_pairs(vecs: npt.NDArray[np.float32], k: int = NEIGHBOURS, floor: float = FLOOR,
               progress: Progress | None = None, seed: int = 0) -> Pairs:
    """Each vector's up to ``k`` nearest others with cosine ≥ ``floor`` (rows are unit vectors),
    as unique pairs. Exact up to EXACT_MAX vectors, an inverted-file pass above."""
    n = len(vecs)
    if n < 2:
        return _pairs([], [], [])
    blocks = _exact(vecs, k, floor, progress) if n <= EXACT_MAX else \
        _inverted(vecs, k, floor, progress, seed)
    keys, cos = [], []
    for a, b, c in blocks:  # (each pair once, as one int64 key: a million photos' pairs
        keys.append(np.minimum(a, b) * n + np.maximum(a, b))  # take 12 bytes each, not 40)
        cos.append(c)
    if not keys:
        return _pairs([], [], [])
    key, first = np.unique(np.concatenate(keys), return_index=True)
    del keys
    return Pairs(key // n, key % n, np.concatenate(cos)[first])


def _pairs(a: list[int], b: list[int], c: list[float]) -> Pairs:
    return Pairs(np.asarray(a, np.int64), np.asarray(b, np.int64), np.asarray(c, np.float32))


Part = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]


def _top(rows: npt.NDArray[np.int64], sims: npt.NDArray[np.float32],
         cols: npt.NDArray[np.int64], k: int, floor: float) -> Part:
    """Of a block of similarities (queries ``rows`` × candidates ``cols``), each query's best
    ``k`` at or above ``floor``, itself excluded. ``k`` passes of a row-wise arg-max (SIMD,
    ~1 ns an element) instead of an arg-partition of the block (50 ns an element, more than
    the product that made the block)."""
    sims[rows[:, None] == cols[None, :]] = -np.inf
    r = np.arange(len(rows))
    out_r, out_c, out_s = [], [], []
    for _ in range(min(k, sims.shape[1])):
        j = np.argmax(sims, axis=1)
        best = sims[r, j]
        ok = best >= floor
        if not ok.any():
            break
        out_r.append(r[ok])
        out_c.append(j[ok])
        out_s.append(best[ok])
        sims[r, j] = -np.inf
    if not out_r:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    return (rows[np.concatenate(out_r)], cols[np.concatenate(out_c)],
            np.concatenate(out_s).astype(np.float32))


def _exact(vecs: npt.NDArray[np.float32], k: int, floor: float,
           progress: Progress | None) -> Iterator[Part]:
    n = len(vecs)
    all_ids = np.arange(n, dtype=np.int64)
    for s in range(0, n, _BLOCK):
        rows = all_ids[s:s + _BLOCK]
        yield _top(rows, vecs[s:s + _BLOCK] @ vecs.T, all_ids, k, floor)
        if progress:
            progress(min(n, s + _BLOCK), n)


def _kmeans(vecs: npt.NDArray[np.float32], lists: int, seed: int,
            mean: npt.NDArray[np.float32], iterations: int = 6) -> npt.NDArray[np.float32]:
    """Spherical k-means of the vectors less their ``mean``, on a sample: the inverted
    file's list centres."""
    rng = np.random.default_rng(seed)
    sample = vecs[rng.choice(len(vecs), min(len(vecs), 40 * lists), replace=False)] - mean
    sample /= np.maximum(np.linalg.norm(sample, axis=1, keepdims=True), 1e-12)
    centres = sample[rng.choice(len(sample), lists, replace=False)].copy()
    for _ in range(iterations):
        nearest = np.argmax(sample @ centres.T, axis=1)
        sums = np.zeros_like(centres)
        np.add.at(sums, nearest, sample)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        empty = norms[:, 0] == 0
        centres = np.where(empty[:, None], centres, sums / np.maximum(norms, 1e-12))
    return centres.astype(np.float32)


def _inverted(vecs: npt.NDArray[np.float32], k: int, floor: float,
              progress: Progress | None, seed: int, probes: int = 3) -> Iterator[Part]:
    """Each vector lives in its nearest list and is compared with the members of its
    ``probes`` nearest lists: a near copy (cosine ≥ 0.8) shares one of them with its original
    all but never. Cost grows as n·√n rather than n²."""
    n = len(vecs)
    lists = max(16, int(np.sqrt(n)))
    # Lists are made around the mean taken out: CLIP's photo vectors lie in a narrow cone,
    # and around its axis one list would be near everything (measured on ViT-B/32-like
    # vectors at 100k: one list probed by 62% of the photos, 9x the work of even lists).
    mean = vecs.mean(axis=0)
    centres = _kmeans(vecs, lists, seed, mean)
    offset = mean @ centres.T  # ((v - mean)·c ranks lists like the cosine to v - mean)
    near = np.empty((n, probes), np.int64)
    home = np.empty(n, np.int64)
    for s in range(0, n, 8192):
        sims = vecs[s:s + 8192] @ centres.T - offset
        near[s:s + 8192] = np.argpartition(-sims, probes - 1, axis=1)[:, :probes]
        home[s:s + 8192] = np.argmax(sims, axis=1)
    order = np.argsort(home, kind="stable")
    bounds = np.searchsorted(home[order], np.arange(lists + 1))
    by_list = np.argsort(near.ravel(), kind="stable")
    qb = np.searchsorted(near.ravel()[by_list], np.arange(lists + 1))
    query_of = (by_list // probes).astype(np.int64)
    done = 0
    for li in range(lists):
        m = order[bounds[li]:bounds[li + 1]]
        q = query_of[qb[li]:qb[li + 1]]
        if len(m) and len(q):
            for s in range(0, len(q), _BLOCK):
                rows = q[s:s + _BLOCK]
                yield _top(rows, vecs[rows] @ vecs[m].T, m, k, floor)
        done += len(q)
        if progress:
            progress(done // probes, n)


class _Union:
    def __init__(self, n: int):
        self.parent = np.arange(n)

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p[root] != root:
            root = int(p[root])
        while p[x] != root:
            p[x], x = root, int(p[x])
        return root

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass(frozen=True)
class Found:
    """A group found: row numbers of its photos, "same" or "similar", and each joined pair's
    (row, row, cosine, hash bits) for the record."""

    kind: str
    rows: tuple[int, ...]


SHAPE_TOLERANCE = 0.02  # the same photo keeps its shape when resized (rounding aside)


def same_shape(a: tuple[int | None, int | None], b: tuple[int | None, int | None]) -> bool:
    """Whether two photos (width, height; upright) have the same proportions: a resized or
    converted copy does, a crop mostly does not (it is a near-identical shot then)."""
    if not (a[0] and a[1] and b[0] and b[1]):
        return True  # (unknown: the hash decides)
    return abs(a[0] / a[1] - b[0] / b[1]) <= SHAPE_TOLERANCE * max(a[0] / a[1], b[0] / b[1])


def group(n: int, hashes: list[str | None], phashes: npt.NDArray[np.int64],
          has_phash: npt.NDArray[np.bool_], pairs: Pairs, similar: bool,
          not_pairs: set[tuple[int, int]] | None = None,
          shapes: list[tuple[int | None, int | None]] | None = None) -> list[Found]:
    """Group ``n`` photos: identical content, then CLIP candidates confirmed by the hash (and,
    for "the same photo", the same proportions). ``not_pairs``: (row, row) pairs the user said
    are not duplicates; ``shapes``: each photo's (width, height)."""
    not_pairs = not_pairs or set()
    same = _Union(n)
    by_hash: dict[str, int] = {}
    for i, h in enumerate(hashes):
        if h:
            j = by_hash.setdefault(h, i)
            if j != i and (min(i, j), max(i, j)) not in not_pairs:
                same.join(j, i)
    ok = has_phash[pairs.a] & has_phash[pairs.b]
    a, b, c = pairs.a[ok], pairs.b[ok], pairs.cos[ok]
    bits = phash.distances(phashes[a], phashes[b])
    is_same = rule_holds("same", bits, c)
    if shapes is not None and is_same.any():
        wide = np.asarray([s[0] or 0 for s in shapes], np.float64)
        high = np.asarray([s[1] or 0 for s in shapes], np.float64)
        ratio = np.divide(wide, high, out=np.zeros_like(wide), where=(wide > 0) & (high > 0))
        ra, rb = ratio[a], ratio[b]
        unknown = (ra == 0) | (rb == 0)
        is_same &= unknown | (np.abs(ra - rb) <= SHAPE_TOLERANCE * np.maximum(ra, rb))
    for x, y in zip(a[is_same].tolist(), b[is_same].tolist(), strict=True):
        if (x, y) not in not_pairs:
            same.join(x, y)
    both = same
    if similar:
        both = _Union(n)
        both.parent = same.parent.copy()
        is_sim = rule_holds("similar", bits, c) & ~is_same
        for x, y in zip(a[is_sim].tolist(), b[is_sim].tolist(), strict=True):
            if (x, y) not in not_pairs:
                both.join(x, y)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(both.find(i), []).append(i)
    out = []
    for rows in groups.values():
        if len(rows) < 2:
            continue
        kind = "same" if len({same.find(r) for r in rows}) == 1 else "similar"
        out.append(Found(kind, tuple(rows)))
    return out
