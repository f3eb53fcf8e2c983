"""Safe image decoding: every file either becomes an RGB image or a clear, per-file reason.

- Every format of :mod:`formats`: what Pillow reads, HEIC/HEIF (pillow-heif), camera RAW
  (rawpy, in :mod:`raw`).
- EXIF orientation is applied, so a photo embedded sideways is embedded upright.
- Nothing is decoded at full size when a smaller decode will do: JPEGs with ``draft()`` at the
  smallest DCT scale that still covers the size asked for (a 12-MP photo decodes several times
  faster); HEIC through the smaller image a phone embeds when it is big enough; RAW through
  the camera's embedded preview, else a half-size demosaic.
- Alpha, palette, CMYK, 16-bit and float images become 8-bit RGB.
- Pillow's decompression-bomb limit stays on; a file over it is refused with its dimensions.
- Nothing here raises for a bad file except :class:`DecodeError`, whose message is for the user.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError

from photoclip.core.indexing.formats import is_image_name, is_raw_name, kind, register_heif

MAX_FILE_BYTES = 400 * 1024 * 1024
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_DATETIME = 306


class DecodeError(Exception):
    """A file that cannot be used as a photo. ``str(err)`` is the reason shown to the user."""


def read_file(path: str) -> bytes:
    """The file's bytes, or DecodeError with the reason it cannot be read."""
    try:
        # (non-blocking: opening a FIFO named like a photo must not hang; then only regular
        # files are read — a FIFO, a device or /dev/zero behind a link is refused)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise DecodeError("not a regular file (a pipe or a device)")
            data = f.read(MAX_FILE_BYTES + 1)
    except PermissionError:
        raise DecodeError("cannot read the file: permission denied") from None
    except FileNotFoundError:
        raise DecodeError("the file disappeared before it could be read") from None
    except IsADirectoryError:
        raise DecodeError("not a file") from None
    except OSError as e:
        if e.errno == 40:  # ELOOP
            raise DecodeError("symbolic link loop") from None
        raise DecodeError(f"cannot read the file: {e.strerror or e}") from None
    if not data:
        raise DecodeError("empty file (0 bytes)")
    if len(data) > MAX_FILE_BYTES:
        raise DecodeError(f"file too large (over {MAX_FILE_BYTES // 2**20} MB)")
    return data


def content_hash(data: bytes) -> str:
    """Identity of a file's content: a renamed or copied photo has the same hash."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


@dataclass
class Decoded:
    image: Image.Image  # RGB, oriented, possibly reduced by draft()
    width: int  # full-size dimensions after orientation
    height: int
    taken_at: str | None  # EXIF capture time, ISO 8601, if present
    n_frames: int = 1
    orientation: int = 1  # the EXIF orientation that was applied


def decode(data: bytes, min_side: int | None = None, *, name: str | None = None,
           embedded_min_side: int | None = None) -> Decoded:
    """Decode ``data`` to an upright RGB image whose shorter side is at least ``min_side``.

    With ``min_side`` set, JPEGs are decoded at reduced DCT scale (draft mode). An image the
    file embeds (a HEIC's smaller copy, a RAW's preview) is used instead of the full one when
    its shorter side covers ``embedded_min_side`` (default: ``min_side``). ``name`` (the file's
    name) tells a camera RAW, which is no format Pillow could be asked about (a DNG is a TIFF
    inside). Raises DecodeError with a reason for anything that is not a usable image.
    """
    embedded = min_side if embedded_min_side is None else embedded_min_side
    if name is not None and is_raw_name(name):
        from photoclip.core.indexing.raw import decode_raw

        try:
            image, w, h, taken = decode_raw(data, min_side, embedded, _embedded_jpeg, _tiff_date)
        except MemoryError:
            raise DecodeError("image too large to decode in memory") from None
        return Decoded(image, w, h, taken)
    return _decode_pillow(data, min_side, embedded, name)


def _embedded_jpeg(data: bytes, min_side: int | None) -> tuple[Image.Image, int, str | None]:
    dec = _decode_pillow(data, min_side, min_side)
    return dec.image, dec.orientation, dec.taken_at


def _tiff_date(data: bytes) -> str | None:
    """The EXIF capture time of a TIFF-based file (most RAW formats are), else None."""
    if data[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    try:
        exif = Image.Exif()
        exif.load(data)
        return _exif_datetime(exif)
    except Exception:  # malformed EXIF must not cost the photo
        return None


def _decode_pillow(data: bytes, min_side: int | None, embedded_min_side: int | None,
                   name: str | None = None) -> Decoded:
    try:
        if data[4:8] == b"ftyp":  # ISO base media: HEIC/HEIF (and AVIF, which Pillow reads)
            register_heif()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im: Image.Image = Image.open(io.BytesIO(data))
        full_w, full_h = im.size
        exif = im.getexif()
        orientation = exif.get(0x0112, 1)
        if orientation in (5, 6, 7, 8):
            full_w, full_h = full_h, full_w
        if min_side and im.format == "JPEG":
            # draft() picks the smallest scale (1/1, 1/2, 1/4, 1/8) with both sides >= requested.
            im.draft("RGB", (min_side, min_side))
        elif embedded_min_side and im.format == "HEIF":
            # the smallest embedded copy with both sides >= requested, if there is one
            im.draft(None, (embedded_min_side, embedded_min_side))
        im.load()
        taken = _exif_datetime(exif)
        n_frames = getattr(im, "n_frames", 1)
        im = ImageOps.exif_transpose(im) if orientation != 1 else im
        return Decoded(_to_rgb(im), full_w, full_h, taken, n_frames, orientation)
    except DecodeError:
        raise
    except Image.DecompressionBombError as e:
        raise DecodeError(f"image too large to decode safely ({e})") from None
    except UnidentifiedImageError:
        if name is not None and is_image_name(name):
            raise DecodeError(f"not a readable {kind(name)} file (damaged, cut short, or "
                              "another kind of file under that name)") from None
        raise DecodeError("not an image, or an image format Pillow cannot read") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as e:
        msg = str(e) or type(e).__name__
        if "truncated" in msg.lower():
            raise DecodeError("truncated or damaged image (the file ends early)") from None
        raise DecodeError(f"damaged image: {msg}") from None
    except MemoryError:
        raise DecodeError("image too large to decode in memory") from None


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if mode == "F" and arr.max(initial=0) <= 1.0:
            top = 1.0
        arr = np.clip(arr * (255.0 / top), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if mode == "P" or mode == "PA":
        im = im.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "RGBa", "La"):
        im = im.convert("RGBA")
        background = Image.new("RGB", im.size, (255, 255, 255))
        background.paste(im, mask=im.getchannel("A"))
        return background
    return im.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV


def _exif_datetime(exif: Image.Exif) -> str | None:
    raw = None
    try:
        raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL)
    except Exception:  # malformed EXIF must not cost the photo
        raw = None
    raw = raw or exif.get(_DATETIME)
    if not isinstance(raw, str):
        return None
    try:
        return datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S").isoformat()
    except ValueError:
        return None


def mtime_iso(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9).replace(microsecond=0).isoformat()


@dataclass(frozen=True)
class Preprocess:
    """CLIP's image preprocessing (resize, crop, normalise) without torch, for decode threads.

    Matches open_clip's default transform: bicubic resize of the shorter side, centre crop,
    ``(x/255 - mean) / std``, channels first.
    """

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize_mode: str = "shortest"  # shortest | longest | squash
    fill: int = 0

    def __call__(self, im: Image.Image, full_size: tuple[int, int] | None = None) -> np.ndarray:
        """``full_size``: the image's size before draft() reduced it; the resize geometry is
        computed from it, so a drafted image is cropped exactly like the full one."""
        s = self.size
        w, h = full_size or im.size
        if self.resize_mode == "squash":
            im = im.resize((s, s), Image.Resampling.BICUBIC)
        elif self.resize_mode == "longest":
            scale = s / max(w, h)
            nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
            im = im.resize((nw, nh), Image.Resampling.BICUBIC)
            canvas = Image.new("RGB", (s, s), (self.fill,) * 3)
            canvas.paste(im, ((s - nw) // 2, (s - nh) // 2))
            im = canvas
        else:
            if w <= h:
                nw, nh = s, int(s * h / w)
            else:
                nw, nh = int(s * w / h), s
            if (nw, nh) != im.size:
                im = im.resize((nw, nh), Image.Resampling.BICUBIC)
            left = round((nw - s) / 2.0)
            top = round((nh - s) / 2.0)
            im = im.crop((left, top, left + s, top + s))
        pixels: npt.NDArray[np.float32] = np.asarray(im, dtype=np.float32) * (1.0 / 255.0)
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        arr = (pixels - mean) / std
        return np.ascontiguousarray(arr.transpose(2, 0, 1))


DRAFT_FACTOR = 2  # decode JPEGs at >= 2x the model's input: mean cosine to a full decode >= 0.99


def decode_for_model(data: bytes, pre: Preprocess, name: str | None = None,
                     ) -> tuple[Decoded, np.ndarray]:
    """Decode (with draft) and preprocess: the model input for one file, plus its metadata.
    An embedded image (HEIC thumbnail, RAW preview) serves when it covers the model's input:
    it was scaled down by the camera with a proper filter, unlike a JPEG's DCT draft."""
    dec = decode(data, min_side=DRAFT_FACTOR * pre.size, name=name, embedded_min_side=pre.size)
    return dec, pre(dec.image, (dec.width, dec.height))


def open_upright(path: str | Path, max_side: int) -> Image.Image:
    """An RGB, oriented image whose longer side is at most ``max_side`` (thumbnails, previews)."""
    data = read_file(str(path))
    dec = decode(data, min_side=max_side, name=str(path))
    im = dec.image
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return im

