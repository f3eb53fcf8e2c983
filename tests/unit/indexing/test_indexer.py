"""photoclip.core.indexing.indexer.Indexer on a real catalog, real images and a real index,
with a small deterministic encoder (a real CLIP costs seconds to load)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from conftest import write_photos

from photoclip.core.indexing.imageio import Preprocess
from photoclip.core.indexing.indexer import Indexer
from photoclip.core.search.vector_index import VectorIndex
from photoclip.core.store.catalog import Catalog

DIM = 8


class StubEncoder:
    """Projects the preprocessed pixels to DIM unit vectors; counts what it encodes."""

    model_id = "stub-model"
    preprocess = Preprocess(16, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))

    def __init__(self):
        self.encoded = 0
        self._proj = np.random.default_rng(0).normal(size=(3 * 16 * 16, DIM))

    def encode_images(self, batch):
        self.encoded += len(batch)
        v = batch.reshape(len(batch), -1) @ self._proj
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def setup(tmp_path):
    cat = Catalog(tmp_path / "home" / "catalog.sqlite3")
    enc = StubEncoder()
    ix = Indexer(cat, enc, VectorIndex(DIM, enc.model_id), batch_size=2, threads=2)
    root = tmp_path / "photos"
    photos = write_photos(root, 3)
    folder = cat.add_folder(str(root))
    yield cat, ix, enc, folder, photos
    cat.close()


def _index_all(ix, folder):
    return ix.run(ix.plan_folder(folder))


def test_new_photos_are_encoded_once_then_unchanged(setup):
    cat, ix, enc, folder, photos = setup
    plan = ix.plan_folder(folder)
    assert sorted(fi.path for fi in plan.work) == sorted(map(str, photos))
    seen = []
    report = ix.run(plan, progress=lambda p: seen.append((p.done, p.total)))
    assert (report.encoded, report.failed, enc.encoded) == (3, [], 3)
    assert seen[-1] == (3, 3)
    assert sorted(ix.index.ids()) == sorted(cat.embedding_ids(enc.model_id)) and len(ix.index) == 3
    assert ix.index_changed
    again = ix.plan_folder(cat.folders()[0])
    assert (again.work, again.unchanged) == ([], 3)
    assert cat.folders()[0].last_scan is not None


def test_renamed_photo_is_planned_and_run_as_a_move(setup):
    cat, ix, enc, folder, photos = setup
    _index_all(ix, folder)
    old_id = cat.photo_state(str(photos[0])).id
    new = photos[0].with_name("renamed.jpg")
    os.rename(photos[0], new)
    plan = ix.plan_folder(folder)
    assert [fi.path for fi in plan.work] == [str(new)]
    assert list(plan.missing) == [str(photos[0])]
    report = ix.run(plan)
    assert (report.moved, report.encoded, report.removed, enc.encoded) == (1, 0, 0, 3)
    assert cat.photo_state(str(new)).id == old_id and cat.photo_state(str(photos[0])) is None
    assert old_id in ix.index


def test_a_damaged_file_fails_with_a_reason_and_the_run_goes_on(setup):
    cat, ix, _enc, folder, photos = setup
    bad = photos[0].parent / "broken.jpg"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    report = _index_all(ix, folder)
    assert report.encoded == 3
    assert [p for p, _ in report.failed] == [str(bad)] and report.failed[0][1]
    assert cat.photo_state(str(bad)).status == "failed"
    assert ix.plan_folder(folder).work == []  # unchanged failure: not retried
    assert [fi.path for fi in ix.plan_folder(folder, retry_failed=True).work] == [str(bad)]


def test_without_a_model_photos_are_catalogued_then_encoded_later(setup):
    cat, ix, enc, folder, _files = setup
    bare = Indexer(cat, None, None, threads=2)
    report = bare.run(bare.plan_folder(folder))
    assert (report.catalogued, report.encoded) == (3, 0)
    assert cat.counts(enc.model_id)["pending"] == 3
    plan = ix.plan_folder(folder)  # unchanged files, but pending for this model
    assert plan.total == 3
    assert ix.run(plan).encoded == 3 and cat.counts(enc.model_id)["pending"] == 0


def test_emptied_folder_is_offline_and_keeps_its_photos(setup):
    cat, ix, _enc, folder, photos = setup
    _index_all(ix, folder)
    for p in photos:
        p.unlink()
    plan = ix.plan_folder(folder)
    assert plan.offline and "empty" in plan.offline_why and not plan.missing
    report = ix.run(plan)
    assert report.offline == [folder.path] and report.removed == 0
    assert not cat.folders()[0].online and len(cat.photo_states(folder.id)) == 3


def test_missing_rows_wait_for_remove_missing_when_asked(setup):
    cat, ix, _enc, folder, photos = setup
    _index_all(ix, folder)
    gone_id = cat.photo_state(str(photos[2])).id
    photos[2].unlink()
    plan = ix.plan_folder(folder)
    assert ix.run(plan, remove_missing=False).removed == 0
    assert cat.photo_state(str(photos[2])) is not None
    assert ix.remove_missing([plan]) == 1
    assert cat.photo_state(str(photos[2])) is None and gone_id not in ix.index


def test_plan_paths_covers_only_the_named_files(setup):
    cat, ix, _enc, folder, photos = setup
    _index_all(ix, folder)
    new = write_photos(photos[0].parent, 2, start=10)
    photos[1].unlink()
    plan = ix.plan_paths(folder, [str(new[0]), str(photos[1]), str(new[0])])
    assert [fi.path for fi in plan.work] == [str(new[0])]
    assert list(plan.missing) == [str(photos[1])] and not plan.complete
    report = ix.run(plan)
    assert (report.encoded, report.removed) == (1, 1)
    assert cat.photo_state(str(new[1])) is None


def test_a_cancelled_run_commits_nothing_and_is_not_a_full_scan(setup):
    cat, ix, _enc, folder, _files = setup
    cancel = threading.Event()
    cancel.set()
    report = ix.run(ix.plan_folder(folder), cancel=cancel)
    assert report.cancelled and report.encoded == 0
    assert cat.photo_states(folder.id) == {} and cat.folders()[0].last_scan is None
