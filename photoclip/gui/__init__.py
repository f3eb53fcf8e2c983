"""The PySide6 desktop app. The only package that imports Qt; everything else goes through the
core Library facade."""

from __future__ import annotations


def run(argv: list[str]) -> int:
    from photoclip.gui.application import run as _run

    return _run(argv)
