"""photoclip.core.names: one rule for every name a user gives."""

from __future__ import annotations

import re

import pytest

from photoclip.core import names
from photoclip.core.errors import PhotoclipError


@pytest.mark.parametrize("raw, stored", [
    ("  city   street ", "city street"),
    ("two\nlines\tand\rtabs", "two lines and tabs"),
    ("e\u0301te\u0301", "\u00e9t\u00e9"),  # decomposed accents become NFC
    ("evil\u202egpj.exe", "evil gpj.exe"),  # a bidi override is no part of a name
    ("bell\x07\x1b[31m", "bell [31m"),
])
def test_clean_is_what_is_stored(raw, stored):
    assert names.clean(raw) == stored


@pytest.mark.parametrize("blank", ["", "   ", "\n\t", "\x00\x1b"])
def test_an_empty_name_is_refused_with_what_it_was(blank):
    with pytest.raises(PhotoclipError, match="A tag set cannot be empty"):
        names.clean(blank, "A tag set")


@pytest.mark.parametrize("a, b", [
    ("Beach", "beach"),
    ("  BEACH  party ", "beach party"),
    ("Ärger", "ärger"),
    ("STRASSE", "straße"),
    ("Cafe\u0301", "CAFÉ"),
])
def test_key_folds_case_whitespace_and_unicode_forms(a, b):
    assert names.key(a) == names.key(b)


def test_different_names_keep_different_keys():
    assert names.key("beach") != names.key("beaches")
    assert names.key("a b") != names.key("ab")


@pytest.mark.parametrize("name, quoted", [
    ("beach", "beach"),
    ("city street", '"city street"'),
    ('He said "hi"', '"He said \\"hi\\""'),
    ("back\\slash", '"back\\\\slash"'),
    ("", '""'),
])
def test_quote_writes_and_unquote_reads_back(name, quoted):
    assert names.quote(name) == quoted
    assert names.unquote(quoted) == name
    assert re.fullmatch(names.TERM_VALUE, quoted)


def test_printable_shows_control_characters_instead_of_obeying_them():
    assert names.printable("red\x1b[31m") == "red\\x1b[31m"
    assert names.printable("a\u202eb") == "a\\u202eb"
    assert names.printable("plain é") == "plain é"
