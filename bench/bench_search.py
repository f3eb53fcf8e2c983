"""Search latency and recall at 10k, 100k and 1M photos, for text and for photo queries.

End to end, as a search runs in the app: a fresh query text (never a cache hit) embedded by the
shipped text path (the exported ViT-B-32 text tower in ONNX Runtime; seeded random weights,
same cost as the real model), then PhotoCLIP's index search (exact up to 50k photos, HNSW
above). Beside it in the same run: a brute-force NumPy scan over the same vectors.

The vectors are synthetic CLIP-like embeddings with the modality gap (common.GapVectors:
photos in one narrow cone, text queries in another, a query's best photos at cosine ≈ 0.35):
text queries then sit far from every photo, the hard case for graph indexes. The query vector
searched is such a text-like vector (the random-weight model's own output would not be
shaped like CLIP's); its encode time is the real one. Recall@10 is against the exact top 10.

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
from common import (  # noqa: E402
    OUT,
    GapVectors,
    percentiles,
    random_model_dir,
    write_result,
)

from photoclip.core.model.encoder import Encoder  # noqa: E402
from photoclip.core.model.precision import CalibrationCache  # noqa: E402
from photoclip.core.model.runtime import ModelStore  # noqa: E402
from photoclip.core.search.query import terms as parse_query  # noqa: E402
from photoclip.core.search.searcher import embed_terms  # noqa: E402
from photoclip.core.search.vector_index import VectorIndex  # noqa: E402

DIM = 512
EF_SWEEP = (512, 1024, 2048)
WORDS = ["dog", "beach", "sunset", "mountain", "city", "snow", "child", "car", "cake", "boat"]


class Source:
    def __init__(self, vecs):
        self.vecs = vecs
        self.ids = np.arange(1, len(vecs) + 1, dtype=np.int64)

    def embedding_ids(self, model):
        return self.ids

    def vectors(self, model, ids=None):
        return self.ids, self.vecs


def text_encoder():
    """The shipped search path: the exported text tower (prepared once, like `index` does)."""
    spec = f"local-dir:{random_model_dir('ViT-B-32')}"
    store = ModelStore(OUT / "home" / "models")
    if store.text_encoder(spec) is None:
        Encoder.load(spec, precision="fp32", store=store,
                     calibration=CalibrationCache(OUT / "home" / "calibration.json"))
    return store.text_encoder(spec)


def exact_top10(vecs, q):
    s = vecs @ q
    top = np.argpartition(-s, 9)[:10]
    return set((top + 1).tolist())


def recall(index, vecs, queries, text: bool, k=50):
    got = [set(index.search(q, k, text=text)[0][:10].tolist()) for q in queries]
    return round(float(np.mean([len(g & exact_top10(vecs, q)) / 10
                                for g, q in zip(got, queries, strict=True)])), 4)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    enc = text_encoder()
    gen = GapVectors(DIM)
    results = {}
    for n in (int(s) for s in args.sizes.split(",")):
        vecs = gen.photos(n)
        texts_q = gen.text_queries(args.queries)
        photo_q = gen.photo_queries(vecs, 100)
        t0 = time.perf_counter()
        folder = OUT / f"search-index-{n}"
        index = VectorIndex.load_or_build(folder, "bench", DIM, Source(vecs))
        build_s = time.perf_counter() - t0
        if index.mode == "hnsw" and index.needs_save:
            index.save(folder)
        # a new text every time (never a cache hit), of realistic length
        texts = [f"a photo of a {WORDS[q % 10]} with {WORDS[(q * 7) % 10]} {n}-{q}"
                 for q in range(2 * args.queries)]
        ours, brute, encode_only = [], [], []
        for text, qv in zip(texts[: args.queries], texts_q, strict=True):
            t0 = time.perf_counter()
            embed_terms(enc, parse_query(text))
            t1 = time.perf_counter()
            index.search(qv, 50, text=True)
            t2 = time.perf_counter()
            encode_only.append(t1 - t0)
            ours.append(t2 - t0)
        for text, qv in zip(texts[args.queries:], texts_q, strict=True):
            t0 = time.perf_counter()
            embed_terms(enc, parse_query(text))
            s = vecs @ qv
            top = np.argpartition(-s, 49)[:50]
            top[np.argsort(-s[top])]
            brute.append(time.perf_counter() - t0)
        entry = {"index_mode": index.mode, "load_or_build_s": round(build_s, 1),
                 "ef_text": index.ef_text, "ef_photo": index.ef_search,
                 "photoclip_text_query_end_to_end": percentiles(ours),
                 "bruteforce_numpy_text_query_end_to_end": percentiles(brute),
                 "text_encode_only": percentiles(encode_only),
                 "recall_at_10_text_queries": recall(index, vecs, texts_q, True),
                 "recall_at_10_photo_queries": recall(index, vecs, photo_q, False)}
        entry["p95_ratio_bruteforce_over_photoclip"] = round(
            entry["bruteforce_numpy_text_query_end_to_end"]["p95_ms"]
            / entry["photoclip_text_query_end_to_end"]["p95_ms"], 2)
        if index.mode == "hnsw":
            sweep, default_ef = {}, index.ef_text
            for ef in EF_SWEEP:
                index.ef_text = ef
                times = []
                for qv in texts_q:
                    t0 = time.perf_counter()
                    index.search(qv, 50, text=True)
                    times.append(time.perf_counter() - t0)
                sweep[str(ef)] = {"index_search_only": percentiles(times),
                                  "recall_at_10_text_queries": recall(index, vecs, texts_q, True)}
            index.ef_text = default_ef
            entry["ef_sweep"] = sweep
        entry["vectors"] = GapVectors.describe(vecs, texts_q)
        results[str(n)] = entry
        print(n, entry, flush=True)
        del index, vecs
    write_result("search_latency", {"dim": DIM, "queries": args.queries, "sizes": results})


if __name__ == "__main__":
    main()
