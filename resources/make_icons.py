"""Render resources/photoclip.svg to the PNG sizes the app and the installers use.

    .venv/bin/python resources/make_icons.py

Writes photoclip/resources/photoclip.svg and photoclip-{16..512}.png (shipped in the package).
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "photoclip" / "resources"
SIZES = (16, 32, 48, 64, 128, 256, 512)


def main() -> int:
    QGuiApplication(sys.argv[:1])
    svg = HERE / "photoclip.svg"
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        print(f"cannot read {svg}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(svg, OUT / "photoclip.svg")
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        image.save(str(OUT / f"photoclip-{size}.png"))
    print(f"wrote {len(SIZES)} PNGs to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
