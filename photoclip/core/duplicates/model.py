"""Duplicates as the GUI and CLI see them: groups of photos, the one suggested to keep and
why, and what a resolution or its undo did."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from photoclip.core.store.duplicates import PhotoFacts

SAME = "same"  # the same photo: byte copies, re-saved, resized, converted, rotated by EXIF
SIMILAR = "similar"  # near-identical shots: bursts, light crops and edits

# why a photo is the one to keep (the first rule that tells the group's photos apart)
REASONS = {
    "raw": "has the camera's RAW file",
    "largest": "most pixels",
    "sharpest": "sharpest",
    "biggest file": "same pixels, least compressed",
    "original": "oldest file (the original)",
    "first": "identical; the first by name",
}


@dataclass(frozen=True)
class Member:
    """One photo of a group, with what the review shows side by side."""

    id: int
    path: str
    size: int
    width: int | None
    height: int | None
    taken_at: str | None
    mtime_ns: int
    companion: str | None = None  # the RAW of a RAW + JPEG pair
    sharpness: float | None = None  # variance of the Laplacian at 512 px (higher: sharper)

    @classmethod
    def of(cls, f: PhotoFacts, sharpness: float | None = None) -> Member:
        return cls(f.id, f.path, f.size, f.width, f.height, f.taken_at, f.mtime_ns,
                   f.companion, sharpness)

    @property
    def pixels(self) -> int:
        return (self.width or 0) * (self.height or 0)

    @property
    def format(self) -> str:
        ext = os.path.splitext(self.path)[1].lstrip(".").upper()
        return {"JPG": "JPEG", "TIF": "TIFF"}.get(ext, ext) or "?"

    @property
    def folder(self) -> str:
        return os.path.dirname(self.path)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass(frozen=True)
class Group:
    """Photos that are one photo (``kind`` SAME) or near-identical shots (SIMILAR). The first
    member is the one suggested to keep; ``reason`` says why (a key of REASONS)."""

    kind: str
    members: tuple[Member, ...]
    reason: str

    @property
    def keep(self) -> Member:
        return self.members[0]

    @property
    def others(self) -> tuple[Member, ...]:
        return self.members[1:]

    @property
    def why(self) -> str:
        return REASONS.get(self.reason, self.reason)

    def keeping(self, photo: int | str) -> Group:
        """The same group with ``photo`` (an id or a path) as the one to keep."""
        for i, m in enumerate(self.members):
            if photo in (m.id, m.path):
                if i == 0:
                    return self
                rest = self.members[:i] + self.members[i + 1:]
                return replace(self, members=(m, *rest), reason="chosen")
        raise ValueError(f"{photo} is not in this group")

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "keep": self.keep.path,
                "photos": [m.path for m in self.members], "reason": self.reason}


@dataclass
class Resolution:
    """What resolving did: groups resolved, files moved to the trash or marked, what the kept
    photos inherited, and files that could not be moved (left where they were)."""

    action: str  # trash | mark | distinct
    groups: int = 0
    trashed: list[str] = field(default_factory=list)
    marked: list[str] = field(default_factory=list)
    inherited_tags: int = 0
    inherited_examples: int = 0
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "groups": self.groups, "trashed": self.trashed,
                "marked": self.marked, "inherited_tags": self.inherited_tags,
                "inherited_examples": self.inherited_examples, "problems": self.problems}


@dataclass
class Undone:
    """What undoing the last resolution did."""

    action: str
    restored: list[str] = field(default_factory=list)  # files back from the trash
    unmarked: int = 0
    rows: int = 0  # tags and examples put back as they were
    problems: list[str] = field(default_factory=list)  # files that could not come back

    def to_json(self) -> dict[str, Any]:
        return {"action": self.action, "restored": self.restored, "unmarked": self.unmarked,
                "rows": self.rows, "problems": self.problems}


def choose_keep(kind: str, members: Sequence[Member]) -> tuple[list[Member], str]:
    """Order ``members`` best first and say why the first is best: the camera's RAW, then the
    most pixels, then (near-identical shots) the sharpest, then the oldest file (a copy is
    made after its original), then the least compressed."""
    rules: list[tuple[str, Any]] = [("raw", lambda m: m.companion is not None),
                                    ("largest", lambda m: m.pixels)]
    if kind == SIMILAR:
        rules.insert(1, ("sharpest", lambda m: round(m.sharpness or 0.0, -1)))
    rules += [("original", lambda m: -m.mtime_ns), ("biggest file", lambda m: m.size)]
    ordered = sorted(members, key=lambda m: (*(-_num(f(m)) for _, f in rules), m.path))
    best, second = ordered[0], ordered[1]
    for name, f in rules:
        if f(best) != f(second):
            return ordered, name
    return ordered, "first"


def _num(v: Any) -> float:
    return float(v)
