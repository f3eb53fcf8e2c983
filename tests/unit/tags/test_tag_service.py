"""``lib.tags`` (core/tags/service.py) on a small real library with a fake encoder."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_photos
from fakes import indexed_fake_library

from photoclip.core.errors import NotFound, PhotoclipError
from photoclip.core.tags.model import Label, TagSet


@pytest.fixture
def lib(tmp_path):
    library = indexed_fake_library(tmp_path)
    yield library
    library.close()


def places() -> TagSet:
    return TagSet("Places", [Label("beach"), Label("city street", ["street"]),
                             Label("mountain")])


def test_create_get_update_delete_a_set(lib):
    made = lib.tags.create_set(places())
    assert made.id is not None and lib.tags.get_set("places").name == "Places"
    assert lib.tags.get_set(made.id).name == "Places"
    assert "Places" in [s.name for s in lib.tags.sets()]
    made.labels = made.labels[:2]
    made.exclusive = True
    lib.tags.update_set(made)
    again = lib.tags.get_set("Places")
    assert [label.name for label in again.labels] == ["beach", "city street"]
    assert again.exclusive is True
    assert lib.tags.set_threshold("Places", 2.5).threshold == 2.5
    lib.tags.delete_set("Places")
    with pytest.raises(NotFound):
        lib.tags.get_set("Places")


def test_retag_of_an_unapplied_set_is_one_sentence(lib):
    lib.tags.create_set(places())
    with pytest.raises(PhotoclipError) as e:
        lib.tags.retag("Places")
    assert e.value.message == "Places is not applied to any folder yet."


def test_apply_to_a_folder_scores_its_photos(lib, tmp_path):
    lib.tags.create_set(places())
    report = lib.tags.apply("Places", tmp_path / "pics")
    assert report.tagset == "Places" and report.photos == 6 and report.problem is None
    ts = lib.tags.get_set("Places")
    assert ts.applied and ts.scopes == [str(tmp_path / "pics")]
    auto = [t for pid in lib.ids for t in lib.tags.photo_tags(pid) if t.source == "auto"]
    assert len(auto) == report.tagged
    assert all(t.tagset == "Places" and 0 < t.confidence < 1 for t in auto)
    assert lib.tags.retag("Places").photos == 6


def test_a_manual_tag_by_path_and_by_id(lib):
    tag_id = lib.tags.set([lib.photos[0], lib.ids[1]], "holiday")
    assert lib.tags.counts()[tag_id] == 2
    tags = lib.tags.photo_tags(lib.photos[0])
    assert [(t.name, t.source, t.tagset) for t in tags] == [("holiday", "manual", None)]
    assert (tag_id, "holiday") in lib.tags.keywords()
    assert lib.tags.describe(tag_id) == "the keyword holiday"
    lib.tags.set([lib.ids[0]], tag_id, present=False)
    assert lib.tags.photo_tags(lib.ids[0]) == []
    assert lib.tags.counts().get(tag_id) == 1
    assert [t.name for t in lib.tags.photo_tags(lib.photos[1])] == ["holiday"]


def test_a_manual_label_of_a_set_is_described_with_its_set(lib):
    lib.tags.create_set(places())
    tag_id = lib.tags.set([lib.photos[2]], "beach")
    assert lib.tags.describe(tag_id) == "Places/beach"
    (tag,) = lib.tags.photo_tags(lib.ids[2])
    assert (tag.tagset, tag.source) == ("Places", "manual")
    assert (tag_id, "beach") not in lib.tags.keywords()


def test_new_photos_are_tagged_by_applied_sets(lib, tmp_path):
    assert lib.tags.tag_new_photos() == []  # nothing applied
    lib.tags.create_set(places())
    lib.tags.apply("Places")
    new = write_photos(tmp_path / "pics", 2, start=100)
    report = lib.folders.index()
    assert report.encoded == 2 and not report.tag_problems
    auto = [t for p in new for t in lib.tags.photo_tags(p) if t.source == "auto"]
    assert report.tagged == len(auto)
    again = lib.tags.tag_new_photos()
    assert sum(r.tagged for r in again) == 0  # nothing new since


def test_the_report_counts_the_tags_given_not_those_the_user_took_off(lib):
    """'516 tags on 1,235 photos' counted 2 tags the user had removed (514 were on photos)."""
    lib.tags.create_set(places())
    first = lib.tags.apply("Places")
    given = [(p, t) for p in lib.ids for t in lib.tags.photo_tags(p) if t.source == "auto"]
    assert first.tagged == len(given) >= 1
    photo, tag = given[0]
    lib.tags.set([photo], tag.name, present=False)  # the user takes one off
    again = lib.tags.retag("Places")
    on_photos = [t for p in lib.ids for t in lib.tags.photo_tags(p) if t.tagset == "Places"]
    assert again.tagged == len(on_photos) == first.tagged - 1
    assert tag.name not in {t.name for t in lib.tags.photo_tags(photo) if t.source != "removed"}


class TextCounting:
    """Wraps a text encoder and counts the texts it encodes."""

    def __init__(self, inner):
        self._inner, self.texts = inner, 0

    def encode_texts(self, texts):
        self.texts += len(texts)
        return self._inner.encode_texts(texts)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def test_tagging_and_searching_share_the_stored_vocabulary(tiny_library):
    """Tag sets rate against the everyday words, searches against those and some nonsense;
    both kept their own list in the one stored row, so a search after photos were tagged
    encoded all 257 again (2-3 s on two cores, each time)."""
    from photoclip.core.model.text import search_alternatives, vocabulary

    lib = tiny_library
    store, model = lib.tags.store, lib.model.id
    enc = TextCounting(lib.model.encoder)
    for_search = store.vocabulary_vectors(model, enc, search_alternatives())
    first = enc.texts
    assert first == len(search_alternatives())
    for_tags = store.vocabulary_vectors(model, enc, vocabulary())
    again = store.vocabulary_vectors(model, enc, search_alternatives())
    assert enc.texts == first  # nothing encoded again, either way
    assert np.array_equal(for_tags, for_search[:len(vocabulary())])
    assert np.array_equal(again, for_search)
    some = ["dog", "beach"]
    at = [search_alternatives().index(w) for w in some]
    assert np.array_equal(store.vocabulary_vectors(model, enc, some), for_search[at])


def test_a_label_deleted_while_its_vectors_are_made_gets_no_tags(lib, tmp_path, monkeypatch):
    """The user edits the set while it is being applied: the label taken out gets nothing,
    the others are written, and the report counts what was written."""
    lib.tags.create_set(places())
    lib.tags.set_threshold("Places", -50.0)  # (lenient: the fake encoder's labels tag photos)
    make = lib.tags.store.scorer

    def scorer_then_edit(ts, *args):
        out = make(ts, *args)
        edited = lib.tags.get_set("Places")
        edited.labels = [lb for lb in edited.labels if lb.name != "beach"]
        lib.tags.update_set(edited)
        return out

    monkeypatch.setattr(lib.tags.store, "scorer", scorer_then_edit)
    report = lib.tags.apply("Places")
    auto = [t for pid in lib.ids for t in lib.tags.photo_tags(pid) if t.source == "auto"]
    assert auto and {t.name for t in auto} <= {"city street", "mountain"}
    assert report.tagged == len(auto)


def test_a_photo_removed_while_the_set_is_applied_gets_no_tags(lib, monkeypatch):
    """Its vector was already listed for scoring when it went (a folder scan in another
    process): the tags are written without SQLite's row-by-row reference checks, so the
    apply itself must leave no tag pointing at a photo that is gone."""
    lib.tags.create_set(places())
    lib.tags.set_threshold("Places", -50.0)
    gone = lib.ids[0]
    make = lib.tags.store.scorer

    def scorer_then_remove(ts, *args):
        out = make(ts, *args)
        with lib.catalog.transaction() as tx:
            tx.execute("DELETE FROM photos WHERE id=?", (gone,))
        return out

    monkeypatch.setattr(lib.tags.store, "scorer", scorer_then_remove)
    report = lib.tags.apply("Places")
    conn = lib.catalog.conn
    assert conn.execute("SELECT count(*) FROM photo_tags WHERE photo_id=?", (gone,)).fetchone() \
        == (0,)
    assert conn.execute("PRAGMA foreign_key_check(photo_tags)").fetchall() == []
    tagged = conn.execute("SELECT count(*) FROM photo_tags WHERE source='auto'").fetchone()[0]
    assert tagged == report.tagged > 0
