"""photoclip.core.search.relevance: a hit is good when the query beats what the photo shows
best among everyday alternatives (all but the strongest), the query's own words left out."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from photoclip.core.search import relevance


class Part(NamedTuple):
    weight: float
    text: str


def test_show_weaker_matches_steps_good_then_weak_then_everything():
    assert relevance.lower_cut(relevance.GOOD) == relevance.WEAK
    assert relevance.lower_cut(relevance.WEAK) is None
    assert relevance.lower_cut(None) is None
    assert relevance.GOOD > relevance.WEAK


def test_query_words_are_the_positive_parts_singular_and_lower_case():
    words = relevance.query_words([Part(1, "Dogs on the Beach"), Part(-1, "grass"),
                                   Part(1, "glass")])
    assert {"dog", "beach", "glass"} <= words
    assert "grass" not in words and "dogs" not in words


def _vocab():
    # alternatives: cat, dog, beach, sunset — one axis each; the hits mix them
    return ["cat", "dog", "beach", "sunset"], np.eye(4, dtype=np.float32)


def test_rate_is_the_margin_over_the_runner_up_alternative():
    words, vocab = _vocab()
    hits = np.array([[0.9, 0.5, 0.2, 0.1],    # strongest alt 0.9, runner-up 0.5
                     [0.1, 0.1, 0.1, 0.8]], np.float32)  # runner-up 0.1
    scores = np.array([0.6, 0.3], np.float32)
    out = relevance.rate(scores, hits, vocab, words, own=set(), scale=10.0)
    assert out.dtype == np.float32
    assert out == pytest.approx([10 * (0.6 - 0.5), 10 * (0.3 - 0.1)], abs=1e-5)


def test_the_querys_own_words_are_not_its_competition():
    words, vocab = _vocab()
    hit = np.array([[0.2, 0.9, 0.8, 0.1]], np.float32)  # a dog on a beach
    score = np.array([0.7], np.float32)
    with_dog = relevance.rate(score, hit, vocab, words, own=set(), scale=1.0)
    without = relevance.rate(score, hit, vocab, words,
                             own=relevance.query_words([Part(1, "dogs")]), scale=1.0)
    assert with_dog[0] == pytest.approx(0.7 - 0.8)  # runner-up: beach (dog is the best)
    assert without[0] == pytest.approx(0.7 - 0.2)  # dog left out: beach best, cat runner-up
    assert without[0] >= relevance.GOOD > with_dog[0]


def test_with_a_single_alternative_left_it_is_the_bar():
    hit = np.array([[0.3, 0.9]], np.float32)
    out = relevance.rate(np.array([0.5], np.float32), hit, np.eye(2, dtype=np.float32),
                         ["cat", "dog"], own={"dog"}, scale=2.0)
    assert out[0] == pytest.approx(2 * (0.5 - 0.3))
