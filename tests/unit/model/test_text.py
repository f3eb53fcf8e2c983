"""Text knowledge shared by tags, categories and search (core/model/text.py)."""

from __future__ import annotations

import numpy as np
import pytest

from photoclip.core.model import text


class HashText:
    """A tiny text encoder (photoclip.core.model.protocols.TextEncoder): unnormalised vectors
    fixed by each text, so normalisation is really exercised."""

    dim = 8
    logit_scale = 100.0

    def __init__(self):
        self.calls: list[int] = []

    def encode_texts(self, texts):
        self.calls.append(len(texts))
        out = []
        for t in texts:
            rng = np.random.default_rng(sum(t.encode()) * 7919 + len(t))
            out.append(rng.normal(size=self.dim) * 5)
        return np.asarray(out, np.float32)


def test_templates_each_take_one_name():
    assert len(text.TEMPLATES) >= 10
    for t in text.TEMPLATES:
        assert t.count("{}") == 1 and t.format("dog").endswith(".")
    assert text.VOCABULARY_TEMPLATE.format("dog") == "a photo of a dog."
    assert all("{}" not in p for p in text.BACKGROUND_PROMPTS)


def test_vocabulary_is_readable_and_clean():
    words = text.vocabulary()
    assert isinstance(words, tuple) and len(words) >= 50
    assert all(w == w.strip() and w and not w.startswith("#") for w in words)
    assert {"dog", "beach"} <= {text.word(w) for w in words}
    assert text.vocabulary() is words  # read once


@pytest.mark.parametrize("given, expected", [
    ("Dogs", "dog"),
    ("grass", "grass"),
    ("  City   Streets ", "city street"),
    ("CAT", "cat"),
    ("s", ""),
])
def test_word(given, expected):
    assert text.word(given) == expected


def test_encode_normalises_and_batches():
    enc = HashText()
    prompts = [f"prompt {i}" for i in range(300)]
    v = text.encode(enc, prompts)
    assert v.shape == (300, 8) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert enc.calls == [256, 44]


def test_encode_answers_in_the_order_asked_whatever_the_lengths():
    enc = HashText()
    prompts = [("x" * (i % 7)) + f" prompt {i}" for i in range(300)]
    v = text.encode(enc, prompts)
    one_by_one = np.concatenate([text.encode(HashText(), [p]) for p in prompts])
    np.testing.assert_allclose(v, one_by_one, atol=1e-6)


def test_label_vector_is_the_normalised_mean():
    enc = HashText()
    prompts = [t.format("dog") for t in text.TEMPLATES]
    v = text.label_vector(enc, prompts)
    assert v.shape == (8,) and v.dtype == np.float32
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    each = text.encode(HashText(), prompts)
    expected = each.mean(axis=0) / np.linalg.norm(each.mean(axis=0))
    np.testing.assert_allclose(v, expected, atol=1e-6)
    assert float(v @ each[0]) < 1.0  # a mean, not one prompt
