"""How start-up and memory grow with the library: 10k, 100k, 1M photos.

Every measurement is a whole process, as a user's command or app start is: wall time and peak
memory (the child's own VmHWM), the median of ``--runs`` runs. Synthetic libraries: a real
catalog of N photos with clustered unit vectors (paths that do not exist: their folder is
offline, so ``index`` has no files to stat), ViT-B-32 with seeded random weights as a local-dir
model (its text tower exported to ONNX once, as ``photoclip index`` does).

- ``status``; a cold ``search``; ``category add`` of 10 examples then ``category show``;
  ``tagset apply`` of a 50-label set; ``index`` with nothing to do;
- the app: launch → first grid (the newest photos), and → the grid scrolled to the end;
- the search graph's build (the app builds it once for a library above 50k photos), measured
  first, so the app finds it built.

    .venv/bin/python bench/bench_scale.py [--sizes 10000,100000,1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, ROOT, clustered_vectors, random_model_dir, synthetic_library
from common import write_result as save

HWM = ("def _hwm():\n"
       "    import os\n"
       "    with open('/proc/self/status') as f, open(os.environ['BENCH_HWM'], 'w') as o:\n"
       "        o.write(next(l for l in f if l.startswith('VmHWM')).split()[1])\n")
CLI = HWM + ("import atexit, sys; atexit.register(_hwm)\n"
             "from photoclip.app import main; sys.exit(main(sys.argv[1:]))")
APP = HWM + r"""
import os, sys, time
t0 = float(os.environ["BENCH_T0"])
from photoclip.app import configure_threads
configure_threads()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtWidgets import QApplication
from photoclip.core.library import Library
from photoclip.gui.main_window import MainWindow
app = QApplication(sys.argv[:1])
lib = Library.open(sys.argv[1])
total = int(sys.argv[2])
w = MainWindow(lib, watch=False)
w.resize(1280, 800)
w.show()
from PySide6.QtCore import QTimer
first = None
deadline = time.time() + 600


def check():  # polled by a timer: the event loop runs as the app's does (no sleeps between)
    global first
    if first is None and w.model.hit(w.model.first_photo_row()) is not None:
        first = time.time() - t0
    if first is not None:
        w.view.scrollToBottom()  # (a user dragging the scroll bar to the end)
        last = w.model.rowCount() - 1  # the oldest photo, shown: laid out, fetched, painted
        if w.model.shown >= total and w.model.hit(last) is not None or time.time() > deadline:
            app.quit()


timer = QTimer(interval=5)
timer.timeout.connect(check)
timer.start()
app.exec()
print(f"FIRST_GRID {first:.3f} END {time.time() - t0:.3f} SHOWN {w.model.shown} "
      f"HELD {len(w.model.hits())}", flush=True)
_hwm()
os._exit(0)
"""
BUILD = HWM + r"""
import sys, time
from photoclip.core.library import Library
t0 = time.time()
lib = Library.open(sys.argv[1])  # (long-lived, as the app: it builds the graph)
lib.search_index.index  # (starts the build, in the background)
assert lib.search_index.wait_built(3600)
print(f"BUILT {time.time() - t0:.3f} MODE {lib.search_index.index.mode}", flush=True)
lib.close()
_hwm()
"""
LABELS = [  # a 50-label tag set
    "dog", "cat", "bird", "horse", "car", "bicycle", "boat", "train", "airplane", "beach",
    "mountain", "forest", "city", "street", "building", "church", "bridge", "river", "lake",
    "snow", "sunset", "night", "food", "cake", "flower", "tree", "garden", "child", "baby",
    "wedding", "party", "concert", "museum", "document", "receipt", "screenshot", "portrait",
    "selfie", "group", "kitchen", "bedroom", "office", "desert", "road", "sky", "cloud", "rain",
    "fireworks", "market", "stadium",
]


def run(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak MB, stdout) of one child process."""
    hwm = OUT / "scale-hwm.txt"
    hwm.unlink(missing_ok=True)
    t0 = time.time()
    env = {**env, "BENCH_T0": repr(t0), "BENCH_HWM": str(hwm)}
    proc = subprocess.run(cmd, capture_output=True, env=env, text=True)
    wall = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[2:6]} failed ({proc.returncode}): {proc.stderr[-1500:]}")
    return wall, int(hwm.read_text()) / 1024, proc.stdout


def summary(samples: list[tuple[float, float]]) -> dict:
    return {"median_s": round(statistics.median(s for s, _ in samples), 2),
            "median_peak_mb": round(statistics.median(m for _, m in samples)),
            "runs_s": [round(s, 2) for s, _ in samples]}


def measure(home: Path, n: int, runs: int, build: bool, only: set[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}

    def cli(*args: str) -> tuple[float, float, str]:
        return run([sys.executable, "-c", CLI, "--home", str(home), *args], env)

    photos = [f"{OUT / 'synthetic-photos'}/{i // 1000:04d}/IMG_{i:07d}.jpg"
              for i in range(0, n, n // 10)][:10]
    tagset = f"Bench{len(LABELS)}"
    if _has_tagset(cli, tagset):
        cli("tagset", "delete", tagset)
    cli("tagset", "create", tagset, *LABELS)
    cli("search", "a photo", "--limit", "1")  # (the first search exports the text tower)
    out: dict[str, dict] = {}
    if build:  # once (minutes at a million photos), first: the app then loads the graph
        for f in (home / "index").glob("index*"):
            f.unlink()
        wall, mb, text = run([sys.executable, "-c", BUILD, str(home)], env)
        out["graph_build"] = {"s": round(wall, 1), "peak_mb": round(mb),
                              "mode": text.split("MODE")[1].split()[0]}
        print(n, out, flush=True)
    samples: dict[str, list[tuple[float, float]]] = {}
    for r in range(runs):
        def timed(key: str, *args: str) -> None:
            if only and key not in only:
                return
            wall, mb, _ = cli(*args)
            samples.setdefault(key, []).append((wall, mb))

        timed("status", "status", "--json")
        timed("search", "search", "a photo of a dog on the beach", "--json", "--limit", "20")
        if not only or "category_add" in only:
            name = f"Bench{r}-{time.time_ns()}"
            cli("category", "create", name)
            timed("category_add", "category", "add", name, *photos)
            timed("category_show", "category", "show", name, "--limit", "20")
            cli("category", "delete", name)
        timed("tagset_apply", "tagset", "apply", tagset)
        timed("index_nothing_to_do", "index")
        if only and "app" not in only:
            continue
        wall, mb, said = run([sys.executable, "-c", APP, str(home), str(n)], env)
        first = float(said.split("FIRST_GRID")[1].split()[0])
        end = float(said.split("END")[1].split()[0])
        samples.setdefault("app_first_grid", []).append((first, mb))
        samples.setdefault("app_scrolled_to_end", []).append((end, mb))
    out.update({k: summary(v) for k, v in samples.items()})
    return out


def _has_tagset(cli, name: str) -> bool:
    try:
        _, _, text = cli("tagset", "list", "--json")
    except RuntimeError:
        return False
    return f'"{name}"' in text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-build", action="store_true", help="skip the graph builds")
    ap.add_argument("--only", default="", help="measure only these, e.g. app,search "
                    "(status, search, category_add, tagset_apply, index_nothing_to_do, app)")
    args = ap.parse_args()
    spec = f"local-dir:{random_model_dir('ViT-B-32')}"
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        t0 = time.time()
        home = synthetic_library(OUT / f"scale-{n}", spec, clustered_vectors(n), graph=False)
        print(f"{n}: library ready in {time.time() - t0:.0f} s", flush=True)
        only = {k for k in args.only.split(",") if k}
        results[str(n)] = measure(home, n, args.runs, build=not args.no_build and n > 50_000,
                                  only=only)
        print(n, results[str(n)], flush=True)
    sizes = [s for s in ("100000", "1000000") if s in results]
    growth = {}
    if len(sizes) == 2:
        small, big = results[sizes[0]], results[sizes[1]]
        growth = {k: round(big[k]["median_s"] / small[k]["median_s"], 2)
                  for k in small if k in big and "median_s" in small[k]}
    name = "scale" + ("-" + args.only.replace(",", "-") if args.only else "")
    path = save(name, {"model": "ViT-B-32 (random weights, local-dir)", "sizes": results,
                       "time_growth_100k_to_1m": growth})
    print("written to", path)


if __name__ == "__main__":
    main()
