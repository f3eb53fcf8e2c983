"""Helpers shared by the benchmarks: output folder, timing, JSON results."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(os.environ.get("PHOTOCLIP_BENCH_OUT", ROOT / "bench" / "out"))
SHARED = Path(os.environ.get("PHOTOCLIP_SHARED", ROOT.parent / "shared")).resolve()


def machine() -> dict:
    """What the numbers were measured on; the CPU capability decides which path is fast."""
    import torch

    from photoclip.core.model.precision import cpu_info

    cpu = cpu_info()
    return {"cpu": cpu.summary, "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "native_bf16": cpu.native_bf16, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def write_result(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    data = {"when": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": machine(), **data}
    path.write_text(json.dumps(data, indent=2))
    print(json.dumps(data, indent=2))
    return path


def timed(fn, runs: int = 1) -> tuple[float, object]:
    """(best wall time of ``runs`` calls in seconds, the last result)."""
    best, result = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def percentiles(samples_s: list[float]) -> dict:
    import numpy as np

    ms = np.asarray(samples_s) * 1000
    return {"p50_ms": round(float(np.percentile(ms, 50)), 3),
            "p95_ms": round(float(np.percentile(ms, 95)), 3),
            "mean_ms": round(float(ms.mean()), 3)}


def random_model_dir(name: str = "ViT-B-32", seed: int = 0) -> Path:
    """An open_clip ``local-dir`` model with seeded random weights (same cost as the pretrained
    one, no download): the fast paths can be prepared for it like for any real model."""
    folder = OUT / f"random-{name}-{seed}"
    if (folder / "open_clip_model.safetensors").is_file():
        return folder
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.create_model(name)
    cfg = open_clip.get_model_config(name)
    pre = {"mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD),
           "interpolation": "bicubic", "resize_mode": "shortest",
           "size": cfg["vision_cfg"]["image_size"]}
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg,
                                                              "preprocess_cfg": pre}))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "open_clip_model.safetensors"))
    return folder


def clustered_vectors(n: int, dim: int = 512, seed: int = 0) -> np.ndarray:
    """Unit vectors around 1,000 centres: closer to real photo embeddings than uniform noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((1000, dim)).astype(np.float32)
    out = np.empty((n, dim), np.float32)
    for i in range(0, n, 100_000):
        m = min(100_000, n - i)
        c = centres[rng.integers(0, 1000, m)]
        out[i:i + m] = c + 0.6 * rng.standard_normal((m, dim)).astype(np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def taken_at(i: int) -> str:
    """Photo ``i``'s date: one every 5 minutes back from 2024 (a million span 9.5 years, so a
    browse has the months a real library has)."""
    import time as _time

    return _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(1_704_067_200 - 300 * i))


def synthetic_library(home: Path, spec: str, vectors: np.ndarray, graph: bool = True) -> Path:
    """A data folder whose catalog holds ``len(vectors)`` photos with these embeddings (paths
    that do not exist), its search index built and saved (with ``graph``; the HNSW graph above
    50k photos, waited for): what a real library of that size looks like to a search."""
    import numpy as np

    from photoclip.core.library import Library
    from photoclip.core.store.catalog import Catalog, PhotoRecord

    if (home / "ready").exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    cat = Catalog(home / "catalog.sqlite3")
    folder = cat.add_folder(str(OUT / "synthetic-photos"))
    for start in range(0, len(vectors), 10_000):
        with cat.transaction() as tx:
            items = []
            for i in range(start, min(start + 10_000, len(vectors))):
                pid = cat.upsert_photo(tx, PhotoRecord(
                    f"{folder.path}/{i // 1000:04d}/IMG_{i:07d}.jpg", folder.id, 3_000_000,
                    1_700_000_000_000_000_000 + i, f"{i:032x}", 4000, 3000,
                    taken_at(i), True))
                items.append((pid, vectors[i]))
            cat.put_embeddings(tx, spec, items)
    cat.close()
    lib = Library(home, model=spec)
    lib.settings.model = spec
    lib.settings.save(home)
    if graph:
        index = lib.search_index.index  # built from the catalog (HNSW above 50k vectors)
        # (in the background above 50k: closing before it is done saved no graph, and the
        # bench measured exact search instead of what users get)
        assert lib.search_index.wait_built(3600)
        lib.search_index.mark_dirty()
        del index
    lib.close()
    assert np.isfinite(vectors).all()
    (home / "ready").touch()
    return home


class GapVectors:
    """Synthetic CLIP-like embeddings with the modality gap, for search benchmarks.

    Shaped after published statistics for CLIP ViT-B/32 (Liang et al., "Mind the Gap", 2022)
    and checked by ``describe()``: photos lie in a narrow cone (mean pairwise cosine ≈ 0.47),
    text queries in another (the two means ≈ 0.82 apart), and a query's best photos score only
    ≈ 0.35 against a median of ≈ 0.18 — far from every photo, the hard case for graph indexes.
    Each photo shows one of ``concepts`` concepts; a text query names one of them.
    """

    def __init__(self, dim: int = 512, concepts: int = 1000, seed: int = 0):
        import numpy as np

        rng = np.random.default_rng(seed)
        self.dim = dim
        u_img = rng.standard_normal(dim)
        u_img /= np.linalg.norm(u_img)
        v = rng.standard_normal(dim)
        v -= (v @ u_img) * u_img
        v /= np.linalg.norm(v)
        self.u_img = u_img.astype(np.float32)
        self.u_txt = (0.35 * u_img + np.sqrt(1 - 0.35 ** 2) * v).astype(np.float32)
        c = rng.standard_normal((concepts, dim))
        self.concepts = (c / np.linalg.norm(c, axis=1, keepdims=True)).astype(np.float32)

    def _mix(self, base, weight_base, weight_concept, n, rng):
        import numpy as np

        k = rng.integers(0, len(self.concepts), n)
        noise = rng.standard_normal((n, self.dim)).astype(np.float32) / np.sqrt(self.dim)
        rest = np.sqrt(max(0.0, 1 - weight_base ** 2 - weight_concept ** 2))
        out = weight_base * base + weight_concept * self.concepts[k] + rest * noise
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def photos(self, n: int, seed: int = 1) -> np.ndarray:
        import numpy as np

        rng = np.random.default_rng(seed)
        out = np.empty((n, self.dim), np.float32)
        for i in range(0, n, 100_000):
            m = min(100_000, n - i)
            out[i:i + m] = self._mix(self.u_img, 0.686, 0.574, m, rng)
        return out

    def text_queries(self, n: int, seed: int = 2) -> np.ndarray:
        import numpy as np

        return self._mix(self.u_txt, 0.75, 0.23, n, np.random.default_rng(seed))

    def photo_queries(self, photos, n: int, seed: int = 3) -> np.ndarray:
        """"Find similar": a photo of the library, slightly changed (a re-encoded copy)."""
        import numpy as np

        rng = np.random.default_rng(seed)
        q = photos[rng.integers(0, len(photos), n)] + 0.02 * rng.standard_normal(
            (n, self.dim)).astype(np.float32)
        return q / np.linalg.norm(q, axis=1, keepdims=True)

    @staticmethod
    def describe(photos, texts) -> dict:
        import numpy as np

        s = texts @ photos[:20_000].T
        return {"photo_pair_cosine": round(float((photos[:500] @ photos[500:1000].T).mean()), 3),
                "gap_between_means": round(float(np.linalg.norm(
                    photos[:20_000].mean(0) - texts.mean(0))), 3),
                "text_best_cosine": round(float(np.sort(s, 1)[:, -1].mean()), 3),
                "text_median_cosine": round(float(np.median(s)), 3)}
