"""Exact search over the vector file, for a process that answers one search and exits.

Loading the HNSW graph of a million photos takes ~5 s and 2.3 GB; a scan of the same photos'
vectors in the vector file (core/store/vectors.py) takes 0.2–0.4 s and a chunk of memory, and is
exact. So a one-shot command (``photoclip search``, ``similar``, a category's suggestions)
scans, and only a process that answers many searches (the app, ``photoclip watch``) loads the
graph. It offers the part of :class:`VectorIndex`'s interface a search uses; it is never
written to (the file follows the catalog by itself) and never saved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from photoclip.core.store.vectors import VectorView


class ScanIndex:
    mode = "scan"
    needs_save = False

    def __init__(self, view: Callable[[], VectorView]):
        self._view = view

    def __len__(self) -> int:
        return len(self._view())

    def __contains__(self, photo_id: int) -> bool:
        return self._view().vector(photo_id) is not None

    def ids(self) -> np.ndarray:
        return self._view().ids.copy()

    def search(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None,
               text: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) by inner product, best first (exact; ``text`` changes
        nothing here)."""
        return self._view().top_k(query, k, allowed)

    def vector(self, photo_id: int) -> np.ndarray | None:
        return self._view().vector(photo_id)

    def add(self, ids: Sequence[int] | np.ndarray, vecs: np.ndarray) -> None:
        """Nothing to do: the vector file reads what the catalog was given."""

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        """Nothing to do (see :meth:`add`)."""
