"""Grouping rules and the CLIP pass, on vectors made to order."""

from __future__ import annotations

import numpy as np

from photoclip.core.duplicates import finder
from photoclip.core.duplicates.model import SIMILAR, Member, choose_keep


def _unit(rng, n, d=64):
    v = rng.standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _near(v, rng, noise):
    w = v + noise * rng.standard_normal(v.shape).astype(np.float32)
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def test_the_clip_pass_finds_each_copy_exact_and_inverted(monkeypatch):
    rng = np.random.default_rng(1)
    base = _unit(rng, 3000)
    copies = _near(base[:300], rng, 0.02)
    vecs = np.concatenate([base, copies])
    want = {(i, 3000 + i) for i in range(300)}
    exact = finder.near_pairs(vecs, floor=0.8)
    assert want <= set(zip(exact.a.tolist(), exact.b.tolist(), strict=True))
    monkeypatch.setattr(finder, "EXACT_MAX", 100)  # the large-library pass on the same data
    inv = finder.near_pairs(vecs, floor=0.8)
    found = set(zip(inv.a.tolist(), inv.b.tolist(), strict=True))
    assert len(want & found) / len(want) >= 0.99
    assert (inv.a < inv.b).all() and (inv.cos >= 0.8).all()


def test_each_photo_keeps_at_most_k_neighbours():
    rng = np.random.default_rng(2)
    v = _near(np.repeat(_unit(rng, 1), 40, axis=0), rng, 0.01)  # 40 near-copies of one shot
    pairs = finder.near_pairs(v, k=3, floor=0.5)
    per_row = np.bincount(np.concatenate([pairs.a, pairs.b]), minlength=40)
    assert 0 < len(pairs.a) <= 40 * 3 and per_row.min() >= 1


def test_groups_need_the_hash_to_agree_and_same_needs_the_same_shape():
    n = 6
    phashes = np.asarray([0, 0b111, 0, (1 << 20) - 1, 0, 0], np.int64)
    has = np.ones(n, bool)
    pairs = finder.Pairs(np.asarray([0, 0, 2, 4]), np.asarray([1, 3, 4, 5]),
                         np.asarray([0.9, 0.99, 0.9, 0.9], np.float32))
    shapes = [(400, 300)] * 5 + [(380, 300)]  # photo 5: cropped
    hashes = [None, None, "h", None, "h", None]
    groups = finder.group(n, hashes, phashes, has, pairs, similar=False, shapes=shapes)
    assert sorted(g.rows for g in groups) == [(0, 1), (2, 4)]  # 0-3: 20 bits apart
    with_similar = finder.group(n, hashes, phashes, has, pairs, similar=True, shapes=shapes)
    kinds = {g.rows: g.kind for g in with_similar}
    assert kinds == {(0, 1): "same", (2, 4, 5): "similar"}
    none = finder.group(n, hashes, phashes, has, pairs, similar=False, shapes=shapes,
                        not_pairs={(0, 1), (1, 0), (2, 4), (4, 2)})
    assert none == []


def test_the_kept_photo_is_the_raw_then_the_largest_then_the_sharpest_then_the_original():
    def m(i, w=100, size=1000, mtime=5, raw=None, sharp=None):
        return Member(i, f"/p/{i}.jpg", size, w, w, None, mtime, raw, sharp)

    assert choose_keep("same", [m(1), m(2, raw="/p/2.nef")]) == ([m(2, raw="/p/2.nef"), m(1)],
                                                                 "raw")
    assert choose_keep("same", [m(1, w=50), m(2)])[1] == "largest"
    order, why = choose_keep(SIMILAR, [m(1, w=200, sharp=10.0), m(2, sharp=900.0)])
    assert (order[0].id, why) == (2, "sharpest")
    order, why = choose_keep("same", [m(1, mtime=9, size=5000), m(2, mtime=3)])
    assert (order[0].id, why) == (2, "original")
    order, why = choose_keep("same", [m(1, size=10), m(2, size=20)])
    assert (order[0].id, why) == (2, "biggest file")
    assert choose_keep("same", [m(2), m(1)])[1] == "first"
