"""Indexing throughput: PhotoCLIP's pipeline against the naive way, in the same run.

- naive: full JPEG decode, open_clip's own preprocess (torchvision), fp32 model, one thread
  decoding between encodes;
- PhotoCLIP: the real Indexer (read + hash + draft() decode + numpy preprocess in a thread pool,
  overlapped with batched encoding), committing to a real catalog, with
  - the default (``precision: auto``: what this machine's calibration picks),
  - each precision forced (fp32, int8 = ONNX Runtime's dynamic int8 image tower, and bf16 on
    CPUs with native bf16) — int8 is the opt-in "fastest" setting where auto does not take it.

The model is ViT-B-32 with seeded random weights as a local-dir folder (same cost as the
pretrained one; the same weights for every variant). Random weights quantise worse than trained
ones (cosine reported below), so auto may refuse int8 here and take it for a real model: the
fixture CLIP's int8 fidelity is tested in tests/test_precision.py. Photos are ~200 synthetic
12-megapixel JPEGs generated once into bench/out/photos12mp.

Fidelity: the mean cosine between fp32-naive and PhotoCLIP embeddings, for the fixture CLIP on
../shared/photos/library and for ViT-B-32 on the 12-MP photos.

    .venv/bin/python bench/bench_index.py [--photos N] [--device cpu|cuda]
        [--variants auto,fp32,int8] [--decode-threads N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import OUT, SHARED, random_model_dir, write_result

from photoclip.core.indexing.indexer import Indexer
from photoclip.core.model.encoder import Encoder
from photoclip.core.model.precision import CalibrationCache
from photoclip.core.model.runtime import ModelStore
from photoclip.core.store.catalog import Catalog


def make_photos(folder: Path, n: int) -> list[Path]:
    """Photo-like 4000x3000 JPEGs: smooth colour fields, edges and sensor noise."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        p = folder / f"IMG_{i:04d}.jpg"
        if not p.exists():
            rng = np.random.default_rng(i)
            small = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
            im = Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC)
            arr = np.asarray(im).astype(np.int16)
            arr += rng.integers(-12, 13, arr.shape, dtype=np.int16)
            Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(p, quality=90)
        out.append(p)
    return out


def naive_embed(spec: str, paths: list[Path], batch: int, device: str) -> tuple[np.ndarray, float]:
    import open_clip
    import torch

    if spec.startswith("random:"):
        name, pretrained = spec[len("random:"):], None
    elif spec.startswith("local-dir:"):
        name, pretrained = spec, None
    else:
        name, pretrained = spec.split(":", 1)
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=pretrained,
                                                                 device=device)
    model.eval()
    t0 = time.perf_counter()
    out = []
    with torch.inference_mode():
        for i in range(0, len(paths), batch):
            x = torch.stack([preprocess(Image.open(p).convert("RGB"))
                             for p in paths[i:i + batch]]).to(device)
            f = model.encode_image(x).float()
            out.append(torch.nn.functional.normalize(f, dim=-1).cpu().numpy())
    return np.concatenate(out), time.perf_counter() - t0


def photoclip_embed(spec: str, folder: Path, batch: int, device: str, precision: str,
                    threads: int = 0) -> tuple[np.ndarray, list[str], float, Encoder]:
    """The real pipeline with the model prepared in a bench data folder (exports and the
    calibration are kept there between runs, as in a user's data folder)."""
    home = OUT / "home"
    enc = Encoder.load(spec, device=device, precision=precision, store=ModelStore(home / "models"),
                       calibration=CalibrationCache(home / "calibration.json"))
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog(Path(tmp) / "catalog.sqlite3")
        folder_row = cat.add_folder(str(folder.resolve()))
        ix = Indexer(cat, enc, None, batch_size=batch, threads=threads)
        plan = ix.plan_folder(folder_row)
        t0 = time.perf_counter()
        report = ix.run(plan)
        dt = time.perf_counter() - t0
        assert not report.failed, report.failed[:3]
        ids, vecs = cat.vectors(enc.model_id)
        paths = [cat.photo_rows([int(i)])[int(i)]["path"] for i in ids]
        cat.close()
    return vecs, paths, dt, enc


def aligned_cosine(a: np.ndarray, a_paths: list[str], b: np.ndarray, b_paths: list[str]):
    pos = {p: i for i, p in enumerate(b_paths)}
    cos = np.array([float(a[i] @ b[pos[p]]) for i, p in enumerate(a_paths)])
    return round(float(cos.mean()), 5), round(float(cos.min()), 5)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--variants", default="auto,fp32,int8",
                    help="precisions to run through the real pipeline (auto = the default)")
    ap.add_argument("--decode-threads", type=int, default=0, help="0: the Indexer's default")
    ap.add_argument("--skip-naive", action="store_true")
    args = ap.parse_args()

    folder = OUT / "photos12mp"
    paths = make_photos(folder, args.photos)
    paths = sorted(paths)[: args.photos]
    spec = f"local-dir:{random_model_dir('ViT-B-32')}"
    n = len(paths)
    result = {"photos": n, "megapixels": 12, "model": "ViT-B-32 (seeded random weights)",
              "variants": {}}
    naive_vecs = None
    if not args.skip_naive:
        naive_vecs, naive_s = naive_embed(spec, paths, args.batch, args.device)
        result["naive_img_per_s"] = round(n / naive_s, 2)
    for precision in args.variants.split(","):
        vecs, vpaths, secs, enc = photoclip_embed(spec, folder, args.batch, args.device,
                                                  precision, args.decode_threads)
        entry = {"precision_used": enc.precision, "why": enc.choice.reason,
                 "img_per_s": round(n / secs, 2)}
        if naive_vecs is not None:
            entry["speedup_vs_naive"] = round(naive_s / secs, 2)
            cos = aligned_cosine(naive_vecs, [str(p.resolve()) for p in paths], vecs, vpaths)
            entry["cosine_vs_fp32_naive"] = {"mean": cos[0], "min": cos[1]}
        result["variants"][precision] = entry
        print(precision, entry, flush=True)
        del enc
    # Fidelity of the default path on a real model and real photos: the fixture CLIP on
    # ../shared/photos/library, PhotoCLIP (auto: draft decoding, the precision chosen here)
    # against the naive full decode in fp32.
    lib = SHARED / "photos" / "library"
    fixture = f"local-dir:{SHARED / 'models' / 'cifar-clip'}"
    lib_paths = sorted(p for p in lib.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    fx_naive, _ = naive_embed(fixture, lib_paths, args.batch, args.device)
    fx_ours, fx_paths, _, fx_enc = photoclip_embed(fixture, lib, args.batch, args.device, "auto")
    fx_fp32, fp32_paths, _, _ = photoclip_embed(fixture, lib, args.batch, args.device, "fp32")
    fx_cos = aligned_cosine(fx_naive, [str(p.resolve()) for p in lib_paths], fx_ours, fx_paths)
    fx_same = aligned_cosine(fx_fp32, fp32_paths, fx_ours, fx_paths)
    result["fixture_on_photo_library"] = {
        "precision_auto_chose": fx_enc.precision, "photos": len(lib_paths),
        # everything PhotoCLIP does differently (draft decoding + precision) against naive fp32:
        "auto_vs_naive_fp32": {"mean": fx_cos[0], "min": fx_cos[1]},
        # the precision alone: the same decoded pixels through auto's path and through fp32
        "auto_vs_fp32_same_decode": {"mean": fx_same[0], "min": fx_same[1]}}
    result["decode_threads"] = args.decode_threads or "default"
    write_result("index_throughput", result)


if __name__ == "__main__":
    main()
