"""Composition root: decides between the desktop app and the command line."""

from __future__ import annotations

import os
import sys


def configure_threads() -> None:
    """One thread pool for the maths: torch's. NumPy's OpenBLAS threads spin after each call
    and then steal the cores torch needs for the next text encode (measured: query latency
    doubled on 2 cores). Our NumPy work (exact search, ≤ 50k vectors) is fast on one thread.
    Must run before NumPy is imported; the user's own setting wins."""
    for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def main(argv: list[str] | None = None) -> int:
    """``photoclip`` with a command runs the CLI; with none it opens the desktop app."""
    configure_threads()
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return gui_main([])
    if argv[0] == "desktop":  # the launcher files (installer/install-linux.sh; a built app
        from photoclip.desktop import main as desktop_main  # cannot run python -m)

        return desktop_main(argv[1:])
    from photoclip.cli.main import main as cli_main

    return cli_main(argv)


def gui_main(argv: list[str] | None = None) -> int:
    """``photoclip-gui`` and ``photoclip`` with no command: the desktop app."""
    configure_threads()
    from photoclip.gui.launch import main as open_app

    return open_app(argv)
