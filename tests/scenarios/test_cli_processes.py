"""The CLI as a user runs it, in real processes: Ctrl-C during `index`, and `watch`."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import write_photos


def photoclip(home, *args, **kw):
    return subprocess.run([sys.executable, "-m", "photoclip", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=180, **kw)


def status(home) -> dict:
    proc = photoclip(home, "status", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def indexed(db) -> int:
    """Photos with an embedding, read from the catalog (SQLite WAL: beside a writer)."""
    return db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]


def test_ctrl_c_during_index_keeps_the_work_and_the_next_run_finishes(tmp_path, tiny_spec):
    home = tmp_path / "home"
    n = 200  # 50 batches of 4: the Ctrl-C lands long before the end (it follows the first)
    write_photos(tmp_path / "photos", n, size=(640, 480))
    assert photoclip(home, "--model", tiny_spec, "add", str(tmp_path / "photos")).returncode == 0
    settings = json.loads((home / "settings.json").read_text())
    (home / "settings.json").write_text(json.dumps({**settings, "batch_size": 4}))
    proc = subprocess.Popen([sys.executable, "-m", "photoclip", "--home", str(home), "index"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()  # the first progress line: indexing has begun
    while first and f"/{n}" not in first:  # (a model's first load prepares it: one more line)
        first = proc.stderr.readline()
    assert f"/{n}" in first, first
    db = sqlite3.connect(home / "catalog.sqlite3")
    deadline = time.monotonic() + 60
    while indexed(db) == 0:
        assert time.monotonic() < deadline, "no batch was ever committed"
        time.sleep(0.01)
    db.close()
    proc.send_signal(signal.SIGINT)  # after the first committed batch, long before the end
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Stopping after the current batch" in err and "Stopped early" in out
    done = status(home)["indexed"]
    assert 0 < done < n
    again = photoclip(home, "index", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["encoded"] == n - done
    assert status(home)["indexed"] == n


def test_watch_indexes_new_photos_until_ctrl_c(tmp_path, tiny_spec):
    home = tmp_path / "home"
    folder = tmp_path / "photos"
    write_photos(folder, 3)
    assert photoclip(home, "--model", tiny_spec, "add", str(folder)).returncode == 0
    proc = subprocess.Popen([sys.executable, "-m", "photoclip", "--home", str(home), "watch"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    db = sqlite3.connect(home / "catalog.sqlite3")  # (polled here: a `status` process each
    try:                                             # time cost more than the test itself)
        deadline = time.monotonic() + 60
        while indexed(db) < 3:  # start-up reconcile
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        write_photos(folder / "new", 5, start=50)
        while indexed(db) < 8:  # picked up live
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
    finally:
        db.close()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Watching 1 folder" in err and "Stopping" in err
    assert status(home)["indexed"] == 8  # and the CLI counts them


@pytest.mark.parametrize("model", ["tiny_spec", "tiny_xlmr_spec"])
def test_a_search_after_indexing_never_loads_torch(tmp_path, model, request):
    """`photoclip index` prepares the model's text tower once; every later search process
    answers from it with ONNX Runtime, without importing torch or open_clip (that import alone
    costs seconds and a gigabyte) — for the multilingual model too, whose SentencePiece
    tokenizer then runs in the `tokenizers` library, without transformers."""
    tiny_spec = request.getfixturevalue(model)
    home = tmp_path / "home"
    write_photos(tmp_path / "photos", 12)
    assert photoclip(home, "--model", tiny_spec, "add", str(tmp_path / "photos")).returncode == 0
    assert photoclip(home, "index").returncode == 0
    st = status(home)
    assert st["fast_search"].startswith("ready"), st
    assert "precision_why" in st  # which path encodes photos, and why
    check = ("import sys; from photoclip.app import main; rc = main(sys.argv[1:]); "
             "heavy = {'torch', 'open_clip', 'transformers'} & set(sys.modules); "
             "print('HEAVY', sorted(heavy)); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", check, "--home", str(home), "search",
                           "一只猫 on a sofa", "--json"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout
    hits = json.loads(proc.stdout.split("HEAVY")[0])
    assert len(hits) == 12


def test_cli_index_while_the_app_indexes_the_same_library(tmp_path, tiny_spec):
    """The app's worker (here in this process) and `photoclip index` (another process) on one
    library at once: they take turns (the indexing lock), nothing is read twice or lost, and
    the catalog and index stay sound."""
    from photoclip.core.indexing.worker import Worker
    from photoclip.core.library import Library

    home = tmp_path / "home"
    write_photos(tmp_path / "a", 150, size=(400, 300))
    write_photos(tmp_path / "b", 150, start=1000, size=(400, 300))
    assert photoclip(home, "--model", tiny_spec, "add", str(tmp_path / "a"),
                     str(tmp_path / "b")).returncode == 0
    lib = Library.open(home, model=tiny_spec)
    worker = Worker(lib, watch=False)
    worker.start()  # the app begins indexing both folders…
    cli = photoclip(home, "index", "--json")  # …and the user runs the CLI meanwhile
    assert cli.returncode == 0, cli.stderr
    assert worker.wait_idle(180)
    worker.stop()
    lib.close()
    assert status(home)["indexed"] == 300
    db = sqlite3.connect(home / "catalog.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 300
    db.close()
    found = json.loads(photoclip(home, "search", "a photo", "--limit", "300", "--json").stdout)
    assert len(found) == 300


TORCH_SPY = ("import sys, runpy; sys.argv = ['photoclip', *sys.argv[1:]]\n"
             "try:\n    runpy.run_module('photoclip', run_name='__main__')\n"
             "finally:\n    print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\n")


@pytest.mark.parametrize(("precision", "tolerance"), [("int8", 1e-5), ("fp32", 1e-4)])
def test_index_with_a_prepared_tower_never_imports_torch(tmp_path, tiny_spec, precision,
                                                          tolerance):
    """'photoclip index' imported torch and built the fp32 model (1.9–2.1 GB, seconds) even
    where an image tower in ONNX Runtime encodes the photos (int8; and fp32, where indexing
    in torch was 1.45× rclip's time); with nothing to do it did the same. Once the model was
    prepared (its first load exports the tower of the precision chosen), neither imports
    torch, and the vectors are the ones the torch-loaded model gives at that precision."""
    home, photos = tmp_path / "home", tmp_path / "photos"
    write_photos(photos, 3)
    assert photoclip(home, "--model", tiny_spec, "--precision", precision, "add",
                     str(photos)).returncode == 0
    first = photoclip(home, "index")  # loads the model in torch: prepares the tower
    assert first.returncode == 0 and "3 encoded" in first.stdout, first.stderr

    def index() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", TORCH_SPY, "--home", str(home), "index"],
                              capture_output=True, text=True, timeout=180)

    idle = index()
    assert idle.returncode == 0 and "torch imported: False" in idle.stderr, idle.stderr
    new = write_photos(photos / "new", 4, start=10)
    light = index()
    assert light.returncode == 0 and "4 encoded" in light.stdout, light.stderr
    assert "torch imported: False" in light.stderr and precision in light.stderr

    from photoclip.core.indexing.imageio import decode_for_model, read_file
    from photoclip.core.library import Library

    lib = Library(home)
    try:
        encoder = lib.model.encoder  # (torch, at that precision: what indexed the first ones)
        assert encoder.precision == precision
        ids = [lib.folders.photo_id(p) for p in new]
        got, stored = lib.catalog.vectors(lib.model.id, ids)
        assert sorted(got.tolist()) == sorted(ids)
        batch = [decode_for_model(read_file(str(p)), encoder.preprocess, str(p))[1]
                 for p in new]
        import numpy as np

        again = encoder.encode_images(np.stack(batch))[[ids.index(i) for i in got.tolist()]]
        assert np.abs(stored - again).max() < tolerance
    finally:
        lib.close()
