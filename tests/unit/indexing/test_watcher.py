"""photoclip.core.indexing.watcher.FolderWatcher: real watchdog observers on tmp folders."""

from __future__ import annotations

import os
import queue
import time

import pytest
from PIL import Image

from photoclip.core.indexing.watcher import Change, FolderWatcher

QUIET = 0.3


@pytest.fixture
def watched(tmp_path):
    """(root, watcher, queue of Changes), the watcher started on ``root``."""
    root = tmp_path / "photos"
    root.mkdir()
    changes: queue.Queue[tuple[float, Change]] = queue.Queue()
    w = FolderWatcher(lambda c: changes.put((time.monotonic(), c)), quiet=QUIET, tick=0.05)
    w.start([str(root)])
    yield root, w, changes
    w.stop()


def _photo(path, color=(10, 200, 10)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), color).save(path)
    return path


def _collect(changes, until, timeout=5.0):
    """Changes until ``until(paths, moves)`` holds (or the timeout): (paths, moves)."""
    paths, moves = set(), []
    deadline = time.monotonic() + timeout
    while not until(paths, moves) and time.monotonic() < deadline:
        try:
            _, c = changes.get(timeout=0.1)
        except queue.Empty:
            continue
        paths |= c.paths
        moves += c.moved_dirs
    return paths, moves


def test_a_created_photo_is_reported_once_it_is_quiet(watched):
    root, _, changes = watched
    t0 = time.monotonic()
    p = _photo(root / "new.jpg")
    at, change = changes.get(timeout=5)
    assert change.root == str(root) and change.paths == {str(p)}
    assert QUIET <= at - t0 < QUIET + 2.0
    assert not change.rescan and change.moved_dirs == []


def test_non_photos_and_hidden_folders_are_ignored(watched):
    root, _, changes = watched
    (root / "notes.txt").write_text("hello")
    _photo(root / ".thumbnails" / "t.jpg")
    _photo(root / "@eaDir" / "x.jpg")
    keep = _photo(root / "keep.png")
    paths, _ = _collect(changes, lambda ps, _: str(keep) in ps)
    time.sleep(QUIET + 0.2)  # anything else would have arrived by now
    while not changes.empty():
        paths |= changes.get()[1].paths
    assert paths == {str(keep)}


def test_a_deleted_photo_is_reported(watched):
    root, _, changes = watched
    p = _photo(root / "gone.jpg")
    _collect(changes, lambda ps, _: str(p) in ps)
    p.unlink()
    paths, _ = _collect(changes, lambda ps, _: str(p) in ps)
    assert paths == {str(p)}


def test_a_folder_move_is_one_move_not_deletes_and_creates(watched):
    root, _, changes = watched
    _photo(root / "trip" / "a.jpg")
    _collect(changes, lambda ps, _: str(root / "trip" / "a.jpg") in ps)
    os.rename(root / "trip", root / "Trip 2024")
    paths, moves = _collect(changes, lambda ps, ms: bool(ms) and ps)
    assert moves == [(str(root / "trip"), str(root / "Trip 2024"))]
    assert str(root / "Trip 2024" / "a.jpg") in paths  # the new place is scanned


def test_a_file_still_being_written_waits_until_it_settles(watched):
    root, _, changes = watched
    p = root / "big.jpg"
    with open(p, "wb") as f:
        for _ in range(8):  # growing for ~0.8 s, never quiet for QUIET seconds
            f.write(b"\xff" * 4096)
            f.flush()
            time.sleep(0.1)
    last_write = time.monotonic()
    at, change = changes.get(timeout=5)
    assert change.paths == {str(p)} and at >= last_write


def test_lost_events_ask_for_a_full_rescan(watched):
    root, w, changes = watched
    w.events_lost()
    _, change = changes.get(timeout=5)
    assert change.root == str(root) and change.rescan


def test_a_failing_consumer_does_not_stop_the_watcher(tmp_path):
    root = tmp_path / "photos"
    root.mkdir()
    got = queue.Queue()

    def on_change(c):
        got.put(c)
        if got.qsize() == 1:
            raise RuntimeError("consumer bug")

    w = FolderWatcher(on_change, quiet=QUIET, tick=0.05)
    w.start([str(root)])
    try:
        _photo(root / "one.jpg")
        assert got.get(timeout=5).paths == {str(root / "one.jpg")}
        _photo(root / "two.jpg")
        assert got.get(timeout=5).paths == {str(root / "two.jpg")}
    finally:
        w.stop()


def test_forced_polling_is_said_and_a_missing_root_is_not_watched(tmp_path):
    (tmp_path / "here").mkdir()
    w = FolderWatcher(lambda c: None, force_polling=True)
    w.start([str(tmp_path / "here"), str(tmp_path / "absent")])
    try:
        assert w.polling == {str(tmp_path / "here"): "polling forced"}
    finally:
        w.stop()
