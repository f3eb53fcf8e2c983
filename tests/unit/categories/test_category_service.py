"""``lib.categories`` (core/categories/service.py) on a small real library with a fake encoder."""

from __future__ import annotations

import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import write_photos

from photoclip.core.errors import NotFound
from photoclip.core.indexing.imageio import Preprocess
from photoclip.core.library import Library


class FakeEncoder:
    dim = 16
    logit_scale = 100.0
    device = "cpu"
    precision = "fp32"
    choice = SimpleNamespace(reason="fake")

    def __init__(self, model_id: str):
        self.model_id = model_id
        self.preprocess = Preprocess(16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
        self._proj = np.random.default_rng(0).normal(size=(3 * 16 * 16, self.dim))

    def encode_images(self, batch):
        v = batch.reshape(len(batch), -1) @ self._proj
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)

    def encode_texts(self, texts):
        v = np.stack([np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim)
                      for t in texts])
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def lib(tmp_path):
    spec = f"local-dir:{tmp_path / 'fake-model'}"
    enc = FakeEncoder(spec)
    library = Library(tmp_path / "home", model=spec, encoder_loader=lambda *a, **k: enc)
    library.photos = write_photos(tmp_path / "pics", 6)
    library.folders.add(tmp_path / "pics")
    library.folders.index()
    library.ids = [library.folders.photo_id(p) for p in library.photos]
    yield library
    library.close()


def test_create_update_delete(lib):
    made = lib.categories.create("Receipts", "paper slips")
    assert made.name == "Receipts" and made.description == "paper slips"
    assert lib.categories.names() == ["Receipts"]
    renamed = lib.categories.update("Receipts", new_name="Bills", threshold=0.7)
    assert renamed.name == "Bills" and renamed.threshold == 0.7
    assert lib.categories.get("bills").description == "paper slips"
    lib.categories.delete("Bills")
    assert lib.categories.all() == []
    with pytest.raises(NotFound):
        lib.categories.get("Bills")


def test_label_by_path_and_id_and_forget(lib):
    lib.categories.create("Receipts")
    cat = lib.categories.label("Receipts", [lib.photos[0], lib.ids[1]], True)
    cat = lib.categories.label("Receipts", [lib.photos[5]], False)
    assert (cat.positives, cat.negatives) == (2, 1)
    assert lib.categories.photo_labels(lib.ids[0]) == {"Receipts": True}
    assert lib.categories.photo_labels(lib.ids[5]) == {"Receipts": False}
    assert lib.categories.photo_labels(lib.ids[3]) == {}
    cat = lib.categories.label("Receipts", [lib.photos[0]], None)
    assert (cat.positives, cat.negatives) == (1, 1)
    assert lib.categories.photo_labels(lib.ids[0]) == {}


def test_train_members_suggestions(lib):
    lib.categories.create("Receipts")
    lib.categories.label("Receipts", lib.photos[:2], True)
    lib.categories.label("Receipts", lib.photos[4:], False)
    trained = lib.categories.train("Receipts")
    assert trained is not None
    members = lib.categories.members("Receipts")
    probs = [p for _, p in members]
    assert probs == sorted(probs, reverse=True) and all(0 <= p <= 1 for p in probs)
    assert {i for i, _ in members} <= set(lib.ids)
    suggested = lib.categories.suggestions("Receipts", limit=10)
    labelled = set(lib.ids[:2] + lib.ids[4:])
    assert suggested and not {h.id for h in suggested} & labelled
    assert {h.id for h in suggested} <= set(lib.ids[2:4])


def test_overview(lib):
    lib.categories.create("Receipts", "paper")
    lib.categories.create("Empty")
    lib.categories.label("Receipts", lib.photos[:2], True)
    rows = {r["name"]: r for r in lib.categories.overview()}
    assert set(rows) == {"Receipts", "Empty"}
    assert rows["Receipts"]["positives"] == 2 and rows["Receipts"]["description"] == "paper"
    assert rows["Receipts"]["members"] == len(lib.categories.members("Receipts"))
    assert "quality_text" in rows["Empty"] and "quality" in rows["Empty"]
    quick = lib.categories.overview(quality=False)
    assert all("quality" not in r for r in quick)


def test_nothing_trained_before_indexing(tmp_path):
    spec = f"local-dir:{tmp_path / 'fake-model'}"
    enc = FakeEncoder(spec)
    empty = Library(tmp_path / "home2", model=spec, encoder_loader=lambda *a, **k: enc)
    try:
        empty.categories.create("Receipts")
        assert empty.categories.train("Receipts") is None
        assert empty.categories.members("Receipts") == []
        assert empty.categories.suggestions("Receipts") == []
    finally:
        empty.close()
