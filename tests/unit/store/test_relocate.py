"""Moving the data folder: copied, verified, switched; the old copy removed only after the new
one opened; a failed or refused move leaves everything where it was."""

from __future__ import annotations

import threading

import pytest
from conftest import indexed_photos, make_library

from photoclip.config import data_home
from photoclip.core import relocate
from photoclip.core.errors import PhotoclipError


@pytest.fixture
def own_config(tmp_path, monkeypatch):
    """A user without PHOTOCLIP_HOME: the data folder comes from the config's location file."""
    monkeypatch.delenv("PHOTOCLIP_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path


def test_a_moved_library_opens_from_its_new_folder_with_everything(own_config, tiny_encoder):
    tmp_path = own_config
    old = data_home()
    lib = make_library(old, tiny_encoder)
    photos = indexed_photos(lib, tmp_path / "Pictures", 12)
    lib.tags.set(photos[:3], "holiday")
    before = [h.path for h in lib.search.find("a photo", limit=5)]
    lib.search_index.save()
    lib.close()

    plan = relocate.plan_move(old, tmp_path / "new-place")
    assert plan.dst == (tmp_path / "new-place").resolve()
    progress = []
    relocate.copy_library(plan, lambda done, total: progress.append((done, total)))
    assert progress[-1][0] == progress[-1][1] == plan.total_bytes > 0
    assert data_home() == plan.dst  # the next start opens the new copy
    assert (old / "catalog.sqlite3").exists()  # the old copy stays until the new one opens

    moved = make_library(data_home(), tiny_encoder)
    assert moved.status()["indexed"] == 12
    assert [h.path for h in moved.search.find("a photo", limit=5)] == before
    assert {t.name for t in moved.tags.photo_tags(photos[0])} == {"holiday"}
    said = relocate.finish_move(moved.home)
    assert said is not None and "old copy" in said
    assert not (old / "catalog.sqlite3").exists() and not (old / "index").exists()
    assert relocate.finish_move(moved.home) is None  # once
    moved.close()


def test_the_old_folder_is_left_empty_and_the_window_size_saved_after_the_copy_is_kept(
        own_config, tiny_encoder):
    """The move left index.lock, indexing.lock, photoclip.log and window.ini in the 'removed'
    old folder, and the window saved its size there as it closed for the restart (lost)."""
    from photoclip.core.lock import FileLock

    tmp_path = own_config
    old = data_home()
    lib = make_library(old, tiny_encoder)
    indexed_photos(lib, tmp_path / "Pictures", 3)
    lib.close()
    (old / "window.ini").write_text("[window]\nsize=800x600\n")
    (old / "photoclip.log").write_text("a log line\n")
    relocate.copy_library(relocate.plan_move(old, tmp_path / "new-place"))
    new = data_home()
    (old / "window.ini").write_text("[window]\nsize=1500x900\n")  # the window, closing
    for name in ("index.lock", "indexing.lock"):  # left by the process that has exited
        (old / name).write_text("4242 photoclip")
    held = FileLock(old / "app.lock")
    held.acquire(timeout=0)  # one a running process still holds (another open file)
    try:
        assert relocate.finish_move(new) is not None
    finally:
        held.release()
    assert (new / "window.ini").read_text() == "[window]\nsize=1500x900\n"
    left = sorted(p.name for p in old.iterdir()) if old.exists() else []
    assert left == ["app.lock"], left  # only what a running process still holds


def test_a_folder_with_other_files_gets_a_photoclip_folder_of_its_own(own_config, tiny_encoder):
    tmp_path = own_config
    lib = make_library(data_home(), tiny_encoder)
    lib.close()
    docs = tmp_path / "Documents"
    docs.mkdir()
    (docs / "letter.txt").write_text("dear")
    assert relocate.plan_move(data_home(), docs).dst == docs.resolve() / "PhotoCLIP"


@pytest.mark.parametrize("where, says", [
    ("inside", "inside the current data folder"),
    ("library", "already holds a PhotoCLIP library"),
    ("file", "is a file"),
])
def test_a_move_that_cannot_work_is_refused_with_the_reason(own_config, tiny_encoder, where,
                                                            says):
    tmp_path = own_config
    home = data_home()
    make_library(home, tiny_encoder).close()
    if where == "inside":
        dst = home / "sub"
    elif where == "library":
        dst = tmp_path / "other"
        make_library(dst, tiny_encoder).close()
    else:
        dst = tmp_path / "a-file"
        dst.write_text("x")
    with pytest.raises(PhotoclipError, match=says):
        relocate.plan_move(home, dst)
    assert data_home() == home


def test_a_cancelled_move_leaves_no_trace(own_config, tiny_encoder):
    tmp_path = own_config
    home = data_home()
    lib = make_library(home, tiny_encoder)
    indexed_photos(lib, tmp_path / "Pictures", 4)
    lib.close()
    plan = relocate.plan_move(home, tmp_path / "new")
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(PhotoclipError, match="cancelled"):
        relocate.copy_library(plan, cancel=cancel)
    assert data_home() == home
    assert not any((tmp_path / "new").iterdir())
    assert make_library(home, tiny_encoder).status()["indexed"] == 4
