"""Which files are photos: every still-image format the installed Pillow can open, HEIC/HEIF
(pillow-heif) and camera RAW (rawpy, LibRaw), told by extension, case-insensitively.

The Pillow list is read from Pillow itself (``Image.registered_extensions()``), not written
here: an ``.avif`` or ``.jp2`` is a photo wherever the installed Pillow decodes it. Left out:
formats Pillow only identifies (stubs such as GRIB, HDF5, WMF outside Windows), formats that
need outside software (EPS: Ghostscript), and what is not a still photo (MPEG, IPTC records).
Videos and sidecars are never photos.

RAW + JPEG pairs (``DSC_0042.NEF`` beside ``DSC_0042.JPG``) are one shot: :func:`pair_up` says
which file of a folder stands for the shot (the JPEG: what the camera rendered, and quick to
decode) and which RAW rides along as its companion.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Iterable
from functools import cache

# LibRaw reads these (and more); the list is the cameras' own extensions.
RAW_EXTENSIONS = frozenset({
    ".dng", ".cr2", ".cr3", ".crw", ".nef", ".nrw", ".arw", ".srf", ".sr2", ".raf", ".orf",
    ".rw2", ".rwl", ".pef", ".ptx", ".srw", ".x3f", ".3fr", ".fff", ".iiq", ".mos", ".mef",
    ".mrw", ".erf", ".kdc", ".dcr", ".k25", ".raw", ".gpr", ".cap", ".eip", ".bay",
})
HEIF_EXTENSIONS = frozenset({".heic", ".heif", ".hif", ".heics", ".heifs"})
# Pillow formats that are not photos to index, or that Pillow cannot decode by itself.
NOT_PHOTOS = frozenset({"EPS", "MPEG", "IPTC", "PDF"})
# A pair's shot is shown through the first of these present beside the RAW.
PAIR_PREFERENCE = (".jpg", ".jpeg", ".jpe", ".jfif", ".heic", ".heif", ".hif", ".tif",
                   ".tiff", ".png", ".webp", ".avif")

_plugin_lock = threading.Lock()
_heif_registered = False


def _available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


@cache
def pillow_extensions() -> frozenset[str]:
    """The extensions the installed Pillow opens as still images (lower case, with the dot)."""
    from PIL import Image, ImageFile

    Image.init()
    readable = set()
    for fmt, (factory, _accept) in Image.OPEN.items():
        if fmt in NOT_PHOTOS:
            continue
        if isinstance(factory, type) and issubclass(factory, ImageFile.StubImageFile):
            continue  # identified, never decoded (without a handler nobody installs)
        readable.add(fmt)
    return frozenset(ext.lower() for ext, fmt in Image.registered_extensions().items()
                     if fmt in readable)


@cache
def photo_extensions() -> frozenset[str]:
    """Every extension PhotoCLIP indexes on this installation."""
    exts = set(pillow_extensions())
    if _available("pillow_heif"):
        exts |= HEIF_EXTENSIONS
    if _available("rawpy"):
        exts |= RAW_EXTENSIONS
    return frozenset(exts)


def extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def is_image_name(name: str) -> bool:
    """Whether a file of this name is indexed (``IMG_1234.HEIC``, ``DSC_0042.NEF``, ``a.jp2``)."""
    return extension(name) in photo_extensions()


def is_raw_name(name: str) -> bool:
    return extension(name) in RAW_EXTENSIONS


def is_heif_name(name: str) -> bool:
    return extension(name) in HEIF_EXTENSIONS


def kind(name: str) -> str:
    """What people call the file's format: 'RAW', 'HEIC', 'JPEG', 'PNG'…"""
    ext = extension(name)
    if ext in RAW_EXTENSIONS:
        return "RAW"
    if ext in HEIF_EXTENSIONS:
        return "HEIC"
    if ext in (".jpg", ".jpeg", ".jpe", ".jfif"):
        return "JPEG"
    return ext.lstrip(".").upper()


def register_heif() -> bool:
    """Teach Pillow to open HEIC/HEIF (once per process); False when pillow-heif is missing."""
    global _heif_registered
    if _heif_registered:
        return True
    with _plugin_lock:
        if not _heif_registered:
            try:
                import pillow_heif
            except ImportError:
                return False
            # thumbnails: kept, so draft() can decode a phone's embedded smaller image
            pillow_heif.register_heif_opener(thumbnails=True)
            _heif_registered = True
    return True


def pair_up(names: Iterable[str]) -> dict[str, str]:
    """RAW + JPEG pairs among the file names of one folder: {shown file: its RAW companion}.

    A RAW and a non-RAW photo with the same name (case-insensitive: ``DSC_0042.NEF`` and
    ``dsc_0042.jpg``) are one shot. The non-RAW one stands for it (the first present in
    :data:`PAIR_PREFERENCE`); the RAW is its companion and is not a photo of its own. A RAW
    with no such partner is a photo by itself; so is any second non-RAW file of that name.
    """
    by_stem: dict[str, list[str]] = {}
    for name in names:
        stem, ext = os.path.splitext(name)
        if ext.lower() in photo_extensions():
            by_stem.setdefault(stem.casefold(), []).append(name)
    pairs: dict[str, str] = {}
    for group in by_stem.values():
        if len(group) < 2:
            continue
        raws = sorted(n for n in group if is_raw_name(n))
        if not raws:
            continue
        rank = {ext: i for i, ext in enumerate(PAIR_PREFERENCE)}
        others = sorted((n for n in group if not is_raw_name(n)),
                        key=lambda n: (rank.get(extension(n), len(rank)), n))
        if others:
            pairs[others[0]] = raws[0]
    return pairs
