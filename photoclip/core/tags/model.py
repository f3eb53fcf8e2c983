"""What tags are: tag sets (the user's own vocabularies: "Places": beach, mountain, city
street …), their labels, a photo's tags, the auto tags an apply writes, and the rules their
names and context phrases follow. Plain data and checks: no SQL (core/store/tags.py) and no
scoring (core/tags/scoring.py).

A label becomes a text vector from its prompts (:meth:`TagSet.prompts`): the label and its
synonyms put through the photo prompt templates (core/model/text.py), the set's context phrase
and any whole-sentence prompts.

Photo tags are 'auto' (confidence, model), 'manual', or 'removed' (a tombstone): re-applying,
changing a threshold or switching the model only ever replaces 'auto' rows, so a manual tag or
a removal always wins.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from photoclip.core import names
from photoclip.core.errors import NotFound, PhotoclipError
from photoclip.core.model.text import TEMPLATES

Ids = npt.NDArray[np.int64]  # photo or tag ids

RUNNER_UP = 2  # a label must beat all but the strongest (1) everyday alternative
THRESHOLD = 0.0  # default margin in logits over the runner-up alternative
MAX_THRESHOLD = 1000.0  # (logits of normalised vectors stay within ±100; past this, nonsense)
LIBRARY = ""  # the scope "whole library"


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

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "exclusive": self.exclusive, "context": self.context,
                "threshold": self.threshold, "labels": [lb.to_dict() for lb in self.labels],
                "applied_to": ["(library)" if s == LIBRARY else s for s in self.scopes]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TagSet:
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

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.name, "set": self.tagset, "source": self.source,
                "confidence": None if self.confidence is None else round(self.confidence, 4),
                "model": self.model}


@dataclass
class Tags:
    """Auto tags as columns: photo ids, tag ids, confidences."""

    photos: Ids
    tags: Ids
    confidence: npt.NDArray[np.float64]

    @classmethod
    def concat(cls, parts: list[tuple[Ids, Ids, npt.NDArray[np.float64]]]) -> Tags:
        if not parts:
            return cls.from_rows([])
        return cls(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                   np.concatenate([p[2] for p in parts]))

    @classmethod
    def from_rows(cls, rows: Sequence[tuple[int, int, float] | tuple[Any, ...]]) -> Tags:
        """From (photo id, tag id, confidence) rows."""
        return cls(np.fromiter((r[0] for r in rows), np.int64, len(rows)),
                   np.fromiter((r[1] for r in rows), np.int64, len(rows)),
                   np.fromiter((r[2] for r in rows), np.float64, len(rows)))

    def keys(self) -> Ids:
        keys: Ids = (self.photos << 24) | self.tags
        return keys  # (tag ids stay far below 2**24)

    def take(self, rows: npt.NDArray[np.bool_] | Ids) -> Tags:
        """The rows a mask selects, or the rows at these positions (in their order)."""
        return Tags(self.photos[rows], self.tags[rows], self.confidence[rows])

    def in_key_order(self) -> Tags:
        """Sorted as the table photo_tags is (photo, tag): written in that order, rows go to
        the B-tree's pages in turn (690k new tags at a million photos: 13.9 s → 8.7 s)."""
        return self.take(np.argsort(self.keys(), kind="stable"))


@dataclass(frozen=True)
class ThresholdEffect:
    """What a strictness would do to one label: how many photos it tags now and would tag."""

    label: str
    now: int
    then: int
    own_threshold: bool = False  # the label has its own strictness (a set's does not move it)


@dataclass
class ApplyReport:
    tagset: str
    photos: int = 0  # photos scored
    tagged: int = 0  # auto tags written
    seconds: float = 0.0
    problem: str | None = None  # why the set could not tag photos (said once, when new)


def starter_sets() -> dict[str, TagSet]:
    """The tag sets that ship with PhotoCLIP (resources/tagsets/*.json), by file stem."""
    out: dict[str, TagSet] = {}
    folder = resources.files("photoclip") / "resources" / "tagsets"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            out[entry.name[:-5]] = TagSet.from_dict(json.loads(entry.read_text("utf-8")))
    return out



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



def label_named(ts: TagSet, name: str) -> Label:
    """The label of ``ts`` called ``name`` (names compared by their keys); NotFound lists
    the set's labels."""
    for lb in ts.labels:
        if names.key(lb.name) == names.key(name):
            return lb
    raise NotFound(f"The tag set {ts.name} has no label {name} "
                   f"(its labels: {', '.join(lb.name for lb in ts.labels)}).")
