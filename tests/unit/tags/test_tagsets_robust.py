"""Tag sets never get stuck and never block the rest (issue 18, item 8)."""

from __future__ import annotations

from conftest import indexed_photos, make_library

from photoclip.core.tags.model import Label, TagSet


def _auto(lib, name: str) -> set[int]:
    ids = lib.tags.store.resolve(name)
    return {int(p) for p, _ in lib.tags.store.tagged_photos(ids)}


def test_a_set_that_cannot_tag_never_blocks_indexing_or_the_other_sets(tmp_path, tiny_library):
    lib = tiny_library
    indexed_photos(lib, tmp_path / "Pictures", 4)
    lib.tags.create_set(TagSet("Good", [Label("noise"), Label("pattern")], threshold=-50))
    lib.tags.create_set(TagSet("Bad", [Label("x")]))
    lib.tags.apply("Good")
    lib.tags.store.add_scope(lib.tags.get_set("Bad"))
    # a context an older PhotoCLIP accepted: every apply of it fails
    with lib.catalog.transaction() as tx:
        tx.execute("UPDATE tagsets SET context='a photo of {} in {}' WHERE name='Bad'")
    from conftest import write_photos
    write_photos(tmp_path / "Pictures", 3, start=10)
    report = lib.folders.index()
    assert report.encoded == 3 and not report.cancelled
    assert "Bad" in report.tag_problems and "Good" not in report.tag_problems
    assert lib.tags.get_set("Bad").problem, "the reason stays on the set (tagset list shows it)"
    assert len(_auto(lib, "Good/noise") | _auto(lib, "Good/pattern")) > 0
    again = lib.folders.index()
    assert again.tag_problems == {}, "said once, not on every index"


def test_an_interrupted_apply_finishes_by_itself(tmp_path, tiny_library):
    """kill -9 during 'tagset apply' left the set applied with no tags, and nothing
    repaired it. What a kill can leave is the scope committed and no tagging (the tags
    and the progress are one transaction): the next index, with nothing to encode, tags."""
    lib = tiny_library
    indexed_photos(lib, tmp_path / "Pictures", 5)
    lib.tags.create_set(TagSet("Things", [Label("noise"), Label("pattern")], threshold=-50))
    lib.tags.store.add_scope(lib.tags.get_set("Things"))  # (the apply's first commit)
    assert not _auto(lib, "Things/noise") | _auto(lib, "Things/pattern")
    report = lib.folders.index()
    assert report.encoded == 0 and report.tagged > 0
    assert _auto(lib, "Things/noise") | _auto(lib, "Things/pattern")


def test_switching_the_model_and_back_recomputes_the_auto_tags(tmp_path, tiny_encoder,
                                                               cifar_encoder):
    lib = make_library(tmp_path / "home", tiny_encoder)
    indexed_photos(lib, tmp_path / "Pictures", 6)
    lib.tags.create_set(TagSet("Things", [Label("noise"), Label("pattern"), Label("dog")],
                             threshold=-50))
    lib.tags.apply("Things")

    def auto_rows():
        return sorted(lib.catalog.conn.execute(
            "SELECT photo_id, tag_id, round(confidence, 5), model FROM photo_tags "
            "WHERE source='auto'").fetchall())

    with_tiny = auto_rows()
    assert with_tiny
    lib.switch_model(cifar_encoder.model_id, encoder=cifar_encoder)
    lib.folders.index()
    assert {r[3] for r in auto_rows()} == {cifar_encoder.model_id}
    lib.switch_model(tiny_encoder.model_id, encoder=tiny_encoder)
    lib.folders.index()  # nothing to encode: the tiny vectors are kept
    assert auto_rows() == with_tiny, "the first model's tags are back without a re-apply"
    lib.close()


def test_a_set_deleted_while_it_is_applied_hands_nothing_to_a_new_one(tmp_path,
                                                                      tiny_library):
    lib = tiny_library
    indexed_photos(lib, tmp_path / "Pictures", 4)
    old = lib.tags.create_set(TagSet("Old", [Label("noise")], threshold=-50))
    lib.tags.store.add_scope(old)
    old = lib.tags.get_set("Old")
    lib.tags.delete_set("Old")
    new = lib.tags.create_set(TagSet("New", [Label("cat")], threshold=50))
    assert {lb.id for lb in new.labels}.isdisjoint({lb.id for lb in old.labels}), \
        "ids are never reused"
    lib.tags.store.apply(old, lib.model.id, lib.model.text_encoder())  # (the run that outlived it)
    assert not _auto(lib, "New/cat")


def test_names_compare_by_unicode_case_and_every_tag_can_be_removed(tmp_path, tiny_library):
    import pytest

    from photoclip.core.errors import PhotoclipError

    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "Pictures", 2)
    lib.categories.create("Ärger")
    with pytest.raises(PhotoclipError, match="already"):
        lib.categories.create("ärger")
    assert lib.categories.get("ÄRGER").name == "Ärger"
    with pytest.raises(PhotoclipError, match="cannot be empty"):
        lib.categories.update("Ärger", new_name="   ")
    with pytest.raises(PhotoclipError, match="finite"):
        lib.tags.create_set(TagSet("T", [Label("a")], threshold=float("nan")))
    # a free keyword beside a label of the same name (the keyword came first), a keyword
    # with '/', one with a newline
    lib.tags.set([photos[0]], "cat")
    lib.tags.create_set(TagSet("Animals", [Label("cat")]))
    lib.tags.set([photos[0]], "Animals/cat")
    lib.tags.set([photos[0]], "AC/DC")
    lib.tags.set([photos[0]], "line\nbreak")
    shown = {("/".join(t.hierarchical)) for t in lib.tags.photo_tags(photos[0])}
    assert shown == {"Animals/cat", "cat", "AC/DC", "line break"}
    for name in shown:  # what 'tags' prints removes it
        lib.tags.set([photos[0]], name, present=False)
    assert lib.tags.photo_tags(photos[0]) == []
