"""What a user made follows the photo, not its path, and outlives a folder's removal
(issue 18, items 3 and 4): manual tags, removals and category examples."""

from __future__ import annotations

import os
import shutil

from conftest import indexed_photos, write_photos

from photoclip.core.store.categories import CategoryStore  # noqa: F401  (the store under test)


def _identical_pair(lib, folder, copy_name: str):
    """A photo and a byte-for-byte copy of it (``copy_name``) in ``folder``, indexed."""
    (original,) = write_photos(folder, 1)
    copy = folder / copy_name
    shutil.copy(original, copy)
    lib.folders.add(folder)
    lib.folders.index()
    return original, copy


def _user_view(lib, path) -> tuple[set, dict]:
    """(manual tag names, {category: in?}) of the photo at ``path``."""
    pid = lib.folders.photo_id(path)
    tags = {t.name for t in lib.tags.photo_tags(pid) if t.source == "manual"}
    return tags, lib.categories.photo_labels(pid)


def test_swapped_names_keep_each_photo_its_tags_and_examples(tmp_path, tiny_library):
    lib = tiny_library
    a, b = indexed_photos(lib, tmp_path / "Pictures", 2)
    lib.tags.set([a], "sunrise")
    lib.tags.set([b], "harbour")
    lib.categories.create("Rex")
    lib.categories.label("Rex", [a], True)
    _a_bytes, b_bytes = a.read_bytes(), b.read_bytes()
    tmp = a.with_name("tmp.jpg")
    os.rename(a, tmp)
    os.rename(b, a)
    os.rename(tmp, b)
    report = lib.folders.index()
    assert report.encoded == 0, "a swap is two moves, nothing to encode"
    assert a.read_bytes() == b_bytes
    # the picture that was a.jpg is now b.jpg: its tag and example went with it
    assert _user_view(lib, b) == ({"sunrise"}, {"Rex": True})
    assert _user_view(lib, a) == ({"harbour"}, {})


def test_identical_copies_deleted_and_renamed_resolve_by_the_file_not_the_name(
        tmp_path, tiny_library):
    lib = tiny_library
    x, y = _identical_pair(lib, tmp_path / "Pictures", "copy.jpg")
    folder = x.parent
    lib.tags.set([x], "deleted one")
    lib.tags.set([y], "renamed one")
    x.unlink()
    z = folder / "renamed.jpg"
    os.rename(y, z)
    lib.folders.index()
    assert _user_view(lib, z)[0] == {"renamed one"}, \
        "the renamed copy keeps its own tag and is not handed the deleted one's"


def test_a_removed_folder_keeps_its_user_data_and_gives_it_back_when_added_again(
        tmp_path, tiny_library):
    lib = tiny_library
    folder = tmp_path / "Pictures"
    photos = indexed_photos(lib, folder, 3)
    lib.tags.set([photos[0]], "beach")
    lib.tags.set([photos[1]], "beach", present=False)  # a removal is the user's too
    lib.categories.create("Rex")
    lib.categories.label("Rex", [photos[0]], True)
    lib.categories.label("Rex", [photos[2]], False)
    removed = lib.folders.remove(folder)
    assert removed.photos == 3 and removed.tags == 2 and removed.examples == 2
    lib.folders.add(folder)
    report = lib.folders.index()
    assert report.restored == 4
    assert _user_view(lib, photos[0]) == ({"beach"}, {"Rex": True})
    assert _user_view(lib, photos[2]) == (set(), {"Rex": False})
    pid1 = lib.folders.photo_id(photos[1])
    assert ["beach"] in lib.tags.store.removed_names(pid1)


def test_a_renamed_root_folder_keeps_everything(tmp_path, tiny_library):
    """The user renames ~/Pictures to ~/Photos, adds the new one, removes the old one
    (offline now): every manual tag and example is on the photos in the new place."""
    lib = tiny_library
    old = tmp_path / "Pictures"
    photos = indexed_photos(lib, old, 3)
    lib.tags.set([photos[0]], "beach")
    lib.categories.create("Rex")
    lib.categories.label("Rex", [photos[1]], True)
    new = tmp_path / "Photos"
    os.rename(old, new)
    lib.folders.add(new)
    lib.folders.index()  # the old folder is offline; the new one catalogued
    moved = [new / p.name for p in photos]
    # already while the old folder is offline, the new photos carry what the user made
    assert _user_view(lib, moved[0]) == ({"beach"}, {})
    lib.folders.remove(old)
    assert _user_view(lib, moved[0]) == ({"beach"}, {})
    assert _user_view(lib, moved[1]) == (set(), {"Rex": True})


def test_telling_the_library_where_a_folder_went_keeps_everything(tmp_path, tiny_library):
    lib = tiny_library
    old = tmp_path / "Pictures"
    photos = indexed_photos(lib, old, 2)
    lib.tags.set([photos[0]], "beach")
    ids = [lib.folders.photo_id(p) for p in photos]
    new = tmp_path / "Moved" / "Pictures"
    new.parent.mkdir()
    os.rename(old, new)
    lib.folders.relink(old, new)
    report = lib.folders.index()
    assert report.encoded == 0 and report.removed == 0
    assert [lib.folders.photo_id(new / p.name) for p in photos] == ids, \
        "the same rows, same vectors"
    assert _user_view(lib, new / photos[0].name)[0] == {"beach"}


def test_a_deleted_photo_restored_from_the_trash_gets_its_tags_back(tmp_path, tiny_library):
    lib = tiny_library
    photos = indexed_photos(lib, tmp_path / "Pictures", 2)
    lib.tags.set([photos[0]], "beach")
    saved = photos[0].read_bytes()
    photos[0].unlink()
    assert lib.folders.index().removed == 1
    photos[0].write_bytes(saved)
    lib.folders.index()
    assert _user_view(lib, photos[0])[0] == {"beach"}


def test_identical_copies_one_deleted_and_the_other_renamed_onto_it_leave_no_phantom(
        tmp_path, tiny_library):
    lib = tiny_library
    a, b = _identical_pair(lib, tmp_path / "Pictures", "b.jpg")
    lib.tags.set([a], "mine")
    b.unlink()
    os.rename(a, b)
    lib.folders.index()
    assert lib.status()["photos"] == 1, "one file, one photo"
    assert _user_view(lib, b)[0] == {"mine"}
