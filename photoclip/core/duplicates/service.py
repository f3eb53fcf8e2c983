"""lib.duplicates: find the same photo saved twice (and, asked for, near-identical shots),
resolve each group by keeping one photo, undo the last resolution.

    find(folder, similar)      → [Group]          (finder.py: hashes, CLIP pairs, pHash)
    resolve(groups, action)    → Resolution       (trash.py moves files; the store records)
    undo()                     → Undone
    flag_new()                 → how many newly indexed photos duplicate others (index runs)

Nothing here deletes a file: "trash" moves the others to the system trash, "mark" keeps them
and marks them (keyword "duplicate"), "distinct" remembers that a group is not duplicates.
The kept photo inherits the others' tags and category examples first, in the same
transaction that records the resolution."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np

from photoclip.core.duplicates import finder, phash
from photoclip.core.duplicates.model import (
    SAME,
    SIMILAR,
    Group,
    Member,
    Resolution,
    Undone,
    choose_keep,
)
from photoclip.core.duplicates.trash import Trashed, TrashUnavailable, restore, to_trash
from photoclip.core.errors import PhotoclipError
from photoclip.core.indexing.folders import FolderService
from photoclip.core.indexing.imageio import DecodeError, decode, open_upright, read_file
from photoclip.core.model.host import ModelHost
from photoclip.core.search.index_keeper import IndexKeeper
from photoclip.core.store.catalog import Catalog
from photoclip.core.store.duplicates import DuplicateStore, PhotoFacts

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (what, done, total)
ACTIONS = ("trash", "mark", "distinct")
_PHASH_SIDE = 256  # decoded at least this small side for a hash computed after indexing
SHARPNESS_SIDE = 512
FLAGGED_REV = "duplicates_flagged_rev"
FLAG_ONE_BY_ONE = 500  # more new photos than this: one pass over the library instead


class NothingToUndo(PhotoclipError):
    """No resolution to undo."""


class DuplicateService:
    def __init__(self, catalog: Catalog, model: ModelHost, folders: FolderService,
                 search_index: IndexKeeper, threads: int = 2):
        self.store = DuplicateStore(catalog)
        self._catalog = catalog
        self._model = model
        self._folders = folders
        self._index = search_index
        self._threads = threads or min(4, os.cpu_count() or 2)  # (0: by the CPU)
        self._lock = threading.Lock()  # (one resolution or undo at a time)

    # -- finding -------------------------------------------------------------------------------

    def find(self, folder: str | os.PathLike[str] | None = None, similar: bool = False,
             progress: Progress | None = None) -> list[Group]:
        """Groups of duplicates among the photos in ``folder`` (None: the library): the same
        photo saved more than once, and with ``similar`` near-identical shots too. The best
        photo of each group comes first (Group.reason says why). Photos already resolved
        (marked, or said not to be duplicates) are left out."""
        scope = self._folders.inside(folder)
        facts = self.store.photos(scope)
        self._fill_phashes(facts, progress)
        n = len(facts)
        if n < 2:
            return []
        rows = {f.id: i for i, f in enumerate(facts)}
        vec_rows, vecs = self._vectors(rows)
        if progress:
            progress("Comparing photos", 0, n)
        pairs = finder.near_pairs(vecs, progress=(lambda d, t: progress("Comparing photos",
                                                                        d, t))
                                  if progress else None)
        pairs = finder.Pairs(vec_rows[pairs.a], vec_rows[pairs.b], pairs.cos)
        del vecs  # (a million photos: 2 GB no longer needed)
        hashes = np.asarray([f.phash if f.phash is not None else 0 for f in facts], np.int64)
        has = np.asarray([f.phash is not None for f in facts], bool)
        not_pairs = {(rows[a], rows[b]) for a, b in self.store.distinct_pairs()
                     if a in rows and b in rows}
        not_pairs |= {(y, x) for x, y in not_pairs}
        found = finder.group(n, [f.content_hash for f in facts], hashes, has, pairs, similar,
                             not_pairs, [(f.width, f.height) for f in facts])
        groups = []
        for i, fg in enumerate(found):
            members = [facts[r] for r in fg.rows]
            if fg.kind == SIMILAR:
                if progress:
                    progress("Judging sharpness", i, len(found))
                ms = [Member.of(f, sharpness(f.path)) for f in members]
            else:
                ms = [Member.of(f) for f in members]
            ordered, reason = choose_keep(fg.kind, ms)
            groups.append(Group(fg.kind, tuple(ordered), reason))
        groups.sort(key=lambda g: (g.kind != SAME, g.keep.folder, g.keep.path))
        return groups

    def with_sharpness(self, group: Group) -> Group:
        """``group`` with every photo's sharpness measured (what the review shows)."""
        if all(m.sharpness is not None for m in group.members):
            return group
        return replace(group, members=tuple(
            m if m.sharpness is not None else replace(m, sharpness=sharpness(m.path))
            for m in group.members))

    def _vectors(self, rows: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(row numbers, vectors) of the photos with a vector of the current model."""
        try:
            model_id = self._model.id
        except PhotoclipError:
            return np.zeros(0, np.int64), np.zeros((0, 1), np.float32)
        known = np.fromiter(rows, np.int64, len(rows))  # (photo ids, ascending)
        order = np.argsort(known)
        known, at = known[order], np.fromiter(rows.values(), np.int64, len(rows))[order]
        out_rows = np.empty(len(rows), np.int64)
        out: np.ndarray | None = None  # (filled in place: no second copy of a million rows)
        n = 0
        for ids, mat in self._catalog.iter_vectors(model_id):
            pos = np.minimum(np.searchsorted(known, ids), len(known) - 1)
            keep = known[pos] == ids
            k = int(keep.sum())
            if k:
                if out is None:
                    out = np.empty((len(rows), mat.shape[1]), np.float32)
                out_rows[n:n + k] = at[pos[keep]]
                out[n:n + k] = mat[keep]
                n += k
        if out is None:
            return np.zeros(0, np.int64), np.zeros((0, 1), np.float32)
        return out_rows[:n], out[:n]

    def _fill_phashes(self, facts: list[PhotoFacts], progress: Progress | None) -> None:
        """Hash the photos indexed before hashes were kept (once: the hashes are stored)."""
        todo = [i for i, f in enumerate(facts) if f.phash is None]
        if not todo:
            return
        done = 0

        def one(i: int) -> tuple[int, int | None]:
            try:
                data = read_file(facts[i].path)
                return i, phash.phash(decode(data, min_side=_PHASH_SIDE,
                                             name=facts[i].path).image)
            except (OSError, DecodeError) as e:
                log.info("no perceptual hash for %s: %s", facts[i].path, e)
                return i, None

        pool = ThreadPoolExecutor(self._threads)
        try:
            batch: list[tuple[int, int]] = []
            for i, h in pool.map(one, todo):
                done += 1
                if h is not None:
                    facts[i] = replace(facts[i], phash=h)
                    batch.append((facts[i].id, h))
                if len(batch) >= 256 or done == len(todo):
                    self.store.set_phashes(batch)  # (kept as it goes: a stop loses little)
                    batch = []
                if progress and (done % 64 == 0 or done == len(todo)):
                    progress("Reading photos indexed before", done, len(todo))
        except BaseException:  # (a progress callback that stops the search: the photos
            pool.shutdown(wait=False, cancel_futures=True)  # queued are not read)
            raise
        pool.shutdown()

    # -- resolving -----------------------------------------------------------------------------

    def resolve(self, groups: Sequence[Group], action: str = "trash",
                progress: Progress | None = None) -> Resolution:
        """Keep the first photo of each group (Group.keeping changes it) and, by ``action``:
        move the others to the system trash ("trash"), mark them as duplicates ("mark"), or
        remember that the group is not duplicates ("distinct"). The kept photo inherits the
        others' tags set by hand and category examples. One resolution: undo takes it back."""
        if action not in ACTIONS:
            raise PhotoclipError(f"Unknown action {action!r}: use one of {', '.join(ACTIONS)}.")
        out = Resolution(action)
        with self._lock:
            done: list[tuple[int, list[int]]] = []
            trashed: list[Trashed] = []
            forget: list[int] = []
            for gi, g in enumerate(groups):
                others = [m for m in g.others]
                if action == "trash":
                    moved = []
                    for m in others:
                        try:
                            items = [to_trash(m.path)]
                            if m.companion and os.path.exists(m.companion):
                                items.append(to_trash(m.companion))
                        except TrashUnavailable as e:
                            out.problems.append(str(e))
                            continue
                        trashed += items
                        out.trashed += [t.path for t in items]
                        moved.append(m.id)
                    forget += moved
                    others = [m for m in others if m.id in moved]
                elif action == "mark":
                    out.marked += [m.path for m in others]
                if others or action == "distinct":
                    done.append((g.keep.id, [m.id for m in others]))
                    out.groups += 1
                if progress:
                    progress("Resolving", gi + 1, len(groups))
            if not done:
                return out
            data = {"groups": [[k, o] for k, o in done],
                    "trashed": [[t.path, t.in_trash] for t in trashed]}
            try:
                rid = self.store.resolve(action, done, data, forget)
            except BaseException:  # (a full or locked disk: nothing recorded, so the files
                for t in trashed:  # come back rather than lie in the trash unaccounted for)
                    why = restore(t)
                    if why:
                        log.warning("after a failed resolution: %s", why)
                raise
            if forget:
                self._index.remove(forget)
            record = self.store.last()
            if record is not None and record.id == rid:
                kept = {k for k, _ in done}
                for photo, _tag, *_rest in record.data.get("tags", []):
                    out.inherited_tags += photo in kept
                out.inherited_examples = len(record.data.get("labels", []))
        return out

    def last(self) -> str | None:
        """What undo would take back, in a few words (None: nothing)."""
        r = self.store.last()
        if r is None or r.undone:
            return None
        n = len(r.data.get("groups", []))
        what = {"trash": "moved to the trash", "mark": "marked as duplicates",
                "distinct": "kept as not duplicates"}[r.action]
        files = sum(len(o) for _, o in r.data.get("groups", []))
        if r.action == "distinct":
            return f"{n} group{'s' * (n != 1)} {what}"
        return f"{files} photo{'s' * (files != 1)} {what} ({n} group{'s' * (n != 1)})"

    def undo(self) -> Undone:
        """Take back the last resolution: its files come back from the trash (where they still
        are), marks and "not duplicates" go, and the kept photos' inherited tags and examples
        go where the user has not changed them since."""
        with self._lock:
            r = self.store.last()
            if r is None or r.undone:
                raise NothingToUndo("There is no resolution of duplicates to undo.")
            out = Undone(r.action)
            for path, in_trash in r.data.get("trashed", []):
                why = restore(Trashed(path, in_trash))
                if why is None:
                    out.restored.append(path)
                else:
                    out.problems.append(why)
            out.unmarked = sum(len(o) for _, o in r.data.get("groups", [])) \
                if r.action == "mark" else 0
            out.rows = self.store.undo(r)
        if out.restored:  # (back in the library now, with what the user made for them)
            self._folders.index_paths(out.restored)
        return out

    # -- new photos ----------------------------------------------------------------------------

    def flag_new(self) -> int:
        """How many photos indexed since the last call are the same photo as one already in
        the library (byte copies included): an index run reports it. Cheap: each new photo's
        perceptual hash is compared with every older photo's (a million in a few ms), and the
        few that are close enough are confirmed by their CLIP vectors."""
        try:
            model_id = self._model.id
        except PhotoclipError:
            return 0
        cat = self._catalog
        since = int(cat.get_meta(FLAGGED_REV, "-1") or -1)
        now = cat.max_rev()
        ids = cat.embedded_ids(model_id, since_rev=since if since >= 0 else None)
        cat.set_meta_quietly(FLAGGED_REV, str(now))
        if not len(ids):
            return 0
        if len(ids) > FLAG_ONE_BY_ONE:  # (a first index: one pass over the library)
            return self._flag_all(set(ids.tolist()))
        facts = {f.id: f for f in self.store.facts_of(ids.tolist())}
        hashed, hashes = self.store.phashes()
        vectors = self._index.vectors()
        max_bits, min_cos = finder.CUTOFFS[SAME]
        flagged = 0
        # a photo is flagged when it duplicates one catalogued before it (a smaller id):
        # each copy counted once, the first of them never
        for pid in ids.tolist():
            f = facts.get(pid)
            if f is None:
                continue
            if f.content_hash and self.store.with_content(f.content_hash, before=pid):
                flagged += 1
                continue
            if f.phash is None:
                continue
            near = hashed[(hashed < pid) & (phash.distances(hashes, np.full(1, f.phash, np.int64))
                                             <= max_bits)]
            if not len(near):
                continue
            have, vecs = vectors.get(np.concatenate([[pid], near]))
            if not len(have) or have[0] != pid:
                continue
            cos = dict(zip(have[1:].tolist(), (vecs[1:] @ vecs[0]).tolist(), strict=True))
            if any(cos.get(o.id, -1.0) >= min_cos and finder.same_shape(
                    (f.width, f.height), (o.width, o.height))
                   for o in self.store.facts_of(near.tolist())):
                flagged += 1
        return flagged

    def _flag_all(self, new: set[int]) -> int:
        """flag_new for many new photos: the library's "same photo" groups in one pass (no
        hashing of older photos: those without a hash are left to a search for duplicates),
        counting each new photo whose group holds a photo catalogued before it."""
        facts = self.store.photos(None)
        rows = {f.id: i for i, f in enumerate(facts)}
        vec_rows, vecs = self._vectors(rows)
        pairs = finder.near_pairs(vecs)
        pairs = finder.Pairs(vec_rows[pairs.a], vec_rows[pairs.b], pairs.cos)
        found = finder.group(
            len(facts), [f.content_hash for f in facts],
            np.asarray([f.phash or 0 for f in facts], np.int64),
            np.asarray([f.phash is not None for f in facts], bool), pairs, similar=False,
            shapes=[(f.width, f.height) for f in facts])
        flagged = 0
        for g in found:
            ids = sorted(facts[r].id for r in g.rows)
            flagged += sum(1 for i in ids[1:] if i in new)
        return flagged


def sharpness(path: str) -> float | None:
    """Variance of the Laplacian of the photo in grey at 512 px: how much fine detail it has
    (a shaken or out-of-focus shot of a burst scores lower). None when unreadable."""
    try:
        im = open_upright(path, SHARPNESS_SIDE).convert("L")
    except (OSError, DecodeError):
        return None
    a = np.asarray(im, np.float32)
    if a.shape[0] < 3 or a.shape[1] < 3:
        return 0.0
    lap = (a[:-2, 1:-1] + a[2:, 1:-1] + a[1:-1, :-2] + a[1:-1, 2:] - 4 * a[1:-1, 1:-1])
    return float(lap.var())
