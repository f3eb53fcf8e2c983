"""``lib.search`` (core/search/service.py) on a small real library: real SQLite, real JPEGs, a
small fake encoder (photoclip.core.model.protocols) instead of a CLIP model."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from conftest import write_photos
from fakes import fake_library

from photoclip.core.errors import ModelUnavailable, NotFound
from photoclip.core.library import Library
from photoclip.core.search.query import terms
from photoclip.core.search.searcher import embed_terms

YEAR = 365 * 86400


@pytest.fixture
def lib(tmp_path):
    spec = f"local-dir:{tmp_path / 'fake-model'}"
    photos = write_photos(tmp_path / "pics", 6)
    for i, p in enumerate(photos):  # one photo a year, 2001..2006 (taken_at is the mtime)
        t = 978_350_400 + i * YEAR + 40 * 86400
        os.utime(p, (t, t))
    library = fake_library(tmp_path / "home", spec)
    library.folders.add(tmp_path / "pics")
    assert library.folders.index().encoded == 6
    library.photos = photos
    library.ids = [library.folders.photo_id(p) for p in photos]
    yield library
    library.close()


def ranking(lib, vec) -> list[int]:
    ids, mat = lib.catalog.vectors(lib.model.id, lib.ids)
    return [int(ids[i]) for i in np.argsort(-(mat @ vec))]


def test_text_search_ranks_by_the_query_vector(lib):
    hits = lib.search.find("a red bicycle", limit=3)
    expected = ranking(lib, embed_terms(lib.model.text_encoder(), terms("a red bicycle")))
    assert [h.id for h in hits] == expected[:3]
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert all(np.isfinite(h.relevance) for h in hits)  # rated against the vocabulary


def test_tag_search_lists_the_carriers(lib):
    lib.tags.set([lib.photos[1], lib.photos[4]], "city street")
    hits = lib.search.find('tag:"city street"')
    assert sorted(h.id for h in hits) == sorted([lib.ids[1], lib.ids[4]])


def test_tag_and_text_search_keeps_only_carriers_ranked_by_text(lib):
    carriers = [lib.ids[0], lib.ids[2], lib.ids[5]]
    lib.tags.set(carriers, "beach")
    hits = lib.search.find("tag:beach sunset")
    order = ranking(lib, embed_terms(lib.model.text_encoder(), terms("sunset")))
    assert [h.id for h in hits] == [i for i in order if i in carriers]


def test_two_tags_keep_photos_carrying_both(lib):
    lib.tags.set(lib.photos[:3], "beach")
    lib.tags.set(lib.photos[2:5], "people")
    assert [h.id for h in lib.search.find("tag:beach tag:people")] == [lib.ids[2]]


def test_an_unknown_tag_is_not_found(lib):
    with pytest.raises(NotFound, match="No photo carries a tag called nothing-here"):
        lib.search.find("tag:nothing-here")


def test_category_search_lists_its_members(lib):
    lib.categories.create("Receipts")
    lib.categories.label("Receipts", lib.photos[:2], True)
    lib.categories.label("Receipts", lib.photos[4:], False)
    members = [i for i, _ in lib.categories.members("Receipts")]
    hits = lib.search.find("category:Receipts")
    assert [h.id for h in hits] == members
    combined = lib.search.find("category:Receipts dog")
    assert {h.id for h in combined} <= set(members)


def test_similar_by_id_path_and_outside_file(lib, tmp_path):
    by_id = lib.search.similar(lib.ids[0], limit=10)
    assert lib.ids[0] not in [h.id for h in by_id] and len(by_id) == 5
    ids, mat = lib.catalog.vectors(lib.model.id, lib.ids)
    own = mat[list(ids).index(lib.ids[0])]
    assert [h.id for h in by_id] == [i for i in ranking(lib, own) if i != lib.ids[0]]
    by_path = lib.search.similar(str(lib.photos[0]), limit=10)
    assert [h.id for h in by_path] == [h.id for h in by_id]
    outside = tmp_path / "elsewhere" / "copy.jpg"
    outside.parent.mkdir()
    shutil.copy(lib.photos[3], outside)
    hits = lib.search.similar(str(outside), limit=2)
    assert hits[0].id == lib.ids[3] and hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_similar_to_nothing_is_not_found(lib, tmp_path):
    with pytest.raises(NotFound):
        lib.search.similar(str(tmp_path / "missing.jpg"))
    with pytest.raises(NotFound):
        lib.search.similar(99_999)


def test_browse_is_newest_first_and_years(lib):
    hits = lib.search.browse()
    assert [h.id for h in hits] == lib.ids[::-1]
    assert all(np.isnan(h.score) for h in hits)
    assert lib.search.years() == list(range(2006, 2000, -1))
    assert len(lib.search.browse(limit=2)) == 2


def test_prepare_with_and_without_a_model(lib, tmp_path):
    assert lib.search.prepare() is True

    def broken(*a, **k):
        raise ModelUnavailable("No model here.")

    other = Library(tmp_path / "home2", model=f"local-dir:{tmp_path / 'nothing'}",
                    encoder_loader=broken)
    try:
        assert other.search.prepare() is False
        assert other.model.state == "none"
    finally:
        other.close()
