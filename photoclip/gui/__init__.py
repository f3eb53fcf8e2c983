"""The PySide6 desktop app: the only package that imports Qt. It uses the Library's services
(lib.folders, lib.search, lib.tags, lib.categories) and nothing under them, always off the
GUI thread (gui/executors.py)."""

from __future__ import annotations


def run(argv: list[str]) -> int:
    from photoclip.gui.application import run as _run

    return _run(argv)
