"""kill -9 at random moments of indexing never leaves catalog and index inconsistent, and the
restarted library finishes without re-encoding what was committed."""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import CountingEncoder, make_library, write_photos

from photoclip.core.search.vector_index import VectorIndex
from photoclip.core.store.catalog import Catalog

CHILD = Path(__file__).with_name("crash_child.py")


def check_consistent(home: Path, model: str, dim: int) -> int:
    """Catalog intact, no duplicates, index == catalog's embeddings. Returns #embeddings."""
    db = sqlite3.connect(home / "catalog.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    n_paths, n_distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM photos").fetchone()
    assert n_paths == n_distinct
    orphans = db.execute("SELECT COUNT(*) FROM embeddings e LEFT JOIN photos p "
                         "ON p.id = e.photo_id WHERE p.id IS NULL").fetchone()[0]
    assert orphans == 0
    db.close()
    cat = Catalog(home / "catalog.sqlite3")
    want = set(cat.embedding_ids(model).tolist())
    index = VectorIndex.load_or_build(home / "index", model, dim, cat)
    assert set(index.ids().tolist()) == want
    cat.close()
    return len(want)


def test_sigkill_during_indexing_leaves_everything_consistent(tmp_path, tiny_spec, tiny_encoder):
    folder = tmp_path / "photos"
    write_photos(folder, 200, size=(64, 48))
    home = tmp_path / "home"
    rng = random.Random(1234)
    committed = 0
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, str(CHILD), str(home), str(folder), tiny_spec],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "START"
        time.sleep(rng.uniform(0.05, 0.4))
        proc.kill()
        proc.wait()
        now = check_consistent(home, tiny_encoder.model_id, tiny_encoder.dim)
        assert now >= committed, "nothing committed is ever lost"
        committed = now
        print("killed with", committed, "photos committed")
    assert committed < 200, "the kills should land before the end"
    counting = CountingEncoder(tiny_encoder)
    lib = make_library(home, counting)
    report = lib.folders.index()
    assert counting.encoded == 200 - committed, "only uncommitted photos are encoded again"
    assert report.encoded == 200 - committed
    assert lib.status()["indexed"] == 200
    lib.close()
    assert check_consistent(home, tiny_encoder.model_id, tiny_encoder.dim) == 200
