"""Tag sets at library scale: apply 200 labels to 100k stored embeddings, tag new photos as
they are indexed, and filter by tag.

End to end through the Library facade: vectors read from the catalog, scored (one matrix
product per set plus the "none of these" vocabulary), auto tags written in one transaction.
Label texts are encoded once per wording and model (timed separately: the first apply); the
numbers that matter to a user are the later applies (a threshold change, a re-apply) and the
per-photo cost the worker adds. Beside it, in the same run, the naive way: one photo at a
time (score, decide, insert), as a per-photo hook at index time would do, timed on a sample
and scaled to the library.

Embeddings are synthetic CLIP-like vectors (common.GapVectors); the text tower is ViT-B-32
with seeded random weights (the real cost). Photos' files do not exist, so the folder is
marked offline (search then keeps hits without checking their files).

    .venv/bin/python bench/bench_tags.py [--photos 100000] [--labels 200]
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
from common import OUT, GapVectors, random_model_dir, synthetic_library, write_result  # noqa: E402

from photoclip.core.catalog import PhotoRecord  # noqa: E402
from photoclip.core.library import Library  # noqa: E402
from photoclip.core.tagsets import Label, TagSet, vocabulary  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--labels", type=int, default=200)
    args = ap.parse_args()
    spec = f"local-dir:{random_model_dir()}"
    gap = GapVectors()
    home = synthetic_library(OUT / f"tags-{args.photos}", spec, gap.photos(args.photos))
    lib = Library(home, model=spec)
    for f in lib.catalog.folders():
        lib.catalog.set_folder_online(f.id, False)
    for ts in lib.tagsets.all():
        lib.tagsets.delete(ts.name)
    words = vocabulary()
    names = [words[i % len(words)] + ("" if i < len(words) else f" {i}")
             for i in range(args.labels)]
    t0 = time.perf_counter()
    encoder = lib.text_encoder()
    load_s = time.perf_counter() - t0
    result: dict = {"photos": args.photos, "labels": args.labels, "text_encoder_load_s":
                    round(load_s, 2)}

    for kind, exclusive, threshold in (("non_exclusive", False, 0.0),
                                       ("exclusive_one_tag_per_photo", True, -100.0)):
        name = f"Bench {kind}"
        lib.create_tagset(TagSet(name, [Label(n) for n in names], exclusive=exclusive,
                                 threshold=threshold))
        t0 = time.perf_counter()
        lib.apply_tagset(name)
        first_s = time.perf_counter() - t0
        runs = []
        for _ in range(3):
            t0 = time.perf_counter()
            r = lib.retag(name)
            runs.append(time.perf_counter() - t0)
        result[kind] = {"first_apply_incl_text_encoding_s": round(first_s, 2),
                        "apply_s_best_of_3": round(min(runs), 3),
                        "apply_s_runs": [round(x, 3) for x in runs],
                        "tags_written": r.tagged, "tags_per_photo": round(r.tagged / r.photos, 2)}
        if kind == "non_exclusive":
            lib.tagsets.delete(name)

    # the naive way: one photo at a time, on a sample
    ts = lib.tagsets.get("Bench exclusive_one_tag_per_photo")
    scorer = lib.tagsets.scorer(ts, lib.model_id, encoder)
    ids, vectors = lib.catalog.vectors(lib.model_id, list(range(1, 5001)))
    tag_ids = [lb.id for lb in ts.labels]
    t0 = time.perf_counter()
    for pid, v in zip(ids.tolist(), vectors, strict=True):
        _, cols, conf = scorer.decide(v[None])
        with lib.catalog.transaction() as tx:
            tx.execute("DELETE FROM photo_tags WHERE photo_id=? AND source='auto'", (pid,))
            for c, p in zip(cols.tolist(), conf.tolist(), strict=True):
                tx.execute("INSERT OR IGNORE INTO photo_tags VALUES (?, ?, 'auto', ?, ?)",
                           (pid, tag_ids[c], p, lib.model_id))
    naive_s = (time.perf_counter() - t0) / len(ids) * args.photos
    best = result["exclusive_one_tag_per_photo"]["apply_s_best_of_3"]
    result["naive_one_photo_at_a_time_s_scaled"] = round(naive_s, 1)
    result["speedup_vs_naive"] = round(naive_s / best, 1)

    # auto-tagging new photos: a batch of 32 committed as the indexer does, then caught up
    per_photo = []
    folder = lib.catalog.folders()[0]
    fresh = gap.photos(32 * 5, seed=9)
    for b in range(5):
        with lib.catalog.transaction() as tx:
            items = []
            for i in range(32):
                n = args.photos + b * 32 + i
                pid = lib.catalog.upsert_photo(tx, PhotoRecord(
                    f"{folder.path}/new/IMG_{n:07d}.jpg", folder.id, 3_000_000, n,
                    f"new{n:029x}", 4000, 3000, "2024-02-01T00:00:00", True))
                items.append((pid, fresh[b * 32 + i]))
            lib.catalog.put_embeddings(tx, lib.model_id, items)
        t0 = time.perf_counter()
        reports = lib.tag_new_photos()
        per_photo.append((time.perf_counter() - t0) / 32)
        assert sum(r.photos for r in reports) == 32
    result["auto_tag_ms_per_new_photo"] = round(float(np.median(per_photo)) * 1000, 2)

    # tag: filter: a label carried by 20% of the library, and a label of the exclusive set
    big_ids = list(range(1, args.photos + 1, 5))
    lib.set_tag(big_ids, "bench-big")
    samples = {}
    for query in ("tag:bench-big", f"tag:{names[0]}"):
        for limit in (50, 1000):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                hits = lib.search(query, limit=limit)
                times.append(time.perf_counter() - t0)
            samples[f"{query} limit {limit}"] = {"ms_best_of_5": round(min(times) * 1000, 1),
                                                 "hits": len(hits)}
    result["tag_filter"] = samples
    lib.close()
    write_result("bench_tags", result)


if __name__ == "__main__":
    main()
