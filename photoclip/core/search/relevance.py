"""Which results of a text search are good matches — judged photo by photo, not by an
absolute cosine (its scale differs per model) nor by the library's score distribution (a
query for what a third of the library shows, "cat" in a cat owner's photos, would look
ordinary there; one for what it does not show would stand out).

The same rule as tag sets (core/tags/scoring.py): a photo matches a query when the query beats
what the photo shows best among ~200 everyday alternatives (resources/tagsets/background.txt:
person, dog, beach, receipt, sunset …), all but the strongest one, the query's own words left
out — and some nonsense (resources/tagsets/nonsense.txt), so a keyboard mash must beat other
nonsense (docs/search.md). Relevance is that margin in the model's logits: ≥ :data:`GOOD` is
shown by default, "show weaker matches" goes down to :data:`WEAK`, then to every result; no
result ≥ GOOD is "no good matches". Measured on the fixture CLIP (1,000 CIFAR photos): "a
photo of a dog" keeps 116 of 500 (82 dogs), "truck" 101 (87 trucks), "birthday cake" and "xkcd
flibber" none; in a library of 12 cats, 12 dogs and 12 ships "ship" keeps the 12 ships,
"airplane" nothing.

A margin of logits is the same rule for every model: CLIP's logit is its scale times the
cosine; SigLIP-style models (a sigmoid loss) add a learned bias, which cancels between the
query's logit and the alternative's, so their good matches are judged in their own logits
too, with their own scale (``TextEncoder.logit_scale``, read from the model).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

GOOD = 0.0  # beats all but the photo's strongest everyday alternative
WEAK = -2.0  # "show weaker matches" goes down to here first
RUNNER_UP = 2  # (as for tags)


def lower_cut(cut: float | None) -> float | None:
    """One step down the ladder "show weaker matches" climbs: good → weak → every result."""
    return WEAK if cut is not None and cut > WEAK else None


class _Part(Protocol):
    """A weighted part of a query (``photoclip.core.search.query.Term``)."""

    @property
    def weight(self) -> float: ...

    @property
    def text(self) -> str: ...


def query_words(terms: Iterable[_Part]) -> set[str]:
    """The words of a query's positive parts (left out of the alternatives)."""
    from photoclip.core.model.text import word

    words: set[str] = set()
    for t in terms:
        if t.weight > 0:
            words |= {word(w) for w in re.findall(r"[\w'-]+", t.text.lower())}
    return words


def rate(scores: np.ndarray, vectors: np.ndarray, vocabulary: np.ndarray, words: Sequence[str],
         own: set[str], scale: float) -> np.ndarray:
    """Relevance of each hit: ``scale`` × (its score − the score of its runner-up everyday
    alternative that is not one of the query's ``own`` words). ``vectors``: the hits' image
    vectors, in the order of ``scores``; ``vocabulary``: the alternatives' text vectors."""
    from photoclip.core.model.text import word

    alt = vectors @ vocabulary.T
    keep = np.array([word(w) not in own for w in words], bool)
    alt = alt[:, keep]
    k = min(RUNNER_UP, alt.shape[1])
    level = np.partition(alt, -k, axis=1)[:, -k] if k else np.zeros(len(scores))
    return (scale * (np.asarray(scores, np.float32) - level)).astype(np.float32)
