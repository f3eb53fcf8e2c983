"""``lib.categories``: the user's own categories. The user marks a few photos as in (or not
in) a category; a linear probe trained on the stored embeddings (core/categories/probe.py),
with the category's name as a prior, sorts the whole library. Nothing is re-encoded."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from photoclip.core import xmp
from photoclip.core.categories.model import Category, Trained
from photoclip.core.indexing.folders import FolderService, PathLike
from photoclip.core.model.host import ModelHost
from photoclip.core.search.searcher import Hit, Searcher
from photoclip.core.store.catalog import Catalog
from photoclip.core.store.categories import CategoryStore
from photoclip.core.store.vectors import VectorView


class CategoryService:
    """Everything a user does with categories; ``store`` is the SQL behind it."""

    def __init__(self, catalog: Catalog, model: ModelHost, folders: FolderService,
                 searcher: Callable[[], Searcher],
                 vectors: Callable[[str], VectorView] | None = None):
        self.store = CategoryStore(catalog, vectors)
        self._catalog = catalog
        self._model = model
        self._folders = folders
        self._searcher = searcher

    def create(self, name: str, description: str = "") -> Category:
        return self.store.create(name, description)

    def all(self) -> list[Category]:
        return self.store.all()

    def names(self) -> list[str]:
        return [c.name for c in self.store.all()]

    def get(self, name: str) -> Category:
        return self.store.get(name)

    def update(self, name: str, new_name: str | None = None, description: str | None = None,
               threshold: float | None = None) -> Category:
        """Rename, describe, or set how sure a member must be (a probability)."""
        return self.store.update(name, new_name=new_name, description=description,
                                 threshold=threshold)

    def delete(self, name: str) -> None:
        self.store.delete(name)

    def label(self, name: str, photos: Sequence[PathLike | int],
              positive: bool | None) -> Category:
        """Mark photos as in (True) or not in (False) a category, or forget them (None)."""
        return self.store.label(name, self._folders.photo_ids(photos), positive)

    def photo_labels(self, photo_id: int) -> dict[str, bool]:
        """Category name → whether the user said this photo is in it."""
        return self.store.photo_labels(photo_id)

    def train(self, name: str, quality: bool = False) -> Trained | None:
        """The category's probe for the current model, retrained first if its labels (or the
        model) changed. None while no photo has a vector for this model."""
        return self._trained(self.store.get(name), quality)

    def _trained(self, cat: Category, quality: bool = False) -> Trained | None:
        encoder = self._model.text_encoder() if self._model.search_ready() else None
        return self.store.trained(cat, self._model.id, encoder, quality=quality)

    def members(self, name: str, limit: int | None = None) -> list[tuple[int, float]]:
        """(photo id, probability) of a category's members, most likely first."""
        cat = self.store.get(name)
        trained = self._trained(cat)
        if trained is None:
            return []
        return self.store.members(cat, trained, self._model.id, limit)

    def suggestions(self, name: str, limit: int = 20) -> list[Hit]:
        """Unlabelled photos the category is least sure about: the ones to answer next."""
        cat = self.store.get(name)
        trained = self._trained(cat)
        if trained is None:
            return []
        encoder = self._model.text_encoder() if self._model.search_ready() else None
        return self._searcher().hits(self.store.suggest(cat, trained, self._model.id, limit,
                                                        encoder), limit)

    def overview(self, quality: bool = True) -> list[dict[str, Any]]:
        """Every category: name, description, threshold, examples (+/−), members and, with
        ``quality``, the cross-validated estimate (what 'category list' shows)."""
        cats = self.store.all()
        trained = [self._trained(c, quality) for c in cats]
        ready = [(c, t) for c, t in zip(cats, trained, strict=True) if t is not None]
        counts = dict(zip([c.id for c, _ in ready],
                          self.store.counts(ready, self._model.id), strict=True))
        out = []
        for cat, t in zip(cats, trained, strict=True):
            row = cat.to_dict()
            row["members"] = counts.get(cat.id, 0)
            row["name_used"] = round(t.probe.trust, 2) if t is not None else None
            if quality:
                q = t.quality if t is not None else None
                row["quality"] = q.to_dict() if q is not None else None
                row["quality_text"] = q.describe() if q is not None else \
                    "no photo of this library is indexed yet"
            out.append(row)
        return out

    def export_xmp(self, name: str, folder: PathLike | None = None,
                   naming: str = "ext") -> xmp.ExportReport:
        """Write a category's members to XMP sidecars as the keyword Categories|name."""
        cat = self.store.get(name)
        members = {i for i, _ in self.members(cat.name)}
        return xmp.export_category(cat.name, members,
                                   self._catalog.photo_paths(self._folders.inside(folder)),
                                   naming, set(self.names()))
