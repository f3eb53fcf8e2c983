"""photoclip.core.indexing.scan: which files a folder scan reports, and how."""

from __future__ import annotations

import os

import pytest
from PIL import Image

from photoclip.core.indexing.scan import (
    file_info,
    is_skipped,
    not_a_photo_folder,
    scan,
    skipped_name,
)


def _photo(path, color=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6), color).save(path)
    return path


def _rel(root, infos):
    return [os.path.relpath(fi.path, root) for fi in infos]


def test_reports_photos_with_size_mtime_and_inode_in_stable_order(tmp_path):
    _photo(tmp_path / "b.jpg")
    _photo(tmp_path / "a.png")
    _photo(tmp_path / "sub" / "c.JPEG")
    infos = list(scan(str(tmp_path)))
    assert _rel(tmp_path, infos) == ["a.png", "b.jpg", os.path.join("sub", "c.JPEG")]
    st = os.stat(tmp_path / "b.jpg")
    b = infos[1]
    assert (b.size, b.mtime_ns, b.inode, b.error) == (st.st_size, st.st_mtime_ns, st.st_ino,
                                                      None)
    assert all(os.path.isabs(fi.path) for fi in infos)


def test_hidden_system_folders_and_non_photos_are_skipped(tmp_path):
    _photo(tmp_path / "keep.jpg")
    for hidden in (".thumbnails", "@eaDir", "$RECYCLE.BIN", "__MACOSX", "node_modules",
                   "System Volume Information"):
        _photo(tmp_path / hidden / "x.jpg")
    _photo(tmp_path / ".hidden.jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "movie.mp4").write_bytes(b"\0" * 10)
    (tmp_path / "a folder.jpg").mkdir()  # a folder named like a photo is walked, not reported
    _photo(tmp_path / "a folder.jpg" / "inner.gif")
    assert sorted(_rel(tmp_path, scan(str(tmp_path)))) == [
        os.path.join("a folder.jpg", "inner.gif"), "keep.jpg"]


def test_skip_rules_match_what_the_watcher_applies(tmp_path):
    root = str(tmp_path)
    assert skipped_name(".cache") and skipped_name("@eaDir") and not skipped_name("eaDir")
    assert is_skipped(os.path.join(root, "a", ".thumbnails", "x.jpg"), root)
    assert is_skipped(os.path.join(root, "lost+found", "x.jpg"), root)
    assert not is_skipped(os.path.join(root, "a", "b", "x.jpg"), root)


def test_symlink_loop_ends_and_link_inside_root_is_scanned_once(tmp_path):
    _photo(tmp_path / "real" / "p.jpg")
    os.symlink(tmp_path / "real", tmp_path / "alias")  # same folder twice
    os.symlink(tmp_path, tmp_path / "real" / "loop")  # back to the root
    paths = _rel(tmp_path, scan(str(tmp_path)))
    assert len(paths) == 1 and paths[0].endswith("p.jpg")


def test_link_out_of_the_root_is_not_followed(tmp_path):
    _photo(tmp_path / "elsewhere" / "out.jpg")
    root = tmp_path / "root"
    _photo(root / "in.jpg")
    os.symlink(tmp_path / "elsewhere", root / "outside")
    assert _rel(root, scan(str(root))) == ["in.jpg"]


def test_dangling_link_and_link_loop_are_reported_not_raised(tmp_path):
    _photo(tmp_path / "ok.jpg")
    os.symlink(tmp_path / "nowhere.jpg", tmp_path / "broken.jpg")
    os.symlink(tmp_path / "loop2.jpg", tmp_path / "loop1.jpg")
    os.symlink(tmp_path / "loop1.jpg", tmp_path / "loop2.jpg")
    by_name = {os.path.basename(fi.path): fi for fi in scan(str(tmp_path))}
    assert by_name["ok.jpg"].error is None
    assert by_name["broken.jpg"].error.startswith("broken symbolic link")
    assert by_name["loop1.jpg"].error == "symbolic link loop"


def test_fifo_named_like_a_photo_is_not_a_regular_file(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert file_info(str(fifo)).error == "not a regular file"


def test_missing_root_yields_nothing(tmp_path):
    assert list(scan(str(tmp_path / "gone"))) == []


@pytest.mark.parametrize("path, why", [
    ("/", "root of a file system"),
    ("/proc/self", "system folder"),
    ("/usr/share", "system folder"),
])
def test_system_places_are_refused_as_photo_folders(path, why):
    assert why in (not_a_photo_folder(path) or "")


def test_an_ordinary_folder_is_fine_as_a_photo_folder(tmp_path):
    assert not_a_photo_folder(str(tmp_path)) is None
