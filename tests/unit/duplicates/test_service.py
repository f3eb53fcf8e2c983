"""lib.duplicates' mechanics with the tiny model (semantics: tests/scenarios/test_duplicates.py)."""

from __future__ import annotations

import pytest

from photoclip.core.duplicates import phash as phash_module
from tests.conftest import write_photos


def test_a_search_stopped_by_its_progress_stops_reading_photos(tiny_library, tmp_path,
                                                                monkeypatch):
    """Closing the window during the first hashing of an upgraded library must not wait for
    every photo to be read."""
    lib = tiny_library
    write_photos(tmp_path / "p", 300)
    lib.folders.add(tmp_path / "p")
    lib.folders.index()
    lib.catalog.conn.execute("UPDATE photos SET phash=NULL")  # (indexed before migration 8)
    read = []
    real = phash_module.phash
    monkeypatch.setattr(phash_module, "phash", lambda im: read.append(1) or real(im))

    def stop(what, done, total):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lib.duplicates.find(progress=stop)
    assert 64 <= len(read) < 150
    assert lib.duplicates.find() == []  # (then, unstopped, every photo is hashed)
    assert len(read) >= 300
