"""Which labels a photo gets (core/tags/scoring.py), decided on synthetic unit vectors where
the right answer is known: e0, e1 are the labels, e2..e6 everyday alternatives, e7 the anchor."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from photoclip.core.errors import PhotoclipError
from photoclip.core.tags.model import Label
from photoclip.core.tags.scoring import Scorer, excluded, finite_threshold, scored_chunks

D = 8
E = np.eye(D, dtype=np.float32)


def unit(*parts: tuple[int, float]) -> np.ndarray:
    v = sum(w * E[i] for i, w in parts)
    return (v / np.linalg.norm(v)).astype(np.float32)


def scorer(exclusive=False, thresholds=(0.0, 0.0), scale=10.0, excl=None) -> Scorer:
    vocab = E[2:7]
    return Scorer(labels=E[:2].copy(), excluded=np.zeros((2, 5), bool) if excl is None else excl,
                  vocabulary=vocab, anchor=E[7], scale=scale,
                  thresholds=np.array(thresholds, np.float32), exclusive=exclusive)


# a photo that shows label 0 and, almost as much, label 1
BOTH = unit((0, 0.6), (1, 0.55), (2, 0.1))


def decided(s: Scorer, vectors) -> set[tuple[int, int]]:
    rows, cols, _ = s.decide(np.asarray(vectors, np.float32))
    return set(zip(rows.tolist(), cols.tolist(), strict=True))


def test_non_exclusive_gives_every_label_with_its_share():
    assert decided(scorer(), [BOTH]) == {(0, 0), (0, 1)}


def test_exclusive_picks_the_winner():
    assert decided(scorer(exclusive=True), [BOTH]) == {(0, 0)}
    other = unit((0, 0.5), (1, 0.7))
    assert decided(scorer(exclusive=True), [BOTH, other]) == {(0, 0), (1, 1)}


def test_a_higher_threshold_gives_fewer_tags():
    photos = [BOTH, unit((0, 1.0)), unit((1, 0.8), (3, 0.3)), unit((0, 0.4), (1, 0.45))]
    counts = [len(decided(scorer(thresholds=(t, t)), photos)) for t in (0.0, 4.0, 8.0, 20.0)]
    assert counts[0] > counts[-1] == 0
    assert counts == sorted(counts, reverse=True)


def test_a_per_label_threshold_only_affects_that_label():
    assert decided(scorer(thresholds=(0.0, 50.0)), [BOTH]) == {(0, 0)}


def test_no_tag_when_an_everyday_alternative_wins():
    # mostly alternatives 2 and 3: the runner-up alternative beats label 0
    photo = unit((0, 0.3), (2, 0.8), (3, 0.6))
    assert decided(scorer(), [photo]) == set()
    assert decided(scorer(exclusive=True), [photo]) == set()


def test_confidence_is_the_logistic_of_the_margin():
    s = scorer()
    margin, share = s.margins(BOTH[None])
    # the runner-up alternative (the second best) is 0 here: margin = scale × cosine
    np.testing.assert_allclose(margin[0], 10.0 * BOTH[:2], rtol=1e-5)
    assert share[0, 0] > share[0, 1] > 1 / 3
    rows, cols, conf = s.decide(BOTH[None])
    np.testing.assert_allclose(conf, 1 / (1 + np.exp(-margin[rows, cols])), rtol=1e-6)
    assert np.all((conf > 0.5) & (conf < 1.0))


def test_a_labels_own_word_is_not_its_alternative():
    words = ["dog", "cat", "beach", "grass", "tree"]
    own = excluded(Label("Dogs", ["puppy"]), words)
    assert own.tolist() == [True, False, False, False, False]
    # a photo of a dog: "dog" is the label itself (e2 in the vocabulary, as label 0 is e0+e2)
    labels = np.stack([unit((0, 1), (2, 1)), E[1]])
    excl = np.zeros((2, 5), bool)
    excl[0] = own
    photo = unit((0, 1), (2, 1), (3, 0.3))
    kw = dict(labels=labels, vocabulary=E[2:7], anchor=E[7], scale=10.0,
              thresholds=np.zeros(2, np.float32), exclusive=False)
    with_own = Scorer(excluded=excl, **kw)
    without = Scorer(excluded=np.zeros((2, 5), bool), **kw)
    assert with_own.margins(photo[None])[0][0, 0] > without.margins(photo[None])[0][0, 0]


def test_scored_chunks_map_rows_and_columns_to_ids_chunk_by_chunk_in_order():
    s = scorer()
    chunks = [(np.array([10, 11], np.int64), np.stack([BOTH, unit((2, 1.0), (3, 0.9))])),
              (np.array([], np.int64), np.zeros((0, D), np.float32)),
              (np.array([12], np.int64), unit((1, 1.0))[None])] * 5
    out = list(scored_chunks(s, chunks, np.array([100, 101], np.int64)))
    assert [ids.tolist() for ids, _ in out] == [[10, 11], [12]] * 5  # (more than are pending)
    for _, tags in out:
        got = sorted(zip(tags.photos.tolist(), tags.tags.tolist(), strict=True))
        assert got in ([(10, 100), (10, 101)], [(12, 101)])


@pytest.mark.parametrize("value, expected", [(0, 0.0), ("2.5", 2.5), (-3, -3.0)])
def test_finite_threshold_accepts_numbers(value, expected):
    assert finite_threshold(value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", None, 1e6])
def test_finite_threshold_refuses_in_one_sentence(value):
    with pytest.raises(PhotoclipError) as e:
        finite_threshold(value)
    assert str(e.value).startswith("A threshold must be") and "\n" not in str(e.value)


def test_a_failing_read_reaches_the_caller():
    def chunks():
        yield np.array([10], np.int64), BOTH[None]
        raise OSError("the drive went away")

    out = scored_chunks(scorer(), chunks(), np.array([100, 101], np.int64))
    assert next(out)[0].tolist() == [10]
    with pytest.raises(OSError, match="drive went away"):
        next(out)


def test_a_caller_that_stops_early_stops_the_reading():
    read = []

    def chunks():
        for i in range(10_000):
            read.append(i)
            yield np.array([i], np.int64), BOTH[None]

    out = scored_chunks(scorer(), chunks(), np.array([100, 101], np.int64))
    next(out)
    out.close()  # (the caller's write failed: its loop is left)
    assert len(read) < 50 and not any(t.name == "photoclip-tag-reader"
                                      for t in threading.enumerate())
