"""Search latency: text query in → ranked ids out, at 10k, 100k and 1M stored vectors.

Each query = real text encode (ViT-B-32 text tower, random weights: same cost; a fresh text
each time, so the cache never helps) + PhotoCLIP's index search (exact below 50k vectors, HNSW
above), beside a brute-force numpy scan over the same vectors in the same run. Vectors are
synthetic unit vectors (512-d). Also reports HNSW recall@10 against the exact scan.

    .venv/bin/python bench/bench_search.py [--sizes 10000,100000,1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photoclip.app import configure_threads

configure_threads()  # as the app runs (before NumPy is imported)
import numpy as np  # noqa: E402
from common import percentiles, write_result  # noqa: E402

from photoclip.core.encoder import Encoder  # noqa: E402
from photoclip.core.index import VectorIndex  # noqa: E402
from photoclip.core.search import embed_terms, parse_query  # noqa: E402

DIM = 512
EF_DEFAULT = VectorIndex(1, "").ef_search
EF_SWEEP = (128, 256, 512, 1024)


def recall_at_10(vecs: np.ndarray, ids: np.ndarray, qv: np.ndarray, got: np.ndarray) -> float:
    exact = np.argpartition(-(vecs @ qv), 9)[:10]
    return len(set(got[:10].tolist()) & set(ids[exact].tolist())) / 10


def clustered_vectors(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around 1,000 centres: closer to real embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, DIM)).astype(np.float32)
    out = np.empty((n, DIM), np.float32)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        c = centres[rng.integers(0, 1000, m)]
        out[i:i + m] = c + 0.6 * rng.standard_normal((m, DIM)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    enc = Encoder.load("random:ViT-B-32", device="cpu")
    words = ["dog", "beach", "sunset", "mountain", "city", "snow", "child", "car", "cake", "boat"]
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        vecs = clustered_vectors(n)
        ids = np.arange(1, n + 1, dtype=np.int64)
        t0 = time.perf_counter()
        index = VectorIndex(DIM, enc.model_id)
        for i in range(0, n, 50_000):
            index.add(ids[i:i + 50_000], vecs[i:i + 50_000])
        build_s = time.perf_counter() - t0
        ours, brute, encode_only, recall = [], [], [], []
        found = []
        # a new text every time (never a cache hit), of realistic length
        texts = [f"a photo of a {words[q % 10]} with {words[(q * 7) % 10]} {n}-{q}"
                 for q in range(2 * args.queries)]
        for text in texts[: args.queries]:  # PhotoCLIP: encode + index search
            t0 = time.perf_counter()
            qv = embed_terms(enc, parse_query(text))
            t1 = time.perf_counter()
            got, _ = index.search(qv, 50)
            t2 = time.perf_counter()
            encode_only.append(t1 - t0)
            ours.append(t2 - t0)
            found.append((qv, got))
        for text in texts[args.queries:]:  # naive: encode + brute-force NumPy scan
            t0 = time.perf_counter()
            qv = embed_terms(enc, parse_query(text))
            scores = vecs @ qv
            top = np.argpartition(-scores, 49)[:50]
            top = top[np.argsort(-scores[top])]
            brute.append(time.perf_counter() - t0)
        for qv, got in found:  # recall@10 of the index against the exact answer
            recall.append(recall_at_10(vecs, ids, qv, got))
        # Queries like "find similar": a photo's own vector, slightly perturbed. The text
        # queries above come from a random-weight model and point away from every synthetic
        # cluster, where the top 10 of a million are a near-tie and hardest for HNSW.
        rng = np.random.default_rng(7)
        near = vecs[rng.integers(0, n, 100)] + 0.05 * rng.standard_normal((100, DIM))
        near = (near / np.linalg.norm(near, axis=1, keepdims=True)).astype(np.float32)
        sweep = {}
        for ef in ([index.ef_search] if index.mode == "exact" else EF_SWEEP):
            index.ef_search = ef
            times, rec_text, rec_near = [], [], []
            for qv, _ in found:
                t0 = time.perf_counter()
                got, _ = index.search(qv, 50)
                times.append(time.perf_counter() - t0)
                rec_text.append(recall_at_10(vecs, ids, qv, got))
            for qv in near:
                got, _ = index.search(qv, 50)
                rec_near.append(recall_at_10(vecs, ids, qv, got))
            sweep[str(ef)] = {"index_search_only": percentiles(times),
                              "recall_at_10_text_queries": round(float(np.mean(rec_text)), 4),
                              "recall_at_10_photo_queries": round(float(np.mean(rec_near)), 4)}
        index.ef_search = EF_DEFAULT
        results[str(n)] = {
            "index_mode": index.mode, "build_s": round(build_s, 1),
            "photoclip_query": percentiles(ours), "bruteforce_numpy_query": percentiles(brute),
            "text_encode_only": percentiles(encode_only),
            "recall_at_10": round(float(np.mean(recall)), 4),
            "ef_sweep": sweep,
            "p95_ratio_bruteforce_over_photoclip": round(
                percentiles(brute)["p95_ms"] / percentiles(ours)["p95_ms"], 2),
        }
        print(n, results[str(n)], flush=True)
        del index, vecs
    write_result("search_latency", {"dim": DIM, "queries": args.queries, "sizes": results})


if __name__ == "__main__":
    main()
