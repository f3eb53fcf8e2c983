"""What categories are: a category ("Receipts", "Our dog Rex") with its name, optional
description, membership threshold and the counts of the user's labels (photos in it, photos
not in it); the quality estimated from those labels; a trained probe with the label revision it
saw. Plain data and the numbers the rest agrees on; the SQL is in core/store/categories.py and
the learning in core/categories/probe.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    """Cross-validated on the user's own labels; None where there are too few to tell."""

    precision: float | None
    recall: float | None
    positives: int
    negatives: int
    need_positives: int = 0  # how many more examples an estimate needs
    need_negatives: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

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

