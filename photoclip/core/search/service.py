"""``lib.search``: a search typed in the bar (see core/search/query.py for what it may
hold), "find similar" on a photo or any image file, and browsing the library newest first.

A description is embedded by the text encoder and run against the vector index; each hit is
then rated for relevance (core/search/relevance.py) against everyday alternatives. Tag and
category terms are answered from the catalog and narrow the rest.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from photoclip.core.categories.service import CategoryService
from photoclip.core.errors import NotFound, PhotoclipError
from photoclip.core.indexing.imageio import DecodeError, decode_for_model, read_file
from photoclip.core.model.host import ModelHost
from photoclip.core.model.protocols import TextEncoder, Vectors
from photoclip.core.model.text import search_alternatives
from photoclip.core.search import query as grammar
from photoclip.core.search import relevance
from photoclip.core.search.browse import DAY_KEY, DAY_SPAN, MONTH_KEY, BrowseLayout
from photoclip.core.search.index_keeper import IndexKeeper
from photoclip.core.search.searcher import Filters, Hit, Searcher, embed_terms
from photoclip.core.store.catalog import Catalog
from photoclip.core.tags.service import TagService

Ranked = list[tuple[int, float]]


class SearchService:
    """Turns what the user typed (or the photo they picked) into ranked hits."""

    def __init__(self, catalog: Catalog, model: ModelHost, search_index: IndexKeeper,
                 tags: TagService, categories: CategoryService):
        self._catalog = catalog
        self._model = model
        self._index = search_index
        self._tags = tags
        self._categories = categories

    def searcher(self) -> Searcher:
        """Runs vectors against the index (loaded by the first search) and turns ids into
        hits."""
        return Searcher(self._catalog, lambda: self._index.index, self._model.id)

    def find(self, text: str, limit: int = 50, filters: Filters | None = None) -> list[Hit]:
        """Photos best matching ``text``, best first. ``tag:beach`` terms keep only photos
        carrying those tags; alone, they list them, manual tags first, then the most
        confident. A leading ``category:Receipts`` keeps a category's members; alone, it
        lists them, most likely first (score = probability)."""
        filters = filters or Filters()
        q = grammar.parse(text)
        if q.category is not None:
            members = self._categories.members(q.category)
            if not q.tags and not q.text:
                searcher = self.searcher()
                if filters.restricts_ids:
                    allowed = set(searcher.allowed_ids(filters).tolist())
                    members = [(i, p) for i, p in members if i in allowed]
                return searcher.hits(members[:_room(limit)], limit)
            keep = frozenset(i for i, _ in members)
            filters = replace(filters, ids=keep if filters.ids is None else filters.ids & keep)
        if q.tags:
            if len(q.tags) == 1 and not q.text and not filters.restricts_ids:
                # the common case (a click on a tag): the best carriers from the catalog
                ranked = self._tags.store.tagged_photos(self._tag_ids(q.tags[0]), _room(limit))
                return self.searcher().hits([(int(p), float(c)) for p, c in ranked], limit)
            filters, carriers = self._tag_filter(list(q.tags), filters)
            if not q.text:
                searcher = self.searcher()
                if filters.folder or filters.after or filters.before:
                    allowed = set(searcher.allowed_ids(filters).tolist())
                    carriers = [(i, c) for i, c in carriers if i in allowed]
                return searcher.hits(carriers[:_room(limit)], limit)
        rest = q.text if q.by_name else text
        terms = grammar.terms(rest)
        with self._index.loading():  # (a cold start: while the query is embedded)
            encoder = self._model.text_encoder()
            vec = embed_terms(encoder, terms)
        hits = self.searcher().by_vector(vec, limit, filters, text=True)
        return self.rated(hits, relevance.query_words(terms), encoder)

    def rated(self, hits: list[Hit], own: set[str], encoder: TextEncoder) -> list[Hit]:
        """The hits with their relevance (see core/search/relevance.py): whether each photo
        shows the query better than what it shows best among everyday alternatives (and some
        nonsense, which a keyboard mash must beat too)."""
        if not hits:
            return hits
        words = search_alternatives()
        alternatives = self._tags.store.vocabulary_vectors(self._model.id, encoder, words)
        ids, mat = self._catalog.vectors(self._model.id, [h.id for h in hits])
        row = {int(i): k for k, i in enumerate(ids.tolist())}
        have = [h for h in hits if h.id in row]
        if not have:
            return hits
        vectors = mat[[row[h.id] for h in have]]
        rated = relevance.rate(np.array([h.score for h in have]), vectors, alternatives, words,
                               own, float(encoder.logit_scale))
        for h, r in zip(have, rated.tolist(), strict=True):
            h.relevance = r
        return hits

    def _tag_ids(self, name: str) -> list[int]:
        ids = self._tags.store.resolve(name)
        if not ids:
            raise NotFound(f"No photo carries a tag called {name}.",
                           cli_hint="See 'photoclip tagset list'.")
        return ids

    def _tag_filter(self, names: list[str], filters: Filters) -> tuple[Filters, Ranked]:
        """Filters narrowed to the photos carrying every tag in ``names``, and those photos
        ranked by the first tag's confidence."""
        keep: set[int] = set()
        ranked: Ranked = []
        for k, name in enumerate(names):
            ids = self._tag_ids(name)
            if k == 0:
                ranked = [(int(p), float(c)) for p, c in self._tags.store.tagged_photos(ids)]
                keep = {p for p, _ in ranked}
            else:
                keep &= set(self._tags.store.tagged_ids(ids).tolist())
        ranked = [(p, c) for p, c in ranked if p in keep]
        if filters.ids is not None:
            keep &= filters.ids
        return replace(filters, ids=frozenset(keep)), ranked

    def prepare(self) -> bool:
        """Load what a text search needs (the text encoder and the index, side by side), so
        the first search is as quick as the next; False when no model can answer one."""
        if self._model.known_dim() is None and not self._model.search_ready():
            return False  # (the index needs the vector size: only a model can tell it)
        with self._index.loading():
            ready = self._model.search_ready()
            if ready:
                encoder = self._model.text_encoder()
                encoder.encode_texts(["a photo"])  # tokenizer and first run
                # what good matches are judged against (encoded once per model, then stored)
                self._tags.store.vocabulary_vectors(self._model.id, encoder,
                                                    search_alternatives())
        return ready

    def similar(self, photo: str | int, limit: int = 50,
                filters: Filters | None = None) -> list[Hit]:
        """Photos most like ``photo``: a catalogued photo (id or path) or any image file."""
        vec, self_id = self.image_vector(photo)
        exclude = frozenset({self_id}) if self_id is not None else frozenset()
        return self.searcher().by_vector(vec, limit, filters, exclude=exclude)

    def image_vector(self, photo: str | int) -> tuple[Vectors, int | None]:
        """The vector of a photo (stored, for a catalogued one) or of any image file, and
        the photo's id when it is in the library."""
        if isinstance(photo, int):
            vec = self._stored_vector(photo)
            if vec is None:
                raise NotFound(f"Photo #{photo} has not been indexed.")
            return vec, photo
        path = str(Path(photo).expanduser().resolve()) if os.path.exists(photo) else str(photo)
        st = self._catalog.photo_state(path) or self._catalog.photo_with_companion(path)
        if st is not None:
            vec = self._stored_vector(st.id)
            if vec is not None:
                return vec, st.id
        if not os.path.exists(path):
            raise NotFound(f"There is no photo {photo}.")
        encoder = self._model.image_encoder()
        try:
            _, arr = decode_for_model(read_file(path), encoder.preprocess, str(path))
        except DecodeError as e:
            raise PhotoclipError(f"Cannot use {photo} as a search image: {e}.") from None
        return encoder.encode_images(arr[None])[0], (st.id if st else None)

    def _stored_vector(self, photo_id: int) -> Vectors | None:
        vec = self._index.index.vector(photo_id)
        return vec if vec is not None else self._catalog.vector_of(photo_id, self._model.id)

    def years(self) -> list[int]:
        """The years photos were taken in, newest first (the date filter's choices)."""
        return self._catalog.years()

    def browse(self, filters: Filters | None = None, limit: int = 1_000_000) -> list[Hit]:
        """The library newest first, as hits without a score (what an empty search shows)."""
        f = filters or Filters()
        rows = self._catalog.browse(f.folder, f.after, f.before, limit)
        offline = {f.id for f in self._catalog.folders() if not f.online}
        return [_browse_hit(r, offline) for r in rows]

    def browse_layout(self, filters: Filters | None = None) -> BrowseLayout:
        """The shape of a browse (core/search/browse.py): its date sections, counted — day
        sections when its dated photos span a month or less and none is undated."""
        f = filters or Filters()
        counts = self._catalog.browse_sections(f.folder, f.after, f.before, MONTH_KEY)
        by_day = False
        if counts and len(counts) <= 2 and all(k is not None for k, _ in counts):
            oldest, newest = self._catalog.browse_dates(f.folder, f.after, f.before)
            try:
                span = date.fromisoformat(str(newest)[:10]) - date.fromisoformat(str(oldest)[:10])
                by_day = span.days <= DAY_SPAN
            except ValueError:
                by_day = False
            if by_day:
                counts = self._catalog.browse_sections(f.folder, f.after, f.before, DAY_KEY)
        return BrowseLayout.of(f, counts, by_day)

    def browse_page(self, layout: BrowseLayout, start: int, count: int) -> list[Hit]:
        """Photos number ``start`` to ``start + count`` of a browse laid out as ``layout``
        (fewer when the library changed since: the layout is then out of date)."""
        f = layout.filters
        offline = {folder.id for folder in self._catalog.folders() if not folder.online}
        out: list[Hit] = []
        end = min(start + count, layout.total)
        i = layout.section_of(start) if layout.sections else 0
        while start < end and i < len(layout.sections):
            sec = layout.sections[i]
            skip = start - sec.first
            take = min(end, sec.first + sec.count) - start
            rows = self._catalog.browse_section(sec.key, skip, take, f.folder, f.after,
                                                f.before, layout.key_len)
            out += [_browse_hit(r, offline) for r in rows]
            start += take
            i += 1
        return out


def _browse_hit(r: dict[str, Any], offline: set[int]) -> Hit:
    return Hit(r["id"], r["path"], float("nan"), r["width"], r["height"], r["taken_at"],
               r["size"], offline=r["folder_id"] in offline, companion=r["companion"])


def _room(limit: int) -> int:
    """How many ranked ids to turn into hits for ``limit`` (some may be gone from disk)."""
    return limit + max(8, limit // 10)

