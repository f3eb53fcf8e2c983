"""photoclip.core.search.vector_index.VectorIndex: real hnswlib, a real catalog as its source.
(Exact/HNSW agreement, filters and atomic saves are in test_index_and_query.py.)"""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core.search.vector_index import VectorIndex
from photoclip.core.store.catalog import Catalog, PhotoRecord

DIM = 16


def _unit(n, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _catalog(tmp_path, n, model="m"):
    """A real catalog holding ``n`` photos (ids 1..n) with unit vectors; (catalog, vectors)."""
    cat = Catalog(tmp_path / "catalog.sqlite3")
    f = cat.add_folder("/p")
    vecs = _unit(n)
    with cat.transaction() as tx:
        ids = [cat.upsert_photo(tx, PhotoRecord(f"/p/{i}.jpg", f.id, 1, 1, str(i)))
               for i in range(n)]
        cat.put_embeddings(tx, model, zip(ids, vecs, strict=True))
    cat.new_identity()
    assert ids == list(range(1, n + 1))
    return cat, vecs


@pytest.mark.parametrize("exact_max", [10**6, 10])
def test_search_returns_the_nearest_ids_best_first(exact_max):
    idx = VectorIndex(DIM, "m", exact_max=exact_max)
    vecs = _unit(40)
    idx.add(np.arange(1000, 1040), vecs)
    q = vecs[5] + 0.1 * vecs[9]
    ids, scores = idx.search(q, 3)
    brute = np.argsort(-(vecs @ q))[:3] + 1000
    assert ids.tolist() == brute.tolist()
    assert scores == pytest.approx(np.sort(vecs @ q)[::-1][:3], abs=1e-4)
    assert len(idx.search(q, 100)[0]) == 40  # k beyond the size: everything, once


def test_an_empty_index_finds_nothing():
    ids, scores = VectorIndex(DIM, "m").search(_unit(1)[0], 5)
    assert len(ids) == 0 and len(scores) == 0


@pytest.mark.parametrize("exact_max", [10**6, 5])
def test_adding_an_id_again_replaces_its_vector(exact_max):
    idx = VectorIndex(DIM, "m", exact_max=exact_max)
    a, b = _unit(2, seed=3)
    idx.add(np.arange(10), _unit(10))
    idx.add([4], a[None])
    idx.add([4], b[None])
    assert len(idx) == 10 and np.allclose(idx.vector(4), b, atol=1e-6)
    assert idx.search(b, 1)[0].tolist() == [4]


def test_growing_past_exact_max_switches_to_hnsw_keeping_every_vector():
    idx = VectorIndex(DIM, "m", exact_max=20)
    vecs = _unit(30)
    idx.add(np.arange(20), vecs[:20])
    assert idx.mode == "exact"
    idx.add(np.arange(20, 30), vecs[20:])
    assert idx.mode == "hnsw" and sorted(idx.ids().tolist()) == list(range(30))
    assert all(np.allclose(idx.vector(i), vecs[i], atol=1e-6) for i in (0, 19, 29))
    idx.remove([3])
    assert 3 not in idx and idx.vector(3) is None and len(idx) == 29


def test_a_saved_graph_loads_with_its_removals_and_answers_the_same(tmp_path):
    cat, _ = _catalog(tmp_path, 60)
    idx = VectorIndex.load_or_build(tmp_path / "index", "m", DIM, cat, exact_max=20)
    assert idx.mode == "hnsw" and idx.needs_save
    cat.delete_photos([7])
    assert idx.patch_from(cat) == (0, 1)  # the photo's vector went with it
    idx.save(tmp_path / "index")
    back = VectorIndex.load_or_build(tmp_path / "index", "m", DIM, cat, exact_max=20)
    assert not back.needs_save and 7 not in back and len(back) == 59
    for q in _unit(5, seed=11):
        assert back.search(q, 5)[0].tolist() == idx.search(q, 5)[0].tolist()
    cat.close()


def test_a_vector_rewritten_after_the_save_is_patched_on_load(tmp_path):
    cat, _ = _catalog(tmp_path, 30)
    idx = VectorIndex.load_or_build(tmp_path / "index", "m", DIM, cat, exact_max=10)
    idx.save(tmp_path / "index")
    new = _unit(1, seed=99)[0]
    with cat.transaction() as tx:  # the photo was replaced by another image
        cat.put_embeddings(tx, "m", [(12, new)])
    back = VectorIndex.load_or_build(tmp_path / "index", "m", DIM, cat, exact_max=10)
    assert np.allclose(back.vector(12), new, atol=1e-6) and back.needs_save
    assert back.search(new, 1)[0].tolist() == [12]
    cat.close()


def test_an_index_saved_for_another_catalog_is_rebuilt(tmp_path):
    cat, _ = _catalog(tmp_path, 30)
    idx = VectorIndex.load_or_build(tmp_path / "index", "m", DIM, cat, exact_max=10)
    idx.add([999], _unit(1, seed=5))  # something this catalog does not hold
    idx.save(tmp_path / "index")
    cat.new_identity()  # a restored backup: another catalog
    back = VectorIndex.load_or_build(tmp_path / "index", "m", DIM, cat, exact_max=10)
    assert 999 not in back and sorted(back.ids().tolist()) == list(range(1, 31))
    assert back.source_id == cat.catalog_id()
    cat.close()
