"""Soak test: kill -9, damaged data-folder files and file-system bursts, in a loop.

Each round picks a case at random, runs real `photoclip` processes against one library, and
then checks that nothing was lost or left inconsistent:

- **kill**: `index` (HNSW regime, an index save after every batch) killed with SIGKILL at a
  random moment;
- **damage**: one file of the data folder damaged (catalog truncated, junk header, garbled
  pages; index graph or id list garbled; the index pointer replaced by a folder; settings
  garbled), then `search` and `status` must answer or fail in one sentence (never a traceback
  or a signal), `doctor --repair` where they say so, and `index` must bring it all back;
- **burst**: files copied in, moved between two library folders and deleted while `watch`
  runs; afterwards `index` must find nothing left to do.

After every round: the catalog passes SQLite's integrity and foreign-key checks, has no
duplicate paths, every file on disk is catalogued once, and the saved index holds exactly the
catalog's vectors. Results go to bench/out/torture.json.

    .venv/bin/python bench/torture.py [--minutes 10] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from common import OUT, ROOT, write_result

KILL_CHILD = """
import sys, time
from pathlib import Path
from photoclip.core.library import Library
lib = Library(Path(sys.argv[1]))
lib.settings.batch_size = 8
lib.exact_max = 50
def save(progress):
    lib.mark_index_dirty()
    lib.save_index()
print("START", flush=True)
lib.index_folders(progress=save)
lib.close()
print("DONE", flush=True)
"""


class Torture:
    def __init__(self, work: Path, seed: int):
        from conftest import TINY_CONFIG  # the tests' tiny random model (mechanics only)

        self.rng = random.Random(seed)
        self.work = work
        self.home = work / "home"
        self.folders = [work / "photos-a", work / "photos-b"]
        self.spare = work / "spare"
        self.counter = 0
        self.results: dict[str, dict[str, int]] = {}
        self.failures: list[str] = []
        model = work / "tiny-model"
        model.mkdir()
        (model / "open_clip_config.json").write_text(json.dumps(TINY_CONFIG))
        import torch
        from open_clip.model import CLIP
        from safetensors.torch import save_file

        torch.manual_seed(0)
        save_file({k: v.contiguous() for k, v in CLIP(**TINY_CONFIG["model_cfg"])
                   .state_dict().items()}, str(model / "open_clip_model.safetensors"))
        self.spec = f"local-dir:{model}"
        for f in self.folders:
            self.new_photos(f, 60)
        self.cli("--model", self.spec, "add", *map(str, self.folders), check=True)
        self.cli("index", check=True)

    # -- helpers -----------------------------------------------------------------------------

    def new_photos(self, folder: Path, n: int) -> list[Path]:
        from conftest import write_photos

        out = write_photos(folder, n, start=self.counter, size=(96, 72))
        self.counter += n
        return out

    def cli(self, *args: str, check: bool = False, timeout: float = 300):
        proc = subprocess.run([sys.executable, "-m", "photoclip", "--home", str(self.home),
                               *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if check and proc.returncode != 0:
            raise AssertionError(f"photoclip {' '.join(args)}: {proc.stderr[-1500:]}")
        return proc

    def files_on_disk(self) -> set[str]:
        return {str(p) for f in self.folders for p in f.rglob("*.jpg")}

    def check(self, case: str) -> None:
        """The invariants, after every round."""
        from photoclip.core.catalog import Catalog
        from photoclip.core.index import VectorIndex

        db = sqlite3.connect(self.home / "catalog.sqlite3")
        try:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok", "integrity"
            assert db.execute("PRAGMA foreign_key_check").fetchall() == [], "foreign keys"
            n, distinct = db.execute("SELECT COUNT(*), COUNT(DISTINCT path) FROM photos") \
                .fetchone()
            assert n == distinct, "duplicate paths"
        finally:
            db.close()
        cat = Catalog(self.home / "catalog.sqlite3")
        try:
            paths = {r["path"] for r in cat.browse()}
            assert paths == self.files_on_disk(), (
                f"catalog vs disk: {len(paths - self.files_on_disk())} extra, "
                f"{len(self.files_on_disk() - paths)} missing")
            model = json.loads((self.home / "settings.json").read_text())["model"]
            ids, vecs = cat.vectors(model)
            index = VectorIndex.load_or_build(self.home / "index", model, vecs.shape[1], cat,
                                              exact_max=50)
            assert set(index.ids().tolist()) == set(ids.tolist()), "index ids"
            for pid, v in zip(ids.tolist(), vecs, strict=True):
                assert np.allclose(index.vector(pid), v, atol=1e-5), "a stale vector"
        finally:
            cat.close()

    # -- cases -------------------------------------------------------------------------------

    def case_kill(self) -> None:
        self.new_photos(self.rng.choice(self.folders), self.rng.randint(20, 80))
        victim = self.rng.choice(sorted(self.files_on_disk()))
        shutil.copy(self.spare_photo(), victim)  # one photo replaced by another image
        proc = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(self.home)],
                                stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout.readline().strip() == "START"
        time.sleep(self.rng.uniform(0.0, 1.5))
        proc.kill()
        proc.wait()
        self.cli("index", check=True)

    def spare_photo(self) -> Path:
        return self.new_photos(self.spare, 1)[0]

    def case_damage(self) -> None:
        kind = self.rng.choice(["truncate", "header", "pages", "graph", "ids", "pointer",
                                "settings"])
        self.cli("status", check=True)  # (checkpoints the catalog's WAL)
        cat = self.home / "catalog.sqlite3"
        index_dir = self.home / "index"
        if kind == "truncate":
            cat.write_bytes(b"")
        elif kind == "header":
            _garble(cat, 0, 100, self.rng)
        elif kind == "pages":
            size = cat.stat().st_size
            for _ in range(5):
                _garble(cat, self.rng.randrange(4096, max(size - 64, 4097)), 64, self.rng)
        elif kind in ("graph", "ids"):
            files = list(index_dir.glob("index-*.hnsw" if kind == "graph" else "index-*.ids.npy"))
            if files:
                f = files[0]
                _garble(f, self.rng.randrange(128, max(f.stat().st_size - 64, 129)), 64,
                        self.rng)
        elif kind == "pointer":
            pointer = index_dir / "index.json"
            if pointer.is_file():
                pointer.unlink()
                pointer.mkdir()
        elif kind == "settings":
            (self.home / "settings.json").write_text(self.rng.choice(
                ["{oops", "[]", '{"batch_size": "x"}']))
        for extra in ("-wal", "-shm"):
            if kind in ("truncate", "header"):
                Path(f"{cat}{extra}").unlink(missing_ok=True)
        for args in (["search", "noise", "--json"], ["status"]):
            proc = self.cli(*args)
            assert 0 <= proc.returncode < 128, f"{kind}: {args[0]} died ({proc.returncode})"
            assert "Traceback" not in proc.stderr, f"{kind}: traceback\n{proc.stderr[-1500:]}"
            if proc.returncode != 0:
                assert len(proc.stderr.strip().splitlines()) <= 3, proc.stderr
            if "doctor --repair" in proc.stderr:
                self.cli("doctor", "--repair", check=True)
        if kind == "settings":  # (the model comes back through --model)
            self.cli("--model", self.spec, "status", check=True)
        self.cli("index", check=True)

    def case_burst(self) -> None:
        watch = subprocess.Popen([sys.executable, "-m", "photoclip", "--home", str(self.home),
                                  "watch"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            assert "Watching" in _read_until(watch, "Watching", 120)
            a, b = self.folders
            self.new_photos(a, self.rng.randint(50, 200))
            movable = sorted(a.glob("*.jpg"))
            for p in self.rng.sample(movable, min(30, len(movable))):
                p.rename(b / p.name)
            for p in self.rng.sample(sorted(b.glob("*.jpg")), 20):
                p.unlink()
            time.sleep(8)  # settle, index, and the grace before removals
        finally:
            watch.send_signal(signal.SIGINT)
            watch.wait(120)
        report = json.loads(self.cli("index", "--json", check=True).stdout)
        left = report["encoded"] + report["removed"] + report["moved"]
        if left:  # not fatal by itself (watch may have been stopped mid-batch), but counted
            self.results.setdefault("burst_left_for_index", {"rounds": 0, "files": 0})
            self.results["burst_left_for_index"]["rounds"] += 1
            self.results["burst_left_for_index"]["files"] += left

    def run(self, minutes: float) -> None:
        deadline = time.monotonic() + minutes * 60
        cases = {"kill": self.case_kill, "damage": self.case_damage, "burst": self.case_burst}
        while time.monotonic() < deadline:
            name = self.rng.choice(sorted(cases))
            stats = self.results.setdefault(name, {"rounds": 0, "failed": 0})
            stats["rounds"] += 1
            try:
                cases[name]()
                self.check(name)
            except Exception as e:  # record, then repair so the soak goes on
                stats["failed"] += 1
                self.failures.append(f"{name}: {type(e).__name__}: {str(e)[:500]}")
                print("FAILED", self.failures[-1], flush=True)
                self.cli("doctor", "--repair")
                self.cli("index")
            print(name, stats, flush=True)


def _garble(path: Path, start: int, n: int, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    end = min(len(data), start + n)
    data[start:end] = bytes(rng.randrange(256) for _ in range(end - start))
    path.write_bytes(bytes(data))


def _read_until(proc, marker: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        seen += line
        if marker in line or not line:
            return seen
    return seen


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=OUT, prefix="torture-") as tmp:
        t = Torture(Path(tmp), args.seed)
        t.check("setup")
        t.run(args.minutes)
    write_result("torture", {"minutes": args.minutes, "seed": args.seed, "cases": t.results,
                             "failures": t.failures})


if __name__ == "__main__":
    main()
