"""core/search/browse.py and SearchService.browse_layout / browse_page: the library newest
first, laid out from counts and read a page at a time — the same photos in the same order as
reading it whole, without reading it whole."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import make_library

from photoclip.core.search.browse import BrowseLayout, Section, title
from photoclip.core.search.searcher import Filters
from photoclip.core.store.catalog import PhotoRecord

pytest.importorskip("numpy")


def add_photos(lib, root: Path, dates: list[str | None]) -> None:
    """Catalogue photos (rows only: browsing reads no file) taken at ``dates``."""
    folder = lib.catalog.add_folder(str(root))
    with lib.catalog.transaction() as tx:
        for i, taken in enumerate(dates):
            lib.catalog.upsert_photo(tx, PhotoRecord(
                f"{root}/{i // 100:03d}/IMG_{i:05d}.jpg", folder.id, 1000, i, f"{i:032x}",
                40, 30, taken))


@pytest.fixture
def lib(tmp_path, tiny_encoder):
    lib = make_library(tmp_path / "home", tiny_encoder)
    yield lib
    lib.close()


def varied_dates(n: int, seed: int = 1) -> list[str | None]:
    """Dates over three years, several photos at the same second, some undated."""
    rng = random.Random(seed)
    out: list[str | None] = []
    for _ in range(n):
        if rng.random() < 0.05:
            out.append(None)
        else:
            out.append(f"{rng.choice((2022, 2023, 2024))}-{rng.randint(1, 12):02d}-"
                       f"{rng.randint(1, 28):02d}T{rng.randint(10, 11):02d}:00:00")
    return out


def test_pages_read_in_turn_are_the_whole_browse_in_order(lib, tmp_path):
    add_photos(lib, tmp_path / "Pictures", varied_dates(1500))
    whole = lib.search.browse()
    layout = lib.search.browse_layout()
    assert layout.total == len(whole) == 1500
    paged = []
    for start in range(0, layout.total, 137):  # pages that cross sections
        paged += lib.search.browse_page(layout, start, 137)
    assert [h.id for h in paged] == [h.id for h in whole]
    # every section's photos are the ones its header says, and headers are months
    for sec in layout.sections:
        got = {h.taken_at[:7] if h.taken_at else None
               for h in paged[sec.first:sec.first + sec.count]}
        assert got == {sec.key}
        assert sec.title == title(sec.key, False)
    assert layout.sections[0].title == "December 2024"
    assert layout.sections[-1].title == "Date unknown" and layout.sections[-1].key is None


def test_grid_rows_number_headers_and_photos(lib, tmp_path):
    add_photos(lib, tmp_path / "Pictures", ["2024-03-02T10:00:00"] * 3 +
               ["2024-01-05T10:00:00"] * 2 + [None])
    layout = lib.search.browse_layout()
    entries = [layout.entry(r) for r in range(layout.rows())]
    assert [e.title if isinstance(e, Section) else e for e in entries] == [
        "March 2024", 0, 1, 2, "January 2024", 3, 4, "Date unknown", 5]
    assert [layout.row_of(p) for p in range(6)] == [
        r for r, e in enumerate(entries) if isinstance(e, int)]
    with pytest.raises(IndexError):
        layout.entry(-1)


def test_a_browse_within_a_month_has_day_headers(lib, tmp_path):
    add_photos(lib, tmp_path / "Pictures", ["2024-03-30T10:00:00", "2024-03-30T09:00:00",
                                            "2024-03-02T10:00:00", "2024-02-28T10:00:00"])
    layout = lib.search.browse_layout()
    assert layout.by_day
    assert [(s.title, s.count) for s in layout.sections] == [
        ("Saturday 30 March 2024", 2), ("Saturday 2 March 2024", 1),
        ("Wednesday 28 February 2024", 1)]
    # an undated photo, or dates a year apart, keep month headers
    add_photos(lib, tmp_path / "More", ["2023-03-01T10:00:00"])
    assert not lib.search.browse_layout().by_day


def test_filters_lay_out_and_page_the_same_photos_as_browse(lib, tmp_path):
    dates = varied_dates(600, seed=2)
    add_photos(lib, tmp_path / "A", dates[:300])
    add_photos(lib, tmp_path / "B", dates[300:])
    f = Filters(folder=str(tmp_path / "B"), after="2023-01-01", before="2024-06-01")
    layout = lib.search.browse_layout(f)
    whole = lib.search.browse(f)
    assert 0 < layout.total == len(whole) < 300
    paged = lib.search.browse_page(layout, 0, layout.total)
    assert [h.path for h in paged] == [h.path for h in whole]
    assert all(h.path.startswith(str(tmp_path / "B")) for h in paged)


def test_an_empty_library_and_a_page_past_the_end(lib, tmp_path):
    layout = lib.search.browse_layout()
    assert layout.total == 0 and layout.rows() == 0 and layout.sections == ()
    assert lib.search.browse_page(layout, 0, 100) == []
    add_photos(lib, tmp_path / "P", ["2024-01-01T00:00:00"] * 3)
    layout = lib.search.browse_layout()
    assert [h.id for h in lib.search.browse_page(layout, 2, 100)] == \
        [lib.search.browse()[-1].id]
    assert lib.search.browse_page(layout, 3, 100) == []


def test_odd_dates_keep_their_place(lib, tmp_path):
    """A camera's "0000:00:00" or a bare year sorts where the whole browse puts it, under
    "Date unknown"."""
    add_photos(lib, tmp_path / "P", ["2024-05-01T00:00:00", "0000:00:00 00:00:00", "2019",
                                     None, "2019-07-04T12:00:00"])
    layout = lib.search.browse_layout()
    paged = lib.search.browse_page(layout, 0, 10)
    assert [h.id for h in paged] == [h.id for h in lib.search.browse()]
    assert [s.title for s in layout.sections] == [
        "May 2024", "July 2019", "Date unknown", "Date unknown", "Date unknown"]


def test_a_page_reads_its_section_through_the_browse_index(lib, tmp_path):
    """A page deep in a million-photo library costs its section, not what comes before it:
    the section's range is searched in the partial index photos_browse."""
    add_photos(lib, tmp_path / "P", varied_dates(50))
    plan = lib.catalog.conn.execute(
        "EXPLAIN QUERY PLAN SELECT p.id FROM photos p WHERE p.status='ok' AND "
        "p.taken_at >= ? AND p.taken_at < ? ORDER BY p.taken_at DESC, p.id DESC LIMIT 5 "
        "OFFSET 5", ["2024-01", "2024-02"]).fetchall()
    assert any("photos_browse" in str(r) and "SEARCH" in str(r) for r in plan), plan


def test_layout_of_counts():
    layout = BrowseLayout.of(Filters(), [("2024-02", 2), ("2024-01", 0), (None, 1)])
    assert [(s.title, s.first) for s in layout.sections] == [("February 2024", 0),
                                                            ("Date unknown", 2)]
    assert layout.total == 3 and layout.rows() == 5
    assert layout.section_of(0) == 0 and layout.section_of(2) == 1
