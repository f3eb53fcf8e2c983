"""Browsing the library newest first without holding it: its layout, then pages.

What an empty search shows is every photo, newest first, under a header per month (per day when
they all fall within a month). At a million photos the rows themselves are too many to hold
(1M hits were 3.7 GB and 40 s in the grid), so a browse is two things:

- a :class:`BrowseLayout` — the date sections and how many photos each holds, counted over
  the catalog's browse index (``Catalog.browse_sections``: a skip scan, a count per section):
  enough to size the grid, place every header and number every photo without reading a
  photo row;
- pages of photos (:meth:`SearchService.browse_page`) read as the grid scrolls to them: a page
  starts at its section's first date and skips into it, so reading a page costs what its
  section holds at most, never what precedes it in the library.

Rows of the grid are numbered here too (pure arithmetic, tested without Qt): with headers, a
section takes one header row and then its photos.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date

from photoclip.core.search.searcher import Filters

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
UNKNOWN = "Date unknown"
MONTH_KEY, DAY_KEY = 7, 10  # the prefix of taken_at ('2024-01-15T…') a section is keyed by
DAY_SPAN = 31  # day headers when the photos browsed span this many days or fewer


def title(key: str | None, by_day: bool) -> str:
    """A section's header: "November 2026", or "Monday 23 November 2026"."""
    try:
        d = date.fromisoformat(key + "-01" if key and not by_day else key or "")
    except ValueError:
        return UNKNOWN
    if by_day:
        return f"{d.strftime('%A')} {d.day} {MONTHS[d.month - 1]} {d.year}"
    return f"{MONTHS[d.month - 1]} {d.year}"


@dataclass(frozen=True)
class Section:
    """Photos taken in one month (or day): ``count`` of them, the first being photo number
    ``first`` (from 0) of the browse."""

    key: str | None  # taken_at's first 7 (month) or 10 (day) characters; None: no date
    title: str
    count: int
    first: int


@dataclass(frozen=True)
class BrowseLayout:
    """The shape of a browse: its sections in order (newest first, undated last)."""

    filters: Filters
    sections: tuple[Section, ...]
    by_day: bool = False
    _firsts: tuple[int, ...] = field(default=(), repr=False, compare=False)
    _header_rows: tuple[int, ...] = field(default=(), repr=False, compare=False)

    @staticmethod
    def of(filters: Filters, counts: list[tuple[str | None, int]],
           by_day: bool = False) -> BrowseLayout:
        """From (key, count) per section, in browse order."""
        sections, first = [], 0
        for key, count in counts:
            if count > 0:
                sections.append(Section(key, title(key, by_day), count, first))
                first += count
        firsts = tuple(s.first for s in sections)
        headers = tuple(f + i for i, f in enumerate(firsts))
        return BrowseLayout(filters, tuple(sections), by_day, firsts, headers)

    @property
    def key_len(self) -> int:
        """How much of taken_at keys a section."""
        return DAY_KEY if self.by_day else MONTH_KEY

    @property
    def total(self) -> int:
        """Photos browsed."""
        last = self.sections[-1] if self.sections else None
        return last.first + last.count if last else 0

    def section_of(self, photo: int) -> int:
        """The index of the section photo number ``photo`` is in."""
        return max(bisect_right(self._firsts, photo) - 1, 0)

    # -- rows of the grid (one header row per section, then its photos) ----------------------

    def rows(self) -> int:
        return self.total + len(self.sections)

    def entry(self, row: int) -> int | Section:
        """What grid row ``row`` shows: a photo's number, or a section's header."""
        i = bisect_right(self._header_rows, row) - 1
        if i < 0:
            raise IndexError(row)
        start = self._header_rows[i]
        return self.sections[i] if row == start else self.sections[i].first + row - start - 1

    def row_of(self, photo: int) -> int:
        """The grid row of photo number ``photo``."""
        return photo + self.section_of(photo) + 1 if self.sections else photo


__all__ = ["BrowseLayout", "Section", "title"]
