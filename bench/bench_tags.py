"""Tag sets at library scale: apply 200 labels to 100k stored embeddings, tag new photos as
they are indexed, and filter by tag.

End to end through the Library facade: vectors read from the catalog, scored (one matrix
product per set plus the "none of these" vocabulary), auto tags written in one transaction.
Label texts are encoded once per wording and model (timed separately: the first apply); the
numbers that matter to a user are the later applies (a threshold change, a re-apply) and the
per-photo cost the worker adds. Beside it, in the same run, the naive way: one photo at a
time (score, decide, insert), as a per-photo hook at index time would do, timed on a sample
and scaled to the library.

Embeddings are synthetic CLIP-like vectors (common.GapVectors: each photo shows one of 1,000
concepts, 200 of which are labels of the set). Text vectors for the tagging runs come from the
same synthetic geometry (a random-weight text tower would make every label match every photo);
the cost of encoding the label prompts is measured separately with the real exported ViT-B-32
text tower (seeded random weights: the real cost). Photos' files do not exist, so the folder is
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
from common import (  # noqa: E402
    OUT,
    GapVectors,
    random_model_dir,
    synthetic_library,
    timed,
    write_result,
)

from photoclip.core.library import Library  # noqa: E402
from photoclip.core.model.text import vocabulary  # noqa: E402
from photoclip.core.store.catalog import PhotoRecord  # noqa: E402
from photoclip.core.tags.model import Label, TagSet  # noqa: E402


class ConceptText:
    """Text vectors in GapVectors' geometry: a prompt naming one of the known words points at
    that word's concept, from the text side of the modality gap; other prompts (the generic
    "a photo.") at no concept."""

    logit_scale = 100.0

    def __init__(self, gap: GapVectors, words: list[str]):
        self.gap = gap
        self.dim = gap.dim
        self.concept = {w: k for k, w in enumerate(words)}

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        out = []
        for text in texts:
            word = next((w for w in sorted(self.concept, key=len, reverse=True)
                         if f" {w}." in f" {text}"), None)
            rng = np.random.default_rng(abs(hash(text)) % 2**32)
            v = 0.75 * self.gap.u_txt + rng.standard_normal(self.dim).astype(np.float32) * 0.02
            if word is not None:
                v = v + 0.23 * self.gap.concepts[self.concept[word]]
            out.append(v / np.linalg.norm(v))
        return np.stack(out).astype(np.float32)


def photos(gap: GapVectors, n: int, named: int, seed: int = 1) -> np.ndarray:
    """Photo vectors: 80 % show a concept that has a name (a label or an everyday word), the
    rest one of the other concepts (things the vocabulary does not name)."""
    rng = np.random.default_rng(seed)
    k = np.where(rng.random(n) < 0.8, rng.integers(0, named, n),
                 rng.integers(named, len(gap.concepts), n))
    noise = rng.standard_normal((n, gap.dim)).astype(np.float32) / np.sqrt(gap.dim)
    rest = np.sqrt(1 - 0.686 ** 2 - 0.574 ** 2)
    out = 0.686 * gap.u_img + 0.574 * gap.concepts[k] + rest * noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100_000)
    ap.add_argument("--labels", type=int, default=200)
    args = ap.parse_args()
    spec = f"local-dir:{random_model_dir()}"
    gap = GapVectors()
    words = vocabulary()
    # half the labels are everyday words (left out of their own "none of these"), half not
    names = list(words[:args.labels // 2]) + [f"thing {i}" for i in range(args.labels // 2,
                                                                    args.labels)]
    known = list(dict.fromkeys(names + list(words)))  # concepts 0..len(known)-1 have a name
    home = synthetic_library(OUT / f"tags-{args.photos}", spec,
                             photos(gap, args.photos, len(known)))
    lib = Library(home, model=spec)
    for f in lib.catalog.folders():
        lib.catalog.set_folder_online(f.id, False)
    for ts in lib.tags.sets():
        lib.tags.delete_set(ts.name)
    with lib.catalog.transaction() as tx:
        tx.execute("DELETE FROM tag_vectors")
        tx.execute("DELETE FROM tags")
    result: dict = {"photos": args.photos, "labels": args.labels}

    # what encoding a new set's prompts costs once per wording and model (real text tower)
    ort = lib.model.text_encoder()
    ts = TagSet("x", [Label(n) for n in names])
    prompts = [p for lb in ts.labels for p in ts.prompts(lb)]
    prompts += [f"a photo of a {w}." for w in words]
    seconds, _ = timed(lambda: [ort.encode_texts(prompts[i:i + 256])
                                for i in range(0, len(prompts), 256)])
    result["text_encoding_once_per_set_and_model"] = {"prompts": len(prompts),
                                                      "seconds": round(seconds, 2)}

    concept = ConceptText(gap, known)
    lib.model.text_encoder = lambda: concept  # the tagging runs: synthetic text geometry (see top)
    for kind, exclusive in (("non_exclusive", False), ("exclusive", True)):
        name = f"Bench {kind}"
        lib.tags.create_set(TagSet(name, [Label(n) for n in names], exclusive=exclusive))
        first_s, first = timed(lambda n=name: lib.tags.apply(n))
        again_s, _ = timed(lambda n=name: lib.tags.retag(n), runs=3)
        lib.tags.set_threshold(name, 2.0)
        stricter_s, stricter = timed(lambda n=name: lib.tags.retag(n))
        lib.tags.set_threshold(name, 0.0)
        lib.tags.retag(name)
        with lib.catalog.transaction() as tx:  # every tag written anew
            tx.execute("DELETE FROM photo_tags WHERE source='auto'")
        fresh_s, fresh = timed(lambda n=name: lib.tags.retag(n))
        result[kind] = {
            "first_apply_s": round(first_s, 3), "tags": first.tagged,
            "tags_per_photo": round(first.tagged / max(first.photos, 1), 3),
            "reapply_unchanged_s_best_of_3": round(again_s, 3),
            "stricter_threshold_2_s": round(stricter_s, 3), "tags_after_stricter":
                stricter.tagged,
            "apply_writing_every_tag_s": round(fresh_s, 3), "tags_written": fresh.tagged}
        if not exclusive:
            lib.tags.delete_set(name)

    # the naive way: one photo at a time, on a sample
    ts = lib.tags.get_set("Bench exclusive")
    scorer = lib.tags.store.scorer(ts, lib.model.id, concept)
    ids, vectors = lib.catalog.vectors(lib.model.id, list(range(1, 5001)))
    tag_ids = [lb.id for lb in ts.labels]
    t0 = time.perf_counter()
    for pid, v in zip(ids.tolist(), vectors, strict=True):
        _, cols, conf = scorer.decide(v[None])
        with lib.catalog.transaction() as tx:
            tx.execute("DELETE FROM photo_tags WHERE photo_id=? AND source='auto'", (pid,))
            for c, p in zip(cols.tolist(), conf.tolist(), strict=True):
                tx.execute("INSERT OR IGNORE INTO photo_tags VALUES (?, ?, 'auto', ?, ?)",
                           (pid, tag_ids[c], p, lib.model.id))
    naive_s = (time.perf_counter() - t0) / len(ids) * args.photos
    best = result["exclusive"]["apply_writing_every_tag_s"]
    result["naive_one_photo_at_a_time_s_scaled"] = round(naive_s, 1)
    result["speedup_vs_naive"] = round(naive_s / best, 1)

    # auto-tagging new photos: a batch of 32 committed as the indexer does, then caught up
    per_photo = []
    folder = lib.catalog.folders()[0]
    fresh = photos(gap, 32 * 5, len(known), seed=9)
    for b in range(5):
        with lib.catalog.transaction() as tx:
            items = []
            for i in range(32):
                n = args.photos + b * 32 + i
                pid = lib.catalog.upsert_photo(tx, PhotoRecord(
                    f"{folder.path}/new/IMG_{n:07d}.jpg", folder.id, 3_000_000, n,
                    f"new{n:029x}", 4000, 3000, "2024-02-01T00:00:00", True))
                items.append((pid, fresh[b * 32 + i]))
            lib.catalog.put_embeddings(tx, lib.model.id, items)
        t0 = time.perf_counter()
        reports = lib.tags.tag_new_photos()
        per_photo.append((time.perf_counter() - t0) / 32)
        assert sum(r.photos for r in reports) == 32
    result["auto_tag_ms_per_new_photo"] = round(float(np.median(per_photo)) * 1000, 2)

    # tag: filter: a label carried by 20% of the library, and a label of the exclusive set
    big_ids = list(range(1, args.photos + 1, 5))
    lib.tags.set(big_ids, "bench-big")
    samples = {}
    for query in ("tag:bench-big", f"tag:{names[0]}"):
        for limit in (50, 1000):
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                hits = lib.search.find(query, limit=limit)
                times.append(time.perf_counter() - t0)
            samples[f"{query} limit {limit}"] = {"ms_best_of_5": round(min(times) * 1000, 1),
                                                 "hits": len(hits)}
    result["tag_filter"] = samples
    lib.close()
    write_result("bench_tags", result)


if __name__ == "__main__":
    main()
