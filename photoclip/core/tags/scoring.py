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
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
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
_SCORING_THREADS = max(1, min(4, (os.cpu_count() or 1) - 1))  # (see scored_chunks)


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

    def __post_init__(self) -> None:
        # one product gives the labels', the anchor's and the alternatives' cosines
        self._weights = np.ascontiguousarray(
            np.concatenate([self.labels, self.anchor[None], self.vocabulary]).T, np.float32)
        self._owners = np.ascontiguousarray(self.excluded.T)  # V × K: whose own word it is
        self._owned: npt.NDArray[np.bool_] = np.asarray(self._owners.any(axis=1))
        self._most_own = int(self.excluded.sum(axis=1).max(initial=0))

    def margins(self, vectors: Floats) -> tuple[Floats, Floats]:
        """(margin N×K in logits over each label's runner-up alternative, share N×K of the
        softmax over the set's labels and the anchor)."""
        k = len(self.labels)
        logits = vectors @ self._weights  # N × (K labels, anchor, V alternatives)
        cos = logits[:, :k]
        top_idx, top_val = _top_k(logits[:, k + 1:], RUNNER_UP + self._most_own)
        # each label's runner-up: the RUNNER_UP-th of the photo's best alternatives that is not
        # the label itself (its name or a synonym)
        level = np.repeat(top_val[:, RUNNER_UP - 1:RUNNER_UP], k, axis=1)
        if self._most_own:
            # the few (photo, label) pairs whose own words are among the photo's best: walk
            # down past each of them (positions ascending within a pair)
            n, pos = np.nonzero(self._owned[top_idx])
            hit, j = np.nonzero(self._owners[top_idx[n, pos]])  # (a word may be several's)
            n, pos = n[hit], pos[hit]
            if len(n):
                order = np.lexsort((pos, j, n))
                n, pos, j = n[order], pos[order], j[order]
                first = np.r_[True, (n[1:] != n[:-1]) | (j[1:] != j[:-1])]
                group = np.cumsum(first) - 1
                start = np.flatnonzero(first)
                rank = np.arange(len(n)) - start[group]
                nth = np.full(len(start), RUNNER_UP - 1)
                for r in range(self._most_own):
                    at = group[rank == r]
                    past = pos[rank == r] <= nth[at]
                    nth[at[past]] += 1
                nth = np.minimum(nth, top_val.shape[1] - 1)
                level[n[start], j[start]] = top_val[n[start], nth]
        margin = self.scale * (cos - level)
        logits = logits[:, :k + 1]  # (a view: the cosines are not needed past here)
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



def scored_chunks(scorer: Scorer, chunks: Iterable[tuple[Ids, Floats]],
                  tag_ids: Ids) -> Iterator[tuple[Ids, Tags]]:
    """(photo ids of a chunk, the auto tags they get), chunk by chunk in the order of
    ``chunks`` (of photo ids, vectors).

    The caller's thread writes what it is handed: the chunks are read in a thread of their
    own and scored on every other core meanwhile (NumPy's products release the GIL), at most
    two chunks waiting per scoring thread. One core is left to the writer: with as many
    scoring threads as cores, 690k new tags at a million photos took 6-7 s to write, against
    4.5 s on a core of its own, and the scoring ends sooner than the writing anyway."""
    threads = _SCORING_THREADS
    Item = tuple[Ids, Future[Decided]] | BaseException | None
    ready: queue.Queue[Item] = queue.Queue(2 * threads)
    stop = threading.Event()

    def put(item: Item) -> bool:
        while not stop.is_set():  # (the caller stopped early: the reader goes too)
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    with ThreadPoolExecutor(threads, thread_name_prefix="photoclip-tagging") as pool:

        def read() -> None:
            try:
                for chunk_ids, vectors in chunks:
                    if len(chunk_ids) and not put((chunk_ids, pool.submit(scorer.decide,
                                                                          vectors))):
                        return
                put(None)
            except BaseException as e:  # (raised to the caller, in its thread)
                put(e)

        reader = threading.Thread(target=read, name="photoclip-tag-reader", daemon=True)
        reader.start()
        try:
            while (item := ready.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                chunk_ids, future = item
                r, c, conf = future.result()
                yield chunk_ids, Tags(chunk_ids[r], tag_ids[c], conf.astype(np.float64))
        finally:
            stop.set()
            reader.join()

