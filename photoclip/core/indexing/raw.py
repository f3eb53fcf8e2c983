"""Camera RAW files (DNG, CR2/CR3, NEF, ARW, RAF, ORF, RW2, PEF…) through rawpy (LibRaw).

A RAW file is rarely demosaiced here: cameras embed a JPEG preview of what they saw, usually
at full or near-full size, and that is decoded (with JPEG draft, so at the size asked for).
Only when there is no preview, or it is smaller than asked, is the sensor data demosaiced —
at half size (LibRaw's ``half_size``: each 2×2 Bayer cell becomes one pixel, four times fewer
pixels and no interpolation), which is still 6–15 MP for today's cameras.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

import numpy as np
from PIL import Image

from photoclip.core.indexing.imageio import DecodeError

# LibRaw's flip → the PIL transpose that shows the photo upright.
_FLIP = {3: Image.Transpose.ROTATE_180, 5: Image.Transpose.ROTATE_90,
         6: Image.Transpose.ROTATE_270}


JpegDecoder = Callable[[bytes, "int | None"], "tuple[Image.Image, int, str | None]"]


def decode_raw(data: bytes, min_side: int | None, embedded_min_side: int | None,
               decode_jpeg: JpegDecoder, tiff_date: Callable[[bytes], str | None],
               ) -> tuple[Image.Image, int, int, str | None]:
    """(upright RGB image, full width, full height, capture time) of a RAW file's bytes.

    ``decode_jpeg(bytes, min_side)`` decodes an embedded JPEG preview (draft: at least
    ``min_side`` where it is that big; upright by its own EXIF orientation when it carries one)
    and returns it with that orientation (1 when none) and its EXIF capture time. The preview
    is used when its shorter side covers ``embedded_min_side`` (any preview when None).
    ``tiff_date(data)``: the capture time in a TIFF-based RAW's EXIF (DNG, NEF, CR2, ARW…),
    read directly — LibRaw's own costs as much as the whole preview decode.
    """
    import rawpy

    try:
        with rawpy.imread(io.BytesIO(data)) as raw:
            sizes = raw.sizes
            flip = sizes.flip
            width, height = sizes.width, sizes.height
            if flip in (5, 6):
                width, height = height, width
            # half the sensor's resolution, what a demosaic costs little to give
            half = min(width, height) // 2
            image, taken = _preview(raw, min_side, embedded_min_side, half, flip, decode_jpeg)
            if image is None:
                # (LibRaw applies the flip itself when it demosaics)
                full = min_side is None or min_side > half
                rgb = raw.postprocess(half_size=not full, use_camera_wb=True, output_bps=8)
                image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
            taken = tiff_date(data) or taken or _timestamp(raw.other.timestamp)
            return image, width, height, taken
    except rawpy.LibRawFileUnsupportedError:
        raise DecodeError("a RAW file LibRaw cannot read (an unsupported camera, "
                          "or not a RAW file)") from None
    except (rawpy.LibRawIOError, rawpy.LibRawDataError, rawpy.LibRawTooBigError) as e:
        raise DecodeError(f"damaged or cut-short RAW file (LibRaw: {_why(e)})") from None
    except rawpy.LibRawError as e:
        raise DecodeError(f"cannot decode the RAW file ({_why(e)})") from None


def _why(e: Exception) -> str:
    """LibRaw's message (rawpy gives it as bytes), lower case: 'input/output error'."""
    arg = e.args[0] if e.args else ""
    text = arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
    return (text or type(e).__name__).strip().lower()


def _preview(raw: object, min_side: int | None, embedded_min_side: int | None, half: int,
             flip: int, decode_jpeg: JpegDecoder) -> tuple[Image.Image | None, str | None]:
    """The embedded preview, upright, when there is one big enough (covering
    ``embedded_min_side``, or at least as big as a half-size demosaic: ``half``), else None;
    and the capture time the preview's EXIF holds."""
    import rawpy

    try:
        thumb = raw.extract_thumb()  # type: ignore[attr-defined]
    except (rawpy.LibRawNoThumbnailError, rawpy.LibRawUnsupportedThumbnailError):
        return None, None
    except rawpy.LibRawError:
        return None, None  # a damaged preview: the sensor data may still be fine
    if thumb.format == rawpy.ThumbFormat.JPEG:
        try:
            image, orientation, taken = decode_jpeg(bytes(thumb.data), min_side)
        except DecodeError:
            return None, None
        if orientation != 1:
            flip = 0  # the preview is upright by its own EXIF already
        if _too_small(image, embedded_min_side, half):
            return None, taken
        return _upright(image, flip), taken
    array = np.asarray(thumb.data)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        return None, None
    image = Image.fromarray(np.ascontiguousarray(array[:, :, :3]).astype(np.uint8), "RGB")
    if _too_small(image, embedded_min_side, half):
        return None, None
    return _upright(image, flip), None


def _too_small(image: Image.Image, min_side: int | None, half: int) -> bool:
    # (draft() never takes a JPEG below the min_side it was given, which is at least this:
    # judging the decoded size is judging the preview's)
    return min_side is not None and min(image.size) < min(min_side, half)


def _upright(image: Image.Image, flip: int) -> Image.Image:
    how = _FLIP.get(flip)
    return image.transpose(how) if how is not None else image


def _timestamp(ts: object) -> str | None:
    """LibRaw's capture time (read from the file's EXIF) in ISO 8601; None when it has none
    (LibRaw says 1970-01-01)."""
    if isinstance(ts, (int, float)):
        if ts <= 0:
            return None
        try:
            ts = datetime.fromtimestamp(ts)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(ts, datetime) or ts.year <= 1970:
        return None
    return ts.replace(microsecond=0, tzinfo=None).isoformat()
