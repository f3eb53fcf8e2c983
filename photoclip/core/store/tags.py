"""The SQL of tags (catalog migration 3): tag sets, their labels and scopes, every photo's tags,
the progress of each applied set per model, and the text vectors of labels and of the everyday
vocabulary, encoded once per wording and model and stored (table tag_vectors).

:class:`TagStore` is what ``lib.tags.store`` is; the data it reads and writes is in
core/tags/model.py, the decision which label a photo gets in core/tags/scoring.py, and the
prompts and vocabulary in core/model/text.py. ``label_id`` and ``keyword_in`` are the two
look-ups the user-data journal (core/store/userdata.py) shares.

Photo tags are 'auto' (confidence, model), 'manual', or 'removed' (a tombstone): re-applying,
changing a threshold or switching the model only ever replaces 'auto' rows, so a manual tag or
a removal always wins.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from photoclip.core import names
from photoclip.core.errors import NotFound, PhotoclipError
from photoclip.core.model.protocols import TextEncoder
from photoclip.core.model.text import (
    BACKGROUND_PROMPTS,
    VOCABULARY_TEMPLATE,
    encode,
    ensemble,
    label_vector,
    search_alternatives,
    vocabulary,
)
from photoclip.core.paths import from_db, is_within, shown, to_db
from photoclip.core.store.catalog import Catalog, prefix_range
from photoclip.core.store.schema import new_id
from photoclip.core.store.vectors import VectorView, view_from_catalog
from photoclip.core.tags.model import (
    LIBRARY,
    ApplyReport,
    Ids,
    Label,
    PhotoTag,
    Tags,
    TagSet,
    ThresholdEffect,
    check_context,
    clean_label,
    label_named,
)
from photoclip.core.tags.scoring import (
    CHUNK,
    Floats,
    Scorer,
    excluded,
    finite_threshold,
    scored_chunks,
)

log = logging.getLogger(__name__)

# Ids bound in one "IN (...)" (SQLite allows 999 parameters a statement, a few go to the rest).
# An apply to at most this many photos also looks their old tags up by id, and lets SQLite
# check the references of what it writes; a bigger one reads all and checks them itself.
IN_MAX = 900


def label_id(conn: sqlite3.Connection, set_name: str, label: str) -> int | None:
    """The id of the label ``set_name/label`` (names compared by their keys), or None."""
    r = conn.execute("SELECT t.id FROM tags t JOIN tagsets s ON s.id = t.tagset_id "
                     "WHERE s.name_key=? AND t.name_key=?",
                     (names.key(set_name), names.key(label))).fetchone()
    return r[0] if r else None


def keyword_in(tx: sqlite3.Connection, name: str) -> int:
    """The free keyword ``name`` (already clean): found, or made (call in a transaction)."""
    key = names.key(name)
    r = tx.execute("SELECT id FROM tags WHERE tagset_id IS NULL AND name_key=?",
                   (key,)).fetchone()
    if r is not None:
        return int(r[0])
    tag_id = new_id(tx, "tags")
    tx.execute("INSERT INTO tags(id, tagset_id, name, name_key) VALUES (?, NULL, ?, ?)",
               (tag_id, name, key))
    return tag_id



class TagStore:
    """Tag sets, their labels and every photo's tags, in the catalog (see catalog.py's
    migration 3). Thread-safe as the catalog is: reads anywhere, writes in transactions."""

    def __init__(self, catalog: Catalog,
                 vectors: Callable[[str], VectorView] | None = None) -> None:
        """``vectors``: a model's vectors now (the library's vector file; without it, read
        from the catalog)."""
        self.catalog = catalog
        self._view = vectors or (lambda model_id: view_from_catalog(catalog, model_id))
        self._background: dict[str, Floats] = {}  # model id -> "none of these" vector

    # -- sets --------------------------------------------------------------------------------

    def create(self, tagset: TagSet) -> TagSet:
        name, context = self._checked(tagset)
        with self.catalog.transaction() as tx:
            if tx.execute("SELECT 1 FROM tagsets WHERE name_key=?",
                          (names.key(name),)).fetchone():
                raise PhotoclipError(f"There is already a tag set called {name}: choose another "
                                     "name, or change that one.")
            set_id = new_id(tx, "tagsets")
            tx.execute(
                "INSERT INTO tagsets(id, name, name_key, exclusive, context, threshold, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (set_id, name, names.key(name), int(tagset.exclusive), context,
                 finite_threshold(tagset.threshold), time.time()))
            self._insert_labels(tx, set_id, tagset.labels, 0)
        return self.get(set_id)

    @staticmethod
    def _checked(tagset: TagSet) -> tuple[str, str]:
        """(name, context) of a set about to be saved, checked by the one name rule; its
        labels' names cleaned in place. PhotoclipError says what is wrong."""
        name = names.clean(tagset.name, "A tag set's name")
        if "/" in name or "|" in name:
            raise PhotoclipError(f"'{name}' cannot name a tag set: use a name without "
                                 "'/' or '|'.")
        if not tagset.labels:
            raise PhotoclipError(f"The tag set {name} needs at least one label.")
        context = check_context(tagset.context)
        seen = set()
        for lb in tagset.labels:
            lb.name = clean_label(lb.name)
            if names.key(lb.name) in seen:
                raise PhotoclipError(f"'{lb.name}' is twice in {name}.")
            seen.add(names.key(lb.name))
            if lb.threshold is not None:
                lb.threshold = finite_threshold(lb.threshold)
        return name, context

    @staticmethod
    def _insert_labels(tx: sqlite3.Connection, set_id: int, labels: Iterable[Label],
                       first: int) -> None:
        for pos, lb in enumerate(labels, first):
            tx.execute(
                "INSERT INTO tags(id, tagset_id, name, name_key, synonyms, prompts, threshold, "
                "position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (new_id(tx, "tags"), set_id, lb.name, names.key(lb.name),
                 json.dumps(lb.synonyms), json.dumps(lb.prompts), lb.threshold, pos))

    def update(self, tagset: TagSet) -> TagSet:
        """Save an edited set (labels matched by id; new ones added, missing ones deleted
        with their tags). Its auto tags are redone by the next apply."""
        if tagset.id is None:
            raise PhotoclipError("This tag set has not been created yet.")
        name, context = self._checked(tagset)
        with self.catalog.transaction() as tx:
            if tx.execute("SELECT 1 FROM tagsets WHERE name_key=? AND id != ?",
                          (names.key(name), tagset.id)).fetchone():
                raise PhotoclipError(f"There is already a tag set called {name}.")
            tx.execute("UPDATE tagsets SET name=?, name_key=?, exclusive=?, context=?, "
                       "threshold=?, problem=NULL WHERE id=?",
                       (name, names.key(name), int(tagset.exclusive), context,
                        finite_threshold(tagset.threshold), tagset.id))
            keep = {lb.id for lb in tagset.labels if lb.id is not None}
            for (tid,) in tx.execute("SELECT id FROM tags WHERE tagset_id=?",
                                     (tagset.id,)).fetchall():
                if tid not in keep:
                    tx.execute("DELETE FROM tags WHERE id=?", (tid,))
            for pos, lb in enumerate(tagset.labels):
                if lb.id is None:
                    self._insert_labels(tx, tagset.id, [lb], pos)
                else:
                    tx.execute("UPDATE tags SET name=?, name_key=?, synonyms=?, prompts=?, "
                               "threshold=?, position=? WHERE id=?",
                               (lb.name, names.key(lb.name), json.dumps(lb.synonyms),
                                json.dumps(lb.prompts), lb.threshold, pos, lb.id))
        return self.get(tagset.id)

    def delete(self, name: str) -> int:
        """Delete a set with its labels and their tags (manual ones too); returns the number
        of photo tags dropped."""
        ts = self.get(name)
        with self.catalog.transaction() as tx:
            n: int = tx.execute(
                "SELECT COUNT(*) FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
                "WHERE t.tagset_id=? AND pt.source != 'removed'", (ts.id,)).fetchone()[0]
            tx.execute("DELETE FROM tagsets WHERE id=?", (ts.id,))
        return n

    def all(self) -> list[TagSet]:
        rows = self.catalog.conn.execute(
            "SELECT id FROM tagsets ORDER BY name COLLATE NOCASE").fetchall()
        return [self.get(r[0]) for r in rows]

    def get(self, name_or_id: str | int) -> TagSet:
        conn = self.catalog.conn
        arg: str | int
        if isinstance(name_or_id, int):
            where, arg = "id", name_or_id
        else:
            where, arg = "name_key", names.key(name_or_id)
        r = conn.execute(f"SELECT id, name, exclusive, context, threshold, problem "
                         f"FROM tagsets WHERE {where}=?", (arg,)).fetchone()
        if r is None:
            known = ", ".join(t[0] for t in conn.execute(
                "SELECT name FROM tagsets ORDER BY name COLLATE NOCASE")) or "none yet"
            raise NotFound(f"There is no tag set called {names.printable(str(name_or_id))} "
                           f"(tag sets: {known}).")
        labels = [Label(x[1], json.loads(x[2]), json.loads(x[3]), x[4], x[0])
                  for x in conn.execute("SELECT id, name, synonyms, prompts, threshold FROM tags "
                                        "WHERE tagset_id=? ORDER BY position, id", (r[0],))]
        scopes = [x[0] for x in conn.execute(
            "SELECT folder FROM tag_scopes WHERE tagset_id=? ORDER BY folder", (r[0],))]
        return TagSet(r[1], labels, bool(r[2]), r[3], r[4], scopes, r[0], problem=r[5])

    def set_threshold(self, name: str, value: float, label: str | None = None) -> TagSet:
        """Make a set (or one label) stricter or looser; the next apply redoes its tags."""
        ts = self.get(name)
        value = finite_threshold(value)
        with self.catalog.transaction() as tx:
            if label is None:
                tx.execute("UPDATE tagsets SET threshold=? WHERE id=?", (value, ts.id))
            else:
                lb = label_named(ts, label)
                tx.execute("UPDATE tags SET threshold=? WHERE id=?", (value, lb.id))
        return self.get(ts.name)

    def add_scope(self, ts: TagSet, folder: str = LIBRARY) -> None:
        """Apply a set to a folder ('' = the whole library) from now on."""
        with self.catalog.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO tag_scopes(tagset_id, folder) VALUES (?, ?)",
                       (ts.id, to_db(folder) if folder else LIBRARY))

    def remove_scope(self, ts: TagSet, folder: str | None = None, dry_run: bool = False) -> int:
        """Stop applying a set (to one of its folders, or everywhere: ``folder`` None) and take
        off the auto tags it gave there; manual tags and removals stay. Returns how many auto
        tags went (with ``dry_run``: would go; nothing is changed). A folder it is not applied
        to is said in one sentence."""
        try:
            with self.catalog.transaction() as tx:
                gone = self._remove_scope(tx, ts, folder)
                if dry_run:
                    raise _DryRun(gone)
        except _DryRun as done:
            return done.count
        return gone

    def _remove_scope(self, tx: sqlite3.Connection, ts: TagSet, folder: str | None) -> int:
        scopes = list(ts.scopes) if folder is None else [to_db(folder) if folder else LIBRARY]
        known = {to_db(s) if s else LIBRARY for s in ts.scopes}
        missing = [s for s in scopes if s not in known]
        if missing:
            where = "the whole library" if missing[0] == LIBRARY else shown(missing[0])
            applied = ", ".join("the library" if s == LIBRARY else shown(s) for s in ts.scopes)
            raise PhotoclipError(f"{ts.name} is not applied to {where} "
                                 f"({'applied to ' + applied if applied else 'not applied'}).")
        label_ids = [lb.id for lb in ts.labels if lb.id is not None]
        marks = ",".join("?" * len(label_ids))
        tx.executemany("DELETE FROM tag_scopes WHERE tagset_id=? AND folder=?",
                       [(ts.id, s) for s in scopes])
        left = [r[0] for r in tx.execute("SELECT folder FROM tag_scopes WHERE tagset_id=?",
                                         (ts.id,))]
        if not label_ids:
            return 0
        if not left:  # applied nowhere now: every auto tag of the set goes
            cur = tx.execute(f"DELETE FROM photo_tags WHERE source='auto' "
                             f"AND tag_id IN ({marks})", label_ids)
            tx.execute("DELETE FROM tag_progress WHERE tagset_id=?", (ts.id,))
            return cur.rowcount
        if LIBRARY in left:
            return 0  # (still applied to the whole library: its tags stay)
        gone = 0
        for scope in scopes:
            if scope == LIBRARY:  # its tags stay only inside the folders it still has
                keep = " OR ".join("(p.path >= ? AND p.path < ?)" for _ in left)
                args = [a for f in left for a in prefix_range(f)]
                cur = tx.execute(
                    f"DELETE FROM photo_tags WHERE source='auto' AND tag_id IN ({marks}) "
                    f"AND photo_id NOT IN (SELECT p.id FROM photos p WHERE {keep})",
                    [*label_ids, *args])
            else:  # its tags go from that folder, but not from folders it still has
                inside = [f for f in left if is_within(from_db(f), from_db(scope))]
                keep = "".join(" AND NOT (p.path >= ? AND p.path < ?)" for _ in inside)
                args = [a for f in inside for a in prefix_range(f)]
                lo, hi = prefix_range(scope)
                cur = tx.execute(
                    f"DELETE FROM photo_tags WHERE source='auto' AND tag_id IN ({marks}) "
                    f"AND photo_id IN (SELECT p.id FROM photos p WHERE p.path >= ? "
                    f"AND p.path < ?{keep})", [*label_ids, lo, hi, *args])
            gone += cur.rowcount
        return gone

    # -- tagging -----------------------------------------------------------------------------

    def apply(self, ts: TagSet, model_id: str, encoder: TextEncoder,
              ids: Ids | None = None) -> ApplyReport:
        """Tag the photos of ``ts``'s scope (or only ``ids``) from their stored embeddings.
        Auto tags of the scored photos are replaced; manual tags and removals stay.

        One transaction, opened once the label vectors are ready: each chunk's tags are
        written while the next chunks are scored (690k new tags at a million photos took the
        sum of scoring and writing, 2.8 s + 6.8 s, before they overlapped)."""
        t0 = time.perf_counter()
        report = ApplyReport(ts.name)
        rev = self.catalog.max_rev()  # read before the vectors: later ones are caught up
        chunks = self._scope_vectors(ts, model_id, ids)  # (read as they are scored)
        scorer = self.scorer(ts, model_id, encoder)
        tag_ids = np.array([lb.id for lb in ts.labels], np.int64)
        # Many photos: the rows' references are checked here, once, not by SQLite row by row
        many = ids is None or len(ids) > IN_MAX
        with self.catalog.bulk_transaction(foreign_keys=not many) as tx:
            # the set, or some of its labels, may have been deleted while its label vectors
            # were made: nothing goes to them (ids are never reused, so no newer set gets them)
            alive = {r[0] for r in tx.execute("SELECT id FROM tags WHERE tagset_id=?",
                                              (ts.id,))}
            if not alive:
                return report
            live = tag_ids[np.isin(tag_ids, list(alive))]
            # (and photos removed since the vectors were listed get none)
            writer = _AutoTagWriter(tx, live, model_id, ids,
                                    self.catalog.photo_ids() if many else None)
            for chunk_ids, new in scored_chunks(scorer, chunks, tag_ids):
                if len(live) < len(tag_ids):
                    new = new.take(np.isin(new.tags, live))
                writer.write(chunk_ids, new)
            # the auto tags are now this model's: progress with any other model is void (a
            # switch back to it tags everything again)
            tx.execute("DELETE FROM tag_progress WHERE tagset_id=? AND model != ?",
                       (ts.id, model_id))
            tx.execute("INSERT INTO tag_progress(tagset_id, model, rev) VALUES (?, ?, ?) "
                       "ON CONFLICT(tagset_id, model) DO UPDATE SET rev=max(rev, excluded.rev)",
                       (ts.id, model_id, rev))
            tx.execute("UPDATE tagsets SET problem=NULL WHERE id=? AND problem IS NOT NULL",
                       (ts.id,))
        report.photos, report.tagged = writer.scored, writer.given
        report.seconds = time.perf_counter() - t0
        return report

    def behind(self, model_id: str, tagsets: list[TagSet]) -> list[TagSet]:
        """The applied sets with photos to tag: embedded since the set last ran with this
        model, or all of them when it never did."""
        out = []
        for ts in tagsets:
            progress = self.catalog.conn.execute(
                "SELECT rev FROM tag_progress WHERE tagset_id=? AND model=?",
                (ts.id, model_id)).fetchone()
            if ts.applied and (progress is None or len(self.catalog.embedded_ids(
                    model_id, ts.scopes, since_rev=progress[0]))):
                out.append(ts)
        return out

    def catch_up(self, model_id: str, encoder: TextEncoder,
                 tagsets: list[TagSet] | None = None) -> list[ApplyReport]:
        """Tag the photos embedded since each applied set last ran with this model (new,
        changed or re-encoded photos in its folders); a set that never ran with this model —
        a model switch, or an apply that was interrupted — is applied whole. A set that
        fails is noted on that set (``problem``, reported once: ``ApplyReport.problem`` only
        when it is new) and the others go on."""
        out = []
        for ts in self.all() if tagsets is None else tagsets:
            if not ts.applied:
                continue
            try:
                progress = self.catalog.conn.execute(
                    "SELECT rev FROM tag_progress WHERE tagset_id=? AND model=?",
                    (ts.id, model_id)).fetchone()
                new = None
                if progress is not None:
                    new = self.catalog.embedded_ids(model_id, ts.scopes, since_rev=progress[0])
                    if not len(new):
                        continue
                out.append(self.apply(ts, model_id, encoder, new))
            except sqlite3.OperationalError:
                raise  # (a full disk or a lock is the library's trouble, not this set's)
            except Exception as e:  # whatever one set does wrong, the others go on
                out.append(self.failed(ts, e))
        return out

    def failed(self, ts: TagSet, err: Exception) -> ApplyReport:
        """Note why a set could not tag photos (on the set); a report that carries the
        reason only the first time it happens."""
        why = str(err) if isinstance(err, PhotoclipError) else f"{type(err).__name__}: {err}"
        report = ApplyReport(ts.name)
        if why != ts.problem:
            log.warning("tag set %s could not tag photos: %s", ts.name, why)
            report.problem = why
            try:
                with self.catalog.transaction() as tx:
                    tx.execute("UPDATE tagsets SET problem=? WHERE id=?", (why, ts.id))
            except sqlite3.Error as e:
                log.info("problem of tag set %s not noted: %s", ts.name, e)
        return report

    def _scope_vectors(self, ts: TagSet, model_id: str,
                       ids: Ids | None = None) -> Iterable[tuple[Ids, Floats]]:
        """(ids, vectors) in chunks: of ``ids``, else of the set's folders — the whole library
        (one scan, read while scoring) when it is applied there or not applied at all."""
        view = self._view(model_id)
        if ids is None and (LIBRARY in ts.scopes or not ts.applied):
            return view.chunks(CHUNK, reuse=False)
        if ids is None:
            ids = self.catalog.embedded_ids(model_id, ts.scopes)
        return (view.get(ids[i:i + CHUNK]) for i in range(0, len(ids), CHUNK))

    def threshold_effect(self, ts: TagSet, model_id: str, encoder: TextEncoder, value: float,
                         label: str | None = None) -> list[ThresholdEffect]:
        """Label by label, how many photos of the set's folders (the library when it is not
        applied) it tags now and would tag were its strictness ``value`` (the set's, or one
        label's): a step stricter keeps far more of one label than of another, since labels'
        margins spread differently; this says so before the step is taken. Scored from the
        stored embeddings, nothing written."""
        value = finite_threshold(value)
        now = self.scorer(ts, model_id, encoder)
        moved = [(label is None and lb.threshold is None)
                 or (label is not None and lb.id == label_named(ts, label).id)
                 for lb in ts.labels]
        then = replace(now, thresholds=np.where(moved, np.float32(value), now.thresholds))
        k = len(ts.labels)
        counts = np.zeros((2, k), np.int64)
        for _, vectors in self._scope_vectors(ts, model_id):
            for row, scorer in enumerate((now, then)):
                counts[row] += np.bincount(scorer.decide(vectors)[1], minlength=k)
        return [ThresholdEffect(lb.name, int(counts[0, i]), int(counts[1, i]),
                                lb.threshold is not None)
                for i, lb in enumerate(ts.labels)]

    def scorer(self, ts: TagSet, model_id: str, encoder: TextEncoder) -> Scorer:
        words = vocabulary()
        return Scorer(
            labels=self._label_vectors(ts, model_id, encoder),
            excluded=np.stack([excluded(lb, words) for lb in ts.labels]),
            vocabulary=self.vocabulary_vectors(model_id, encoder, words),
            anchor=self._anchor(model_id, encoder), scale=float(encoder.logit_scale),
            thresholds=np.array([ts.threshold_of(lb) for lb in ts.labels], np.float32),
            exclusive=ts.exclusive)

    def _label_vectors(self, ts: TagSet, model_id: str, encoder: TextEncoder) -> Floats:
        """The set's label vectors with ``model_id`` (K × D): each the ensemble of its
        prompts, encoded once per wording and model and stored. The labels to encode are
        encoded together (a new 50-label set: 600 prompts in batches of one length)."""
        prompts = [ts.prompts(lb) for lb in ts.labels]
        keys = [_prompts_key(p) for p in prompts]
        ids = [lb.id or 0 for lb in ts.labels]
        stored = {r[0]: (r[1], r[2]) for r in self.catalog.conn.execute(
            f"SELECT tag_id, prompts_key, vectors FROM tag_vectors WHERE model=? "
            f"AND tag_id IN ({','.join('?' * len(ids))})", [model_id, *ids])}
        out = np.empty((len(ts.labels), encoder.dim), np.float32)
        missing = []
        for i, (tag_id, key) in enumerate(zip(ids, keys, strict=True)):
            if stored.get(tag_id, ("",))[0] == key:
                out[i] = np.frombuffer(stored[tag_id][1], np.float32)
            else:
                missing.append(i)
        if missing:
            vectors = encode(encoder, [p for i in missing for p in prompts[i]])
            at = np.cumsum([0, *(len(prompts[i]) for i in missing)])
            for n, i in enumerate(missing):
                out[i] = ensemble(vectors[at[n]:at[n + 1]])
            self._store_vectors([(ids[i], keys[i], out[i:i + 1]) for i in missing], model_id)
        return out

    def _vectors(self, tag_id: int | None, model_id: str, encoder: TextEncoder,
                 prompts: Sequence[str]) -> Floats:
        """One text vector per prompt with ``model_id``, encoded once per wording and model
        and stored (``tag_id`` None: the vocabulary's row)."""
        key = _prompts_key(prompts)
        r = self.catalog.conn.execute(
            "SELECT prompts_key, vectors FROM tag_vectors WHERE ifnull(tag_id, 0)=? AND model=?",
            (tag_id or 0, model_id)).fetchone()
        if r is not None and r[0] == key:
            return np.frombuffer(r[1], np.float32).reshape(-1, encoder.dim)
        vectors = encode(encoder, prompts)
        self._store_vectors([(tag_id, key, vectors)], model_id)
        return vectors

    def _store_vectors(self, rows: list[tuple[int | None, str, Floats]], model_id: str) -> None:
        """Keep text vectors (tag id, prompts' key, vectors) for next time, in one write."""
        try:
            with self.catalog.transaction() as tx:
                for tag_id, key, vectors in rows:
                    tx.execute("DELETE FROM tag_vectors WHERE ifnull(tag_id, 0)=? AND model=?",
                               (tag_id or 0, model_id))
                    tx.execute("INSERT INTO tag_vectors(tag_id, model, prompts_key, vectors) "
                               "VALUES (?, ?, ?, ?)",
                               (tag_id or None, model_id, key, vectors.tobytes()))
        except (sqlite3.OperationalError, sqlite3.IntegrityError) as e:
            # a read-only data folder (encoded again next time), or a label deleted meanwhile
            log.info("text vectors not stored: %s", e)

    def vocabulary_vectors(self, model_id: str, encoder: TextEncoder,
                           words: Sequence[str]) -> Floats:
        """The text vectors of ``words`` — everyday alternatives, nonsense — one per word.
        Stored once per model for every word a search or a tag set rates against (tag sets
        use some, searches all: each stored its own list in the one row, and a search after
        tagging encoded all 257 again, 2-3 s on two cores)."""
        every = search_alternatives()
        stored = self._vectors(None, model_id, encoder,
                               [VOCABULARY_TEMPLATE.format(w) for w in every])
        at = {w: i for i, w in enumerate(every)}
        if all(w in at for w in words):
            return stored[[at[w] for w in words]]
        return encode(encoder, [VOCABULARY_TEMPLATE.format(w) for w in words])

    def _anchor(self, model_id: str, encoder: TextEncoder) -> Floats:
        v = self._background.get(model_id)
        if v is None:
            v = self._background[model_id] = label_vector(encoder, BACKGROUND_PROMPTS)
        return v

    # -- a photo's tags ----------------------------------------------------------------------

    def resolve(self, name: str, create: bool = False) -> list[int]:
        """Tag ids a name means: ``Set/label`` (or ``Set|label``) when Set is a tag set with
        that label, else every label and free keyword called exactly ``name`` (a keyword
        may hold '/': "AC/DC"). With ``create``, an unknown name becomes a free keyword."""
        name = names.clean(name, "A tag's name")
        conn = self.catalog.conn
        for sep in ("/", "|"):
            if sep in name:
                set_name, _, label = (x.strip() for x in name.partition(sep))
                found = label_id(conn, set_name, label)
                if found is not None:
                    return [found]
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM tags WHERE name_key=? ORDER BY tagset_id IS NOT NULL, id",
            (names.key(name),))]
        if ids or not create:
            if not ids and any(sep in name for sep in "/|"):
                set_name = name.replace("|", "/").partition("/")[0].strip()
                self.get(set_name)  # (says which sets there are when it is none)
                label_named(self.get(set_name), name.replace("|", "/").partition("/")[2])
            return ids
        return [self._new_keyword(name)]

    def one_tag(self, name: str, create: bool, photo_ids: Sequence[int] = ()) -> int:
        """The one tag ``name`` means. When it could mean several (a label of two sets, or a
        label and a free keyword of the same name), the one these photos carry is meant;
        else the free keyword; else the user is asked to say which."""
        ids = self.resolve(name, create=create)
        if not ids:
            raise NotFound(f"No photo carries a tag called {names.printable(name)}.")
        if len(ids) > 1 and photo_ids:
            carried = self._carried(ids, photo_ids)
            if len(carried) == 1:
                return carried[0]
        if len(ids) > 1:
            kinds = self._set_names(ids)
            if kinds.count("(keyword)") == 1:
                return ids[kinds.index("(keyword)")]
            sets = ", ".join(f"{s}/{name}" for s in kinds)
            raise PhotoclipError(f"'{name}' is a label of several tag sets: say which ({sets}).")
        return ids[0]

    def describe_tag(self, tag_id: int) -> str:
        """``Places/beach`` for a label, ``the keyword AC/DC`` for a free keyword."""
        r = self.catalog.conn.execute(
            "SELECT t.name, s.name FROM tags t LEFT JOIN tagsets s ON s.id = t.tagset_id "
            "WHERE t.id=?", (tag_id,)).fetchone()
        if r is None:
            return f"tag #{tag_id}"
        return f"{r[1]}/{r[0]}" if r[1] else f"the keyword {r[0]}"

    def _carried(self, tag_ids: Sequence[int], photo_ids: Sequence[int]) -> list[int]:
        """Which of ``tag_ids`` any of these photos carries (or had taken off)."""
        t = ",".join("?" * len(tag_ids))
        out: set[int] = set()
        ids = list(photo_ids)
        for k in range(0, len(ids), IN_MAX):
            part = ids[k:k + IN_MAX]
            out |= {r[0] for r in self.catalog.conn.execute(
                f"SELECT DISTINCT tag_id FROM photo_tags WHERE tag_id IN ({t}) AND photo_id "
                f"IN ({','.join('?' * len(part))})", [*tag_ids, *part])}
        return [i for i in tag_ids if i in out]

    def _set_names(self, tag_ids: Sequence[int]) -> list[str]:
        marks = ",".join("?" * len(tag_ids))
        by_id = dict(self.catalog.conn.execute(
            f"SELECT t.id, s.name FROM tags t LEFT JOIN tagsets s ON s.id = t.tagset_id "
            f"WHERE t.id IN ({marks})", list(tag_ids)).fetchall())
        return [by_id.get(i) or "(keyword)" for i in tag_ids]

    def set_manual(self, photo_ids: Sequence[int], tag_id: int, present: bool) -> None:
        """The user's word on a tag: added (manual) or taken off (a tombstone)."""
        source = "manual" if present else "removed"
        with self.catalog.transaction() as tx:
            tx.executemany(
                "INSERT INTO photo_tags(photo_id, tag_id, source, confidence, model) "
                "VALUES (?, ?, ?, NULL, NULL) ON CONFLICT(photo_id, tag_id) DO UPDATE SET "
                "source=excluded.source, confidence=NULL, model=NULL",
                ((int(p), tag_id, source) for p in photo_ids))

    def keyword_ids(self, keywords: Sequence[str]) -> list[int]:
        """Tag ids of imported flat keywords: the free keyword of that name, else the one
        label of that name when only one has it, else a new free keyword. The new ones are
        made in one transaction (an imported sidecar can hold thousands)."""
        out: list[int | None] = []
        missing: dict[str, str] = {}
        conn = self.catalog.conn
        for kw in keywords:
            try:
                name = names.clean(kw, "A keyword")
            except PhotoclipError:
                out.append(None)
                continue
            key = names.key(name)
            r = conn.execute("SELECT id FROM tags WHERE tagset_id IS NULL AND name_key=?",
                             (key,)).fetchone()
            if r is None:
                labels = [x[0] for x in conn.execute("SELECT id FROM tags WHERE name_key=?",
                                                     (key,))]
                r = (labels[0],) if len(labels) == 1 else None
            out.append(r[0] if r is not None else None)
            if r is None:
                missing.setdefault(key, name)
        if missing:
            with self.catalog.transaction() as tx:
                made = {key: keyword_in(tx, name) for key, name in missing.items()}
            out = [made.get(names.key(kw)) if i is None and kw.strip() else i
                   for kw, i in zip(keywords, out, strict=True)]
        return [i for i in out if i is not None]

    def import_manual_many(self, photo_id: int, tag_ids: Sequence[int]) -> int:
        """Imported keywords of one photo, in one transaction: manual, unless the user removed
        one here. Returns how many tags the photo gained (or had confirmed)."""
        with self.catalog.transaction() as tx:
            n = 0
            for tag_id in dict.fromkeys(tag_ids):
                n += tx.execute(
                    "INSERT INTO photo_tags(photo_id, tag_id, source, confidence, model) "
                    "VALUES (?, ?, 'manual', NULL, NULL) ON CONFLICT(photo_id, tag_id) DO "
                    "UPDATE SET source='manual', confidence=NULL, model=NULL "
                    "WHERE source='auto'", (photo_id, tag_id)).rowcount
            return n

    def _new_keyword(self, name: str) -> int:
        with self.catalog.transaction() as tx:
            return keyword_in(tx, names.clean(name, "A keyword"))

    def photo_tags(self, photo_id: int) -> list[PhotoTag]:
        rows = self.catalog.conn.execute(
            "SELECT t.id, t.name, s.name, pt.source, pt.confidence, pt.model "
            "FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
            "LEFT JOIN tagsets s ON s.id = t.tagset_id "
            "WHERE pt.photo_id=? AND pt.source != 'removed' "
            "ORDER BY s.name IS NULL, s.name COLLATE NOCASE, t.position, t.name", (photo_id,))
        return [PhotoTag(*r) for r in rows]

    def tagged_photos(self, tag_ids: Sequence[int],
                      limit: int | None = None) -> list[tuple[int, float]]:
        """(photo id, confidence) of the photos carrying any of ``tag_ids``: manual ones
        first (confidence 1), then the most confident. With a ``limit``, read straight off
        the (tag, source, confidence) index: milliseconds for any number of carriers."""
        conn = self.catalog.conn
        if limit is None:
            marks = ",".join("?" * len(tag_ids))
            return conn.execute(
                f"SELECT photo_id, max(CASE source WHEN 'manual' THEN 1.0 ELSE confidence END) c "
                f"FROM photo_tags WHERE tag_id IN ({marks}) AND source != 'removed' "
                f"GROUP BY photo_id ORDER BY c DESC, photo_id", list(tag_ids)).fetchall()
        best: dict[int, float] = {}
        for tid in tag_ids:
            rows = conn.execute(
                "SELECT photo_id, 1.0 FROM photo_tags WHERE tag_id=? AND source='manual' "
                "LIMIT ?", (tid, limit)).fetchall()
            if len(rows) < limit:
                rows += conn.execute(
                    "SELECT photo_id, confidence FROM photo_tags WHERE tag_id=? "
                    "AND source='auto' ORDER BY confidence DESC LIMIT ?",
                    (tid, limit - len(rows))).fetchall()
            for pid, c in rows:
                best[pid] = max(c, best.get(pid, -1.0))
        return sorted(best.items(), key=lambda x: (-x[1], x[0]))[:limit]

    def tagged_ids(self, tag_ids: Sequence[int]) -> Ids:
        marks = ",".join("?" * len(tag_ids))
        rows = self.catalog.conn.execute(
            f"SELECT DISTINCT photo_id FROM photo_tags WHERE tag_id IN ({marks}) "
            "AND source != 'removed'", list(tag_ids))
        return np.fromiter((r[0] for r in rows), np.int64)

    def counts(self) -> dict[int, int]:
        """tag id -> photos carrying it."""
        return dict(self.catalog.conn.execute(
            "SELECT tag_id, COUNT(*) FROM photo_tags WHERE source != 'removed' "
            "GROUP BY tag_id").fetchall())

    def keywords(self) -> list[tuple[int, str]]:
        """Free keywords (no set): (id, name)."""
        return self.catalog.conn.execute(
            "SELECT id, name FROM tags WHERE tagset_id IS NULL "
            "ORDER BY name COLLATE NOCASE").fetchall()

    def removed_names(self, photo_id: int) -> list[list[str]]:
        """The tags the user took off this photo, as [set, label] or [keyword]."""
        rows = self.catalog.conn.execute(
            "SELECT t.name, s.name FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
            "LEFT JOIN tagsets s ON s.id = t.tagset_id "
            "WHERE pt.photo_id=? AND pt.source = 'removed'", (photo_id,))
        return [[s, n] if s else [n] for n, s in rows]


class _DryRun(Exception):
    """Rolls a transaction back with what it would have done."""

    def __init__(self, count: int):
        super().__init__(count)
        self.count = count


class _AutoTagWriter:
    """Makes the scored photos' auto tags of some labels exactly what scoring gave them, a
    chunk of photos at a time inside one transaction, writing only the difference (a
    re-apply or a threshold change touches few rows). A manual tag or a removal holds its
    (photo, tag) key: the auto one is not written, nor counted as given."""

    def __init__(self, tx: sqlite3.Connection, tag_ids: Ids, model_id: str,
                 ids: Ids | None = None, photos: Ids | None = None):
        """``photos``: the ids of every photo, ascending, when SQLite does not check the
        references (tags of any other photo are not written)."""
        self._tx, self._model_id, self._photos = tx, model_id, photos
        self.scored = self.given = 0
        marks = ",".join("?" * len(tag_ids))
        if ids is not None and len(ids) <= IN_MAX:  # a few new photos: look theirs up
            rows = tx.execute(
                f"SELECT photo_id, tag_id, confidence, model = ? FROM photo_tags "
                f"WHERE source='auto' AND tag_id IN ({marks}) "
                f"AND photo_id IN ({','.join('?' * len(ids))})",
                [model_id, *tag_ids.tolist(), *ids.tolist()]).fetchall()
        else:
            rows = tx.execute(f"SELECT photo_id, tag_id, confidence, model = ? FROM photo_tags "
                              f"WHERE source='auto' AND tag_id IN ({marks})",
                              [model_id, *tag_ids.tolist()]).fetchall()
        before = Tags.from_rows(rows)
        order = np.argsort(before.keys(), kind="stable")  # by photo: a chunk's are found fast
        self._before = before.take(order)
        self._same_model = np.fromiter((r[3] for r in rows), bool, len(rows))[order]
        self._removed = np.sort(np.fromiter(
            ((p << 24) | t for p, t in tx.execute(
                f"SELECT photo_id, tag_id FROM photo_tags WHERE source='removed' "
                f"AND tag_id IN ({marks})", tag_ids.tolist())), np.int64))

    def write(self, scored: Ids, new: Tags) -> None:
        """The auto tags of the photos ``scored`` become ``new``."""
        tx, model_id = self._tx, self._model_id
        self.scored += len(scored)
        if not len(scored):
            return
        if self._photos is not None:  # (a photo removed since its vector was read)
            new = new.take(_within(new.photos, self._photos))
        photos = self._before.photos
        lo, hi = np.searchsorted(photos, [scored.min(), scored.max() + 1])
        at = lo + np.flatnonzero(np.isin(photos[lo:hi], scored))
        before, same_model = self._before.take(at), self._same_model[at]
        # another model's auto tags of the scored photos are replaced by this model's
        other = before.take(~same_model)
        before = before.take(same_model)
        old_keys, new_keys = before.keys(), new.keys()
        gone = before.take(~np.isin(old_keys, new_keys))
        added = new.take(~np.isin(new_keys, old_keys))
        both_new = new.take(np.isin(new_keys, old_keys))
        order = np.argsort(old_keys)
        was = order[np.searchsorted(old_keys, both_new.keys(), sorter=order)]
        changed = both_new.take(np.abs(before.confidence[was] - both_new.confidence) > 1e-6)
        gone = Tags.concat([(t.photos, t.tags, t.confidence) for t in (other, gone)])
        gone, added, changed = gone.in_key_order(), added.in_key_order(), changed.in_key_order()
        tx.executemany("DELETE FROM photo_tags WHERE photo_id=? AND tag_id=? AND source='auto'",
                       zip(gone.photos.tolist(), gone.tags.tolist(), strict=True))
        tx.executemany("INSERT OR IGNORE INTO photo_tags(photo_id, tag_id, source, confidence, "
                       "model) VALUES (?, ?, 'auto', ?, ?)",
                       ((p, t, c, model_id) for p, t, c in zip(
                           added.photos.tolist(), added.tags.tolist(),
                           added.confidence.tolist(), strict=True)))
        tx.executemany("UPDATE photo_tags SET confidence=? "
                       "WHERE photo_id=? AND tag_id=? AND source='auto'",
                       zip(changed.confidence.tolist(), changed.photos.tolist(),
                           changed.tags.tolist(), strict=True))
        # (a tag the user took off stays off: it is not counted as given)
        self.given += len(new_keys) - int(np.isin(new_keys, self._removed).sum())


def _within(values: Ids, ascending: Ids) -> npt.NDArray[np.bool_]:
    """Which of ``values`` are in the sorted ``ascending``."""
    at = np.minimum(np.searchsorted(ascending, values), max(len(ascending) - 1, 0))
    return (ascending[at] == values) if len(ascending) else np.zeros(len(values), bool)


def _prompts_key(prompts: Sequence[str]) -> str:
    """What text vectors were made from (stored beside them)."""
    return hashlib.blake2b("\n".join(prompts).encode(), digest_size=12).hexdigest()
