"""The system trash: files go there (never deleted), and come back where they were."""

from __future__ import annotations

from pathlib import Path

import pytest

from photoclip.core.duplicates import trash
from tests.conftest import trash_files


def test_a_file_goes_to_the_trash_and_comes_back(tmp_path):
    photo = tmp_path / "Pictures" / "IMG 0001 [x].jpg"  # (a name with glob characters)
    photo.parent.mkdir()
    photo.write_bytes(b"photo bytes")
    item = trash.to_trash(str(photo))
    assert not photo.exists()
    assert item.in_trash is not None and item.in_trash.startswith(str(trash_files()))
    assert Path(item.in_trash).read_bytes() == b"photo bytes"
    assert trash.restore(item) is None
    assert photo.read_bytes() == b"photo bytes"
    assert not (trash_files().parent / "info" / (item.in_trash.split("/")[-1] + ".trashinfo")
                ).exists()


def test_two_files_of_one_name_each_come_back_to_their_own_place(tmp_path):
    a, b = tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg"
    for p, data in ((a, b"A"), (b, b"B")):
        p.parent.mkdir()
        p.write_bytes(data)
    ta, tb = trash.to_trash(str(a)), trash.to_trash(str(b))
    assert ta.in_trash != tb.in_trash
    assert trash.restore(tb) is None and trash.restore(ta) is None
    assert (a.read_bytes(), b.read_bytes()) == (b"A", b"B")


def test_restore_never_overwrites_and_says_why(tmp_path):
    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"old")
    item = trash.to_trash(str(photo))
    photo.write_bytes(b"new")
    assert "exists again" in trash.restore(item)
    assert photo.read_bytes() == b"new"
    gone = trash.Trashed(str(tmp_path / "q.jpg"), str(tmp_path / "nowhere"))
    assert "no longer in the trash" in trash.restore(gone)


def test_a_file_the_trash_cannot_take_stays_where_it_is(tmp_path, monkeypatch):
    import send2trash

    photo = tmp_path / "p.jpg"
    photo.write_bytes(b"x")

    def refuse(path):  # (a permission error: tests run as root here, who is never refused)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(send2trash, "send2trash", refuse)
    with pytest.raises(trash.TrashUnavailable, match="left where it is"):
        trash.to_trash(str(photo))
    assert photo.read_bytes() == b"x"
    with pytest.raises(trash.TrashUnavailable, match="not there"):
        trash.to_trash(str(tmp_path / "missing.jpg"))
