"""The search grammar (core/search/query.py): parse, the terms the app writes for tags and
categories (they must read back as the same name), and the description's weighted terms."""

from __future__ import annotations

import pytest

from photoclip.core.errors import PhotoclipError
from photoclip.core.search.query import (
    Query,
    Term,
    category_term,
    parse,
    tag_term,
    terms,
    with_category_renamed,
)

HARD_NAMES = [
    "beach",
    "city street",
    'He said "hi"',
    "back\\slash",
    "ends with a backslash\\",
    '"quoted"',
    "Ärger café",
    "日本 語",
    "-grass",
    "+plus",
    "2:dog",
    "tag:inner",
    "category:inner",
]


def test_parse_splits_category_tags_and_text():
    q = parse('category:Receipts tag:"city street" dog tag:beach')
    assert q == Query("Receipts", ("city street", "beach"), "dog")


def test_plain_text_is_all_description():
    assert parse("  kids on a   beach ") == Query(None, (), "kids on a beach")


def test_tag_terms_are_case_insensitive_and_need_a_word_boundary():
    assert parse("TAG:beach").tags == ("beach",)
    q = parse("hashtag:beach")
    assert q.tags == () and q.text == "hashtag:beach"


def test_category_counts_only_when_leading():
    q = parse("dog category:Receipts")
    assert q.category is None and q.text == "dog category:Receipts"


@pytest.mark.parametrize("name", HARD_NAMES)
def test_tag_term_round_trips(name):
    assert parse(tag_term(name)) == Query(None, (name,), "")
    assert parse(f"dog {tag_term(name)} cat") == Query(None, (name,), "dog cat")


@pytest.mark.parametrize("name", HARD_NAMES)
def test_category_term_round_trips(name):
    assert parse(category_term(name)) == Query(name, (), "")
    assert parse(f"{category_term(name)} {tag_term(name)} sunset") == \
        Query(name, (name,), "sunset")


def test_terms_quote_only_when_needed():
    assert tag_term("beach") == "tag:beach"
    assert tag_term("city street") == 'tag:"city street"'
    assert category_term('a "b"') == 'category:"a \\"b\\""'


def test_two_hard_tags_together():
    a, b = 'x "y" z', "back\\slash two"
    assert parse(f"{tag_term(a)} {tag_term(b)}").tags == (a, b)


@pytest.mark.parametrize("q, by_name, needs_model", [
    (Query(), False, True),
    (Query(text="dog"), False, True),
    (Query(tags=("beach",)), True, False),
    (Query(category="Receipts"), True, False),
    (Query(category="Receipts", text="dog"), True, True),
])
def test_by_name_and_needs_model(q, by_name, needs_model):
    assert (q.by_name, q.needs_model) == (by_name, needs_model)


def test_parsed_queries_know_whether_they_need_a_model():
    assert not parse("tag:beach").needs_model
    assert parse("tag:beach dog").needs_model
    assert parse("dog").needs_model and not parse("dog").by_name


@pytest.mark.parametrize("text, expected", [
    ("3:dog -0.5:grass", [Term(3, "dog"), Term(-0.5, "grass")]),
    (".5:cat", [Term(0.5, "cat")]),
    ("dog -grass -snow", [Term(1, "dog"), Term(-1, "grass"), Term(-1, "snow")]),
    ("dog - cat", [Term(1, "dog - cat")]),  # a spaced dash is part of the description
    ("+beach", [Term(1, "beach")]),
])
def test_terms_weights_and_signs(text, expected):
    assert terms(text) == expected


def test_empty_search_is_one_sentence():
    with pytest.raises(PhotoclipError) as e:
        terms(" \t ")
    assert str(e.value) == "The search is empty: type what you are looking for."


def test_a_search_of_signs_only_is_one_sentence():
    with pytest.raises(PhotoclipError) as e:
        terms("- +")
    msg = str(e.value)
    assert msg.startswith("Nothing to search for in “- +”") and msg.endswith(".")
    assert msg.count(". ") == 0 and "\n" not in msg


def test_a_renamed_category_is_renamed_in_the_query_that_names_it():
    renamed = with_category_renamed("category:Zorp dog", "zorp", "Rex and Co")
    assert renamed == f"{category_term('Rex and Co')} dog"
    assert parse(renamed) == Query("Rex and Co", (), "dog")
    assert with_category_renamed("category:Other", "Zorp", "Rex") is None
    assert with_category_renamed("dog", "Zorp", "Rex") is None
