"""Tag sets: the user's own vocabularies, applied zero-shot to folders and to every new photo.

A tag set ("Places": beach, mountain, city street …) turns each label into a text vector: the
label and its synonyms put through a curated list of photo prompt templates (and the set's
context phrase, and any whole-sentence prompts), each prompt embedded and normalised, averaged,
normalised again (CLIP's prompt ensembling). Tagging runs over the stored image embeddings —
nothing is re-encoded — as one matrix product per set.

Deciding which labels fit uses no absolute cosine threshold (they do not transfer between
models) and no statistics of the library (they break when a library is mostly one thing: with
40 % cat photos a cat no longer "stands out"). Each photo is judged on its own, against things
it could show instead:

1. **Beats the everyday alternatives.** A vocabulary of about 200 everyday things a photo can
   show (resources/tagsets/background.txt: person, dog, beach, receipt, sunset …) is the "none
   of these". A label is given when its score beats all but the strongest one of those
   alternatives (the label's own words and synonyms left out of them), by a margin measured in
   the model's own logits (cosine × the model's logit scale; default 0, raise it to make a set
   or a label stricter). The tag's confidence is the logistic of that margin: how much likelier
   the label is than the photo's runner-up alternative.
2. **Wins its share within the set.** A softmax with the model's logit scale over the set's
   labels plus a generic "a photo." anchor: a non-exclusive set gives every label with at least
   a uniform share (1 / (labels + 1)), so a snowy mountain can be both; an exclusive set gives
   only its winner.

Measured with the fixture CLIP on the 1,000 CIFAR-10 sample photos (tests/unit/tags/test_tagsets.py;
numbers in docs/ARCHITECTURE.md): a label with no matching photos tags none of them, and a
label's precision and recall are the same whether the library is the ten classes evenly or
mostly cats and dogs — the decision never looks at the other photos.

Photo tags are 'auto' (confidence, model), 'manual', or 'removed' (a tombstone): re-applying,
changing a threshold or switching the model only ever replaces 'auto' rows, so a manual tag or
a removal always wins.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import sqlite3
import time
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from photoclip.core import names
from photoclip.core.errors import NotFound, PhotoclipError
from photoclip.core.paths import to_db
from photoclip.core.store.catalog import Catalog, new_id

log = logging.getLogger(__name__)

# Photo prompts, a curated subset of OpenAI's 80 ImageNet templates (open_clip's
# zero_shot_metadata): the ones about photos, leaving out art, origami, video games, tattoos.
TEMPLATES = (
    "a photo of a {}.",
    "a photo of the {}.",
    "a close-up photo of a {}.",
    "a good photo of a {}.",
    "a bad photo of a {}.",
    "a bright photo of a {}.",
    "a dark photo of a {}.",
    "a cropped photo of a {}.",
    "a blurry photo of a {}.",
    "a photo of the large {}.",
    "a photo of the small {}.",
    "itap of a {}.",
)
# A generic anchor for the softmax within a set (a photo that shows none of its labels).
BACKGROUND_PROMPTS = ("a photo.", "a picture.", "an image.", "a photo of something.",
                      "a snapshot.", "a photo of an object.")
VOCABULARY_TEMPLATE = "a photo of a {}."
RUNNER_UP = 2  # a label must beat all but the strongest (1) everyday alternative
THRESHOLD = 0.0  # default margin in logits over the runner-up alternative
MAX_THRESHOLD = 1000.0  # (logits of normalised vectors stay within ±100; past this, nonsense)
LIBRARY = ""  # the scope "whole library"
_CHUNK = 8_192  # photos scored at a time (bounded memory for any library size)
_THREADS = max(1, min(4, os.cpu_count() or 1))


@dataclass
class Label:
    name: str
    synonyms: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)  # whole sentences, used as they are
    threshold: float | None = None  # None: the set's
    id: int | None = None

    @classmethod
    def parse(cls, text: str) -> Label:
        """``"city street=street,downtown"`` → Label('city street', ['street', 'downtown'])."""
        name, _, syn = text.partition("=")
        return cls(clean_label(name), [s.strip() for s in syn.split(",") if s.strip()])

    def to_dict(self) -> dict:
        out = {"name": self.name}
        if self.synonyms:
            out["synonyms"] = self.synonyms
        if self.prompts:
            out["prompts"] = self.prompts
        if self.threshold is not None:
            out["threshold"] = self.threshold
        return out


@dataclass
class TagSet:
    name: str
    labels: list[Label]
    exclusive: bool = False
    context: str = ""  # e.g. "a photo taken at the {}."
    threshold: float = THRESHOLD
    scopes: list[str] = field(default_factory=list)  # folders it is applied to; "" = all
    id: int | None = None
    problem: str | None = None  # why it could not tag photos the last time it tried

    def prompts(self, label: Label) -> list[str]:
        """Every sentence whose embedding goes into this label's vector."""
        words = [label.name, *label.synonyms]
        out = [t.format(n) for n in words for t in TEMPLATES]
        if self.context:
            # the context counts as much as the whole template list: it carries what the
            # user knows about the set ("a photo taken at the {}.")
            out += [self.context.format(n) for n in words] * len(TEMPLATES)
        return out + list(label.prompts)

    def threshold_of(self, label: Label) -> float:
        return self.threshold if label.threshold is None else label.threshold

    @property
    def applied(self) -> bool:
        return bool(self.scopes)

    def to_dict(self) -> dict:
        return {"name": self.name, "exclusive": self.exclusive, "context": self.context,
                "threshold": self.threshold, "labels": [lb.to_dict() for lb in self.labels],
                "applied_to": ["(library)" if s == LIBRARY else s for s in self.scopes]}

    @classmethod
    def from_dict(cls, d: dict) -> TagSet:
        labels = [Label(x["name"], list(x.get("synonyms", [])), list(x.get("prompts", [])),
                        x.get("threshold")) if isinstance(x, dict) else Label.parse(x)
                  for x in d.get("labels", [])]
        exclusive = bool(d.get("exclusive", False))
        return cls(d["name"], labels, exclusive, d.get("context", ""),
                   float(d.get("threshold", THRESHOLD)))


@dataclass(frozen=True)
class PhotoTag:
    """One tag of one photo, as the user sees it."""

    tag_id: int
    name: str
    tagset: str | None  # None for a free keyword
    source: str  # auto | manual
    confidence: float | None
    model: str | None

    @property
    def hierarchical(self) -> list[str]:
        return [self.tagset, self.name] if self.tagset else [self.name]

    def to_dict(self) -> dict:
        return {"label": self.name, "set": self.tagset, "source": self.source,
                "confidence": None if self.confidence is None else round(self.confidence, 4),
                "model": self.model}


@dataclass
class Tags:
    """Auto tags as columns: photo ids, tag ids, confidences."""

    photos: np.ndarray
    tags: np.ndarray
    confidence: np.ndarray

    @classmethod
    def concat(cls, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Tags:
        if not parts:
            return cls.from_rows([])
        return cls(*(np.concatenate([p[k] for p in parts]) for k in range(3)))

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> Tags:
        """From (photo id, tag id, confidence) rows."""
        return cls(np.fromiter((r[0] for r in rows), np.int64, len(rows)),
                   np.fromiter((r[1] for r in rows), np.int64, len(rows)),
                   np.fromiter((r[2] for r in rows), np.float64, len(rows)))

    def keys(self) -> np.ndarray:
        return (self.photos << 24) | self.tags  # (tag ids stay far below 2**24)

    def take(self, mask: np.ndarray) -> Tags:
        return Tags(self.photos[mask], self.tags[mask], self.confidence[mask])


@dataclass
class ApplyReport:
    tagset: str
    photos: int = 0  # photos scored
    tagged: int = 0  # auto tags written
    seconds: float = 0.0
    problem: str | None = None  # why the set could not tag photos (said once, when new)


def starter_sets() -> dict[str, TagSet]:
    """The tag sets that ship with PhotoCLIP (resources/tagsets/*.json), by file stem."""
    out = {}
    folder = resources.files("photoclip") / "resources" / "tagsets"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out[entry.name[:-5]] = TagSet.from_dict(json.loads(entry.read_text("utf-8")))
    return out


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
        return r[0]
    tag_id = new_id(tx, "tags")
    tx.execute("INSERT INTO tags(id, tagset_id, name, name_key) VALUES (?, NULL, ?, ?)",
               (tag_id, name, key))
    return tag_id


def clean_label(name: str) -> str:
    """A label's name by the one name rule; '/' and '|' are refused in labels (they
    separate a set from its label: Places/beach)."""
    name = names.clean(name, "A label's name")
    if "/" in name or "|" in name:
        raise PhotoclipError(f"A label cannot contain '/' or '|' ('{name}'): they separate "
                             "a set from its label (Places/beach).")
    return name


def check_context(context: str) -> str:
    """A set's context phrase: '' or a sentence with exactly one {} where the label goes.
    Anything else would fail every time the set tags photos."""
    context = " ".join(context.split())
    if not context:
        return ""
    try:
        filled = context.format("x")
    except (IndexError, KeyError, ValueError):
        filled = None
    if context.count("{}") != 1 or filled is None or "{" in filled or "}" in filled:
        raise PhotoclipError(f"The context '{context}' needs exactly one {{}} where the label "
                             "goes (and no other braces), e.g. 'a photo taken at the {}.'")
    return context


# -- scoring (pure NumPy) --------------------------------------------------------------------


def _finite(value: float) -> float:
    """A threshold as a number; NaN or infinity is refused in one sentence."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise PhotoclipError(f"A threshold must be a number, not {value!r}.") from None
    if not np.isfinite(v) or abs(v) > MAX_THRESHOLD:
        raise PhotoclipError(f"A threshold must be a finite number between -{MAX_THRESHOLD:g} "
                             f"and {MAX_THRESHOLD:g} (a margin in the model's logits), not "
                             f"{value}.")
    return v


def _encode(encoder, prompts: Sequence[str]) -> np.ndarray:
    """Normalised text embeddings, in batches."""
    parts = [encoder.encode_texts(list(prompts[i:i + 256])) for i in range(0, len(prompts), 256)]
    v = np.concatenate(parts).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def label_vector(encoder, prompts: Sequence[str]) -> np.ndarray:
    """Mean of the normalised prompt embeddings, normalised (prompt ensembling)."""
    m = _encode(encoder, prompts).mean(axis=0)
    return (m / np.linalg.norm(m)).astype(np.float32)


def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of each row's ``k`` largest scores, largest first (a few argmax
    passes: several times quicker than argpartition for the small k needed here)."""
    k = min(k, scores.shape[1])
    if k > 6:
        idx = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        val = np.take_along_axis(scores, idx, axis=1)
        order = np.argsort(-val, axis=1)
        return np.take_along_axis(idx, order, axis=1), np.take_along_axis(val, order, axis=1)
    work = scores.copy()
    rows = np.arange(len(scores))
    idx = np.empty((len(scores), k), np.int64)
    val = np.empty((len(scores), k), scores.dtype)
    for i in range(k):
        idx[:, i] = work.argmax(axis=1)
        val[:, i] = work[rows, idx[:, i]]
        work[rows, idx[:, i]] = -np.inf
    return idx, val


@functools.cache
def vocabulary() -> tuple[str, ...]:
    """The everyday alternatives a label must beat (resources/tagsets/background.txt); read
    once (every text search rates its hits against them)."""
    text = (resources.files("photoclip") / "resources" / "tagsets" / "background.txt") \
        .read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines()
                 if line.strip() and not line.startswith("#"))


def _word(text: str) -> str:
    w = " ".join(text.lower().split())
    return w[:-1] if w.endswith("s") and not w.endswith("ss") else w


def excluded(label: Label, words: Sequence[str]) -> np.ndarray:
    """Which vocabulary entries are this label itself (its name or a synonym)."""
    own = {_word(n) for n in (label.name, *label.synonyms)}
    return np.array([_word(w) in own for w in words], bool)


@dataclass
class Scorer:
    """What a set needs to tag photos with one model: its label vectors, which vocabulary
    entries each label leaves out, the vocabulary, the generic anchor and the logit scale."""

    labels: np.ndarray  # K × D
    excluded: np.ndarray  # K × V bool
    vocabulary: np.ndarray  # V × D
    anchor: np.ndarray  # D
    scale: float
    thresholds: np.ndarray  # K, logits
    exclusive: bool

    def margins(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(margin N×K in logits over each label's runner-up alternative, share N×K of the
        softmax over the set's labels and the anchor)."""
        cos = vectors @ self.labels.T
        alt = vectors @ self.vocabulary.T
        own = self.excluded.sum(axis=1)
        top_idx, top_val = _top_k(alt, RUNNER_UP + int(own.max(initial=0)))
        # each label's runner-up: the RUNNER_UP-th of the photo's best alternatives that is not
        # the label itself (labels with no word in the vocabulary share one)
        level = np.repeat(top_val[:, RUNNER_UP - 1:RUNNER_UP], len(self.labels), axis=1)
        cols = np.flatnonzero(own)
        if len(cols):
            kept = ~self.excluded[cols][:, top_idx]  # labels × photos × k
            count = np.zeros(kept.shape[:2], np.int16)
            nth = np.full(kept.shape[:2], top_idx.shape[1] - 1, np.int64)
            found = np.zeros(kept.shape[:2], bool)
            for pos in range(top_idx.shape[1]):
                count += kept[:, :, pos]
                now = (count >= RUNNER_UP) & ~found
                nth[now] = pos
                found |= now
            level[:, cols] = np.take_along_axis(top_val, nth.T, axis=1)
        margin = self.scale * (cos - level)
        logits = np.empty((len(vectors), len(self.labels) + 1), np.float32)
        logits[:, :-1] = cos
        logits[:, -1] = vectors @ self.anchor
        logits *= self.scale
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        return margin, logits[:, :-1]

    def decide(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, label columns, confidences) of the tags that apply (see the module doc)."""
        margin, share = self.margins(vectors)
        k = len(self.labels)
        if self.exclusive:
            rows = np.arange(len(vectors))
            cols = share.argmax(axis=1)
            keep = margin[rows, cols] >= self.thresholds[cols]
            rows, cols = rows[keep], cols[keep]
        else:
            rows, cols = np.nonzero((margin >= self.thresholds) & (share >= 1.0 / (k + 1)))
        confidence = 1.0 / (1.0 + np.exp(-margin[rows, cols]))
        return rows, cols, confidence


# -- the store -------------------------------------------------------------------------------


class TagSets:
    """Tag sets, their labels and every photo's tags, in the catalog (see catalog.py's
    migration 3). Thread-safe as the catalog is: reads anywhere, writes in transactions."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self._background: dict[str, np.ndarray] = {}  # model -> "none of these" vector

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
                 _finite(tagset.threshold), time.time()))
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
                lb.threshold = _finite(lb.threshold)
        return name, context

    @staticmethod
    def _insert_labels(tx, set_id: int, labels: Iterable[Label], first: int) -> None:
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
                        _finite(tagset.threshold), tagset.id))
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
            n = tx.execute("SELECT COUNT(*) FROM photo_tags pt JOIN tags t ON t.id = pt.tag_id "
                           "WHERE t.tagset_id=? AND pt.source != 'removed'",
                           (ts.id,)).fetchone()[0]
            tx.execute("DELETE FROM tagsets WHERE id=?", (ts.id,))
        return n

    def all(self) -> list[TagSet]:
        rows = self.catalog.conn.execute(
            "SELECT id FROM tagsets ORDER BY name COLLATE NOCASE").fetchall()
        return [self.get(r[0]) for r in rows]

    def get(self, name_or_id: str | int) -> TagSet:
        conn = self.catalog.conn
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
        value = _finite(value)
        with self.catalog.transaction() as tx:
            if label is None:
                tx.execute("UPDATE tagsets SET threshold=? WHERE id=?", (value, ts.id))
            else:
                lb = _label_named(ts, label)
                tx.execute("UPDATE tags SET threshold=? WHERE id=?", (value, lb.id))
        return self.get(ts.id)

    def add_scope(self, ts: TagSet, folder: str = LIBRARY) -> None:
        """Apply a set to a folder ('' = the whole library) from now on."""
        with self.catalog.transaction() as tx:
            tx.execute("INSERT OR IGNORE INTO tag_scopes(tagset_id, folder) VALUES (?, ?)",
                       (ts.id, to_db(folder) if folder else LIBRARY))

    # -- tagging -----------------------------------------------------------------------------

    def apply(self, ts: TagSet, model: str, encoder,
              ids: np.ndarray | None = None) -> ApplyReport:
        """Tag the photos of ``ts``'s scope (or only ``ids``) from their stored embeddings.
        Auto tags of the scored photos are replaced; manual tags and removals stay."""
        t0 = time.perf_counter()
        report = ApplyReport(ts.name)
        rev = self.catalog.max_rev()  # read before the vectors: later ones are caught up
        if ids is None and LIBRARY in ts.scopes:
            chunks = self.catalog.iter_vectors(model, _CHUNK)  # (one scan, read while scoring)
        else:
            if ids is None:
                ids = self.catalog.embedded_ids(model, ts.scopes)
            chunks = (self.catalog.vectors(model, ids[i:i + _CHUNK].tolist())
                      for i in range(0, len(ids), _CHUNK))
        scorer = self.scorer(ts, model, encoder)
        tag_ids = np.array([lb.id for lb in ts.labels], np.int64)
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        scored: list[np.ndarray] = []

        def collect(chunk_ids: np.ndarray, decided) -> None:
            r, c, conf = decided
            found.append((chunk_ids[r], tag_ids[c], conf.astype(np.float64)))
            scored.append(chunk_ids)

        # NumPy's products release the GIL: chunks are scored on every core while the next
        # ones are read from the catalog (at most two waiting per thread)
        with ThreadPoolExecutor(_THREADS, thread_name_prefix="photoclip-tagging") as pool:
            pending: deque = deque()
            for chunk_ids, vectors in chunks:
                if len(chunk_ids):
                    pending.append((chunk_ids, pool.submit(scorer.decide, vectors)))
                while len(pending) > 2 * _THREADS:
                    done_ids, future = pending.popleft()
                    collect(done_ids, future.result())
            while pending:
                done_ids, future = pending.popleft()
                collect(done_ids, future.result())
        vectors_ids = np.concatenate(scored) if scored else np.zeros(0, np.int64)
        new = Tags.concat(found)
        with self.catalog.transaction() as tx:
            # the set, or some of its labels, may have been deleted while its photos were
            # scored: nothing goes to them (ids are never reused, so no newer set gets them)
            alive = {r[0] for r in tx.execute("SELECT id FROM tags WHERE tagset_id=?",
                                              (ts.id,))}
            if not alive:
                return report
            if len(alive) < len(tag_ids):
                keep = np.isin(tag_ids, list(alive))
                tag_ids = tag_ids[keep]
                new = new.take(np.isin(new.tags, tag_ids))
            self._replace_auto(tx, tag_ids, vectors_ids, new, model)
            # the auto tags are now this model's: progress with any other model is void (a
            # switch back to it tags everything again)
            tx.execute("DELETE FROM tag_progress WHERE tagset_id=? AND model != ?",
                       (ts.id, model))
            tx.execute("INSERT INTO tag_progress(tagset_id, model, rev) VALUES (?, ?, ?) "
                       "ON CONFLICT(tagset_id, model) DO UPDATE SET rev=max(rev, excluded.rev)",
                       (ts.id, model, rev))
            tx.execute("UPDATE tagsets SET problem=NULL WHERE id=? AND problem IS NOT NULL",
                       (ts.id,))
        report.photos, report.tagged = len(vectors_ids), len(new.photos)
        report.seconds = time.perf_counter() - t0
        return report

    def catch_up(self, model: str, encoder,
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
                    (ts.id, model)).fetchone()
                new = None
                if progress is not None:
                    new = self.catalog.embedded_ids(model, ts.scopes, since_rev=progress[0])
                    if not len(new):
                        continue
                out.append(self.apply(ts, model, encoder, new))
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

    def scorer(self, ts: TagSet, model: str, encoder) -> Scorer:
        words = vocabulary()
        return Scorer(
            labels=np.stack([self._vectors(lb.id, model, encoder, ts.prompts(lb))[0]
                             for lb in ts.labels]),
            excluded=np.stack([excluded(lb, words) for lb in ts.labels]),
            vocabulary=self.vocabulary_vectors(model, encoder, words),
            anchor=self._anchor(model, encoder), scale=float(encoder.logit_scale),
            thresholds=np.array([ts.threshold_of(lb) for lb in ts.labels], np.float32),
            exclusive=ts.exclusive)

    def _replace_auto(self, tx, tag_ids: np.ndarray, scored: np.ndarray, new: Tags,
                      model: str) -> None:
        """Make the scored photos' auto tags of these labels exactly ``new``, writing only the
        difference (a re-apply or a threshold change touches few rows). A manual tag or a
        removal holds its (photo, tag) key: the auto one is not written."""
        marks = ",".join("?" * len(tag_ids))
        if len(scored) <= 900:  # a few new photos: look theirs up
            rows = tx.execute(
                f"SELECT photo_id, tag_id, confidence, model = ? FROM photo_tags "
                f"WHERE source='auto' AND tag_id IN ({marks}) "
                f"AND photo_id IN ({','.join('?' * len(scored))})",
                [model, *tag_ids.tolist(), *scored.tolist()]).fetchall()
        else:
            rows = tx.execute(f"SELECT photo_id, tag_id, confidence, model = ? FROM photo_tags "
                              f"WHERE source='auto' AND tag_id IN ({marks})",
                              [model, *tag_ids.tolist()]).fetchall()
        same_model = np.fromiter((r[3] for r in rows), bool, len(rows))
        before = Tags.from_rows(rows)
        # another model's auto tags of the scored photos are replaced by this model's
        other = before.take(~same_model)
        before = before.take(same_model)
        other = other.take(np.isin(other.photos, scored))
        tx.executemany("DELETE FROM photo_tags WHERE photo_id=? AND tag_id=? AND source='auto'",
                       zip(other.photos.tolist(), other.tags.tolist(), strict=True))
        if len(before.photos) and len(scored) < len(before.photos):
            before = before.take(np.isin(before.photos, scored))
        old_keys, new_keys = before.keys(), new.keys()
        gone = before.take(~np.isin(old_keys, new_keys))
        added = new.take(~np.isin(new_keys, old_keys))
        both_new = new.take(np.isin(new_keys, old_keys))
        order = np.argsort(old_keys)
        at = order[np.searchsorted(old_keys, both_new.keys(), sorter=order)]
        changed = both_new.take(np.abs(before.confidence[at] - both_new.confidence) > 1e-6)
        tx.executemany("DELETE FROM photo_tags WHERE photo_id=? AND tag_id=? AND source='auto'",
                       zip(gone.photos.tolist(), gone.tags.tolist(), strict=True))
        tx.executemany("INSERT OR IGNORE INTO photo_tags(photo_id, tag_id, source, confidence, "
                       "model) VALUES (?, ?, 'auto', ?, ?)",
                       ((p, t, c, model) for p, t, c in zip(
                           added.photos.tolist(), added.tags.tolist(),
                           added.confidence.tolist(), strict=True)))
        tx.executemany("UPDATE photo_tags SET confidence=? "
                       "WHERE photo_id=? AND tag_id=? AND source='auto'",
                       zip(changed.confidence.tolist(), changed.photos.tolist(),
                           changed.tags.tolist(), strict=True))

    def _vectors(self, tag_id: int | None, model: str, encoder, prompts: Sequence[str],
                 mean: bool = True) -> np.ndarray:
        """Text vectors for ``prompts`` with ``model``: a label's one ensembled vector
        (``mean``), or one per prompt; encoded once per wording and model, then stored."""
        key = hashlib.blake2b("\n".join(prompts).encode(), digest_size=12).hexdigest()
        r = self.catalog.conn.execute(
            "SELECT prompts_key, vectors FROM tag_vectors WHERE ifnull(tag_id, 0)=? AND model=?",
            (tag_id or 0, model)).fetchone()
        if r is not None and r[0] == key:
            return np.frombuffer(r[1], np.float32).reshape(-1, encoder.dim)
        vectors = label_vector(encoder, prompts)[None] if mean else _encode(encoder, prompts)
        try:
            with self.catalog.transaction() as tx:
                tx.execute("DELETE FROM tag_vectors WHERE ifnull(tag_id, 0)=? AND model=?",
                           (tag_id or 0, model))
                tx.execute("INSERT INTO tag_vectors(tag_id, model, prompts_key, vectors) "
                           "VALUES (?, ?, ?, ?)", (tag_id, model, key, vectors.tobytes()))
        except (sqlite3.OperationalError, sqlite3.IntegrityError) as e:
            # a read-only data folder (encoded again next time), or a label deleted meanwhile
            log.info("text vectors not stored: %s", e)
        return vectors

    def vocabulary_vectors(self, model: str, encoder, words: Sequence[str]) -> np.ndarray:
        """The everyday alternatives' text vectors (encoded once per model, then stored)."""
        return self._vectors(None, model, encoder,
                             [VOCABULARY_TEMPLATE.format(w) for w in words], mean=False)

    def _anchor(self, model: str, encoder) -> np.ndarray:
        v = self._background.get(model)
        if v is None:
            v = self._background[model] = label_vector(encoder, BACKGROUND_PROMPTS)
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
                _label_named(self.get(set_name), name.replace("|", "/").partition("/")[2])
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
        for k in range(0, len(ids), 900):
            part = ids[k:k + 900]
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

    def tagged_photos(self, tag_ids: Sequence[int], limit: int | None = None) -> list[tuple]:
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

    def tagged_ids(self, tag_ids: Sequence[int]) -> np.ndarray:
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

def _label_named(ts: TagSet, name: str) -> Label:
    for lb in ts.labels:
        if names.key(lb.name) == names.key(name):
            return lb
    raise NotFound(f"The tag set {ts.name} has no label {name} "
                   f"(its labels: {', '.join(lb.name for lb in ts.labels)}).")
