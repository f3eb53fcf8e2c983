"""The window on a phone's and a camera's photos: a RAW + JPEG pair is one tile with a
"RAW+JPEG" badge, and a rotated iPhone HEIC is thumbnailed and previewed upright."""

from __future__ import annotations

import samples
from conftest import CIFAR_SAMPLE, make_library, open_window
from PIL import Image
from PySide6.QtCore import Qt

from photoclip.gui.results_grid import BadgeRole, HitRole


def _image(cls: str, i: int = 0, size=(120, 80)) -> Image.Image:
    with Image.open(sorted((CIFAR_SAMPLE / cls).iterdir())[i]) as im:
        return im.convert("RGB").resize(size)


def test_a_pair_is_one_tile_with_a_badge_and_a_heic_shows_upright(qtbot, tmp_path,
                                                                  cifar_encoder, monkeypatch):
    monkeypatch.setenv("PHOTOCLIP_HOME", str(tmp_path / "home"))
    pictures = tmp_path / "Pictures"
    pictures.mkdir()
    shot = _image("ship")
    (pictures / "DSC_0042.NEF.dng").write_bytes(b"")  # (a near name is not the pair's)
    (pictures / "DSC_0042.dng").write_bytes(samples.dng(shot))
    shot.save(pictures / "DSC_0042.JPG")
    # a landscape photo a phone stored sideways, with orientation 6
    (pictures / "IMG_0001.HEIC").write_bytes(samples.heic(_image("horse"), orientation=6))
    lib = make_library(tmp_path / "home", cifar_encoder)
    lib.folders.add(pictures)
    lib.folders.index()
    w = open_window(qtbot, lib)
    qtbot.waitUntil(lambda: w.model.shown == 2, timeout=30000)
    rows = {w.model.data(w.model.index(r), HitRole).path.rsplit("/", 1)[1]: r
            for r in range(w.model.rowCount()) if w.model.hit(r) is not None}
    assert set(rows) == {"DSC_0042.JPG", "IMG_0001.HEIC"}
    pair = w.model.index(rows["DSC_0042.JPG"])
    assert w.model.data(pair, BadgeRole) == "RAW+JPEG"
    assert "DSC_0042.dng" in w.model.data(pair, Qt.ItemDataRole.ToolTipRole)
    assert w.model.data(w.model.index(rows["IMG_0001.HEIC"]), BadgeRole) is None
    # the HEIC's thumbnail and preview are upright: wider than tall, as the photo was taken
    heic = w.model.index(rows["IMG_0001.HEIC"])
    qtbot.waitUntil(lambda: w.model.data(heic, Qt.ItemDataRole.DecorationRole) is not None,
                    timeout=30000)
    thumb = w.model.data(heic, Qt.ItemDataRole.DecorationRole)
    assert thumb.width() > thumb.height()
    dlg = w.preview(rows["IMG_0001.HEIC"])
    qtbot.waitUntil(lambda: dlg.canvas.pixmap is not None, timeout=30000)
    assert dlg.canvas.pixmap.width() > dlg.canvas.pixmap.height()
    dlg.close()
    w.close()
