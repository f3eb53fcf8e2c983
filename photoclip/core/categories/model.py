"""What categories are: a category ("Receipts", "Our dog Rex") with its name, optional
description, membership threshold and the counts of the user's labels (photos in it, photos
not in it); the quality estimated from those labels; a trained probe with the label revision it
saw. Plain data and the numbers the rest agrees on; the SQL is in core/store/categories.py and
the learning in core/categories/probe.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from photoclip.core.categories import probe as learner

THRESHOLD = 0.5  # default membership probability
BACKGROUND = 2000  # unlabelled photos sampled as background negatives
MIN_POSITIVES = 5  # examples needed to estimate recall (cross-validation)
MIN_NEGATIVES = 5  # "not in this category" photos needed to estimate precision


@dataclass
class Category:
    id: int
    name: str
    description: str = ""
    threshold: float = THRESHOLD
    labels_rev: int = 0
    positives: int = 0
    negatives: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "threshold": self.threshold, "positives": self.positives,
                "negatives": self.negatives}


@dataclass
class Quality:
    """Cross-validated on the user's own labels; None where there are too few to tell.

    ``held_out`` keeps, for each labelled photo, whether it is an example and the probability
    a probe that never saw it gave it: precision and recall follow from it at any threshold
    (:meth:`at`), so the sentence describes the threshold in force, not the one there was when
    the examples last changed."""

    precision: float | None
    recall: float | None
    positives: int
    negatives: int
    need_positives: int = 0  # how many more examples an estimate needs
    need_negatives: int = 0
    held_out: list[tuple[bool, float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "held_out"}

    def to_json(self) -> str:
        """What the catalog keeps (with the held-out probabilities)."""
        return json.dumps({**self.to_dict(), "held_out": self.held_out})

    @classmethod
    def from_json(cls, text: str) -> Quality | None:
        """None for one kept before the held-out probabilities were (it must be measured
        again to describe another threshold)."""
        data = json.loads(text)
        if data.get("held_out") is None and data.get("need_positives", 0) == 0:
            return None
        held = data.pop("held_out", None)
        q = cls(**data)
        q.held_out = [(bool(t), float(p)) for t, p in held] if held is not None else None
        return q

    def at(self, threshold: float) -> Quality:
        """Precision and recall if the category's threshold were ``threshold``."""
        if self.held_out is None:
            return self
        truth = np.array([t for t, _ in self.held_out], bool)
        said = np.array([p for _, p in self.held_out], np.float64) >= threshold
        recall = float(said[truth].mean()) if truth.any() else None
        precision = None
        if not self.need_negatives:
            picked = int(said.sum())
            precision = float((said & truth).sum() / picked) if picked else 0.0
        return Quality(precision, recall, self.positives, self.negatives, self.need_positives,
                       self.need_negatives, self.held_out)

    def describe(self) -> str:
        parts = []
        if self.recall is not None:
            parts.append(f"finds {self.recall:.0%} of your examples")
        if self.precision is not None:
            parts.append(f"{self.precision:.0%} of what it picks is right")
        if self.need_positives:
            parts.append(f"add at least {self.need_positives} more example"
                         f"{'s' if self.need_positives > 1 else ''} to estimate its quality")
        elif self.need_negatives:
            parts.append(f"mark at least {self.need_negatives} more photo"
                         f"{'s' if self.need_negatives > 1 else ''} \"not in this category\" "
                         "to estimate how much of what it picks is right")
        return "; ".join(parts)


@dataclass
class Trained:
    probe: learner.Probe
    labels_rev: int
    quality: Quality | None = None

