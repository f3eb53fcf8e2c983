"""What judging "good matches" adds to a text search (core/search/relevance.py), at 100k photos.

End to end through lib.search.find, as the app runs it (limit 500): the exported ViT-B-32 text
tower (seeded random weights: the real model's cost), the index (HNSW above 50k), then the
relevance of the 500 hits — their vectors read from the catalog and compared with the ~200
everyday alternatives. Beside it, in the same run: the same searches without the relevance
step. Also the once-per-model cost of the alternatives' text vectors (encoded, then stored).

Vectors: synthetic CLIP-like embeddings (common.GapVectors) in a real catalog.

    .venv/bin/python bench/bench_relevance.py [--photos 100000] [--queries 30]
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
    synthetic_library,
    write_result,
)

from photoclip.core.library import Library  # noqa: E402
from photoclip.core.model.encoder import Encoder  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=30)
    args = ap.parse_args()
    spec = f"local-dir:{random_model_dir('ViT-B-32')}"
    gap = GapVectors(dim=512)
    home = synthetic_library(OUT / f"relevance-{args.photos}", spec, gap.photos(args.photos))
    lib = Library(home, model=spec)
    for f in lib.catalog.folders():  # (the synthetic photos are not on disk: as if unplugged,
        lib.catalog.set_folder_online(f.id, False)  # so the hits are kept, not dropped)
    if lib.model.store.text_encoder(spec) is None:  # the exported text tower, as users get it
        Encoder.load(spec, precision="fp32", store=lib.model.store,
                     calibration=lib.model.calibration)
    lib.search.prepare()
    encoder = lib.model.text_encoder()

    lib.catalog.conn.execute("DELETE FROM tag_vectors WHERE tag_id IS NULL")
    lib.catalog.conn.commit()
    from photoclip.core.model.text import vocabulary

    t0 = time.perf_counter()
    lib.tags.store.vocabulary_vectors(spec, encoder, vocabulary())
    first_vocabulary_s = time.perf_counter() - t0

    words = ["dog", "beach at sunset", "receipt", "mountain lake", "birthday party", "car",
             "snow", "city at night", "cat on a sofa", "flowers"]
    queries = [f"{words[i % len(words)]} {i}" for i in range(args.queries)]  # never cached
    with_rel, without, rel_only, kept = [], [], [], []
    plain = lib.search.rated
    for q in queries:
        t0 = time.perf_counter()
        hits = lib.search.find(q, limit=500)
        with_rel.append(time.perf_counter() - t0)
        kept.append(sum(h.relevance >= 0 for h in hits))
        assert len(hits) == 500, len(hits)
        lib._rated = lambda hits, own, enc: hits  # the same search, no relevance step
        t0 = time.perf_counter()
        lib.search.find(q + " again", limit=500)
        without.append(time.perf_counter() - t0)
        lib._rated = plain
        t0 = time.perf_counter()
        lib.search.rated(hits, {"x"}, encoder)
        rel_only.append(time.perf_counter() - t0)
    write_result("relevance", {
        "photos": args.photos, "limit": 500,
        "search_with_relevance": percentiles(with_rel),
        "search_without_relevance": percentiles(without),
        "relevance_step_alone": percentiles(rel_only),
        "alternatives_first_time_s": round(first_vocabulary_s, 3),
        "note": "random-weight model: the share kept as good matches is meaningless here",
        "good_matches_median": int(np.median(kept)),
    })
    lib.close()


if __name__ == "__main__":
    main()
