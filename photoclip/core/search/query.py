"""The search grammar, in one place: what a user may type in the search bar (or after
``photoclip search``), parsed into a :class:`Query`, and the terms the app writes for them.

- ``category:Receipts rest`` — a *leading* category term keeps that category's members;
- ``tag:beach``, ``tag:Places/beach``, ``tag:"city street"`` — anywhere, each keeps only
  photos carrying that tag (quoted names may hold escaped quotes: :func:`names.quote`);
- the rest is a description: ``2:dog +beach -grass`` weights, adds and subtracts parts.

A query made only of category/tag terms lists photos by name and needs no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from photoclip.core import names
from photoclip.core.errors import PhotoclipError

TAG = "tag:"
CATEGORY = "category:"

_TAG_TERM = re.compile(r"(?:^|(?<=\s))tag:(" + names.TERM_VALUE + ")", re.I)
_CATEGORY_TERM = re.compile(CATEGORY + "(" + names.TERM_VALUE + ")", re.I)
_OP = re.compile(r"(?:^|\s)([+-])(?=\S)")
_WEIGHT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+):\s*(.+)$", re.S)


@dataclass(frozen=True)
class Term:
    """One part of a description, with its weight (negative: photos showing it rank lower)."""

    weight: float
    text: str


@dataclass(frozen=True)
class Query:
    """A parsed search: the category and tags it names, and the description left over."""

    category: str | None = None
    tags: tuple[str, ...] = field(default=())
    text: str = ""

    @property
    def by_name(self) -> bool:
        """Whether it names a tag or a category (answered from the catalog, no model)."""
        return self.category is not None or bool(self.tags)

    @property
    def needs_model(self) -> bool:
        """Whether answering it embeds a description (a model must be ready)."""
        return bool(self.text) or not self.by_name


def parse(query: str) -> Query:
    """``'category:Receipts tag:"city street" dog'`` → Query('Receipts', ('city street',),
    'dog'). Never raises: a description is checked by :func:`terms` when it is embedded."""
    category, rest = _split_category(query)
    tags, rest = _split_tags(rest)
    return Query(category, tuple(tags), rest)


def tag_term(name: str) -> str:
    """What the search bar shows for a tag: ``tag:beach``, ``tag:"city street"``."""
    return TAG + names.quote(name)


def category_term(name: str) -> str:
    """What the search bar shows for a category: ``category:Receipts``."""
    return CATEGORY + names.quote(name)


def with_category_renamed(query: str, old: str, new: str) -> str | None:
    """``query`` with its category ``old`` (compared as names are: case-folded) named ``new``
    — what the search bar shows once the category shown is renamed; None when the query names
    another category or none."""
    category, rest = _split_category(query)
    if category is None or names.key(category) != names.key(old):
        return None
    return f"{category_term(new)} {rest}".strip()


def terms(text: str) -> list[Term]:
    """``"2:dog +beach -grass"`` → [Term(2, 'dog'), Term(1, 'beach'), Term(-1, 'grass')].
    PhotoclipError (one sentence) when there is nothing to search for."""
    text = text.strip()
    if not text:
        raise PhotoclipError("The search is empty: type what you are looking for.")
    parts = _OP.split(text)
    # split gives [text, op, text, op, text...]; the first text has an implicit '+'
    out: list[Term] = []
    signs = ["+", *parts[1::2]]
    for sign, part in zip(signs, parts[0::2], strict=True):
        part = part.strip()
        if not part:
            continue
        weight = 1.0
        m = _WEIGHT.match(part)
        if m:
            weight, part = float(m.group(1)), m.group(2).strip()
        if any(ch.isalnum() for ch in part):  # (a lone "-" or "+" names nothing)
            out.append(Term(-weight if sign == "-" else weight, part))
    if not out:
        raise PhotoclipError(f"Nothing to search for in “{text}”: type a word, like "
                             "“beach” or “beach -people”.")
    return out


def _split_category(query: str) -> tuple[str | None, str]:
    m = _CATEGORY_TERM.match(query.strip())
    if m is None:
        return None, query
    return names.unquote(m.group(1)), query.strip()[m.end():].strip()


def _split_tags(query: str) -> tuple[list[str], str]:
    found: list[str] = []

    def take(m: re.Match[str]) -> str:
        found.append(names.unquote(m.group(1)))
        return " "

    rest = _TAG_TERM.sub(take, query)
    return [t.strip() for t in found if t.strip()], " ".join(rest.split())
