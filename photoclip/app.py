"""Composition root: decides between the desktop app and the command line."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """``photoclip`` with a command runs the CLI; with none it opens the desktop app."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return gui_main([])
    from photoclip.cli import main as cli_main

    return cli_main(argv)


def gui_main(argv: list[str] | None = None) -> int:
    from photoclip.gui import run

    return run(sys.argv[1:] if argv is None else argv)
