"""Tag sets: zero-shot tagging that is right (fixture CLIP on CIFAR-10), corrections that last,
new photos tagged by the worker, and the CLI's exact forms."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import CIFAR_CLASSES, CIFAR_SAMPLE, copy_cifar, label_of, make_library

import photoclip.cli.main as cli
from photoclip.core.errors import PhotoclipError
from photoclip.core.indexing.worker import Worker
from photoclip.core.model.text import label_vector
from photoclip.core.tags.model import Label, TagSet


@pytest.fixture
def cifar(cifar_library):
    """The session's CIFAR library, left without tag sets for the next test."""
    yield cifar_library
    for ts in cifar_library.tags.sets():
        cifar_library.tags.delete_set(ts.name)


def tagged(lib, name: str) -> list[str]:
    return [h.path for h in lib.search.find(f"tag:{name}", limit=100_000)]


def test_exclusive_set_of_plain_names_tags_cifar_photos_correctly(cifar):
    cifar.tags.create_set(TagSet("CIFAR", [Label(c) for c in CIFAR_CLASSES], exclusive=True))
    report = cifar.tags.apply("CIFAR")
    assert report.photos == 1000
    given = {}
    for c in CIFAR_CLASSES:
        for path in tagged(cifar, f"CIFAR/{c}"):
            assert path not in given, "an exclusive set gave a photo two labels"
            given[path] = c
    correct = sum(label_of(p) == c for p, c in given.items())
    # top-1: the label the set picks for each photo (before "none of these" may veto it)
    ids, vectors = cifar.catalog.vectors(cifar.model.id)
    rows = cifar.catalog.photo_rows(ids.tolist())
    ts = cifar.tags.get_set("CIFAR")
    scorer = cifar.tags.store.scorer(ts, cifar.model.id, cifar.model.text_encoder())
    _, share = scorer.margins(vectors)
    picks = [CIFAR_CLASSES[j] for j in share.argmax(axis=1)]
    top1 = float(np.mean([label_of(rows[i]["path"]) == c
                          for i, c in zip(ids, picks, strict=True)]))
    print(f"\nexclusive CIFAR set: top-1 {top1:.3f}; tags given to {len(given)}/1000 photos "
          f"(the rest: none of these), precision {correct / len(given):.3f}, "
          f"correct tags {correct / 1000:.3f} of all photos")
    assert top1 >= 0.80
    assert correct / len(given) >= 0.80 and len(given) >= 800


def test_template_ensemble_is_at_least_as_good_as_the_bare_label(cifar, cifar_encoder):
    ids, vectors = cifar.catalog.vectors(cifar.model.id)
    rows = cifar.catalog.photo_rows(ids.tolist())
    truth = np.array([CIFAR_CLASSES.index(label_of(rows[i]["path"])) for i in ids])
    ts = TagSet("x", [Label(c) for c in CIFAR_CLASSES])
    accuracy = {}
    for name, prompts in (("bare label", lambda lb: [lb.name]), ("ensemble", ts.prompts)):
        text = np.stack([label_vector(cifar_encoder, prompts(lb)) for lb in ts.labels])
        accuracy[name] = float(((vectors @ text.T).argmax(axis=1) == truth).mean())
    print(f"\ntop-1: bare label {accuracy['bare label']:.3f}, "
          f"{len(ts.prompts(ts.labels[0]))}-prompt ensemble {accuracy['ensemble']:.3f}")
    assert accuracy["ensemble"] >= accuracy["bare label"] >= 0.75


LABELS = ["cat", "dog", "horse", "ship", "truck", "giraffe"]  # no giraffe among the photos


def _precision_recall(lib, labels=LABELS, folder_photos=100):
    out = {}
    for lb in labels:
        paths = tagged(lib, f"Animals/{lb}")
        hits = sum(label_of(p) == lb for p in paths)
        out[lb] = (hits / len(paths) if paths else 1.0, hits / folder_photos, len(paths))
    return out


def test_non_exclusive_set_precision_and_recall_per_label(cifar):
    cifar.tags.create_set(TagSet("Animals", [Label(x) for x in LABELS]))
    cifar.tags.apply("Animals")
    pr = _precision_recall(cifar)
    print("\n" + "\n".join(f"{lb}: precision {p:.2f} recall {r:.2f} ({n} tagged)"
                           for lb, (p, r, n) in pr.items()))
    for lb in LABELS[:-1]:
        precision, recall, _ = pr[lb]
        assert precision >= 0.65 and recall >= 0.65, (lb, precision, recall)
    assert pr["giraffe"][2] <= 10, "a label with no matching photos tags (almost) nothing"


def test_a_photos_tags_do_not_depend_on_the_rest_of_the_library(cifar):
    """Applied to the cat folder alone, or to the whole library, a cat photo gets the same
    tags: a library that is mostly cats still gets its cats tagged."""
    cifar.tags.create_set(TagSet("Animals", [Label(x) for x in LABELS]))
    cifar.tags.apply("Animals", CIFAR_SAMPLE / "cat")
    alone = {p: [t.name for t in cifar.tags.photo_tags(p)] for p in _paths(CIFAR_SAMPLE / "cat")}
    assert sum("cat" in v for v in alone.values()) >= 65
    assert all(label_of(p) == "cat" for lb in LABELS for p in tagged(cifar, f"Animals/{lb}")), \
        "only the cat folder was tagged"
    cifar.tags.apply("Animals")
    assert {p: [t.name for t in cifar.tags.photo_tags(p)] for p in alone} == alone


def _paths(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.iterdir())


def test_tag_search_lists_carriers_most_confident_first_and_combines_with_text(cifar):
    cifar.tags.create_set(TagSet("Animals", [Label(x) for x in LABELS]))
    cifar.tags.apply("Animals")
    hits = cifar.search.find("tag:dog", limit=1000)
    assert len(hits) == len(tagged(cifar, "Animals/dog")) > 50
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and 0.5 <= scores[-1] <= scores[0] <= 1.0
    # tag filter + text: only carriers, ranked by the text
    carriers = {h.path for h in hits}
    combined = cifar.search.find("tag:dog a photo of a cat", limit=20)
    assert {h.path for h in combined} <= carriers
    plain = cifar.search.find("tag:dog", limit=20)
    assert [h.path for h in combined] != [h.path for h in plain]
    with pytest.raises(Exception, match="No photo carries a tag called unicorn"):
        cifar.search.find("tag:unicorn dog")


# -- corrections that last -------------------------------------------------------------------


@pytest.fixture
def small_cifar(tmp_path, cifar_encoder):
    """A library of 10 cats, 10 dogs and 10 ships (copies in a temp folder)."""
    root = copy_cifar(tmp_path / "Pictures")
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(root)
    lib.folders.index()
    yield lib, root
    lib.close()


def test_manual_tags_and_removals_survive_reapply_stricter_threshold_and_model_switch(
        small_cifar, tmp_path, tiny_encoder):
    lib, root = small_cifar
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    lib.tags.apply("Animals")
    cat = next(p for p in _paths(root / "cat") if "cat" in _names(lib, p))
    ship = _paths(root / "ship")[0]
    lib.tags.set([cat], "cat", present=False)  # the user disagrees
    lib.tags.set([ship], "Animals/dog")  # and adds one CLIP would never give
    lib.tags.set([ship], "harbour")  # a free keyword
    assert "cat" not in _names(lib, cat) and {"dog", "harbour"} <= _names(lib, ship)

    lib.tags.retag("Animals")
    lib.tags.apply("Animals", root)
    lib.tags.set_threshold("Animals", 50.0)  # so strict that no auto tag is left
    lib.tags.retag("Animals")
    assert all(t.source == "manual" for p in _paths(root / "cat") for t in lib.tags.photo_tags(p))
    assert "cat" not in _names(lib, cat) and _names(lib, ship) == {"dog", "harbour"}
    lib.tags.set_threshold("Animals", 0.0)
    lib.tags.retag("Animals")

    # another model: its own vectors, the set applied again by itself; the user's word stays
    lib.model._loader = lambda *a, **k: tiny_encoder
    lib.switch_model(tiny_encoder.model_id)
    lib.folders.index()
    assert "cat" not in _names(lib, cat) and {"dog", "harbour"} <= _names(lib, ship)
    models = {t.model for p in _paths_all(root) for t in lib.tags.photo_tags(p)
              if t.source == "auto"}
    assert models <= {tiny_encoder.model_id}


def _names(lib, path) -> set[str]:
    return {t.name for t in lib.tags.photo_tags(path)}


def _paths_all(root: Path) -> list[str]:
    return sorted(str(p) for p in root.rglob("*.jpg"))


def test_stricter_label_retracts_auto_tags_that_no_longer_pass(small_cifar):
    lib, _ = small_cifar
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    lib.tags.apply("Animals")
    before = tagged(lib, "Animals/cat")
    lib.tags.set_threshold("Animals", 4.0, label="cat")
    lib.tags.retag("Animals")
    after = tagged(lib, "Animals/cat")
    assert set(after) < set(before)
    assert tagged(lib, "Animals/dog"), "only the cat label got stricter"


def test_new_photos_in_an_applied_folder_are_tagged_by_the_worker_and_keep_tags_when_moved(
        tmp_path, cifar_encoder):
    root = tmp_path / "Pictures"
    (root / "inbox").mkdir(parents=True)
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(root)
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    lib.tags.apply("Animals", root / "inbox")
    worker = Worker(lib, quiet=0.3, save_interval=0.5)
    worker.start()
    try:
        assert worker.wait_idle(30)
        for p in sorted((CIFAR_SAMPLE / "ship").iterdir())[:8]:
            shutil.copy(p, root / "inbox" / p.name)
        _wait(lambda: len(tagged(lib, "Animals/ship")) >= 6 and worker.wait_idle(0.05))
        photo = tagged(lib, "Animals/ship")[0]
        lib.tags.set([photo], "holiday")
        before = lib.tags.photo_tags(photo)
        (root / "kept").mkdir()
        moved = root / "kept" / Path(photo).name
        Path(photo).rename(moved)
        _wait(lambda: lib.catalog.photo_state(str(moved)) is not None
              and worker.wait_idle(0.05))
        assert lib.tags.photo_tags(moved) == before  # auto and manual, same confidence
    finally:
        worker.stop()
        lib.close()


def _wait(cond, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_photos_indexed_by_the_cli_are_tagged_and_the_report_says_so(small_cifar):
    lib, root = small_cifar
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    lib.tags.apply("Animals")
    for p in sorted((CIFAR_SAMPLE / "ship").iterdir())[10:15]:
        shutil.copy(p, root / "ship" / p.name)
    report = lib.folders.index()
    assert report.encoded == 5 and report.tagged >= 3
    assert sum(1 for p in tagged(lib, "Animals/ship") if int(Path(p).stem) >= 10) >= 3


def test_set_definitions_are_checked(tiny_library):
    lib = tiny_library
    lib.tags.create_set(TagSet("Places", [Label.parse("city street=street,downtown")]))
    ts = lib.tags.get_set("places")  # names are case-insensitive
    assert ts.labels[0].synonyms == ["street", "downtown"]
    assert "a photo of a downtown." in ts.prompts(ts.labels[0])
    for bad, why in ((TagSet("Places", [Label("x")]), "already a tag set"),
                     (TagSet("Empty", []), "at least one label"),
                     (TagSet("C", [Label("x")], context="no placeholder"), "exactly one {}"),
                     # (accepted before, then every apply and index failed: issue 18, item 8)
                     (TagSet("C", [Label("x")], context="a photo of {} in {}"), "exactly one"),
                     (TagSet("C", [Label("x")], context="a {0} of {name}"), "exactly one"),
                     (TagSet("C", [Label("x")], context="{} {"), "exactly one"),
                     (TagSet("D", [Label("a"), Label("A")]), "twice")):
        with pytest.raises(Exception, match=why):
            lib.tags.create_set(bad)
    with pytest.raises(Exception, match="not applied"):
        lib.tags.retag("Places")


def test_starter_sets_ship_and_load():
    from photoclip.core.model.text import vocabulary
    from photoclip.core.tags.model import starter_sets

    starters = starter_sets()
    assert {"places", "things", "events", "documents"} <= set(starters)
    assert starters["documents"].exclusive and len(starters["places"].labels) >= 6
    assert len(vocabulary()) >= 150


# -- the CLI's exact forms -------------------------------------------------------------------


def run_cli(capsys, home, *argv) -> str:
    code = cli.main(["--home", str(home), *argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_cli_tagset_tag_untag_tags_search(small_cifar, capsys):
    lib, root = small_cifar
    home = lib.home
    lib.close()  # the CLI opens the library itself (with the model remembered in settings)
    lib.settings.model = lib.model.id
    lib.settings.save(home)
    run_cli(capsys, home, "tagset", "create", "Animals", "cat", "dog=puppy", "boat=ship",
            "--exclusive")
    out = run_cli(capsys, home, "tagset", "apply", "Animals", "--folder", str(root))
    assert "tags on 30 photos" in out
    listing = json.loads(run_cli(capsys, home, "tagset", "list", "--json"))
    (animals,) = listing["tagsets"]
    assert animals["exclusive"] and [x["name"] for x in animals["labels"]] == ["cat", "dog",
                                                                               "boat"]
    assert sum(x["count"] for x in animals["labels"]) >= 20
    boats = json.loads(run_cli(capsys, home, "search", "tag:boat", "--json", "-n", "50"))
    assert len(boats) >= 7 and all(label_of(h["path"]) == "ship" for h in boats[:7])
    combined = json.loads(run_cli(capsys, home, "search", "tag:boat dog", "--json"))
    assert {h["path"] for h in combined} <= {h["path"] for h in boats}
    photo = boats[0]["path"]
    run_cli(capsys, home, "untag", photo, "boat")
    run_cli(capsys, home, "tag", photo, "harbour")
    run_cli(capsys, home, "tagset", "apply", "Animals")
    tags = json.loads(run_cli(capsys, home, "tags", photo, "--json"))
    assert tags == [{"label": "harbour", "set": None, "source": "manual", "confidence": None,
                     "model": None}]
    run_cli(capsys, home, "tagset", "threshold", "Animals", "2")
    assert "threshold 2" in run_cli(capsys, home, "tagset", "list")
    # a name with '/' that names no set is a keyword ("AC/DC"), and the CLI says so
    assert "keyword" in run_cli(capsys, home, "tag", photo, "nosuchset/x")
    assert cli.main(["--home", str(home), "untag", photo, "nosuchset/x"]) == 0


def test_what_a_stricter_set_would_keep_is_said_label_by_label_before_it_is_set(cifar):
    """'Stricter' 0 → 2 kept 1 of 129 frog tags while other labels lost ~30 %: the effect of a
    strictness, per label, is known before it is set — and is what setting it then does."""
    cifar.tags.create_set(TagSet("CIFAR", [Label(c) for c in CIFAR_CLASSES]))
    cifar.tags.apply("CIFAR")
    before = {c: len(tagged(cifar, c)) for c in CIFAR_CLASSES}
    effect = cifar.tags.threshold_effect("CIFAR", 2.0)
    assert [e.label for e in effect] == list(CIFAR_CLASSES)
    assert {e.label: e.now for e in effect} == before
    assert all(e.then <= e.now for e in effect) and any(e.then < e.now for e in effect)
    share = sorted(e.then / e.now for e in effect if e.now)
    print("\nkept at 2.0:", {e.label: f"{e.now} → {e.then}" for e in effect})
    assert share[-1] - share[0] > 0.2  # (why the effect is shown per label)
    cifar.tags.set_threshold("CIFAR", 2.0)
    cifar.tags.retag("CIFAR")
    assert {c: len(tagged(cifar, c)) for c in CIFAR_CLASSES} == {e.label: e.then for e in effect}
    looser = {e.label: e.then for e in cifar.tags.threshold_effect("CIFAR", -1.0)}
    assert all(looser[c] >= before[c] for c in CIFAR_CLASSES)


def test_an_applied_set_can_be_stopped_in_one_folder_or_everywhere(small_cifar, capsys):
    """A tag set could only be stopped by deleting it."""
    lib, root = small_cifar
    lib.tags.create_set(TagSet("Animals", [Label("cat"), Label("dog"), Label("ship")]))
    lib.tags.apply("Animals", root / "cat")
    lib.tags.apply("Animals", root / "dog")
    dog = _paths(root / "dog")[0]
    lib.tags.set([dog], "Animals/ship")  # by hand: stays whatever happens to the set

    def auto(folder: str) -> int:
        return sum(t.source == "auto" for p in _paths(root / folder)
                   for t in lib.tags.photo_tags(p))

    assert auto("cat") > 0 and auto("dog") > 0
    would = lib.tags.unapply("Animals", root / "dog", dry_run=True)  # what to ask first
    assert would == auto("dog") and len(lib.tags.get_set("Animals").scopes) == 2
    out = run_cli(capsys, lib.home, "tagset", "unapply", "Animals", "--folder",
                  str(root / "dog"))
    assert "no longer tags photos in" in out and f"{would} automatic tags taken off" in out
    assert auto("dog") == 0 and auto("cat") > 0 and "ship" in _names(lib, dog)
    assert lib.tags.get_set("Animals").scopes == [str(root / "cat")]
    with pytest.raises(PhotoclipError, match="not applied to"):
        lib.tags.unapply("Animals", root / "dog")
    gone = lib.tags.unapply("Animals")
    assert gone > 0 and auto("cat") == 0 and "ship" in _names(lib, dog)
    assert not lib.tags.get_set("Animals").applied
    assert lib.tags.tag_new_photos() == []  # new photos are not tagged by it any more
