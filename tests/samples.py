"""Photos in every format people have, written by the libraries that write them, from any
source image: HEIC (pillow-heif, with an EXIF orientation and embedded thumbnails as phones
write them), AVIF, JPEG 2000, WebP, TIFF, PNG, and camera RAW as DNG (a Bayer mosaic written
by pidng, with or without the JPEG preview cameras embed). Nothing here is committed as a
binary: tests and the installed-app smoke test make what they need.

    python tests/samples.py OUT_DIR IMAGE...   # every format of every image into OUT_DIR
"""

from __future__ import annotations

import io
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image

# format -> (extension, Pillow format name)
PILLOW_FORMATS = {"avif": (".avif", "AVIF"), "jp2": (".jp2", "JPEG2000"),
                  "webp": (".webp", "WEBP"), "tiff": (".tif", "TIFF"), "png": (".png", "PNG"),
                  "jpeg": (".jpg", "JPEG")}
ROTATED = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270,
           3: Image.Transpose.ROTATE_180}  # stored this way, shown upright with orientation


def exif_bytes(orientation: int = 1, taken: str | None = None) -> bytes:
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    if taken:
        exif.get_ifd(0x8769)[36867] = taken  # "YYYY:MM:DD HH:MM:SS"
    return exif.tobytes()


def stored(image: Image.Image, orientation: int) -> Image.Image:
    """The pixels as a camera stores an upright ``image`` it tags with ``orientation``."""
    how = ROTATED.get(orientation)
    return image.transpose(how) if how is not None else image


def heic(image: Image.Image, orientation: int = 1, taken: str | None = None,
         thumbnails: tuple[int, ...] = (320,), quality: int = 80) -> bytes:
    """A HEIC as a phone writes it: the sensor's pixels, an EXIF orientation, a small copy.
    (x265's fastest preset: a 12-MP photo in 3 s instead of 22; decoding is the same work.)"""
    import pillow_heif

    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    stored(image.convert("RGB"), orientation).save(
        buf, "HEIF", quality=quality, exif=exif_bytes(orientation, taken),
        thumbnails=list(thumbnails), enc_params={"preset": "ultrafast"})
    return buf.getvalue()


def pillow(image: Image.Image, fmt: str, orientation: int = 1, taken: str | None = None) -> bytes:
    name = PILLOW_FORMATS[fmt][1]
    buf = io.BytesIO()
    kwargs = {}
    if orientation != 1 or taken:
        kwargs["exif"] = exif_bytes(orientation, taken)
    stored(image.convert("RGB"), orientation).save(buf, name, **kwargs)
    return buf.getvalue()


def dng(image: Image.Image, preview: bool = True, orientation: int = 1,
        taken: str | None = None, preview_side: int | None = None) -> bytes:
    """A camera RAW (DNG): an RGGB Bayer mosaic of ``image`` at 12 bits, the orientation and
    capture time in its tags, and (``preview``) the JPEG preview cameras embed, at full size
    or with its longer side ``preview_side``."""
    from pidng.core import RAW2DNG, DNGTags, Tag
    from pidng.defs import (
        CalibrationIlluminant,
        CFAPattern,
        DNGVersion,
        PhotometricInterpretation,
        PreviewColorSpace,
    )

    rgb = stored(image.convert("RGB"), orientation)
    # a sensor records linear light: undo sRGB's gamma, 12 bits
    v = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)
    a = np.round(lin * 4095).astype(np.uint16)
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    a = a[:h, :w]
    mosaic = np.empty((h, w), np.uint16)
    mosaic[0::2, 0::2] = a[0::2, 0::2, 0]
    mosaic[0::2, 1::2] = a[0::2, 1::2, 1]
    mosaic[1::2, 0::2] = a[1::2, 0::2, 1]
    mosaic[1::2, 1::2] = a[1::2, 1::2, 2]
    t = DNGTags()
    t.set(Tag.ImageWidth, w)
    t.set(Tag.ImageLength, h)
    t.set(Tag.TileWidth, w)
    t.set(Tag.TileLength, h)
    t.set(Tag.Orientation, orientation)
    t.set(Tag.PhotometricInterpretation, PhotometricInterpretation.Color_Filter_Array)
    t.set(Tag.SamplesPerPixel, 1)
    t.set(Tag.BitsPerSample, 16)
    t.set(Tag.CFARepeatPatternDim, [2, 2])
    t.set(Tag.CFAPattern, CFAPattern.RGGB)
    t.set(Tag.BlackLevel, 0)
    t.set(Tag.WhiteLevel, 4095)
    # XYZ -> the camera's RGB: a camera that sees in linear sRGB
    xyz_to_srgb = [3.2406, -1.5372, -0.4986, -0.9689, 1.8758, 0.0415, 0.0557, -0.2040, 1.0570]
    t.set(Tag.ColorMatrix1, [[round(x * 10000), 10000] for x in xyz_to_srgb])
    t.set(Tag.CalibrationIlluminant1, CalibrationIlluminant.D65)
    t.set(Tag.AsShotNeutral, [[1, 1], [1, 1], [1, 1]])
    t.set(Tag.BaselineExposure, [[0, 100]])
    t.set(Tag.Make, "PhotoCLIP")
    t.set(Tag.Model, "Test camera")
    if taken:
        t.set(Tag.DateTime, taken)
    t.set(Tag.DNGVersion, DNGVersion.V1_4)
    t.set(Tag.DNGBackwardVersion, DNGVersion.V1_2)
    t.set(Tag.PreviewColorSpace, PreviewColorSpace.sRGB)
    r = RAW2DNG()
    r.options(t, path="", compress=False)
    data = bytes(r.convert(mosaic))
    if not preview:
        return data
    shown = rgb.copy()
    if preview_side:
        shown.thumbnail((preview_side, preview_side))
    buf = io.BytesIO()
    shown.save(buf, "JPEG", quality=90)
    return _with_preview(data, buf.getvalue(), shown.size)


def _with_preview(dng_data: bytes, jpeg: bytes, size: tuple[int, int]) -> bytes:
    """``dng_data`` with a second IFD holding a JPEG preview (NewSubfileType 1, the
    JPEGInterchangeFormat tags), as cameras write one."""
    buf = bytearray(dng_data)
    first = struct.unpack_from("<I", buf, 4)[0]
    n = struct.unpack_from("<H", buf, first)[0]
    next_ptr = first + 2 + 12 * n
    while len(buf) % 4:
        buf.append(0)
    jpeg_at = len(buf)
    buf += jpeg
    while len(buf) % 4:
        buf.append(0)
    ifd_at = len(buf)
    tags = [(254, 4, 1), (256, 4, size[0]), (257, 4, size[1]), (259, 3, 6), (262, 3, 6),
            (513, 4, jpeg_at), (514, 4, len(jpeg))]
    buf += struct.pack("<H", len(tags))
    for tag, typ, value in tags:
        packed = struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value)
        buf += struct.pack("<HHI", tag, typ, 1) + packed
    buf += struct.pack("<I", 0)
    struct.pack_into("<I", buf, next_ptr, ifd_at)
    return bytes(buf)


def every_format(image: Image.Image, stem: str, out: Path) -> list[Path]:
    """``image`` written into ``out`` in each format: ``stem.HEIC`` (upper case, rotated),
    ``stem.avif``, ``stem.jp2``, ``stem.webp``, ``stem.tif``, ``stem.png``, ``stem.dng``
    (with a preview) and ``stem-raw.dng`` (without one)."""
    files = {f"{stem}.HEIC": heic(image, orientation=6),
             f"{stem}.dng": dng(image, preview=True),
             f"{stem}-raw.dng": dng(image, preview=False)}
    for fmt in ("avif", "jp2", "webp", "tiff", "png"):
        files[stem + PILLOW_FORMATS[fmt][0]] = pillow(image, fmt)
    paths = []
    for name, data in files.items():
        (out / name).write_bytes(data)
        paths.append(out / name)
    return paths


def main(argv: list[str]) -> int:
    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    for src in argv[1:]:
        with Image.open(src) as im:
            image = im.convert("RGB")
        if min(image.size) < 96:  # (CIFAR's 32 px: too small for some encoders)
            scale = 96 / min(image.size)
            image = image.resize((round(image.width * scale), round(image.height * scale)),
                                 Image.Resampling.BICUBIC)
        every_format(image, Path(src).stem, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
