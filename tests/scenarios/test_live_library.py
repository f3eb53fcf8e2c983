"""The live library: a real watchdog observer on temp folders, the background worker, reconcile."""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
from conftest import indexed_photos, write_photos

from photoclip.core.indexing.worker import Worker


def wait_for(cond, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def live(tmp_path, tiny_library):
    """A library with one watched folder and a running worker (native observer)."""
    root = tmp_path / "Pictures"
    root.mkdir()
    tiny_library.folders.add(root)
    worker = Worker(tiny_library, quiet=0.3, save_interval=0.5)
    worker.start()
    assert worker.started.wait(30)  # (folders are read in its thread)
    assert worker.wait_idle(30)
    yield tiny_library, worker, root
    worker.stop()


def indexed_paths(lib):
    ids = lib.catalog.embedding_ids(lib.model.id).tolist()
    return {r["path"] for r in lib.catalog.photo_rows(ids).values()}


def settle(worker, lib, expected_count, timeout=60):
    wait_for(lambda: lib.status()["indexed"] == expected_count and worker.wait_idle(0.05),
             timeout, f"{expected_count} indexed photos")


def test_burst_of_300_files_is_indexed_each_once(live):
    lib, worker, root = live
    photos = write_photos(root / "phone-sync", 300)
    settle(worker, lib, 300)
    time.sleep(1.0)  # late events must not cause a second encode
    assert worker.wait_idle(30)
    assert lib.model.encoder.encoded == 300
    assert indexed_paths(lib) == {str(p) for p in photos}
    assert set(lib.search_index.index.ids().tolist()) == \
        set(lib.catalog.embedding_ids(lib.model.id).tolist())


def test_renamed_folder_keeps_tags_and_vectors_without_reencoding(live):
    lib, worker, root = live
    write_photos(root / "Album", 20)
    settle(worker, lib, 20)
    before_ids = {p: lib.catalog.photo_state(p).id for p in indexed_paths(lib)}
    encoded = lib.model.encoder.encoded
    (root / "Album").rename(root / "Holiday 2024")
    wait_for(lambda: all("Holiday 2024" in p for p in indexed_paths(lib))
             and worker.wait_idle(0.05), 30, "the move to be applied")
    assert lib.model.encoder.encoded == encoded, "a moved folder is not re-encoded"
    after = {p: lib.catalog.photo_state(p).id for p in indexed_paths(lib)}
    assert sorted(after.values()) == sorted(before_ids.values()), "same rows (labels kept)"
    assert len(after) == 20


def test_deleted_files_leave_search(live):
    lib, worker, root = live
    photos = write_photos(root, 10)
    settle(worker, lib, 10)
    for p in photos[:4]:
        p.unlink()
    settle(worker, lib, 6)
    assert {h.path for h in lib.search.find("x", limit=20)} == {str(p) for p in photos[4:]}


def test_overwritten_photo_is_reencoded(live):
    lib, worker, root = live
    photos = write_photos(root, 3)
    settle(worker, lib, 3)
    pid = lib.catalog.photo_state(str(photos[0])).id
    old = lib.catalog.vector_of(pid, lib.model.id)
    encoded = lib.model.encoder.encoded
    shutil.copyfile(write_photos(root.parent / "elsewhere", 1, start=77)[0], photos[0])
    wait_for(lambda: lib.model.encoder.encoded == encoded + 1 and worker.wait_idle(0.05), 30,
             "the re-encode")
    new = lib.catalog.vector_of(pid, lib.model.id)
    assert new is not None and not np.allclose(new, old)


def test_file_being_copied_is_read_only_when_complete(live, tmp_path):
    lib, worker, root = live
    src = write_photos(tmp_path / "src", 1, size=(600, 400))[0].read_bytes()
    target = root / "slow.jpg"
    with open(target, "wb") as f:  # a slow copy: a few chunks with pauses
        for i in range(0, len(src), len(src) // 4 + 1):
            f.write(src[i:i + len(src) // 4 + 1])
            f.flush()
            time.sleep(0.15)
    settle(worker, lib, 1)
    assert lib.folders.failures() == [], "never read half-written"


def test_reconcile_queues_exactly_the_difference(tmp_path, tiny_library):
    lib = tiny_library
    root = tmp_path / "photos"
    photos = indexed_photos(lib, root, 10)
    # changes while nothing watches: add 2, delete 1, rename 1, touch 1
    added = write_photos(root, 2, start=100)
    photos[0].unlink()
    photos[1].rename(root / "renamed.jpg")
    os.utime(photos[2], ns=(1_500_000_000_000_000_000,) * 2)
    ix = lib.folders.indexer()
    plan = ix.plan_folder(lib.catalog.folders()[0])
    assert {fi.path for fi in plan.work} == {*map(str, added), str(root / "renamed.jpg"),
                                             str(photos[2])}
    assert set(plan.missing) == {str(photos[0]), str(photos[1])}
    assert plan.unchanged == 7
    before = lib.model.encoder.encoded
    report = ix.run(plan)
    assert (report.encoded, report.moved, report.removed) == (2, 1, 1)
    assert lib.model.encoder.encoded == before + 2


def test_offline_folder_loses_nothing_and_comes_back(tmp_path, tiny_library):
    lib = tiny_library
    drive = tmp_path / "usb"
    write_photos(drive / "DCIM", 8)
    lib.folders.add(drive / "DCIM")
    worker = Worker(lib, quiet=0.2)
    worker.start()
    assert worker.started.wait(30)  # (folders are read in its thread)
    try:
        settle(worker, lib, 8)
        drive.rename(tmp_path / "usb-unplugged")
        wait_for(lambda: not lib.folders.list()[0].online, 20, "the folder to go offline")
        assert lib.status()["indexed"] == 8
        encoded = lib.model.encoder.encoded
        (tmp_path / "usb-unplugged").rename(drive)
        wait_for(lambda: lib.folders.list()[0].online and worker.wait_idle(0.05), 20,
                 "the folder to come back")
        assert lib.status()["indexed"] == 8 and lib.model.encoder.encoded == encoded
    finally:
        worker.stop()


def test_polling_fallback_sees_new_files(tmp_path, tiny_library):
    lib = tiny_library
    root = tmp_path / "nfs-like"
    root.mkdir()
    lib.folders.add(root)
    worker = Worker(lib, quiet=0.2, force_polling=True)
    worker.start()
    assert worker.started.wait(30)  # (folders are read in its thread)
    try:
        assert str(root) in worker.watcher.polling
        write_photos(root, 3)
        settle(worker, lib, 3, timeout=30)
    finally:
        worker.stop()


def test_pause_holds_work_and_resume_finishes_it(live):
    lib, worker, root = live
    worker.pause()
    write_photos(root, 40)
    time.sleep(1.5)
    assert lib.status()["indexed"] < 40
    worker.resume()
    settle(worker, lib, 40)


def test_searches_run_while_the_worker_writes(live):
    lib, worker, root = live
    write_photos(root / "first", 20)
    settle(worker, lib, 20)
    write_photos(root / "second", 200, start=1000)
    counts = []
    deadline = time.monotonic() + 30
    while lib.status()["indexed"] < 220 and time.monotonic() < deadline:
        t0 = time.monotonic()
        hits = lib.search.find("anything", limit=5)
        counts.append((len(hits), time.monotonic() - t0))
    assert counts and all(n == 5 for n, _ in counts)
    settle(worker, lib, 220)


def test_inotify_limit_falls_back_to_polling(tmp_path, tiny_library, monkeypatch, caplog):
    import errno

    from watchdog.observers import Observer

    def refuse(self, *a, **k):
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(Observer, "schedule", refuse)
    lib = tiny_library
    root = tmp_path / "big"
    root.mkdir()
    lib.folders.add(root)
    worker = Worker(lib, quiet=0.2)
    with caplog.at_level("WARNING"):
        worker.start()
        assert worker.started.wait(30)  # (folders are read in its thread)
    try:
        assert "inotify watch limit" in worker.watcher.polling[str(root)]
        assert "polling" in caplog.text
        write_photos(root, 2)
        settle(worker, lib, 2, timeout=30)
        assert "polling" in worker.status.message
    finally:
        worker.stop()


def test_cancel_stops_the_current_job_and_keeps_what_was_done(live):
    lib, worker, root = live
    lib.settings.batch_size = 4
    worker.pause()
    write_photos(root, 80)
    wait_for(lambda: worker.status.state == "paused" and worker.status.total > 0, 30,
             "the job to start")
    worker.cancel()
    worker.resume()
    assert worker.wait_idle(30)
    done = lib.status()["indexed"]
    assert done < 80
    worker.rescan()  # nothing lost: the next reconcile finishes the rest
    settle(worker, lib, 80)


def test_hidden_folders_are_ignored_by_the_watcher_too(live):
    lib, worker, root = live
    write_photos(root / ".thumbnails", 3)
    write_photos(root / "@eaDir", 2, start=10)
    write_photos(root / "visible", 1, start=20)
    settle(worker, lib, 1)
    time.sleep(1.0)
    assert worker.wait_idle(10)
    assert lib.status()["photos"] == 1


def test_progress_covers_every_folder_waiting_not_one_folder_at_a_time(tmp_path, tiny_library):
    """Two new folders (30 and 20 photos): one progress from 0 to 50 with one estimate, not
    "30 of 30" then "0 of 20"."""
    for name, n in (("a", 30), ("b", 20)):
        write_photos(tmp_path / name, n)
        tiny_library.folders.add(tmp_path / name)
    seen = []
    worker = Worker(tiny_library, on_status=seen.append, watch=False)
    worker.start()
    assert worker.started.wait(30)  # (folders are read in its thread)
    assert worker.wait_idle(60)
    worker.stop()
    working = [s for s in seen if s.state == "working" and s.total]
    assert working, seen
    assert {s.total for s in working} == {50}, sorted({s.total for s in working})
    dones = [s.done for s in working]
    assert dones == sorted(dones) and dones[-1] == 50
    assert {s.root for s in working} == {str(tmp_path / "a"), str(tmp_path / "b")}
    assert any(s.eta is not None for s in working)
    assert seen[-1].state in ("idle", "stopped")
