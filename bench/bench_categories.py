"""User categories: how fast a probe trains, scores the library, and answers a new example.

    .venv/bin/python bench/bench_categories.py [--photos 100000]

Embeddings are synthetic CLIP-like vectors (common.GapVectors, 512-d) in a real catalog
(common.synthetic_library). Measured:

- training on 1,000 labels (500 in, 500 not in) plus the 2,000-photo background sample: the
  NumPy Newton solver used by the app (probe.fit, with its second, cleaned fit and the bias
  recalibration), beside the same objective solved with torch's L-BFGS on CPU;
- scoring 100k photos for 20 categories (each with its cached examples), beside the naive way
  (each photo scored on its own, one category at a time; timed on 5k photos and scaled);
- end to end, through the Library: add one example → the category's new member count (what
  the sidebar shows after a click), with a real catalog write, retraining and scoring.

NumPy runs on one BLAS thread, as in the app (app.configure_threads). The solver is NumPy's
although torch's L-BFGS solves the same objective faster in isolation: a fresh process
(``photoclip category show``, a search) would pay torch's import (~3 s) for it.

The k-shot table (fixture CLIP, CIFAR-10): bench/bench_kshot.py (the test suite checks its
two ends: ``pytest tests/test_categories.py -k k_shot -s``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # as the app runs NumPy (app.py)
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    OUT,
    GapVectors,
    random_model_dir,
    synthetic_library,
    timed,
    write_result,
)

from photoclip.core.categories import probe  # noqa: E402
from photoclip.core.library import Library  # noqa: E402


def torch_lbfgs(pos, neg, bg, w0, lam):
    """The same balanced, penalised logistic loss (no cleaning, no vote) with torch L-BFGS."""
    import torch

    x = torch.from_numpy(np.concatenate([pos, neg, bg])).double()
    y = torch.cat([torch.ones(len(pos)), torch.zeros(len(neg) + len(bg))]).double()
    a = torch.from_numpy(probe._weights(len(pos), len(neg), len(bg)))
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    target = torch.from_numpy(w0)
    opt = torch.optim.LBFGS([w, b], max_iter=200, tolerance_grad=1e-9,
                            line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = x @ w + b
        bce = torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none")
        loss = (a * bce).sum() + lam / 2 * ((w - target) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), b.item()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--categories", type=int, default=20)
    args = ap.parse_args()
    gap = GapVectors()
    vectors = gap.photos(args.photos)
    spec = f"local-dir:{random_model_dir()}"
    result: dict = {"photos": args.photos, "categories": args.categories}
    rng = np.random.default_rng(0)
    concept = gap.concepts[0]
    near = np.argsort(-(vectors @ concept))
    pos, neg = vectors[near[:500]], vectors[near[500:1000]]
    bg = vectors[rng.choice(args.photos, 2000, replace=False)]
    text = concept / np.linalg.norm(concept)

    s, _ = timed(lambda: probe.fit(pos, neg, bg, text, 100.0), runs=3)
    s_plain, _ = timed(lambda: probe._newton(pos, neg, bg, np.zeros(512), 0.0, probe.RIDGE), runs=3)
    s_torch, _ = timed(lambda: torch_lbfgs(pos, neg, bg, np.zeros(512), probe.RIDGE), runs=3)
    result["train_1000_labels_plus_2000_background"] = {
        "photoclip_fit_s": round(s, 3), "one_newton_solve_s": round(s_plain, 3),
        "torch_lbfgs_same_objective_s": round(s_torch, 3),
        "newton_vs_lbfgs": round(s_torch / s_plain, 1)}

    probes = []
    for c in range(args.categories):
        k = np.argsort(-(vectors[:5000] @ gap.concepts[c]))[:16]
        probes.append(probe.fit(vectors[k], vectors[:0], bg, None, 100.0))

    s_score, _ = timed(lambda: probe.logits_many(probes, vectors), runs=3)
    s_each, _ = timed(lambda: [p.logits(vectors) for p in probes], runs=3)

    def naive(n=5000):
        out = np.empty((n, len(probes)), np.float32)
        for i in range(n):
            for j, p in enumerate(probes):
                out[i, j] = p.logits(vectors[i:i + 1])[0]
        return out

    t0 = time.perf_counter()
    naive()
    s_naive = (time.perf_counter() - t0) * args.photos / 5000
    result["score_library_all_categories"] = {
        "seconds": round(s_score, 3), "one_category_at_a_time_s": round(s_each, 3),
        "naive_scaled_s": round(s_naive, 1), "speedup_vs_naive": round(s_naive / s_score, 1)}

    home = synthetic_library(OUT / f"categories-{args.photos}", spec, vectors)
    lib = Library(home, model=spec)
    lib.model.search_ready = lambda retry=False: False  # (a random text tower: no name prior)
    for c in lib.categories.all():
        lib.categories.delete(c.name)
    ids = lib.catalog.embedding_ids(spec)
    order = np.argsort(-(lib.catalog.vectors(spec, ids.tolist())[1] @ gap.concepts[3]))
    lib.categories.create("Bench")
    lib.categories.label("Bench", ids[order[:10]].tolist(), True)
    lib.categories.overview(quality=False)  # vectors in memory, as in the running app
    times = []
    for k in range(10, 20):
        t0 = time.perf_counter()
        lib.categories.label("Bench", [int(ids[order[k]])], True)
        row = next(r for r in lib.categories.overview(quality=False) if r["name"] == "Bench")
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    lib.categories.overview(quality=True)
    s_quality = time.perf_counter() - t0
    lib.categories.store._vectors = None
    t0 = time.perf_counter()
    lib.categories.overview(quality=False)
    s_cold = time.perf_counter() - t0
    result["add_one_example_to_new_count"] = {
        "median_s": round(float(np.median(times)), 3), "max_s": round(max(times), 3),
        "members": row["members"], "then_quality_estimate_s": round(s_quality, 3),
        "cold_first_count_s (vectors read from the catalog)": round(s_cold, 3)}
    lib.close()
    write_result("categories", result)


if __name__ == "__main__":
    main()
