"""``lib.tags``: tag sets (the user's vocabularies) applied zero-shot to folders and to every
new photo, tags set by hand, a photo's tags, and XMP sidecars.

Tags come from the stored embeddings: applying a set encodes its prompts, never a photo.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from photoclip.core import xmp
from photoclip.core.errors import PhotoclipError
from photoclip.core.indexing.folders import FolderService, PathLike
from photoclip.core.model.host import ModelHost
from photoclip.core.model.text import vocabulary
from photoclip.core.store.catalog import Catalog
from photoclip.core.store.tags import TagStore
from photoclip.core.store.vectors import VectorView
from photoclip.core.tags.model import LIBRARY, ApplyReport, PhotoTag, TagSet, ThresholdEffect

CategoryNames = Callable[[], list[str]]  # the categories' names (XMP keeps them apart)


class TagService:
    """Everything a user does with tags; ``store`` is the SQL behind it (core and tests)."""

    def __init__(self, catalog: Catalog, model: ModelHost, folders: FolderService,
                 category_names: CategoryNames,
                 vectors: Callable[[str], VectorView] | None = None):
        self.store = TagStore(catalog, vectors)
        self._catalog = catalog
        self._model = model
        self._folders = folders
        self._category_names = category_names

    # -- tag sets ---------------------------------------------------------------------------

    def sets(self) -> list[TagSet]:
        return self.store.all()

    def get_set(self, name_or_id: str | int) -> TagSet:
        return self.store.get(name_or_id)

    def create_set(self, tagset: TagSet) -> TagSet:
        return self.store.create(tagset)

    def update_set(self, tagset: TagSet) -> TagSet:
        """Save an edited set (labels, prompts, thresholds); auto tags of removed labels go."""
        return self.store.update(tagset)

    def delete_set(self, name: str) -> int:
        """Delete a set and its auto tags (tags set by hand stay, as free keywords).
        Returns how many auto tags went."""
        return self.store.delete(name)

    def set_threshold(self, name: str, value: float, label: str | None = None) -> TagSet:
        """How strict a set (or one label of it) is: 0 is the default, higher is stricter."""
        return self.store.set_threshold(name, value, label)

    def threshold_effect(self, name: str, value: float,
                         label: str | None = None) -> list[ThresholdEffect]:
        """What setting the strictness of a set (or of one label) to ``value`` would do, label
        by label (photos tagged now → then), before it is set: labels' margins spread
        differently, so one step keeps most of one label's photos and few of another's."""
        ts = self.store.get(name)
        return self.store.threshold_effect(ts, self._model.id, self._model.text_encoder(),
                                           value, label)

    def apply(self, name: str, folder: PathLike | None = None) -> ApplyReport:
        """Tag the library (or one of its folders) with a set now, and every new photo there
        from now on. Tags come from the stored embeddings: nothing is re-encoded."""
        ts = self.store.get(name)
        self.store.add_scope(ts, self._folders.inside(folder) or LIBRARY)
        return self.retag(ts.name)

    def unapply(self, name: str, folder: PathLike | None = None, dry_run: bool = False) -> int:
        """Stop a set: it no longer tags photos (of ``folder``; ``""``: the whole library as
        one of its scopes; None: anywhere), and the auto tags it gave there go. Tags given or
        taken off by hand stay; the set and its labels stay, to apply again. Returns how many
        auto tags went — with ``dry_run``, would go (nothing changes: what to ask first)."""
        ts = self.store.get(name)
        if folder is None or str(folder) == LIBRARY:
            where = folder if folder is None else LIBRARY
        else:
            where = self._folders.inside(folder) or LIBRARY
        return self.store.remove_scope(ts, where, dry_run)

    def retag(self, name: str) -> ApplyReport:
        """Redo a set's auto tags over its folders (after an edit or a threshold change)."""
        ts = self.store.get(name)
        if not ts.applied:
            raise PhotoclipError(f"{ts.name} is not applied to any folder yet.",
                                 cli_hint=f"Apply it: 'photoclip tagset apply {ts.name}'.")
        return self.store.apply(ts, self._model.id, self._model.text_encoder())

    def tag_new_photos(self) -> list[ApplyReport]:
        """Tag what was embedded since the applied sets last ran (the worker calls this after
        indexing). Nothing to do costs one query per applied set."""
        applied = [ts for ts in self.store.all() if ts.applied]
        if not applied:
            return []
        applied = self.store.behind(self._model.id, applied)
        if not applied:  # (nothing new: the text encoder is not loaded for nothing)
            return []
        if not self._model.search_ready():
            return []  # no model: photos are tagged when they are embedded
        try:
            vocabulary()  # (a broken install: said once per set, indexing goes on)
        except OSError as e:
            return [self.store.failed(ts, PhotoclipError(
                f"PhotoCLIP's list of everyday things cannot be read ({e}): reinstall it"))
                for ts in applied]
        return self.store.catch_up(self._model.id, self._model.text_encoder(), applied)

    # -- tags on photos ---------------------------------------------------------------------

    def set(self, photos: Sequence[PathLike | int], name: str | int,
            present: bool = True) -> int:
        """Tag (or untag) photos by hand: the user's word wins over every later auto-tagging.
        A name that is no label becomes a free keyword when tagging. Returns the tag's id."""
        ids = self._folders.photo_ids(photos)
        tag_id = name if isinstance(name, int) else \
            self.store.one_tag(name, create=present, photo_ids=ids)
        self.store.set_manual(ids, tag_id, present)
        return tag_id

    def photo_tags(self, photo: PathLike | int) -> list[PhotoTag]:
        pid = photo if isinstance(photo, int) else self._folders.photo_id(photo)
        return self.store.photo_tags(pid)

    def counts(self) -> dict[int, int]:
        """Tag id → how many photos carry it."""
        return self.store.counts()

    def keywords(self) -> list[tuple[int, str]]:
        """(tag id, name) of the free keywords (tags that belong to no set)."""
        return self.store.keywords()

    def describe(self, tag_id: int) -> str:
        """How a tag is named to the user: ``Places/beach`` for a label, "the keyword holiday"
        for a free keyword."""
        return self.store.describe_tag(tag_id)

    # -- sidecars ---------------------------------------------------------------------------

    def export_xmp(self, folder: PathLike | None = None,
                   naming: str = "ext") -> xmp.ExportReport:
        """Write tags to XMP sidecars beside the photos (the one time PhotoCLIP writes next
        to them, on request): merged into existing sidecars, never clobbering them."""
        return xmp.export_tags(self.store, self._catalog.photo_paths(self._folders.inside(folder)),
                               naming, set(self._category_names()))

    def import_xmp(self, folder: PathLike | None = None) -> xmp.ImportReport:
        """Keywords from sidecars and embedded XMP/IPTC become manual tags; what PhotoCLIP
        exported itself as automatic tags or category members is left as it is."""
        return xmp.import_tags(self.store, self._catalog.photo_paths(self._folders.inside(folder)),
                               categories=self._category_names())

