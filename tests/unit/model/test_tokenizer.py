"""photoclip.core.model.tokenizer.ClipTokenizer without torch (its token-for-token match with
open_clip is checked in test_precision.py)."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core.model.tokenizer import ClipTokenizer, default_vocab_path


@pytest.fixture(scope="module")
def tok():
    if default_vocab_path() is None:
        pytest.fail("open_clip's BPE vocabulary is not installed")
    return ClipTokenizer(context_length=16)


def test_a_text_is_framed_by_start_and_end_and_zero_padded(tok):
    out = tok(["a dog", "a dog on a beach"])
    assert out.shape == (2, 16) and out.dtype == np.int64
    n = 2 + len(tok.encode("a dog"))
    assert out[0, 0] == tok.sot and out[0, n - 1] == tok.eot and not out[0, n:].any()
    assert out[0, 1:n - 1].tolist() == out[1, 1:n - 1].tolist()  # same prefix, same tokens


def test_case_spacing_and_html_escapes_do_not_change_the_tokens(tok):
    base = tok.encode("fish & chips on a plate")
    assert tok.encode("  FISH &amp; Chips\n on   a PLATE ") == base
    assert base and tok.encode("fish and chips") != base


def test_a_long_text_is_cut_with_the_end_token_last(tok):
    out = tok(["word " * 40])[0]
    assert out[0] == tok.sot and out[-1] == tok.eot and (out != 0).all()
    wider = tok(["word " * 40], context_length=77)[0]
    assert wider.shape == (77,) and wider[15] != tok.eot


def test_unicode_and_unknown_words_still_tokenize(tok):
    for text in ("café crème", "猫", "xkcdflibber", "🐶"):
        ids = tok.encode(text)
        assert ids and all(0 <= i < tok.sot for i in ids), text


def test_a_missing_vocabulary_is_said(tmp_path):
    with pytest.raises(FileNotFoundError):
        ClipTokenizer(tmp_path / "nope.txt.gz")
