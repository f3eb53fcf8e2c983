"""The vector file (core/store/vectors.py): a compact copy of the catalog's embeddings that
follows the catalog through additions, rewrites and removals, survives a crash mid-write and a
damaged or foreign file, and falls back to the catalog when it cannot be written."""

from __future__ import annotations

import json
import resource
import signal

import numpy as np
import pytest

from photoclip.core.lock import FileLock
from photoclip.core.store.catalog import Catalog, PhotoRecord
from photoclip.core.store.vectors import POINTER, VectorFile, from_bf16, to_bf16

DIM = 64
MODEL = "m"


@pytest.fixture
def cat(tmp_path):
    c = Catalog(tmp_path / "home" / "catalog.sqlite3")
    c.folder = c.add_folder("/p")
    yield c
    c.close()


def unit(n, seed=0, dim=DIM):
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def add(cat, vecs, start=0, model=MODEL):
    """Photos start.. with these vectors; returns their ids."""
    ids = []
    with cat.transaction() as tx:
        for k in range(len(vecs)):
            pid = cat.upsert_photo(tx, PhotoRecord(f"/p/{start + k:06d}.jpg", cat.folder.id, 1,
                                                   1, f"h{start + k}"))
            ids.append(pid)
        cat.put_embeddings(tx, model, zip(ids, vecs, strict=True))
    return ids


def vector_file(cat, tmp_path):
    return VectorFile(tmp_path / "home" / "index", cat, FileLock(tmp_path / "home" / "index.lock"))


def assert_same(view, cat, model=MODEL):
    """The view holds exactly the catalog's vectors (to bfloat16's precision)."""
    ids, mat = cat.vectors(model)
    assert sorted(view.ids.tolist()) == sorted(ids.tolist())
    got_ids, got = view.get(ids)
    assert got_ids.tolist() == ids.tolist()
    assert np.abs(got - mat).max() < 4e-3  # (bfloat16 keeps 8 bits of mantissa)
    assert (np.sum(got * mat, axis=1) / np.linalg.norm(got, axis=1)).min() > 0.9999


def test_bfloat16_round_trip_is_close_and_rounded():
    v = unit(200)
    back = from_bf16(to_bf16(v))
    assert np.abs(back - v).max() <= np.abs(v).max() * 2 ** -8
    scores = v @ v[0]
    assert np.abs(back @ back[0] - scores).max() < 2e-3
    assert to_bf16(np.float32([1.0, -2.5, 0.0])).tolist() == [0x3F80, 0xC020, 0]


def test_a_view_holds_the_catalogs_vectors_and_follows_it(cat, tmp_path):
    ids = add(cat, unit(300))
    vf = vector_file(cat, tmp_path)
    view = vf.view(MODEL)
    assert view.source == "file" and len(view) == 300
    assert_same(view, cat)
    assert vf.view(MODEL) is view  # nothing changed: the same view, nothing read
    before = view.vector(ids[1]).copy()
    # new photos, a photo given another image's vector, a photo removed
    new = add(cat, unit(50, seed=1), start=300)
    with cat.transaction() as tx:
        cat.put_embeddings(tx, MODEL, [(ids[0], unit(1, seed=2)[0])])
    cat.delete_photos([ids[1]])
    later = vf.view(MODEL)
    assert later is not view and len(later) == 349
    assert_same(later, cat)
    assert ids[1] not in later.ids and new[-1] in later.ids
    assert later.vector(ids[1]) is None
    pointer = json.loads((vf.dir / POINTER).read_text())
    assert pointer["generation"] == 1 and pointer["rows"] == 351  # appended: 2 rows dead
    # a reader of the old view (another process) still reads what it read: rows are only
    # ever appended
    assert np.array_equal(view.vector(ids[1]), before)


def test_another_process_reads_what_one_wrote(cat, tmp_path):
    add(cat, unit(100))
    vector_file(cat, tmp_path).view(MODEL)
    other = Catalog(cat.path)  # a second connection, as another process has
    try:
        view = vector_file(other, tmp_path).view(MODEL)
        assert_same(view, other)
    finally:
        other.close()


def test_scores_and_top_k_are_the_exact_ones(cat, tmp_path):
    vecs = unit(5000)
    ids = np.asarray(add(cat, vecs))
    view = vector_file(cat, tmp_path).view(MODEL)
    q = unit(1, seed=9)[0]
    order = view.rows_of(ids)
    assert np.abs(view.scores(q)[order] - vecs @ q).max() < 2e-3
    w = unit(3, seed=8).T
    assert view.scores(w).shape == (5000, 3)
    top, s = view.top_k(q, 10)
    truth = ids[np.argsort(-(vecs @ q))[:10]]
    assert len(set(top.tolist()) & set(truth.tolist())) >= 9  # (ties within 1e-3 may swap)
    assert np.all(np.diff(s) <= 0)
    allowed = ids[::7]
    top, _ = view.top_k(q, 5, allowed)
    assert set(top.tolist()) <= set(allowed.tolist())


def test_rows_left_by_a_crash_mid_write_are_ignored_then_dropped(cat, tmp_path):
    add(cat, unit(100))
    vf = vector_file(cat, tmp_path)
    vf.view(MODEL)
    data = next(vf.dir.glob("vectors-*.bf16"))
    with open(data, "ab") as f:  # a crash after appending, before the pointer named them
        f.write(b"\xff" * DIM * 2 * 7 + b"\x01\x02\x03")
    fresh = vector_file(cat, tmp_path)
    assert_same(fresh.view(MODEL), cat)
    add(cat, unit(5, seed=3), start=100)
    assert_same(fresh.view(MODEL), cat)
    assert data.stat().st_size == 105 * DIM * 2


@pytest.mark.parametrize("damage", ["pointer", "ids", "data", "foreign catalog", "other model"])
def test_a_damaged_or_foreign_file_is_rebuilt_from_the_catalog(cat, tmp_path, damage):
    add(cat, unit(100))
    vf = vector_file(cat, tmp_path)
    vf.view(MODEL)
    pointer = vf.dir / POINTER
    if damage == "pointer":
        pointer.write_text("{not json")
    elif damage == "ids":
        next(vf.dir.glob("vectors-*.ids.npy")).write_bytes(b"garbage")
    elif damage == "data":
        data = next(vf.dir.glob("vectors-*.bf16"))
        data.write_bytes(data.read_bytes()[:1000])
    elif damage == "foreign catalog":
        cat.new_identity()  # (a restored backup gets a new identity)
    else:
        info = json.loads(pointer.read_text())
        pointer.write_text(json.dumps({**info, "model": "another"}))
    assert_same(vector_file(cat, tmp_path).view(MODEL), cat)


def test_a_file_mostly_dead_is_compacted(cat, tmp_path):
    ids = add(cat, unit(30_000))
    vf = vector_file(cat, tmp_path)
    vf.view(MODEL)
    cat.delete_photos(ids[:20_000])
    view = vf.view(MODEL)
    assert_same(view, cat)
    pointer = json.loads((vf.dir / POINTER).read_text())
    assert pointer["generation"] == 2 and pointer["rows"] == 10_000
    assert sorted(p.name for p in vf.dir.glob("vectors-*")) == [
        "vectors-2.1.ids.npy", "vectors-2.bf16"]


def test_a_full_disk_reads_the_catalog_instead(cat, tmp_path, caplog):
    """The file cannot be written (a real write limit: EFBIG, as ENOSPC would be): the
    vectors come from the catalog, right, and the warning is said once."""
    add(cat, unit(3000, dim=512))  # 3 MB of bfloat16
    cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # (the catalog is written before)
    vf = vector_file(cat, tmp_path)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, hard))
    try:
        view = vf.view(MODEL)
        add(cat, unit(1, seed=5, dim=512), start=3000)
        later = vf.view(MODEL)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)
    assert view.source == "catalog" and vf.unwritable
    assert_same(later, cat)
    assert sum("could not be written" in r.getMessage() for r in caplog.records) == 1
    add(cat, unit(1, seed=6, dim=512), start=3001)
    assert vf.view(MODEL).source == "file"  # room again: the file is written


def test_an_empty_library_and_a_first_vector(cat, tmp_path):
    vf = vector_file(cat, tmp_path)
    view = vf.view(MODEL)
    assert len(view) == 0 and view.scores(np.zeros(DIM, np.float32)).shape[0] == 0
    assert view.top_k(np.zeros(DIM, np.float32), 5)[0].tolist() == []
    add(cat, unit(3))
    assert_same(vf.view(MODEL), cat)


def test_a_sparse_read_in_any_order_is_the_rows_asked_for(cat, tmp_path):
    """take() copies a few rows at a time in file order and hands their pages back: the rows
    still come back in the order asked, repeats included."""
    vecs = unit(700, seed=3)
    ids = np.asarray(add(cat, vecs))
    view = vector_file(cat, tmp_path).view(MODEL)
    rows = view.rows_of(ids)
    ask = [*np.random.default_rng(5).permutation(len(ids))[:300].tolist(), 7, 7, 699]
    got = view.take(rows[ask])
    assert np.abs(got - vecs[ask]).max() < 4e-3
    assert view.take(rows[[]]).shape == (0, DIM)
