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

What users made (issue 18) has cases of its own, against a ledger of every manual tag,
removal, tag set, category and example the soak made (photos named by content):

- **userkill**: `tagset apply`, `xmp export`, `xmp import`, `tag` or `category add` killed
  with SIGKILL at a random moment; then `index`, and an export that must leave no
  ``*.photoclip-tmp`` file behind;
- **userdisk**: the catalog locked by another program, or its disk full, when a command
  opens it: the command says so and changes nothing;
- **derived**: only the vectors' pages damaged; `doctor --repair` keeps every user row;
- **folder**: a folder removed and added again (its user data must come back onto its
  photos), or renamed and relinked;
- **swap**: two photos swap names.

After every round: the catalog passes SQLite's integrity and foreign-key checks, has no
duplicate paths, every file on disk is catalogued once, the saved index holds exactly the
catalog's vectors, and no entry of the ledger is lost (on a photo, or kept for one that is
gone). Results go to bench/out/torture.json.

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
lib.search_index.exact_max = 50
def save(progress):
    lib.search_index.mark_dirty()
    lib.search_index.save()
print("START", flush=True)
lib.folders.index(progress=save)
lib.close()
print("DONE", flush=True)
"""


class Torture:
    def __init__(self, work: Path, seed: int, disk: Path | None = None):
        from conftest import TINY_CONFIG  # the tests' tiny random model (mechanics only)

        self.rng = random.Random(seed)
        self.work = work
        self.disk = disk  # a small file system holding everything (for the disk-full case)
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
        # the ledger of what the user made: (content hash, set or None, label, source) tags,
        # (content hash, category, positive) examples, set and category names
        self.tags: set[tuple] = set()
        self.examples: set[tuple] = set()
        self.sets: set[str] = set()
        self.categories: set[str] = set()
        self.user_rows_lost = 0
        self.cli("tagset", "create", "Things", "noise", "pattern", "texture", check=True)
        self.sets.add("Things")
        self.cli("tagset", "apply", "Things", check=True)
        self.cli("category", "create", "Mine", check=True)
        self.categories.add("Mine")

    # -- helpers -----------------------------------------------------------------------------

    def new_photos(self, folder: Path, n: int) -> list[Path]:
        from conftest import write_photos

        out = write_photos(folder, n, start=self.counter, size=(96, 72))
        self.counter += n
        return out

    def cli(self, *args: str, check: bool = False, timeout: float = 300,
            env: dict | None = None):
        proc = subprocess.run([sys.executable, "-m", "photoclip", "--home", str(self.home),
                               *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
        if check and proc.returncode != 0:
            raise AssertionError(f"photoclip {' '.join(args)}: {proc.stderr[-1500:]}")
        return proc

    def hash_of(self, path: Path) -> str:
        from photoclip.core.indexing.imageio import content_hash

        return content_hash(path.read_bytes())

    def some_photos(self, n: int) -> list[Path]:
        return self.rng.sample(sorted(Path(p) for p in self.files_on_disk()), n)

    def hand_work(self) -> list[list[str]]:
        """A few user commands (tag, untag, keyword, examples), each recorded in the ledger
        by the caller once it returned; returned as argument lists."""
        a, b, c, d = self.some_photos(4)
        n = self.counter
        return [["tag", str(a), "Things/noise"], ["untag", str(b), "Things/pattern"],
                ["tag", str(c), f"kw{n}"], ["category", "add", "Mine", str(a), str(d)],
                ["category", "add", "Mine", "--not", str(b)]]

    def record(self, args: list[str]) -> None:
        """Put what a user command that returned 0 made into the ledger."""
        if args[0] in ("tag", "untag"):
            name = args[2]
            set_name, _, label = name.partition("/") if "/" in name else (None, "", name)
            source = "manual" if args[0] == "tag" else "removed"
            key = (set_name, label)
            h = self.hash_of(Path(args[1]))
            self.tags = {t for t in self.tags if (t[0], t[1], t[2]) != (h, *key)}
            self.tags.add((h, *key, source))
        elif args[:2] == ["category", "add"]:
            positive = 0 if "--not" in args else 1
            for path in [a for a in args[3:] if a != "--not"]:
                h = self.hash_of(Path(path))
                self.examples = {e for e in self.examples if e[:2] != (h, args[2])}
                self.examples.add((h, args[2], positive))

    def check_ledger(self) -> None:
        """No manual tag, removal, tag set, category or example of the ledger is lost."""
        from photoclip.core.store import userdata

        db = sqlite3.connect(self.home / "catalog.sqlite3")
        try:
            data = userdata.read(db)
        finally:
            db.close()
        have_tags = {(r[1], r[2], r[3], r[4]) for r in data.tags}
        have_examples = {(r[1], r[2], r[3]) for r in data.examples}
        lost = (len(self.tags - have_tags) + len(self.examples - have_examples)
                + len(self.sets - {t["name"] for t in data.tagsets})
                + len(self.categories - {c["name"] for c in data.categories}))
        if lost:
            self.user_rows_lost += lost
            missing = sorted(self.tags - have_tags)[:3] + sorted(self.examples - have_examples)[:3]
            raise AssertionError(f"{lost} user rows lost, e.g. {missing}")

    def files_on_disk(self) -> set[str]:
        return {str(p) for f in self.folders for p in f.rglob("*.jpg")}

    def check(self, case: str) -> None:
        """The invariants, after every round."""
        from photoclip.core.search.vector_index import VectorIndex
        from photoclip.core.store.catalog import Catalog

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
        self.check_ledger()

    # -- cases -------------------------------------------------------------------------------

    def case_kill(self) -> None:
        self.new_photos(self.rng.choice(self.folders), self.rng.randint(20, 80))
        victim = Path(self.rng.choice(sorted(self.files_on_disk())))
        old_hash = self.hash_of(victim)
        shutil.copy(self.spare_photo(), victim)  # one photo replaced by another image
        self.rehash(old_hash, self.hash_of(victim))
        proc = subprocess.Popen([sys.executable, "-c", KILL_CHILD, str(self.home)],
                                stdout=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert proc.stdout.readline().strip() == "START"
        time.sleep(self.rng.uniform(0.0, 1.5))
        proc.kill()
        proc.wait()
        self.cli("index", check=True)

    def rehash(self, old: str, new: str) -> None:
        """A photo edited in place keeps what the user made for it (its row follows the
        path when the content changes there)."""
        self.tags = {(new, *t[1:]) if t[0] == old else t for t in self.tags}
        self.examples = {(new, *e[1:]) if e[0] == old else e for e in self.examples}

    def case_userkill(self) -> None:
        for args in self.hand_work():
            if self.cli(*args).returncode == 0:
                self.record(args)
        what = self.rng.choice([["tagset", "apply", "Things"], ["xmp", "export"],
                                ["xmp", "import"], ["tag", str(self.some_photos(1)[0]),
                                                    "Things/texture"],
                                ["category", "add", "Mine", str(self.some_photos(1)[0])]])
        proc = subprocess.Popen([sys.executable, "-m", "photoclip", "--home", str(self.home),
                                 *what], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
        time.sleep(self.rng.uniform(0.5, 4.0))
        proc.kill()
        if proc.wait() == 0 and what[0] in ("tag", "category"):
            self.record(what)  # (it finished before the kill)
        self.cli("index", check=True)
        self.cli("xmp", "export", check=True)
        left = [p for f in self.folders for p in f.rglob("*.photoclip-tmp")]
        assert not left, f"temporary files left: {left[:3]}"
        for f in self.folders:  # (sidecars are not photos: keep the folders as they were)
            for side in f.rglob("*.xmp"):
                side.unlink()

    def case_userdisk(self) -> None:
        aside = set(self.home.glob("catalog.sqlite3.damaged-*"))  # (from damage rounds)
        if self.rng.random() < 0.5 or self.disk is None:
            db = sqlite3.connect(self.home / "catalog.sqlite3", isolation_level=None)
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
            try:
                proc = self.cli("tagset", "create", f"Locked{self.counter}", "x",
                                env={"PHOTOCLIP_BUSY_TIMEOUT": "1"})
            finally:
                db.execute("ROLLBACK")
                db.close()
            assert proc.returncode == 1 and "locked" in proc.stderr, proc.stderr[-500:]
        else:
            filler = self.disk / "filler"
            with open(filler, "wb") as f:
                try:
                    while True:
                        f.write(b"\0" * (1 << 20))
                except OSError:
                    pass
            try:
                for args in (["tagset", "list"], ["search", "noise"],
                             ["category", "create", f"Full{self.counter}"]):
                    proc = self.cli(*args)
                    assert "Traceback" not in proc.stderr, proc.stderr[-1500:]
                    assert "damaged" not in proc.stderr, proc.stderr[-500:]
            finally:
                filler.unlink()
        assert set(self.home.glob("catalog.sqlite3.damaged-*")) == aside, "taken for damage"
        self.counter += 1

    def case_derived(self) -> None:
        for args in self.hand_work():
            if self.cli(*args).returncode == 0:
                self.record(args)
        self.cli("status", check=True)
        cat = self.home / "catalog.sqlite3"
        db = sqlite3.connect(cat)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = db.execute("PRAGMA page_size").fetchone()[0]
        pages = [r[0] for r in db.execute(
            "SELECT pageno FROM dbstat WHERE name='embeddings' AND pagetype='leaf'")]
        db.close()
        for pno in self.rng.sample(pages, min(3, len(pages))):
            _garble(cat, (pno - 1) * page + 8, page - 8, self.rng)
        self.cli("doctor", "--repair", check=True)
        self.cli("index", check=True)

    def case_folder(self) -> None:
        for args in self.hand_work():
            if self.cli(*args).returncode == 0:
                self.record(args)
        folder = self.rng.choice(self.folders)
        if self.rng.random() < 0.5:
            self.cli("remove", str(folder), check=True)
            self.cli("add", str(folder), check=True)
        else:
            moved = folder.with_name(folder.name + "-moved")
            folder.rename(moved)
            self.cli("relink", str(folder), str(moved), check=True)
            moved.rename(folder)
            self.cli("relink", str(moved), str(folder), check=True)
        self.cli("index", check=True)
        self.check_ledger()
        # the ledger's rows of photos that are on disk must be on those photos again, not
        # only kept (rows of photos deleted by earlier rounds stay kept)
        on_disk = {self.hash_of(Path(p)) for p in self.files_on_disk()}
        tags, examples = self.live_user_rows()
        want_tags = {t for t in self.tags if t[0] in on_disk}
        want_examples = {e for e in self.examples if e[0] in on_disk}
        if not (want_tags <= tags and want_examples <= examples):
            db = sqlite3.connect(self.home / "catalog.sqlite3")
            lost = sorted(want_tags - tags)[:2]
            detail = []
            for t in lost:
                detail.append((t, db.execute("SELECT path, source FROM kept_tags WHERE "
                                             "content_hash=?", (t[0],)).fetchall(),
                               db.execute("SELECT id, path, folder_id FROM photos WHERE "
                                          "content_hash=?", (t[0],)).fetchall()))
            db.close()
            raise AssertionError(
                f"{len(want_tags - tags)} tags and {len(want_examples - examples)} examples "
                f"not back on their photos after the folder came back: {detail}")

    def live_user_rows(self) -> tuple[set, set]:
        """(tags, examples) on photos in the library now, by content."""
        db = sqlite3.connect(self.home / "catalog.sqlite3")
        try:
            tags = set(db.execute(
                "SELECT p.content_hash, s.name, t.name, pt.source FROM photo_tags pt "
                "JOIN photos p ON p.id = pt.photo_id JOIN tags t ON t.id = pt.tag_id "
                "LEFT JOIN tagsets s ON s.id = t.tagset_id WHERE pt.source != 'auto'"))
            examples = set(db.execute(
                "SELECT p.content_hash, c.name, l.positive FROM category_labels l "
                "JOIN photos p ON p.id = l.photo_id JOIN categories c ON c.id = l.category_id"))
            return tags, examples
        finally:
            db.close()

    def case_swap(self) -> None:
        for args in self.hand_work():
            if self.cli(*args).returncode == 0:
                self.record(args)
        a, b = self.some_photos(2)
        tmp = a.with_name("swap.tmp")
        a.rename(tmp)
        b.rename(a)
        tmp.rename(b)
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
        cases = {"kill": self.case_kill, "damage": self.case_damage, "burst": self.case_burst,
                 "userkill": self.case_userkill, "userdisk": self.case_userdisk,
                 "derived": self.case_derived, "folder": self.case_folder,
                 "swap": self.case_swap}
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
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=OUT, prefix="torture-") as tmp:
        disk = _small_disk(Path(tmp) / "disk")
        work = disk if disk is not None else Path(tmp)
        try:
            t = Torture(work, args.seed, disk)
            t.check("setup")
            t.run(args.minutes)
        finally:
            if disk is not None:
                subprocess.run(["umount", "-l", str(disk)], check=False)
    write_result("torture", {"minutes": args.minutes, "seed": args.seed, "cases": t.results,
                             "failures": t.failures, "user_rows_lost": t.user_rows_lost,
                             "ledger": {"tags": len(t.tags), "examples": len(t.examples)},
                             "wall_minutes": round((time.monotonic() - started) / 60, 1),
                             "disk_full_case": disk is not None})


def _small_disk(where: Path) -> Path | None:
    """A 768 MB tmpfs for the whole soak (so the disk can be filled), or None where mounting
    is not allowed."""
    where.mkdir(parents=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=768m", "tmpfs", str(where)],
                       capture_output=True)
    return where if r.returncode == 0 else None


if __name__ == "__main__":
    main()
