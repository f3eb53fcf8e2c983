"""How long finding duplicates takes as the library grows (10k → 100k → 1M photos).

A real catalog (SQLite, as the indexer writes it) holds synthetic CLIP-like vectors
(``common.GapVectors``: the cone and concept structure of ViT-B/32's photo embeddings), a
perceptual hash and a content hash per photo. 2% of the photos are copies of another one
(vector nudged to cosine ≈ 0.97, hash with 0–3 bits flipped), 1% byte copies (same content
hash), the rest distinct (hashes drawn at random). It times ``lib.duplicates.find()`` in a
fresh process per size — reading the catalog included — checks what it found against what
was planted, and compares the candidate pass with the naive way (every pair) on the same
vectors, the naive one timed on a slice and scaled by n² (rclip has no duplicate finder).

    .venv/bin/python bench/bench_duplicates.py [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import OUT, GapVectors, write_result

SPEC = "bench-duplicates-model"


def build(home: Path, n: int, seed: int = 0) -> dict:
    """The catalog of ``n`` photos with planted copies (once per size)."""
    from photoclip.core.store.catalog import Catalog, PhotoRecord

    truth = home / "truth.json"
    if truth.exists():
        return json.loads(truth.read_text())
    home.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    vecs = GapVectors().photos(n, seed=seed + 1)
    hashes = rng.integers(-(1 << 63), (1 << 63) - 1, n, dtype=np.int64)
    content = [f"{i:032x}" for i in range(n)]
    copies = rng.choice(n, int(0.03 * n), replace=False)
    near, byte = copies[:int(0.02 * n)], copies[int(0.02 * n):]
    rest = np.setdiff1d(np.arange(n), copies)  # (an original is never itself a copy)
    originals = rest[rng.integers(0, len(rest), len(copies))]
    planted = [(min(c, o), max(c, o)) for c, o in
               zip(copies.tolist(), originals.tolist(), strict=True) if c != o]
    byte_set = set(byte.tolist())
    for c, o in zip(copies.tolist(), originals.tolist(), strict=True):
        if c == o:
            continue
        if c in byte_set:
            content[c], vecs[c], hashes[c] = content[o], vecs[o], hashes[o]
        else:
            v = vecs[o] + 0.0175 * rng.standard_normal(vecs.shape[1]).astype(np.float32)
            vecs[c] = v / np.linalg.norm(v)
            flips = rng.choice(64, rng.integers(0, 4), replace=False)
            h = int(hashes[o]) & ((1 << 64) - 1)
            for b in flips.tolist():
                h ^= 1 << b
            hashes[c] = h - (1 << 64) if h >= 1 << 63 else h
    cat = Catalog(home / "catalog.sqlite3")
    folder = cat.add_folder(str(OUT / "duplicates-photos"))
    for start in range(0, n, 20_000):
        with cat.transaction() as tx:
            items = []
            for i in range(start, min(start + 20_000, n)):
                pid = cat.upsert_photo(tx, PhotoRecord(
                    f"{folder.path}/{i // 1000:04d}/IMG_{i:07d}.jpg", folder.id, 3_000_000,
                    1_700_000_000_000_000_000 + i, content[i], 4000, 3000,
                    "2024-01-01T00:00:00", True, phash=int(hashes[i])))
                items.append((pid, vecs[i]))
            cat.put_embeddings(tx, SPEC, items)
    cat.close()
    (home / "settings.json").write_text(json.dumps({"model": SPEC}))
    out = {"n": n, "planted": sorted(set(planted)), "near": len(near), "byte": len(byte)}
    truth.write_text(json.dumps(out))
    return out


def run_one(home: Path) -> dict:
    """In this (fresh) process: find the duplicates, time it, count what was found."""
    from photoclip.core.library import Library

    lib = Library(home, model=SPEC)
    t0 = time.perf_counter()
    groups = lib.duplicates.find()
    seconds = time.perf_counter() - t0
    found = [sorted(m.id - 1 for m in g.members) for g in groups]  # (ids start at 1)
    lib.close()
    return {"seconds": round(seconds, 2), "groups": len(groups),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "found": found}


def _components(n: int, pairs: list[list[int]]) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    return [find(i) for i in range(n)]


def naive_pairs_seconds(n: int) -> float:
    """Every pair's cosine (blocked products, the way one would without a candidate pass),
    timed on min(n, 6000) vectors and scaled by (n / that)²."""
    m = min(n, 6000)
    v = GapVectors().photos(m, seed=9)
    t0 = time.perf_counter()
    for s in range(0, m, 2048):
        sims = v[s:s + 2048] @ v.T
        np.nonzero(sims >= 0.5)
    return (time.perf_counter() - t0) * (n / m) ** 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--one", type=Path, help=argparse.SUPPRESS)  # (the child process)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        home = OUT / f"duplicates-{n}"
        t0 = time.perf_counter()
        truth = build(home, n)
        built = time.perf_counter() - t0
        res = json.loads(subprocess.run([sys.executable, __file__, "--one", str(home)],
                                        check=True, capture_output=True,
                                        text=True).stdout.splitlines()[-1])
        comp = _components(n, truth["planted"])
        found = res.pop("found")
        together = {(a, b) for g in found for a in g for b in g if a < b}
        recall = sum(tuple(p) in together for p in truth["planted"]) / len(truth["planted"])
        wrong = sum(len({comp[i] for i in g}) > 1 for g in found)  # unrelated photos joined
        naive = naive_pairs_seconds(n)
        rows.append({"photos": n, "find_seconds": res["seconds"], "groups": res["groups"],
                     "peak_rss_mb": res["peak_rss_mb"], "planted_pairs": len(truth["planted"]),
                     "recall": round(recall, 4), "groups_joining_unrelated_photos": wrong,
                     "naive_all_pairs_seconds": round(naive, 1),
                     "vs_naive": round(naive / res["seconds"], 1),
                     "catalog_build_seconds": round(built, 1)})
        print(rows[-1], flush=True)
    write_result("duplicates_scale", {"rows": rows})


if __name__ == "__main__":
    main()
