"""Calibrate the duplicate finder's cut-offs on copies made from real photos.

For every photo of ``../shared/photos/library`` it makes the copies people's libraries are full
of — re-saved, resized, converted, EXIF-rotated ("same photo") and cropped, edited, burst-like
("near-identical") — and measures, for each kind, the perceptual-hash distance and the CLIP
cosine (the fixture model, ``--model``) to the original, against every pair of distinct photos.
It prints each kind's distribution, the kNN rank of the original among all photos, and precision
and recall of the rules in ``core/duplicates/finder.py`` (docs/duplicates.md has the result).

    .venv/bin/python bench/calibrate_duplicates.py [--model local-dir:PATH] [--photos DIR]
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import SHARED, write_result
from photoclip.core.duplicates import finder, phash
from photoclip.core.indexing.imageio import decode_for_model
from photoclip.core.model.encoder import Encoder


def _jpeg(im: Image.Image, q: int = 90, exif: bytes | None = None) -> bytes:
    b = io.BytesIO()
    im.save(b, "JPEG", quality=q, **({"exif": exif} if exif else {}))
    return b.getvalue()


def _save(im: Image.Image, fmt: str, **kw: object) -> bytes:
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def _crop(im: Image.Image, f: float, dx: float = 0.0) -> Image.Image:
    w, h = im.size
    x0, y0 = int(w * (f + dx)), int(h * f)
    return im.crop((x0, y0, x0 + int(w * (1 - 2 * f)), y0 + int(h * (1 - 2 * f))))


def _rotated_exif(im: Image.Image) -> bytes:
    """The photo stored sideways with orientation 6: upright when shown, like a phone's."""
    ex = Image.Exif()
    ex[0x0112] = 6
    return _jpeg(im.transpose(Image.Transpose.ROTATE_90), 90, ex.tobytes())


SAME = {
    "resaved q95": lambda im: _jpeg(im, 95),
    "resaved q40": lambda im: _jpeg(im, 40),
    "half size": lambda im: _jpeg(im.resize((im.width // 2, im.height // 2)), 85),
    "quarter size": lambda im: _jpeg(im.resize((max(1, im.width // 4),
                                                max(1, im.height // 4))), 85),
    "png": lambda im: _save(im, "PNG"),
    "webp q75": lambda im: _save(im, "WEBP", quality=75),
    "exif-rotated": _rotated_exif,
}
SIMILAR = {
    "crop 5%": lambda im: _jpeg(_crop(im, 0.05)),
    "crop 10%": lambda im: _jpeg(_crop(im, 0.10)),
    "brighter +20%": lambda im: _jpeg(ImageEnhance.Brightness(im).enhance(1.2)),
    "burst (3% shift)": lambda im: _jpeg(_crop(im, 0.04, 0.03)),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=f"local-dir:{SHARED / 'models' / 'cifar-clip'}")
    ap.add_argument("--photos", type=Path, default=SHARED / "photos" / "library")
    ap.add_argument("--cifar", type=Path, default=SHARED / "datasets" / "cifar10-sample")
    args = ap.parse_args()
    enc = Encoder.load(args.model, device="cpu")
    files = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    originals = [Image.open(p).convert("RGB") for p in files]

    def embed(datas: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        hashes, arrays = [], []
        for d in datas:
            dec, arr = decode_for_model(d, enc.preprocess)
            hashes.append(phash.phash(dec.image))  # (as the indexer does)
            arrays.append(arr)
        vecs = np.concatenate([enc.encode_images(np.stack(arrays[i:i + 64]))
                               for i in range(0, len(arrays), 64)])
        return np.asarray(hashes, np.int64), vecs

    base_h, base_v = embed([_jpeg(im, 92) for im in originals])
    n = len(files)
    iu = np.triu_indices(n, 1)
    d_ph = phash.distances(base_h[iu[0]], base_h[iu[1]])
    d_cos = (base_v @ base_v.T)[iu]
    kinds: dict[str, dict[str, object]] = {}
    pos_pairs: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for group, table in (("same", SAME), ("similar", SIMILAR)):
        for kind, make in table.items():
            h, v = embed([make(im) for im in originals])
            ph = phash.distances(h, base_h)
            cos = np.sum(v * base_v, axis=1)
            sims = v @ base_v.T  # rank of the original among all photos, for the copy
            rank = (sims > cos[:, None] + 1e-5).sum(axis=1)  # (rounding)
            pos_pairs[kind] = (ph, cos, np.full(n, group == "same"))
            kinds[kind] = {"group": group,
                           "phash max": int(ph.max()), "phash p95": float(np.percentile(ph, 95)),
                           "phash median": float(np.median(ph)),
                           "cos min": round(float(cos.min()), 4),
                           "cos p5": round(float(np.percentile(cos, 5)), 4),
                           "original is nearest neighbour": float((rank == 0).mean()),
                           "original within k": float((rank < finder.NEIGHBOURS).mean())}
    # two different photos of the same kind of thing: CIFAR-10's photos, class by class
    same_kind_ph, same_kind_cos = [], []
    for cls in sorted(p for p in args.cifar.iterdir() if p.is_dir()):
        h, v = embed([p.read_bytes() for p in sorted(cls.glob("*.jpg"))])
        ci = np.triu_indices(len(h), 1)
        same_kind_ph.append(phash.distances(h[ci[0]], h[ci[1]]))
        same_kind_cos.append((v @ v.T)[ci])
    k_ph, k_cos = np.concatenate(same_kind_ph), np.concatenate(same_kind_cos)
    distinct = {name: {"pairs": len(ph), "phash min": int(ph.min()),
                       "phash p1": float(np.percentile(ph, 1)),
                       "cos max": round(float(cos.max()), 4),
                       "cos p99": round(float(np.percentile(cos, 99)), 4)}
                for name, ph, cos in (("different photos", d_ph, d_cos),
                                      ("different photos of one class (CIFAR-10)", k_ph, k_cos))}
    d_ph, d_cos = np.concatenate([d_ph, k_ph]), np.concatenate([d_cos, k_cos])
    grid = {}
    for bits in (4, 6, 8, 10, 12, 14, 16, 18):
        grid[bits] = {"distinct pairs within": int((d_ph <= bits).sum()),
                      **{k: round(float((ph <= bits).mean()), 3)
                         for k, (ph, _, _) in pos_pairs.items()}}
    rules = {}
    for rule in ("same", "similar"):
        fp = int(finder.rule_holds(rule, d_ph, d_cos).sum())
        found = {k: float(finder.rule_holds(rule, ph, cos).mean())
                 for k, (ph, cos, _) in pos_pairs.items()}
        rules[rule] = {"distinct pairs wrongly matched": fp, "of": len(d_ph),
                       "copies found, by kind": found}
    write_result("calibrate_duplicates", {"model": args.model, "photos": n, "kinds": kinds,
                                          "distinct": distinct, "rules": rules,
                                          "hash distance grid": grid,
                                          "cut-offs": finder.CUTOFFS})


if __name__ == "__main__":
    main()
