"""Which label a photo gets: a tag set's labels scored against the stored image embeddings
(pure NumPy, nothing re-encoded), one matrix product per set, in chunks on every core.

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

Measured with the fixture CLIP on the 1,000 CIFAR-10 sample photos
(tests/unit/tags/test_tagsets.py; numbers in docs/tagsets.md): a label with no matching
photos tags none of them, and a label's precision and recall are the same whether the
library is the ten classes evenly or mostly cats and dogs — the decision never looks at the
other photos.

The vectors a :class:`Scorer` holds are made and stored by core/store/tags.py
(``TagStore.scorer``); the prompts and vocabulary come from core/model/text.py.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from photoclip.core.errors import PhotoclipError
from photoclip.core.model.text import word
from photoclip.core.tags.model import MAX_THRESHOLD, RUNNER_UP, Ids, Label, Tags

Floats = npt.NDArray[np.float32]
Decided = tuple[Ids, Ids, npt.NDArray[np.float64]]  # (rows, label columns, confidences)

CHUNK = 8_192  # photos scored at a time (bounded memory for any library size)
_THREADS = max(1, min(4, os.cpu_count() or 1))


def finite_threshold(value: float) -> float:
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



def _top_k(scores: Floats, k: int) -> tuple[Ids, Floats]:
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



def excluded(label: Label, words: Sequence[str]) -> npt.NDArray[np.bool_]:
    """Which vocabulary entries are this label itself (its name or a synonym)."""
    own = {word(n) for n in (label.name, *label.synonyms)}
    return np.array([word(w) in own for w in words], bool)


@dataclass
class Scorer:
    """What a set needs to tag photos with one model: its label vectors, which vocabulary
    entries each label leaves out, the vocabulary, the generic anchor and the logit scale."""

    labels: Floats  # K × D
    excluded: npt.NDArray[np.bool_]  # K × V
    vocabulary: Floats  # V × D
    anchor: Floats  # D
    scale: float
    thresholds: Floats  # K, logits
    exclusive: bool

    def margins(self, vectors: Floats) -> tuple[Floats, Floats]:
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

    def decide(self, vectors: Floats) -> Decided:
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



def score_chunks(scorer: Scorer, chunks: Iterable[tuple[Ids, Floats]],
                 tag_ids: Ids) -> tuple[Ids, Tags]:
    """(ids of the photos scored, the auto tags they get) for ``chunks`` of (photo ids,
    vectors). NumPy's products release the GIL: chunks are scored on every core while the
    next ones are read from the catalog (at most two waiting per thread)."""
    found: list[tuple[Ids, Ids, npt.NDArray[np.float64]]] = []
    scored: list[Ids] = []

    def collect(chunk_ids: Ids, decided: Decided) -> None:
        r, c, conf = decided
        found.append((chunk_ids[r], tag_ids[c], conf.astype(np.float64)))
        scored.append(chunk_ids)

    with ThreadPoolExecutor(_THREADS, thread_name_prefix="photoclip-tagging") as pool:
        pending: deque[tuple[Ids, Future[Decided]]] = deque()
        for chunk_ids, vectors in chunks:
            if len(chunk_ids):
                pending.append((chunk_ids, pool.submit(scorer.decide, vectors)))
            while len(pending) > 2 * _THREADS:
                done_ids, future = pending.popleft()
                collect(done_ids, future.result())
        while pending:
            done_ids, future = pending.popleft()
            collect(done_ids, future.result())
    ids = np.concatenate(scored) if scored else np.zeros(0, np.int64)
    return ids, Tags.concat(found)
