"""``lib.categories`` (core/categories/service.py) on a small real library with a fake encoder."""

from __future__ import annotations

import pytest
from fakes import fake_library, indexed_fake_library

from photoclip.core.errors import NotFound


@pytest.fixture
def lib(tmp_path):
    library = indexed_fake_library(tmp_path)
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
    empty = fake_library(tmp_path / "home2", spec)
    try:
        empty.categories.create("Receipts")
        assert empty.categories.train("Receipts") is None
        assert empty.categories.members("Receipts") == []
        assert empty.categories.suggestions("Receipts") == []
    finally:
        empty.close()
