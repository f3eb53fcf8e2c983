"""Indexing mechanics with a tiny random model: resume, moves, copies, deletes, rebuilds."""

from __future__ import annotations

import os
import shutil
import threading

import numpy as np
import pytest
from conftest import indexed_photos, make_library, write_photos

from photoclip.core.errors import PhotoclipError
from photoclip.core.search.vector_index import POINTER


def _ids_in_index(lib):
    return set(lib.search_index.index.ids().tolist())


def _ids_with_embedding(lib):
    return set(lib.catalog.embedding_ids(lib.model.id).tolist())


def test_interrupted_run_resumes_without_encoding_anything_twice(tmp_path, tiny_library):
    lib = tiny_library
    lib.settings.batch_size = 8
    write_photos(tmp_path / "photos", 60)
    lib.folders.add(tmp_path / "photos")
    cancel = threading.Event()

    def stop_after_two_batches(p):
        if p.done >= 16:
            cancel.set()

    first = lib.folders.index(progress=stop_after_two_batches, cancel=cancel)
    assert first.cancelled
    done_first = lib.model.encoder.encoded
    assert 16 <= first.encoded == done_first < 60
    second = lib.folders.index()
    assert not second.cancelled
    assert lib.model.encoder.encoded == 60, "every photo encoded exactly once over both runs"
    assert second.encoded == 60 - done_first
    assert lib.status()["indexed"] == 60
    assert _ids_in_index(lib) == _ids_with_embedding(lib)


def test_renamed_photo_keeps_its_row_and_is_not_reencoded(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "photos", 10)
    old = lib.catalog.photo_state(str(photos[3]))
    before = lib.model.encoder.encoded
    new_path = tmp_path / "photos" / "sub" / "renamed.jpg"
    new_path.parent.mkdir()
    os.rename(photos[3], new_path)
    report = lib.folders.index()
    assert report.moved == 1 and report.encoded == 0 and report.removed == 0
    assert lib.model.encoder.encoded == before
    moved = lib.catalog.photo_state(str(new_path))
    assert moved.id == old.id and moved.content_hash == old.content_hash
    assert lib.catalog.photo_state(str(photos[3])) is None
    hits = lib.search.similar(str(new_path), limit=3)
    assert all(h.path != str(photos[3]) for h in hits)


def test_copied_photo_reuses_the_embedding(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "photos", 5)
    before = lib.model.encoder.encoded
    shutil.copy(photos[0], tmp_path / "photos" / "copy of img.jpg")
    report = lib.folders.index()
    assert report.reused == 1 and report.encoded == 0 and lib.model.encoder.encoded == before
    a = lib.catalog.photo_state(str(photos[0]))
    b = lib.catalog.photo_state(str(tmp_path / "photos" / "copy of img.jpg"))
    assert a.id != b.id
    va, vb = lib.catalog.vector_of(a.id, lib.model.id), lib.catalog.vector_of(b.id, lib.model.id)
    assert np.allclose(va, vb)
    hits = lib.search.similar(a.id, limit=1)
    assert hits[0].path == str(b.path) and hits[0].score > 0.999


def test_deleted_photo_leaves_search_results(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "photos", 12)
    assert str(photos[5]) in {h.path for h in lib.search.find("noise", limit=12)}
    photos[5].unlink()
    report = lib.folders.index()
    assert report.removed == 1
    paths = {h.path for h in lib.search.find("noise", limit=12)}
    assert str(photos[5]) not in paths and len(paths) == 11
    assert _ids_in_index(lib) == _ids_with_embedding(lib)


def test_touched_photo_is_not_reencoded_but_overwritten_one_is(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "photos", 4)
    before = lib.model.encoder.encoded
    os.utime(photos[0], ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    assert lib.folders.index().encoded == 0 and lib.model.encoder.encoded == before
    old_vec = lib.catalog.vector_of(lib.catalog.photo_state(str(photos[1])).id, lib.model.id)
    write_photos(tmp_path / "other", 1, start=99)[0].replace(photos[1])
    report = lib.folders.index()
    assert report.encoded == 1 and lib.model.encoder.encoded == before + 1
    st = lib.catalog.photo_state(str(photos[1]))
    assert not np.allclose(lib.catalog.vector_of(st.id, lib.model.id), old_vec)


def test_index_rebuilds_from_catalog_after_its_files_are_deleted(tmp_path, tiny_encoder):
    home = tmp_path / "home"
    write_photos(tmp_path / "photos", 40)
    lib = make_library(home, tiny_encoder)
    lib.search_index.index.exact_max = 10  # force the persisted HNSW regime with a few photos
    lib.folders.add(tmp_path / "photos")
    lib.folders.index()
    assert lib.search_index.index.mode == "hnsw"
    expected = [(h.path, round(h.score, 4)) for h in lib.search.find("a photo", limit=10)]
    lib.close()
    index_dir = home / "index"
    assert (index_dir / POINTER).exists()
    shutil.rmtree(index_dir)

    lib2 = make_library(home, tiny_encoder)
    got = [(h.path, round(h.score, 4)) for h in lib2.search.find("a photo", limit=10)]
    assert got == expected
    lib2.close()


def test_torn_or_stale_index_files_are_repaired(tmp_path, tiny_encoder, caplog):
    from photoclip.core.search.vector_index import VectorIndex

    home = tmp_path / "home"
    write_photos(tmp_path / "photos", 30)
    lib = make_library(home, tiny_encoder)
    lib.search_index.index.exact_max = 5
    lib.folders.add(tmp_path / "photos")
    lib.folders.index()
    lib.close()
    hnsw = next((home / "index").glob("index-*.hnsw"))
    hnsw.write_bytes(hnsw.read_bytes()[: hnsw.stat().st_size // 2])  # torn write
    with caplog.at_level("WARNING"):
        idx = VectorIndex.load_or_build(home / "index", tiny_encoder.model_id, tiny_encoder.dim,
                                        lib.catalog, exact_max=5)
    assert "damaged" in caplog.text
    assert len(idx) == 30


def test_catalog_only_without_a_model_then_encode_later(tmp_path, tiny_encoder):
    from photoclip.core.errors import ModelUnavailable
    from photoclip.core.library import Library

    def no_model(*a, **k):
        raise ModelUnavailable("no model here")

    home = tmp_path / "home"
    write_photos(tmp_path / "photos", 6)
    lib = Library(home, model="local-dir:/nowhere", encoder_loader=no_model)
    lib.folders.add(tmp_path / "photos")
    report = lib.folders.index(require_model=False)
    assert report.catalogued == 6
    st = lib.status()
    assert st["photos"] == 6 and st["pending"] == 6 and st["indexed"] == 0
    lib.close()
    lib = make_library(home, tiny_encoder)
    lib.model_spec = "local-dir:/nowhere"  # same model id the catalogue was made under
    lib.model._encoder = None
    report = lib.folders.index()
    assert report.encoded == 6
    lib.close()


def test_removing_a_folder_forgets_its_photos_but_not_the_files(tmp_path, tiny_library):
    lib = tiny_library
    a = write_photos(tmp_path / "a", 3)
    write_photos(tmp_path / "b", 2, start=10)
    lib.folders.add(tmp_path / "a")
    lib.folders.add(tmp_path / "b")
    lib.folders.index()
    assert lib.folders.remove(tmp_path / "a").photos == 3
    assert all(p.exists() for p in a)
    assert {h.path for h in lib.search.find("x", limit=10)} == {
        str(p) for p in (tmp_path / "b").iterdir()}


def test_adding_a_parent_folder_absorbs_the_child(tmp_path, tiny_library):
    lib = tiny_library
    write_photos(tmp_path / "all" / "child", 3)
    write_photos(tmp_path / "all", 2, start=5)
    lib.folders.add(tmp_path / "all" / "child")
    lib.folders.index()
    before = lib.model.encoder.encoded
    lib.folders.add(tmp_path / "all")
    report = lib.folders.index()
    assert [f.path for f in lib.folders.list()] == [str(tmp_path / "all")]
    assert report.encoded == 2 and lib.model.encoder.encoded == before + 2
    assert lib.status()["indexed"] == 5


def test_unplugged_folder_is_offline_not_deleted(tmp_path, tiny_library):
    lib = tiny_library
    write_photos(tmp_path / "drive" / "DCIM", 5)
    lib.folders.add(tmp_path / "drive" / "DCIM")
    lib.folders.index()
    (tmp_path / "drive").rename(tmp_path / "unplugged")
    report = lib.folders.index()
    assert report.offline == [str(tmp_path / "drive" / "DCIM")] and report.removed == 0
    assert lib.status()["indexed"] == 5
    assert not lib.folders.list()[0].online
    (tmp_path / "unplugged").rename(tmp_path / "drive")
    before = lib.model.encoder.encoded
    report = lib.folders.index()
    assert report.encoded == 0 and lib.model.encoder.encoded == before
    assert lib.folders.list()[0].online


def _photo_taken(path, when: str, seed: int) -> None:
    from PIL import Image

    arr = np.random.default_rng(seed).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0132] = when
    Image.fromarray(arr).save(path, "JPEG", exif=exif.tobytes())


def test_date_and_folder_filters_use_capture_dates(tmp_path, tiny_library):
    from photoclip.core.search.searcher import Filters

    lib = tiny_library
    (tmp_path / "p" / "2019").mkdir(parents=True)
    (tmp_path / "p" / "2021").mkdir()
    _photo_taken(tmp_path / "p" / "2019" / "a.jpg", "2019:06:01 10:00:00", 1)
    _photo_taken(tmp_path / "p" / "2019" / "b.jpg", "2019:12:31 23:59:59", 2)
    _photo_taken(tmp_path / "p" / "2021" / "c.jpg", "2021:03:04 05:06:07", 3)
    lib.folders.add(tmp_path / "p")
    lib.folders.index()
    names = lambda hits: sorted(h.path.rsplit("/", 1)[1] for h in hits)  # noqa: E731
    assert names(lib.search.find("x", filters=Filters(after="2020-01-01"))) == ["c.jpg"]
    assert names(lib.search.find("x", filters=Filters(before="2020-01-01"))) == ["a.jpg", "b.jpg"]
    assert names(lib.search.find("x", filters=Filters(after="2019-07-01", before="2021-01-01"))) \
        == ["b.jpg"]
    assert names(lib.search.find("x", filters=Filters(folder=str(tmp_path / "p" / "2021")))) \
        == ["c.jpg"]
    assert [h.taken_at[:4] for h in lib.search.browse()] == ["2021", "2019", "2019"]
    assert lib.catalog.years() == [2021, 2019]


def test_hidden_and_system_folders_are_skipped(tmp_path, tiny_library):
    lib = tiny_library
    write_photos(tmp_path / "p", 2)
    write_photos(tmp_path / "p" / ".thumbnails", 3, start=10)
    write_photos(tmp_path / "p" / "@eaDir", 3, start=20)
    (tmp_path / "p" / ".hidden.jpg").write_bytes((tmp_path / "p" / "img_0000.jpg").read_bytes())
    lib.folders.add(tmp_path / "p")
    lib.folders.index()
    assert lib.status()["photos"] == 2


def test_a_catalog_from_a_newer_version_is_refused_clearly(tmp_path):
    import sqlite3

    from photoclip.core.store.catalog import Catalog
    from photoclip.core.store.schema import SCHEMA_VERSION

    path = tmp_path / "catalog.sqlite3"
    Catalog(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(PhotoclipError, match="newer PhotoCLIP"):
        Catalog(path)
    cat_mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert cat_mode == "wal"


def test_index_saved_while_a_batch_is_in_flight_is_completed_on_load(tmp_path, tiny_encoder):
    """The worker commits a batch, then adds it to the index; a save from another thread
    (removing a folder in the GUI) can land in between. The next load must still hold it."""
    from photoclip.core.store.catalog import PhotoRecord

    home = tmp_path / "home"
    write_photos(tmp_path / "photos", 30)
    lib = make_library(home, tiny_encoder)
    lib.search_index.index.exact_max = 10
    folder = lib.folders.add(tmp_path / "photos")
    lib.folders.index()
    vec = np.ones(tiny_encoder.dim, np.float32) / np.sqrt(tiny_encoder.dim)
    with lib.catalog.transaction() as tx:  # committed, not yet in the index
        pid = lib.catalog.upsert_photo(tx, PhotoRecord(
            str(tmp_path / "photos" / "late.jpg"), folder.id, 1, 1, "late"))
        lib.catalog.put_embeddings(tx, lib.model.id, [(pid, vec)])
    lib.search_index.mark_dirty()
    lib.search_index.save()  # the save lands before the index update
    lib.close()
    again = make_library(home, tiny_encoder)
    assert again.search_index.index.mode == "hnsw"
    assert pid in again.search_index.index and len(again.search_index.index) == 31
    again.close()


def test_a_missing_graph_is_rebuilt_in_the_background_and_saved(tmp_path, tiny_encoder):
    """Above the exact-search size a lost index must not make every search rebuild it: the
    first search answers at once (exact), the graph is built meanwhile and saved once built,
    and the next start loads it from disk."""
    home = tmp_path / "home"
    write_photos(tmp_path / "photos", 60)
    lib = make_library(home, tiny_encoder)
    lib.search_index.exact_max = 10
    lib.folders.add(tmp_path / "photos")
    lib.folders.index()
    found = lib.search.find("a photo", limit=10)
    expected = [h.path for h in found]
    lib.close()
    shutil.rmtree(home / "index")

    lib2 = make_library(home, tiny_encoder)
    lib2.search_index.exact_max = 10
    scanned = lib2.search.find("a photo", limit=10)  # answered before the graph
    assert lib2.search_index.loaded.mode == "scan"
    # (the vector file's bfloat16 moves a score by ~1e-4: near-ties may trade places)
    assert max(abs(a.score - b.score) for a, b in zip(scanned, found, strict=True)) < 2e-3
    assert len({h.path for h in scanned} & set(expected)) >= 8
    assert lib2.search_index.wait_built(60)
    assert lib2.search_index.index.mode == "hnsw"
    assert lib2.search_index.build_progress() is None
    assert (home / "index" / POINTER).exists()  # saved by the build, not at close
    assert next((home / "index").glob("index-*.hnsw")).stat().st_size > 0
    lib2.close()

    lib3 = make_library(home, tiny_encoder)
    lib3.search_index.exact_max = 10
    assert lib3.search_index.index.mode == "scan"  # while the graph loads
    assert lib3.search_index.wait_built(60)
    index = lib3.search_index.index
    assert index.mode == "hnsw" and not index.needs_save  # loaded, not rebuilt
    assert [h.path for h in lib3.search.find("a photo", limit=10)] == expected
    lib3.close()


def test_a_catalog_of_the_previous_release_upgrades_keeping_every_vector(tmp_path,
                                                                        tiny_encoder):
    """Schema 2 (the last release) → now: tag tables added, vectors moved to their new table
    with their revisions, a backup of the old file kept, and deleting still moves the
    revision on (the index relies on it)."""
    import sqlite3

    from photoclip.core.store.catalog import Catalog
    from photoclip.core.store.schema import MIGRATIONS

    home = tmp_path / "home"
    lib = make_library(home, tiny_encoder)
    photos = indexed_photos(lib, tmp_path / "p", 5)
    ids, vectors = lib.catalog.vectors(lib.model.id)
    revs = dict(lib.catalog.conn.execute("SELECT photo_id, rev FROM embeddings").fetchall())
    lib.close()
    # the same data in a schema-2 catalog, as 0.x left it
    old = home / "old.sqlite3"
    db = sqlite3.connect(old, isolation_level=None)
    db.executescript(MIGRATIONS[0] + MIGRATIONS[1] + "PRAGMA user_version=2;")
    src = sqlite3.connect(home / "catalog.sqlite3")
    for table in ("folders", "photos"):
        cols = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        rows = src.execute(f"SELECT {','.join(cols)} FROM {table}").fetchall()
        db.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(cols))})", rows)
    db.executemany("INSERT INTO embeddings(photo_id, model, vector, rev) VALUES (?,?,?,?)",
                   src.execute("SELECT photo_id, model, vector, rev FROM embeddings"))
    db.execute("UPDATE meta SET value=? WHERE key='embedding_rev'",
               (src.execute("SELECT value FROM meta WHERE key='embedding_rev'").fetchone()[0],))
    db.close()
    src.close()
    (home / "catalog.sqlite3").unlink()
    for extra in home.glob("catalog.sqlite3-*"):
        extra.unlink()
    old.rename(home / "catalog.sqlite3")

    cat = Catalog(home / "catalog.sqlite3")
    assert (home / "catalog.sqlite3.v2.bak").exists()
    ids2, vectors2 = cat.vectors(tiny_encoder.model_id)
    assert ids2.tolist() == ids.tolist() and np.array_equal(vectors2, vectors)
    assert dict(cat.conn.execute("SELECT photo_id, rev FROM embeddings").fetchall()) == revs
    rev = cat.max_rev()
    cat.delete_photos([int(ids[0])])
    assert cat.max_rev() > rev, "a deleted vector moves the revision on"
    # still one vector per photo and model
    with pytest.raises(sqlite3.IntegrityError), cat.transaction() as tx:
        tx.execute("INSERT INTO embeddings(photo_id, model, vector) VALUES (?, ?, x'00')",
                   (int(ids[1]), tiny_encoder.model_id))
    cat.close()
    lib = make_library(home, tiny_encoder)
    assert len(lib.search.find("anything", limit=10)) == 4
    assert lib.folders.index().encoded == 1  # the deleted row's photo is new again
    assert {h.path for h in lib.search.find("anything", limit=10)} == {str(p) for p in photos}
    lib.close()
