"""photoclip.core.store.userdata: what users made, read out, snapshotted and merged back."""

from __future__ import annotations

import gzip

import pytest

from photoclip.core.store import userdata
from photoclip.core.store.catalog import Catalog, PhotoRecord
from photoclip.core.store.userdata import Guard, UserData


def _made():
    return UserData(
        folders=["/p"],
        tagsets=[{"name": "Places", "exclusive": True, "context": "a photo of {}",
                  "threshold": 0.2, "created_at": 1.0, "scopes": ["/p"],
                  "labels": [{"name": "beach", "synonyms": ["seaside"], "prompts": [],
                              "threshold": None},
                             {"name": "snow", "synonyms": [], "prompts": [], "threshold": 0.4}]}],
        keywords=["holiday"],
        categories=[{"name": "Receipts", "description": "paper", "threshold": 0.6,
                     "created_at": 2.0}],
        tags=[["/p/a.jpg", "ha", "Places", "beach", "manual"],
              ["/p/a.jpg", "ha", None, "holiday", "manual"],
              ["/p/gone.jpg", "hg", "Places", "snow", "removed"]],
        examples=[["/p/a.jpg", "ha", "Receipts", 1, 3.0]])


@pytest.fixture
def cat(tmp_path):
    c = Catalog(tmp_path / "catalog.sqlite3")
    f = c.add_folder("/p")
    with c.transaction() as tx:
        c.upsert_photo(tx, PhotoRecord("/p/a.jpg", f.id, 1, 1, "ha"))
    yield c
    c.close()


def _norm(d: UserData):
    return (sorted(d.folders), d.tagsets, d.keywords, d.categories,
            sorted(map(tuple, d.tags), key=str), sorted(map(tuple, d.examples)))


def test_merge_then_read_gives_back_what_was_made(cat):
    merged = userdata.merge(cat, _made(), override=False)
    assert (merged.folders, merged.tagsets, merged.categories) == (0, 1, 1)  # /p was there
    assert (merged.tags, merged.examples, merged.kept) == (2, 1, 1)  # gone.jpg: kept
    back = userdata.read(cat.conn)
    assert back.problems == [] and _norm(back) == _norm(_made())
    assert cat.kept_counts() == {"tags": 1, "examples": 0}


def test_merging_twice_adds_nothing_and_an_older_source_changes_nothing(cat):
    userdata.merge(cat, _made(), override=False)
    older = _made()
    older.tagsets[0]["threshold"] = 0.9
    older.categories[0]["description"] = "old words"
    assert userdata.merge(cat, older, override=False).total() == 0
    back = userdata.read(cat.conn)
    assert back.tagsets[0]["threshold"] == 0.2 and back.categories[0]["description"] == "paper"
    userdata.merge(cat, older, override=True)  # a newer source wins
    back = userdata.read(cat.conn)
    assert back.tagsets[0]["threshold"] == 0.9
    assert back.categories[0]["description"] == "old words"


def test_names_differing_only_in_case_are_one_name(cat):
    userdata.merge(cat, _made(), override=False)
    shouting = UserData(categories=[{"name": "RECEIPTS", "threshold": 0.5}],
                        tagsets=[{"name": "places", "threshold": 0.1, "labels": []}])
    assert userdata.merge(cat, shouting, override=False).total() == 0
    assert [c["name"] for c in userdata.read(cat.conn).categories] == ["Receipts"]


def test_only_keeps_the_parts_the_damage_took():
    part = _made().only({"categories"})
    assert part.categories and part.examples and not part.folders and not part.tagsets
    assert part.tags == []
    assert _made().only({"photos"}).tags and not _made().only({"photos"}).categories


def test_a_snapshot_round_trips_and_a_foreign_file_is_refused(cat, tmp_path):
    userdata.merge(cat, _made(), override=False)
    path = userdata.write_snapshot(cat, tmp_path)
    assert path is not None and userdata.snapshots(tmp_path) == [path]
    assert _norm(userdata.load(path)) == _norm(_made())
    with pytest.raises(ValueError):
        UserData.from_json({"format": "something-else", "version": 1})
    with pytest.raises(ValueError):
        UserData.from_json({**_made().to_json(), "tags": [["/p/a.jpg", "h", None, "x", "auto"]]})


def test_newest_skips_a_damaged_snapshot(cat, tmp_path):
    userdata.merge(cat, _made(), override=False)
    good = userdata.write_snapshot(cat, tmp_path)
    bad = good.with_name("userdata-99991231-235959-r000000000999.json.gz")
    bad.write_bytes(gzip.compress(b"{not json"))
    assert userdata.snapshots(tmp_path)[0] == bad
    found = userdata.newest(tmp_path)
    assert found is not None and found[0] == good


def test_the_guard_snapshots_a_quiet_minute_after_a_change(cat, tmp_path):
    guard = Guard(cat, tmp_path, quiet=60, at_most=300)
    assert guard.poll(now=0) is None  # nothing made yet
    userdata.merge(cat, _made(), override=False)
    assert guard.poll(now=100) is None  # changed just now
    assert guard.poll(now=150) is None
    path = guard.poll(now=161)
    assert path is not None and userdata.snapshots(tmp_path) == [path]
    assert guard.poll(now=500) is None and guard.flush() is None  # nothing new since


def test_the_guard_does_not_wait_forever_on_a_run_of_changes(cat, tmp_path):
    guard = Guard(cat, tmp_path, quiet=60, at_most=300)
    for k, now in enumerate(range(1000, 1301, 30)):  # a change every 30 s
        userdata.merge(cat, UserData(keywords=[f"kw{k}"]), override=False)
        got = guard.poll(now=now)
        assert (got is not None) == (now >= 1300), now
