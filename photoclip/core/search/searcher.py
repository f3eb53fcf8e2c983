"""Search: text queries with arithmetic, image queries, filters and a score cut-off.

Query syntax (the same in the CLI and the search bar):

- ``kids on a beach at sunset`` — one phrase;
- ``beach +sunset -people`` — add and subtract concepts: each part is embedded on its own and the
  query vector is the weighted sum of the parts (a ``+`` or ``-`` counts as an operator only at
  the start of a word, so ``t-shirt`` stays one word);
- ``2:dog +cat`` — a weight before a colon scales a part.

Short parts (one to three words, like ``dog``) are embedded as an ensemble of a few photo
prompts ("a photo of a dog.", …), which CLIP matches better than a bare word.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from photoclip.core.errors import PhotoclipError
from photoclip.core.model.protocols import TextEncoder, Vectors
from photoclip.core.search.query import Term
from photoclip.core.store.catalog import Catalog

if TYPE_CHECKING:
    from photoclip.core.search.index_keeper import SearchIndex

log = logging.getLogger(__name__)

JSONScalar = str | int | float | bool | None

SHORT_QUERY_TEMPLATES = ("{}", "a photo of a {}.", "a photo of the {}.", "a picture of a {}.")


@dataclass(slots=True)  # (not frozen: browsing makes 100k of them, frozen ones at twice the cost)
class Hit:
    id: int
    path: str
    score: float
    width: int | None = None
    height: int | None = None
    taken_at: str | None = None
    size: int | None = None
    relevance: float = float("nan")  # spreads above a typical photo (see core.relevance)
    offline: bool = False  # its folder (a drive, a share) cannot be reached now
    companion: str | None = None  # the RAW beside it: a RAW + JPEG pair, shown once

    def to_dict(self) -> dict[str, JSONScalar]:
        out: dict[str, JSONScalar] = {
            "path": self.path, "score": round(self.score, 4), "id": self.id,
            "width": self.width, "height": self.height, "taken_at": self.taken_at,
            "size": self.size, "offline": self.offline, "raw": self.companion}
        if self.relevance == self.relevance:
            out["relevance"] = round(float(self.relevance), 2)
        return out


@dataclass(frozen=True)
class Filters:
    folder: str | None = None  # only photos inside this folder
    after: str | None = None  # ISO date/time, inclusive
    before: str | None = None  # ISO date/time, exclusive
    min_score: float | None = None
    ids: frozenset[int] | None = None  # only these photos (e.g. those carrying a tag)

    @property
    def restricts_ids(self) -> bool:
        return bool(self.folder or self.after or self.before) or self.ids is not None


def is_short(text: str) -> bool:
    return len(text.split()) <= 3 and text.isascii() and "photo" not in text.lower()


def embed_terms(encoder: TextEncoder, terms: list[Term]) -> Vectors:
    """The query vector for a parsed query: the normalised weighted sum of its parts."""
    total = np.zeros(encoder.dim, np.float32)
    for term in terms:
        if is_short(term.text):
            prompts = [t.format(term.text) for t in SHORT_QUERY_TEMPLATES]
            v = encoder.encode_texts(prompts).mean(axis=0)
        else:
            v = encoder.encode_texts([term.text])[0]
        total += term.weight * v / np.linalg.norm(v)
    norm = float(np.linalg.norm(total))
    if norm < 1e-6:
        raise PhotoclipError("The parts of this search cancel each other out.")
    return total / norm


class Searcher:
    """Runs query vectors against the index and turns ids into hits with catalog metadata.
    The index is asked for on the first search: turning ids into hits never loads it."""

    def __init__(self, catalog: Catalog, index: Callable[[], SearchIndex], model_id: str):
        self.catalog = catalog
        self._index = index
        self.model_id = model_id

    @property
    def index(self) -> SearchIndex:
        return self._index()

    def by_vector(self, query: Vectors, limit: int = 50, filters: Filters | None = None,
                  exclude: set[int] | frozenset[int] = frozenset(),
                  text: bool = False) -> list[Hit]:
        """``text``: the query vector comes from text (see VectorIndex.search)."""
        filters = filters or Filters()
        allowed: npt.NDArray[np.int64] | None = None
        if filters.restricts_ids:
            allowed = self.allowed_ids(filters)
        # A few more than asked: files deleted while nothing watched are dropped below.
        want = limit + len(exclude)
        ids, scores = self.index.search(query, want + max(8, want // 10), allowed, text=text)
        keep = [(int(i), float(s)) for i, s in zip(ids, scores, strict=True)
                if int(i) not in exclude]
        if filters.min_score is not None:
            keep = [(i, s) for i, s in keep if s >= filters.min_score]
        return self.hits(keep, limit)

    def allowed_ids(self, filters: Filters) -> npt.NDArray[np.int64]:
        """The embedded photos ``filters`` lets through."""
        if filters.folder or filters.after or filters.before:
            allowed = self.catalog.filter_ids(self.model_id, filters.folder, filters.after,
                                              filters.before)
            if filters.ids is not None:
                allowed = allowed[np.isin(allowed, np.fromiter(filters.ids, np.int64))]
            return allowed
        return np.fromiter(sorted(filters.ids or ()), np.int64)

    def hits(self, keep: list[tuple[int, float]], limit: int) -> list[Hit]:
        """(id, score) pairs, best first → up to ``limit`` hits with the photos' metadata."""
        rows = self.catalog.photo_rows([i for i, _ in keep])
        online = {f.id for f in self.catalog.folders() if f.online}
        hits: list[Hit] = []
        gone = 0
        for pid, score in keep:
            r = rows.get(pid)
            if r is None:  # removed since the search began
                continue
            # a file gone from a reachable folder was deleted (while nothing watched): it is
            # not shown (the next index forgets it); an offline folder's photos are kept
            if r["folder_id"] in online and not os.path.exists(r["path"]):
                gone += 1
                continue
            hits.append(Hit(pid, r["path"], score, r["width"], r["height"], r["taken_at"],
                            r["size"], offline=r["folder_id"] not in online,
                            companion=r["companion"]))
            if len(hits) == limit:
                break
        if gone:
            log.info("%d result(s) left out: their files were deleted; 'photoclip index' "
                     "forgets them", gone)
        return hits
