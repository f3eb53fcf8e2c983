"""Cold start: `photoclip search` as a whole process, and the app's launch → first result.

Every run is a fresh process, as a user's CLI search, script call or app start is. Measured at
10k and 100k photos (synthetic libraries: a real catalog, a real saved index, ViT-B-32 with
seeded random weights as a local-dir model, prepared once as `photoclip index` prepares it):

- **photoclip**: what ships — the query is embedded by the exported text tower in ONNX Runtime;
  torch and open_clip are never imported;
- **torch path**: the same code with the exported tower ignored, so the query goes through
  torch + open_clip as before this change (import torch, build the model, encode).

Wall time and peak memory (the child's own VmHWM) are the median of ``--runs`` runs, the two
paths interleaved. The app's time is from spawning the process to the first ranked results of
a query typed as soon as the window is up (offscreen Qt), read from the child's own clock.

    .venv/bin/python bench/bench_cold.py [--sizes 10000,100000] [--runs 5]
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
from common import OUT, ROOT, clustered_vectors, random_model_dir, synthetic_library, write_result

QUERY = "a photo of a dog on the beach"
TORCH_PATH = ("import photoclip.core.model.host as H; "
              "H.ModelHost._fast_text_encoder = lambda self: None\n")
# The child reports its own peak memory (VmHWM): a forked child's ru_maxrss starts from the
# parent's, which holds the synthetic library.
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
w = MainWindow(lib, watch=False)
w.show()
w.search.setText(sys.argv[2])  # typed as soon as the window is there
def done():
    req = w.searching.shown
    if req and req.query == sys.argv[2] and w.model_ready and w.model.rowCount():
        print(f"FIRST_RESULT {time.time() - t0:.3f} window {shown - t0:.3f}", flush=True)
        _hwm()
        os._exit(0)
w.searching.done.connect(done)
shown = time.time()
app.exec()
"""


def run(cmd: list[str], env: dict) -> tuple[float, float, str]:
    """(wall seconds, peak MB, stdout) of one child process."""
    hwm = OUT / "cold-hwm.txt"
    hwm.unlink(missing_ok=True)
    t0 = time.time()
    env = {**env, "BENCH_T0": repr(t0), "BENCH_HWM": str(hwm)}
    proc = subprocess.run(cmd, capture_output=True, env=env, text=True)
    wall = time.time() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[-3:]} failed ({proc.returncode}): {proc.stderr[-800:]}")
    return wall, int(hwm.read_text()) / 1024, proc.stdout


def measure(home: Path, runs: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    search = ["--home", str(home), "search", QUERY, "--json", "--limit", "20"]
    samples: dict[str, list] = {k: [] for k in ("cli", "cli_torch", "app", "app_torch")}
    for _ in range(runs):
        for key, prefix in (("cli", ""), ("cli_torch", TORCH_PATH)):
            wall, mb, _ = run([sys.executable, "-c", prefix + CLI, *search], env)
            samples[key].append((wall, mb))
        for key, prefix in (("app", ""), ("app_torch", TORCH_PATH)):
            wall, mb, out = run([sys.executable, "-c", prefix + APP, str(home), QUERY], env)
            first = float(out.split("FIRST_RESULT")[1].split()[0])
            samples[key].append((first, mb))
    out = {}
    for key, vals in samples.items():
        out[key] = {"median_s": round(statistics.median(v[0] for v in vals), 2),
                    "median_peak_mb": round(statistics.median(v[1] for v in vals)),
                    "runs_s": [round(v[0], 2) for v in vals]}
    out["cli_speedup"] = round(out["cli_torch"]["median_s"] / out["cli"]["median_s"], 2)
    out["app_speedup"] = round(out["app_torch"]["median_s"] / out["app"]["median_s"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    spec = f"local-dir:{random_model_dir('ViT-B-32')}"
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        home = synthetic_library(OUT / f"cold-{n}", spec, clustered_vectors(n))
        results[str(n)] = measure(home, args.runs)
        print(n, results[str(n)], flush=True)
    write_result("cold_start", {"query": QUERY, "model": "ViT-B-32 (random weights, local-dir)",
                                "sizes": results})


if __name__ == "__main__":
    main()
