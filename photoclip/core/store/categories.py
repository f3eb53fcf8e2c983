"""The SQL of user categories (catalog migration 5): categories, the user's labels (photos in
it, photos not in it) and the trained probes, and their scoring over the library's vectors.
:class:`CategoryStore` is what ``lib.categories.store`` is; the data it returns is in
core/categories/model.py and the learner in core/categories/probe.py.

Labels belong to photos, not to embeddings: they follow a photo when it moves and outlive a
model switch. A probe is trained per category and model from the stored embeddings and kept
with the label revision it saw, so a restart does not retrain and a change of labels or model
does. A category's name (and description) is its prior: a text vector from the photo prompt
templates (core/model/text.py).

Scoring needs no table: a category's probabilities are one matrix product over the library's
vectors, read from the vector file chunk by chunk (core/store/vectors.py: a million photos in
well under a second, in the memory of a chunk) — so members, counts and the photos to review
next are always those of the current labels, model and photos.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from photoclip.core import names
from photoclip.core.categories import probe as learner
from photoclip.core.categories.model import (
    BACKGROUND,
    MIN_NEGATIVES,
    MIN_POSITIVES,
    THRESHOLD,
    Category,
    Quality,
    Trained,
)
from photoclip.core.errors import NotFound, PhotoclipError
from photoclip.core.model.protocols import TextEncoder
from photoclip.core.model.text import TEMPLATES, label_vector
from photoclip.core.store.catalog import Catalog
from photoclip.core.store.schema import new_id
from photoclip.core.store.vectors import VectorView, view_from_catalog

Ids = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float32]

_FOLDS = 5


def _checked_name(name: str) -> str:
    name = names.clean(name, "A category's name")
    if name.startswith("-"):
        raise PhotoclipError("A category's name cannot start with '-'.")
    return name


class CategoryStore:
    """The categories of one catalog, their labels and trained probes. Thread-safe: reads
    anywhere, writes in the catalog's transactions. ``vectors``: a model's vectors now (the
    library's vector file; without it, read from the catalog)."""

    def __init__(self, catalog: Catalog,
                 vectors: Callable[[str], VectorView] | None = None) -> None:
        self.catalog = catalog
        self._view = vectors or (lambda model_id: view_from_catalog(catalog, model_id))
        self._texts: dict[tuple[str, str], np.ndarray] = {}

    # -- categories and labels ---------------------------------------------------------------

    def create(self, name: str, description: str = "") -> Category:
        name = _checked_name(name)
        with self.catalog.transaction() as tx:
            if tx.execute("SELECT 1 FROM categories WHERE name_key=?",
                          (names.key(name),)).fetchone():
                raise PhotoclipError(f"There already is a category called {name}.")
            tx.execute("INSERT INTO categories(id, name, name_key, description, threshold, "
                       "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (new_id(tx, "categories"), name, names.key(name), description.strip(),
                        THRESHOLD, time.time()))
        return self.get(name)

    def all(self) -> list[Category]:
        rows = self.catalog.conn.execute(
            "SELECT c.id, c.name, c.description, c.threshold, c.labels_rev, "
            "  (SELECT count(*) FROM category_labels l WHERE l.category_id=c.id AND positive), "
            "  (SELECT count(*) FROM category_labels l WHERE l.category_id=c.id AND NOT positive) "
            "FROM categories c ORDER BY c.name COLLATE NOCASE").fetchall()
        return [Category(*r) for r in rows]

    def get(self, name: str) -> Category:
        want = names.key(name)
        for c in self.all():
            if names.key(c.name) == want:
                return c
        raise NotFound(f"There is no category called {names.printable(name)}.",
                       cli_hint="See 'photoclip category list'.")

    def delete(self, name: str) -> None:
        cat = self.get(name)
        with self.catalog.transaction() as tx:
            tx.execute("DELETE FROM categories WHERE id=?", (cat.id,))

    def update(self, name: str, new_name: str | None = None, description: str | None = None,
               threshold: float | None = None) -> Category:
        cat = self.get(name)
        if threshold is not None and not 0.0 < threshold < 1.0:
            raise PhotoclipError("A category's threshold is a probability between 0 and 1.")
        if new_name is not None:
            new_name = _checked_name(new_name)
        with self.catalog.transaction() as tx:
            if new_name is not None and tx.execute(
                    "SELECT 1 FROM categories WHERE name_key=? AND id != ?",
                    (names.key(new_name), cat.id)).fetchone():
                raise PhotoclipError(f"There already is a category called {new_name}.")
            text_changed = (new_name is not None and new_name != cat.name) or \
                (description is not None and description.strip() != cat.description)
            tx.execute(
                "UPDATE categories SET name=coalesce(?, name), name_key=coalesce(?, name_key), "
                "description=coalesce(?, description), threshold=coalesce(?, threshold), "
                "labels_rev=labels_rev + ? WHERE id=?",
                (new_name, names.key(new_name) if new_name else None,
                 description.strip() if description is not None else None, threshold,
                 int(text_changed), cat.id))  # a new name or description: a new prior
        return self.get(new_name or cat.name)

    def label(self, name: str, photo_ids: Sequence[int], positive: bool | None) -> Category:
        """Mark photos as in (True) or not in (False) the category, or forget them (None)."""
        cat = self.get(name)
        with self.catalog.transaction() as tx:
            if positive is None:
                tx.executemany("DELETE FROM category_labels WHERE category_id=? AND photo_id=?",
                               [(cat.id, int(p)) for p in photo_ids])
            else:
                tx.executemany(
                    "INSERT OR REPLACE INTO category_labels(category_id, photo_id, positive, "
                    "added_at) VALUES (?, ?, ?, ?)",
                    [(cat.id, int(p), int(positive), time.time()) for p in photo_ids])
            tx.execute("UPDATE categories SET labels_rev=labels_rev + 1 WHERE id=?", (cat.id,))
        return self.get(cat.name)

    def labels(self, cat: Category) -> tuple[np.ndarray, np.ndarray]:
        """(positive ids, negative ids)."""
        rows = self.catalog.conn.execute(
            "SELECT photo_id, positive FROM category_labels WHERE category_id=? "
            "ORDER BY added_at, photo_id", (cat.id,)).fetchall()
        pos = np.array([p for p, s in rows if s], np.int64)
        neg = np.array([p for p, s in rows if not s], np.int64)
        return pos, neg

    def photo_labels(self, photo_id: int) -> dict[str, bool]:
        """The categories a photo is labelled in: name → in (True) or not in (False)."""
        rows = self.catalog.conn.execute(
            "SELECT c.name, l.positive FROM category_labels l JOIN categories c "
            "ON c.id = l.category_id WHERE l.photo_id=? ORDER BY c.name", (photo_id,))
        return {n: bool(p) for n, p in rows}

    # -- training ----------------------------------------------------------------------------

    def trained(self, cat: Category, model_id: str, encoder: TextEncoder | None = None,
                quality: bool = False) -> Trained | None:
        """The category's probe for ``model_id``, trained now if its labels changed since (or
        never trained for this model). None when no photo of it has a vector for ``model_id``
        yet. ``encoder`` (text) gives the name's prior; without it the stored probe is used
        as it is, or one is trained from the examples alone (and not stored)."""
        row = self.catalog.conn.execute(
            "SELECT labels_rev, weights, bias, trust, quality, examples FROM category_probes "
            "WHERE category_id=? AND model=?", (cat.id, model_id)).fetchone()
        vectors = self.vectors(model_id)
        if row is not None and row[0] == cat.labels_rev and len(vectors):
            kept = Quality.from_json(row[4]) if row[4] else None
            out = Trained(learner.Probe.from_bytes(row[1], vectors.dim, row[2],
                                                   row[3], row[5]), row[0],
                          kept.at(cat.threshold) if kept is not None else None)
            if quality and out.quality is None:
                out.quality = self._store_quality(cat, model_id, encoder)
            return out
        fitted = self.fit(cat, model_id, encoder)
        if fitted is None:
            return None
        if encoder is None:  # (not kept: trained again with the name once a model is there)
            return Trained(fitted, cat.labels_rev,
                           self.quality(cat, model_id, None) if quality else None)
        with self.catalog.transaction() as tx:
            tx.execute(
                "INSERT OR REPLACE INTO category_probes(category_id, model, labels_rev, "
                "weights, examples, bias, trust, quality, trained_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                (cat.id, model_id, cat.labels_rev, fitted.to_bytes(), len(fitted.cache), fitted.b,
                 fitted.trust, time.time()))
        out = Trained(fitted, cat.labels_rev)
        if quality:
            out.quality = self._store_quality(cat, model_id, encoder)
        return out

    def fit(self, cat: Category, model_id: str, encoder: TextEncoder | None = None,
            leave_out: Sequence[int] = ()) -> learner.Probe | None:
        """Train a probe on the category's labels (all but ``leave_out``) and a background
        sample of the rest of the library."""
        v = self.vectors(model_id)
        if not len(v.ids):
            return None
        pos_ids, neg_ids = self.labels(cat)
        skip = np.asarray(list(leave_out), np.int64)
        pos = v.rows_of(pos_ids[~np.isin(pos_ids, skip)])
        neg = v.rows_of(neg_ids[~np.isin(neg_ids, skip)])
        labelled = np.zeros(len(v.ids), bool)
        labelled[[r for r in v.rows_of(np.concatenate([pos_ids, neg_ids])).tolist()
                  if r >= 0]] = True
        pool = np.flatnonzero(~labelled)
        rng = np.random.default_rng(cat.id)  # the same sample for the same library
        if len(pool) > BACKGROUND:
            pool = np.sort(rng.choice(pool, BACKGROUND, replace=False))
        text = self._text(cat, model_id, encoder)
        scale = float(getattr(encoder, "logit_scale", 0.0) or 0.0)
        if not scale:
            text = None
        return learner.fit(v.take(pos[pos >= 0]), v.take(neg[neg >= 0]), v.take(pool), text,
                           scale, rng=rng)

    def _text(self, cat: Category, model_id: str, encoder: TextEncoder | None) -> np.ndarray | None:
        if encoder is None:
            return None
        key = (model_id, f"{cat.name}\n{cat.description}")
        if key not in self._texts:
            vec = label_vector(encoder, [t.format(cat.name) for t in TEMPLATES])
            if cat.description:
                both = vec + label_vector(encoder, [cat.description])
                vec = (both / np.linalg.norm(both)).astype(np.float32)
            self._texts[key] = vec
        return self._texts[key]

    def _store_quality(self, cat: Category, model_id: str, encoder: TextEncoder | None) -> Quality:
        q = self.quality(cat, model_id, encoder)
        with self.catalog.transaction() as tx:
            tx.execute("UPDATE category_probes SET quality=? WHERE category_id=? AND model=? "
                       "AND labels_rev=?", (q.to_json(), cat.id, model_id, cat.labels_rev))
        return q

    def quality(self, cat: Category, model_id: str, encoder: TextEncoder | None = None) -> Quality:
        """Cross-validated precision and recall at the category's threshold, over the user's
        labels (each fold's probe never saw the photos it is judged on); the held-out
        probabilities are kept, so another threshold is described without training again."""
        pos_ids, neg_ids = self.labels(cat)
        v = self.vectors(model_id)
        pos_ids = pos_ids[v.rows_of(pos_ids) >= 0]
        neg_ids = neg_ids[v.rows_of(neg_ids) >= 0]
        out = Quality(None, None, len(pos_ids), len(neg_ids),
                      max(0, MIN_POSITIVES - len(pos_ids)),
                      max(0, MIN_NEGATIVES - len(neg_ids)))
        if out.need_positives:
            return out
        ids = np.concatenate([pos_ids, neg_ids])
        truth = np.concatenate([np.ones(len(pos_ids), bool), np.zeros(len(neg_ids), bool)])
        order = np.random.default_rng(cat.id).permutation(len(ids))
        proba = np.zeros(len(ids), np.float64)
        for fold in range(_FOLDS):
            held = order[fold::_FOLDS]
            fitted = self.fit(cat, model_id, encoder, leave_out=ids[held].tolist())
            assert fitted is not None  # (the examples have vectors: checked above)
            proba[held] = fitted.proba(v.take(v.rows_of(ids[held])))
        out.held_out = [(bool(t), round(float(p), 6)) for t, p in zip(truth, proba, strict=True)]
        return out.at(cat.threshold)

    # -- scoring -----------------------------------------------------------------------------

    def vectors(self, model_id: str) -> VectorView:
        """The model's vectors as the catalog holds them now."""
        return self._view(model_id)

    def scores(self, probe: learner.Probe, model_id: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, probability) for every photo with a ``model_id`` vector."""
        v = self.vectors(model_id)
        if not len(v.ids):
            return v.ids, np.zeros(0, np.float32)
        return v.ids, learner.sigmoid(v.map(probe.logits)).astype(np.float32)

    def members(self, cat: Category, trained: Trained, model_id: str,
                limit: int | None = None) -> list[tuple[int, float]]:
        """(photo id, probability) of the members, most likely first. The user's labels win:
        a positive is always a member, a negative never is."""
        ids, p = self.scores(trained.probe, model_id)
        p = self._decided(cat, ids, p)
        inside = np.flatnonzero(p >= cat.threshold)
        order = inside[np.argsort(-p[inside], kind="stable")]
        if limit is not None:
            order = order[:limit]
        return [(int(ids[k]), float(p[k])) for k in order]

    def counts(self, trained: list[tuple[Category, Trained]], model_id: str) -> list[int]:
        """Member counts of several categories, scored in one pass over the library."""
        v = self.vectors(model_id)
        if not trained or not len(v.ids):
            return [0] * len(trained)
        probes = [t.probe for _, t in trained]
        p = learner.sigmoid(v.map(lambda block: learner.logits_many(probes, block)))
        return [int((self._decided(cat, v.ids, p[:, j]) >= cat.threshold).sum())
                for j, (cat, _) in enumerate(trained)]

    def _decided(self, cat: Category, ids: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Probabilities with the user's word in place: 1 for an example, 0 for a photo
        marked not in the category."""
        pos_ids, neg_ids = self.labels(cat)
        p = p.copy()
        p[np.isin(ids, neg_ids)] = 0.0
        p[np.isin(ids, pos_ids)] = 1.0
        return p

    def suggest(self, cat: Category, trained: Trained, model_id: str, limit: int = 20,
                encoder: TextEncoder | None = None) -> list[tuple[int, float]]:
        """Unlabelled photos whose answer would teach the probe most: those it is least sure
        about (probability nearest the threshold), skipping near-duplicates of one already
        picked so one question is not asked five times. Before the first example there is
        nothing learnt to be unsure about: the photos its name describes best come first,
        with no probability (NaN) — none without a model to read the name."""
        v = self.vectors(model_id)
        ids = v.ids
        pos_ids, neg_ids = self.labels(cat)
        free = np.flatnonzero(~np.isin(ids, np.concatenate([pos_ids, neg_ids])))
        if not len(free):
            return []
        if not len(pos_ids):
            text = self._text(cat, model_id, encoder)
            if text is None:
                return []
            order = free[np.argsort(-v.scores(text)[free], kind="stable")[:limit * 4]]
            return [(int(ids[k]), float("nan")) for k in _distinct(v, order, limit)]
        logit = v.map(trained.probe.logits)
        centre = np.log(cat.threshold / (1 - cat.threshold))
        near = free[np.argsort(np.abs(logit[free] - centre), kind="stable")[:limit * 4]]
        return [(int(ids[k]), float(learner.sigmoid(logit[k])))
                for k in _distinct(v, near, limit)]


def _distinct(v: VectorView, order: np.ndarray, limit: int) -> list[int]:
    """Up to ``limit`` positions of ``order``, in order, skipping near-duplicates (cosine >
    0.95) of one already taken."""
    matrix = v.take(order)
    picked: list[int] = []
    for k in range(len(order)):
        if picked and float((matrix[picked] @ matrix[k]).max()) > 0.95:
            continue
        picked.append(k)
        if len(picked) == limit:
            break
    return [int(order[k]) for k in picked]
