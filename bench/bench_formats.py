"""Indexing the same 12-MP photos as JPEG, HEIC and camera RAW: PhotoCLIP's pipeline against
the naive way, in the same run.

- JPEG: quality 90, as cameras write them.
- HEIC: as an iPhone writes it (pillow-heif, quality 80, with a 320×240 thumbnail).
- RAW: DNG with a JPEG preview as cameras embed one (tests/samples.py: a 12-bit RGGB mosaic
  written by pidng, uncompressed: 25 MB), at full size (Canon, recent Nikon) or 1620 px wide
  (Sony, older Nikon), and DNG without a preview (the sensor data must be demosaiced).

PhotoCLIP: the real Indexer (read, hash, decode at the size the model needs — JPEG draft, the
HEIC's embedded image when it covers the model input, the RAW's preview or a half-size
demosaic — preprocess, encode, commit to a real catalog). Naive: open the full image with the
plugin (Pillow + pillow-heif; rawpy's full demosaic for RAW) and let open_clip's preprocessing
resize it, fp32, one thread decoding between encodes. The model is ViT-B-32 with seeded random
weights (the cost of the pretrained one). Also the mean cosine of each format's embeddings to
the JPEG ones (the same photos through PhotoCLIP).

    .venv/bin/python bench/bench_formats.py [--photos 100] [--skip-naive]
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
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import samples
from bench_index import make_photos
from common import OUT, random_model_dir, write_result

from photoclip.core.indexing.indexer import Indexer
from photoclip.core.model.encoder import Encoder
from photoclip.core.model.precision import CalibrationCache
from photoclip.core.model.runtime import ModelStore
from photoclip.core.store.catalog import Catalog

KINDS = {"jpeg": ".jpg", "heic": ".HEIC", "raw_preview": ".dng", "raw_preview_1620": ".dng",
         "raw_no_preview": ".DNG"}


def write_formats(jpegs: list[Path], n: int, kinds: list[str]) -> dict[str, Path]:
    """One folder per kind with the same ``n`` photos (made once, kept in bench/out)."""
    folders = {}
    for kind in kinds:
        ext = KINDS[kind]
        folder = OUT / f"formats12mp-{kind}"
        folder.mkdir(parents=True, exist_ok=True)
        for src in jpegs[:n]:
            dst = folder / f"{src.stem}{ext}"
            if dst.exists():
                continue
            with Image.open(src) as im:
                im = im.convert("RGB")
                if kind == "jpeg":
                    data = src.read_bytes()
                elif kind == "heic":
                    data = samples.heic(im, thumbnails=(320,), taken="2024:05:01 10:00:00")
                else:
                    data = samples.dng(im, preview=kind != "raw_no_preview",
                                       taken="2024:05:01 10:00:00",
                                       preview_side=1620 if kind.endswith("1620") else None)
            dst.write_bytes(data)
        folders[kind] = folder
    return folders


def naive(spec: str, paths: list[Path], kind: str, batch: int = 32) -> float:
    import open_clip
    import pillow_heif
    import rawpy
    import torch

    pillow_heif.register_heif_opener()
    model, _, preprocess = open_clip.create_model_and_transforms(spec, pretrained=None)
    model.eval()

    def full(p: Path) -> Image.Image:
        if kind.startswith("raw"):
            with rawpy.imread(str(p)) as raw:
                return Image.fromarray(raw.postprocess(use_camera_wb=True, output_bps=8))
        with Image.open(p) as im:
            return im.convert("RGB")

    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(paths), batch):
            x = torch.stack([preprocess(full(p)) for p in paths[i:i + batch]])
            model.encode_image(x)
    return time.perf_counter() - t0


def ours(spec: str, folder: Path, batch: int = 32) -> tuple[float, dict[str, np.ndarray], str]:
    home = OUT / "home"
    enc = Encoder.load(spec, device="cpu", precision="auto", store=ModelStore(home / "models"),
                       calibration=CalibrationCache(home / "calibration.json"))
    with tempfile.TemporaryDirectory() as tmp:
        cat = Catalog(Path(tmp) / "catalog.sqlite3")
        ix = Indexer(cat, enc, None, batch_size=batch)
        plan = ix.plan_folder(cat.add_folder(str(folder.resolve())))
        t0 = time.perf_counter()
        report = ix.run(plan)
        dt = time.perf_counter() - t0
        assert not report.failed, report.failed[:3]
        ids, vecs = cat.vectors(enc.model_id)
        rows = cat.photo_rows([int(i) for i in ids])
        by_stem = {Path(rows[int(i)]["path"]).stem: v for i, v in zip(ids, vecs, strict=True)}
        cat.close()
    return dt, by_stem, enc.precision


def decode_only(folder: Path, size: int = 224) -> float:
    """Seconds per photo to read, hash and decode it for the model, one thread."""
    from photoclip.core.indexing.imageio import (
        Preprocess,
        content_hash,
        decode_for_model,
        read_file,
    )

    pre = Preprocess(size, (0.48, 0.46, 0.41), (0.27, 0.26, 0.28))
    paths = sorted(folder.iterdir())
    t0 = time.perf_counter()
    for p in paths:
        data = read_file(str(p))
        content_hash(data)
        decode_for_model(data, pre, str(p))
    return (time.perf_counter() - t0) / len(paths)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=100)
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--kinds", default=",".join(KINDS), help=f"of {', '.join(KINDS)} (jpeg, "
                    "the baseline, is always run)")
    args = ap.parse_args()
    n = args.photos
    kinds = list(dict.fromkeys(["jpeg", *args.kinds.split(",")]))
    jpegs = sorted(make_photos(OUT / "photos12mp", n))[:n]
    folders = write_formats(jpegs, n, kinds)
    spec = f"local-dir:{random_model_dir('ViT-B-32')}"
    result: dict = {"photos": n, "megapixels": 12, "model": "ViT-B-32 (seeded random weights)",
                    "file_mb": {}, "kinds": {}}
    vectors = {}
    for kind, folder in folders.items():
        files = sorted(folder.iterdir())
        result["file_mb"][kind] = round(sum(f.stat().st_size for f in files) / len(files) / 2**20,
                                        2)
        secs, vecs, precision = ours(spec, folder)
        vectors[kind] = vecs
        entry = {"img_per_s": round(n / secs, 2), "precision": precision,
                 "decode_ms_one_thread": round(1000 * decode_only(folder), 1)}
        if not args.skip_naive:
            naive_s = naive(spec, files, kind)
            entry["naive_img_per_s"] = round(n / naive_s, 2)
            entry["speedup_vs_naive"] = round(naive_s / secs, 2)
        result["kinds"][kind] = entry
        print(kind, entry, flush=True)
    jpeg_rate = result["kinds"]["jpeg"]["img_per_s"]
    for kind, entry in result["kinds"].items():
        entry["rate_vs_jpeg"] = round(entry["img_per_s"] / jpeg_rate, 2)
        common = sorted(set(vectors[kind]) & set(vectors["jpeg"]))
        cos = [float(vectors[kind][s] @ vectors["jpeg"][s]) for s in common]
        entry["cosine_to_jpeg"] = {"mean": round(float(np.mean(cos)), 4),
                                   "min": round(float(np.min(cos)), 4)}
    name = "formats_throughput" + ("" if set(kinds) == set(KINDS) else "-" + "-".join(kinds))
    write_result(name, result)


if __name__ == "__main__":
    main()
