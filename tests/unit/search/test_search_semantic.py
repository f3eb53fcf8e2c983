"""Search is semantically right: with the fixture CLIP on the CIFAR-10 sample (100 per class)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from conftest import CIFAR_CLASSES, CIFAR_SAMPLE, label_of

from photoclip.core.errors import PhotoclipError
from photoclip.core.search.relevance import GOOD
from photoclip.core.search.searcher import Filters

PLAIN_NAMES = {"airplane": "airplane", "automobile": "car", "bird": "bird", "cat": "cat",
               "deer": "deer", "dog": "dog", "frog": "frog", "horse": "horse", "ship": "ship",
               "truck": "truck"}


def labels(hits):
    return [label_of(h.path) for h in hits]


def test_a_photo_of_a_dog_returns_dogs_first(cifar_library):
    hits = cifar_library.search.find("a photo of a dog", limit=10)
    assert len(hits) == 10
    assert labels(hits).count("dog") >= 8, labels(hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_plain_class_names_find_their_class(cifar_library):
    good = {}
    for cls, name in PLAIN_NAMES.items():
        good[cls] = labels(cifar_library.search.find(name, limit=10)).count(cls)
    assert sum(n >= 8 for n in good.values()) >= 8, good


KEYBOARD_MASH = ["asdf qwerty zxcv", "qwertyuiop", "zxcvbnm", "sdfsdf", "fghfgh", "poiuy",
                 "xkcd flibber", "blorp", "wkfjeo", "ghtyvb", "lnkt", "rwztejd", "vkpr"]


def test_a_keyboard_mash_finds_no_good_matches_and_real_words_still_do(cifar_library):
    """'asdf qwerty zxcv' got good matches (zxcvbnm: 80 of the 1,000 photos): the text tower
    puts gibberish somewhere, and some photos score high there. It must beat other nonsense."""
    def good(query: str) -> int:
        return sum(h.relevance >= GOOD for h in cifar_library.search.find(query, limit=1000))

    mash = {q: good(q) for q in KEYBOARD_MASH}
    assert sum(mash.values()) <= 10 and max(mash.values()) <= 3, mash
    real = {name: good(name) for name in PLAIN_NAMES.values()}
    assert all(n >= 40 for n in real.values()), real


def test_chinese_query_finds_cats(cifar_library):
    got = Counter(labels(cifar_library.search.find("一只猫", limit=10)))
    assert got["cat"] >= 7, got


def test_similar_to_a_cat_is_mostly_cats(cifar_library):
    cat = sorted((CIFAR_SAMPLE / "cat").iterdir())[0]
    hits = cifar_library.search.similar(str(cat), limit=10)
    assert str(cat) not in [h.path for h in hits], "the photo itself is not its own match"
    assert labels(hits).count("cat") >= 7, labels(hits)


def test_similar_accepts_an_image_outside_the_library(cifar_library, tmp_path):
    src = sorted((CIFAR_SAMPLE / "ship").iterdir())[3]
    outside = tmp_path / "my ship.png"
    from PIL import Image

    Image.open(src).save(outside)
    assert labels(cifar_library.search.similar(str(outside), limit=10)).count("ship") >= 7


def test_adding_a_concept_brings_in_both(cifar_library):
    got = Counter(labels(cifar_library.search.find("dog +cat", limit=20)))
    assert got["dog"] >= 4 and got["cat"] >= 4, got
    assert got["dog"] + got["cat"] >= 14, got


def test_subtracting_a_concept_pushes_it_out(cifar_library):
    plain = Counter(labels(cifar_library.search.find("truck", limit=100)))
    minus = Counter(labels(cifar_library.search.find("truck -car", limit=100)))
    assert minus["automobile"] < plain["automobile"], (plain, minus)
    assert minus["truck"] >= plain["truck"] - 5


def test_weights_shift_the_balance(cifar_library):
    heavy_dog = Counter(labels(cifar_library.search.find("3:dog +cat", limit=20)))
    heavy_cat = Counter(labels(cifar_library.search.find("dog +3:cat", limit=20)))
    assert heavy_dog["dog"] > heavy_cat["dog"]
    assert heavy_cat["cat"] > heavy_dog["cat"]


def test_cancelling_query_is_a_clear_error(cifar_library):
    with pytest.raises(PhotoclipError, match="cancel"):
        cifar_library.search.find("dog -dog")


def test_min_score_and_folder_filters(cifar_library):
    hits = cifar_library.search.find("a photo of a dog", limit=50)
    cut = hits[9].score
    kept = cifar_library.search.find("a photo of a dog", limit=50, filters=Filters(min_score=cut))
    assert len(kept) == 10 and all(h.score >= cut for h in kept)
    only_cats = cifar_library.search.find("a photo of a dog", limit=10,
                                     filters=Filters(folder=str(CIFAR_SAMPLE / "cat")))
    assert len(only_cats) == 10 and set(labels(only_cats)) == {"cat"}


def test_every_class_folder_is_fully_indexed(cifar_library):
    st = cifar_library.status()
    assert st["indexed"] == 1000 and st["failed"] == 0
    assert set(CIFAR_CLASSES) == {p.name for p in CIFAR_SAMPLE.iterdir()}


def test_cli_search_json_and_status(tmp_path, cifar_spec, capsys):
    from photoclip.cli.main import main

    home = str(tmp_path / "cli-home")
    folder = tmp_path / "pets"
    folder.mkdir()
    for cls in ("dog", "cat", "ship"):
        for src in sorted((CIFAR_SAMPLE / cls).iterdir())[:15]:
            (folder / f"{cls}_{src.name}").write_bytes(src.read_bytes())
    assert main(["--home", home, "--model", cifar_spec, "add", str(folder)]) == 0
    # the model given once is remembered: later commands need no --model
    assert main(["--home", home, "index"]) == 0
    capsys.readouterr()
    assert main(["--home", home, "search", "a photo of a dog", "--limit", "5", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 5 and all({"path", "score"} <= set(h) for h in hits)
    assert sum("dog_" in h["path"] for h in hits) >= 4
    assert main(["--home", home, "status", "--json"]) == 0
    st = json.loads(capsys.readouterr().out)
    assert st["indexed"] == 45 and st["failed"] == 0
    assert main(["--home", home, "similar", str(folder / "ship_0001.jpg"), "-n", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3 and sum("ship_" in line for line in out) >= 2
