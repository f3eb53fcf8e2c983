"""photoclip.core.lock: inter-process locks in the data folder."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from photoclip.core.errors import PhotoclipError
from photoclip.core.lock import FileLock, LibraryUse, LockTimeout


def _holder_process(path, kind="file"):
    """A second process that holds the lock on ``path`` until its stdin closes."""
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from photoclip.core.lock import FileLock, LibraryUse
        if {kind!r} == "file":
            FileLock(Path({str(path)!r}), what="photoclip index").acquire()
        else:
            LibraryUse(Path({str(path)!r})).shared()
        print("held", flush=True)
        sys.stdin.read()
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert p.stdout.readline().strip() == "held"
    return p


def _end(p):
    p.stdin.close()
    p.wait(timeout=10)


def test_the_lock_is_reentrant_and_released_at_the_last_release(tmp_path):
    lock = FileLock(tmp_path / "indexing.lock", what="photoclip index")
    with lock, lock:
        assert "photoclip index" in (tmp_path / "indexing.lock").read_text()
    assert (tmp_path / "indexing.lock").read_text() == ""  # released: nobody named
    assert lock.holder() == "another process"


def test_another_process_waits_and_is_told_who_holds_it(tmp_path):
    path = tmp_path / "indexing.lock"
    p = _holder_process(path)
    try:
        told = []
        started = time.monotonic()
        with pytest.raises(LockTimeout) as e:
            FileLock(path).acquire(timeout=0.4, on_wait=told.append)
        assert time.monotonic() - started >= 0.4
        assert told == [e.value.holder] and e.value.holder == f"photoclip index (process {p.pid})"
    finally:
        _end(p)
    lock = FileLock(path)
    lock.acquire(timeout=5)  # gone with its process
    lock.release()


def test_a_repair_cannot_take_a_library_another_process_has_open(tmp_path):
    p = _holder_process(tmp_path, kind="library")
    try:
        with pytest.raises(PhotoclipError, match="another PhotoCLIP"):
            LibraryUse(tmp_path).exclusive(timeout=0.3)
    finally:
        _end(p)
    use = LibraryUse(tmp_path)
    use.exclusive(timeout=5)
    use.release()


def test_shared_uses_in_one_process_do_not_block_each_other(tmp_path):
    a, b = LibraryUse(tmp_path), LibraryUse(tmp_path)
    a.shared()
    b.shared()
    a.release()
    b.release()
    c = LibraryUse(tmp_path)
    c.exclusive(timeout=0)
    c.release()
