"""The ANN index (exact and HNSW regimes agree, persistence is atomic) and the query parser."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core.errors import PhotoclipError
from photoclip.core.search.query import Term
from photoclip.core.search.query import terms as parse_query
from photoclip.core.search.vector_index import POINTER, VectorIndex


def _unit(n, d, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_exact_and_hnsw_agree_on_top_results():
    vecs = _unit(3000, 32)
    ids = np.arange(100, 3100)
    exact = VectorIndex(32, "m", exact_max=10**9)
    hnsw = VectorIndex(32, "m", exact_max=100)
    exact.add(ids, vecs)
    hnsw.add(ids, vecs)
    assert exact.mode == "exact" and hnsw.mode == "hnsw"
    recall = []
    for q in _unit(20, 32, seed=1):
        e_ids, e_scores = exact.search(q, 10)
        h_ids, _h_scores = hnsw.search(q, 10)
        assert np.all(np.diff(e_scores) <= 0)
        recall.append(len(set(e_ids) & set(h_ids)) / 10)
    assert np.mean(recall) >= 0.9


@pytest.mark.parametrize("exact_max", [10**9, 10])
def test_remove_readd_and_filter(exact_max):
    vecs = _unit(50, 16)
    idx = VectorIndex(16, "m", exact_max=exact_max)
    idx.add(np.arange(50), vecs)
    idx.remove([7, 8])
    assert 7 not in idx and len(idx) == 48
    ids, scores = idx.search(vecs[7], 50)
    assert 7 not in ids and 8 not in ids
    idx.add([7], vecs[7:8])  # a deleted id comes back
    ids, scores = idx.search(vecs[7], 1)
    assert ids[0] == 7 and scores[0] == pytest.approx(1.0, abs=1e-5)
    ids, _ = idx.search(vecs[7], 5, allowed=np.array([1, 2, 3]))
    assert set(ids) == {1, 2, 3}


def test_save_is_atomic_and_reload_matches(tmp_path):
    class Source:
        def __init__(self, ids, vecs):
            self.ids, self.vecs = ids, vecs

        def embedding_ids(self, model):
            return self.ids

        def vectors(self, model, ids=None):
            if ids is None:
                return self.ids, self.vecs
            sel = np.isin(self.ids, ids)
            return self.ids[sel], self.vecs[sel]

    vecs = _unit(200, 16)
    src = Source(np.arange(200), vecs)
    idx = VectorIndex.load_or_build(tmp_path, "m", 16, src, exact_max=50)
    assert idx.mode == "hnsw"
    idx.save(tmp_path)
    idx.save(tmp_path)  # a second generation replaces the first
    assert len(list(tmp_path.glob("index-*.hnsw"))) == 1
    back = VectorIndex.load_or_build(tmp_path, "m", 16, src, exact_max=50)
    assert set(back.ids()) == set(range(200))
    # the catalog moved on (one vector gone, one added): the loaded index is patched
    src.ids = np.append(np.arange(1, 200), 500)
    src.vecs = np.vstack([vecs[1:], _unit(1, 16, seed=9)])
    patched = VectorIndex.load_or_build(tmp_path, "m", 16, src, exact_max=50)
    assert set(patched.ids()) == set(src.ids.tolist())
    # a half-written pointer means "no index": rebuilt from the source
    (tmp_path / POINTER).write_text('{"mode": "hn')
    rebuilt = VectorIndex.load_or_build(tmp_path, "m", 16, src, exact_max=50)
    assert set(rebuilt.ids()) == set(src.ids.tolist())
    # another model's index is never used
    other = VectorIndex.load_or_build(tmp_path, "other", 16, src, exact_max=50)
    assert len(other) == 200
    # a source that keeps no revision is compared every time, never assumed unchanged
    src.ids, src.vecs = src.ids[1:], src.vecs[1:]
    assert patched.patch_from(src) == (0, 1) and set(patched.ids()) == set(src.ids.tolist())


@pytest.mark.parametrize("query, terms", [
    ("kids on a beach at sunset", [Term(1, "kids on a beach at sunset")]),
    ("dog -grass +beach", [Term(1, "dog"), Term(-1, "grass"), Term(1, "beach")]),
    ("beach +sunset -people", [Term(1, "beach"), Term(1, "sunset"), Term(-1, "people")]),
    ("2:dog +0.5:cat", [Term(2, "dog"), Term(0.5, "cat")]),
    ("-2:snow", [Term(-2, "snow")]),
    ("a t-shirt with a well-known logo", [Term(1, "a t-shirt with a well-known logo")]),
    ("photos from 2010 - 2020", [Term(1, "photos from 2010 - 2020")]),
    ("一只猫 +狗", [Term(1, "一只猫"), Term(1, "狗")]),
])
def test_query_syntax(query, terms):
    assert parse_query(query) == terms


def test_empty_query_is_an_error():
    with pytest.raises(PhotoclipError):
        parse_query("   ")


def test_a_graph_is_checksummed_only_when_its_files_are_not_the_ones_saved(tmp_path,
                                                                           monkeypatch):
    """Reading and checksumming 2.3 GB took 3.3 s of every start at a million photos: the
    files the pointer names, unchanged since the save (size, times, inode), are trusted; a
    file rewritten since is checked again, and a damaged one never reaches hnswlib."""
    import photoclip.core.search.vector_index as vi

    class Source:
        ids = np.arange(300)
        vecs = _unit(300, 16)

        def embedding_ids(self, model):
            return self.ids

        def vectors(self, model, ids=None):
            return self.ids, self.vecs

    index = VectorIndex.load_or_build(tmp_path, "m", 16, Source(), exact_max=50)
    index.save(tmp_path)
    checked: list[str] = []
    crc32 = vi._crc32
    monkeypatch.setattr(vi, "_crc32", lambda p: checked.append(p.name) or crc32(p))
    assert VectorIndex._load(tmp_path, "m", 16, 50)[0] is not None
    assert checked == []  # the files saved: not read to be checked
    graph = next(tmp_path.glob("index-*.hnsw"))
    graph.write_bytes(graph.read_bytes())  # rewritten, the same bytes: checked, and good
    assert VectorIndex._load(tmp_path, "m", 16, 50)[0] is not None
    assert checked == [graph.name]
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, the size unchanged
    graph.write_bytes(bytes(data))
    loaded, why = VectorIndex._load(tmp_path, "m", 16, 50)
    assert loaded is None and "checksum" in why
