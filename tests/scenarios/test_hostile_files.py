"""Hostile files: each is reported with a reason, none stops the run, good photos get indexed."""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from conftest import write_photos
from PIL import Image

from photoclip.core.indexing import imageio


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A valid PNG header claiming huge dimensions, with a tiny (compressed) body."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))


def _jpeg_bytes(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=92, **kw)
    return buf.getvalue()


@pytest.fixture
def hostile_folder(tmp_path) -> dict[str, Path]:
    d = tmp_path / "hostile"
    d.mkdir()
    rng = np.random.default_rng(7)
    photo = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
    f: dict[str, Path] = {}

    f["zero"] = d / "zero.jpg"
    f["zero"].write_bytes(b"")
    f["truncated"] = d / "truncated.jpg"
    f["truncated"].write_bytes(_jpeg_bytes(photo)[:600])
    f["text"] = d / "notes.jpg"
    f["text"].write_text("this is not a photo\n")
    f["bomb"] = d / "bomb.png"
    _png_header_only(f["bomb"], 60000, 60000)
    f["unreadable"] = d / "locked.jpg"
    f["unreadable"].write_bytes(_jpeg_bytes(photo))
    os.chmod(f["unreadable"], 0)
    f["loop"] = d / "loop.jpg"
    os.symlink("loop.jpg", f["loop"])
    os.symlink(".", d / "dir-loop")  # a folder link back to itself: scanned once

    # usable, if unusual, photos
    f["cmyk"] = d / "cmyk.jpg"
    Image.fromarray(photo).convert("CMYK").save(f["cmyk"], "JPEG")
    f["png16"] = d / "deep.png"
    Image.fromarray((rng.integers(0, 65535, (40, 50))).astype(np.uint16)).save(f["png16"])
    f["palette"] = d / "palette.png"
    pal = Image.fromarray(photo).convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    pal.info["transparency"] = 0
    pal.save(f["palette"], transparency=0)
    f["gif"] = d / "anim.gif"
    frames = [Image.fromarray(np.full((30, 30, 3), c, np.uint8)) for c in (10, 120, 240)]
    frames[0].save(f["gif"], save_all=True, append_images=frames[1:], duration=100, loop=0)
    f["unicode"] = d / "Ünïcödé 照片 🐈.jpg"
    f["unicode"].write_bytes(_jpeg_bytes(photo[::-1]))
    # EXIF orientation 6: stored sideways (64 wide x 96 high), to be shown rotated 90° CW
    upright = rng.integers(0, 256, (96, 64, 3), dtype=np.uint8)  # 64 wide, 96 high
    f["upright_ref"] = d / "upright.png"
    Image.fromarray(upright).save(f["upright_ref"])
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # undone by orient. 6
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x0132] = "2019:07:04 12:30:00"
    f["rotated"] = d / "rotated.jpg"
    stored.save(f["rotated"], "JPEG", quality=100, exif=exif.tobytes())
    write_photos(d / "fine", 3)
    return f


FAILING = {"zero": "empty file", "truncated": "truncated", "text": "not a readable JPEG file",
           "bomb": "too large", "unreadable": "permission denied", "loop": "symbolic link loop"}
WORKING = ["cmyk", "png16", "palette", "gif", "unicode", "rotated", "upright_ref"]


def _run(lib, folder, f, add=True):
    real_read = imageio.read_file

    def read_file(path):
        # Root reads any file whatever its mode: make the locked file act as it does for a user.
        if os.geteuid() == 0 and path == str(f["unreadable"]):
            raise imageio.DecodeError("cannot read the file: permission denied")
        return real_read(path)

    if add:
        lib.folders.add(folder)
    with mock.patch("photoclip.core.indexing.indexer.read_file", read_file):
        return lib.folders.index()


def test_hostile_files_are_reported_and_skipped(hostile_folder, tiny_library):
    f = hostile_folder
    report = _run(tiny_library, f["zero"].parent, f)
    failed = dict(report.failed)
    for key, reason in FAILING.items():
        assert reason in failed.get(str(f[key]), ""), (key, failed)
    assert len(failed) == len(FAILING), failed
    assert report.encoded == len(WORKING) + 3
    # the reasons are stored and listed by status
    stored = dict(tiny_library.folders.failures())
    assert stored == failed
    st = tiny_library.status()
    assert st["failed"] == len(FAILING) and st["indexed"] == len(WORKING) + 3
    # a second run does not retry unchanged failures, except one that could not be read
    # (that may pass: a permission fixed), and finds nothing new
    again = _run(tiny_library, f["zero"].parent, f, add=False)
    assert again.encoded == 0 and dict(again.failed) == {
        str(f["unreadable"]): "cannot read the file: permission denied"}


def test_a_file_that_could_not_be_read_is_indexed_once_it_can_be(hostile_folder,
                                                                  tiny_library):
    """chmod +r changes no size or mtime: the failure was kept for ever ('10 failed')."""
    f = hostile_folder
    _run(tiny_library, f["zero"].parent, f)
    report = tiny_library.folders.index()  # readable now (no mock)
    assert report.encoded == 1 and str(f["unreadable"]) not in dict(tiny_library.folders.failures())


def test_a_failed_file_that_gets_fixed_is_indexed(hostile_folder, tiny_library):
    f = hostile_folder
    _run(tiny_library, f["zero"].parent, f)
    write_photos(f["zero"].parent / "tmp", 1, start=42)[0].replace(f["zero"])
    report = _run(tiny_library, f["zero"].parent, f, add=False)
    assert report.encoded == 1 and str(f["zero"]) not in dict(tiny_library.folders.failures())


def test_exif_rotated_photo_is_embedded_upright(hostile_folder, tiny_library):
    f = hostile_folder
    _run(tiny_library, f["zero"].parent, f)
    cat = tiny_library.catalog
    rot = cat.photo_state(str(f["rotated"]))
    rows = cat.photo_rows([rot.id])[rot.id]
    assert (rows["width"], rows["height"]) == (64, 96), "dimensions as displayed"
    assert rows["taken_at"] == "2019-07-04T12:30:00", "EXIF capture date kept"
    ref = cat.photo_state(str(f["upright_ref"]))
    v_rot = cat.vector_of(rot.id, tiny_library.model.id)
    v_ref = cat.vector_of(ref.id, tiny_library.model.id)
    sideways = tiny_library.model.encoder.encode_pil(
        [Image.open(f["rotated"]).convert("RGB")])[0]  # what ignoring EXIF would give
    assert float(v_rot @ v_ref) > 0.98
    assert float(v_rot @ v_ref) > float(sideways @ v_ref) + 0.005


def test_decode_converts_unusual_modes_to_rgb(hostile_folder):
    f = hostile_folder
    for key in ("cmyk", "png16", "palette", "gif"):
        dec = imageio.decode(f[key].read_bytes())
        assert dec.image.mode == "RGB", key
    deep = np.asarray(imageio.decode(f["png16"].read_bytes()).image)
    assert 60 < deep.mean() < 200, "16-bit values are scaled, not clipped to white"
    gif = imageio.decode(f["gif"].read_bytes())
    assert gif.n_frames == 3 and np.asarray(gif.image).mean() == pytest.approx(10, abs=2)


def test_jpeg_draft_decodes_big_photos_small_and_faithfully(tmp_path):
    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(small).resize((4000, 3000), Image.Resampling.BICUBIC))
    data = _jpeg_bytes(big)
    dec = imageio.decode(data, min_side=224)
    assert (dec.width, dec.height) == (4000, 3000)
    assert min(dec.image.size) >= 224 and dec.image.size[0] <= 1000, "decoded at 1/4 scale"
    pre = imageio.Preprocess(224, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    fast = pre(dec.image)
    full = pre(imageio.decode(data).image)
    assert fast.shape == (3, 224, 224)
    assert np.abs(fast - full).mean() < 0.05
