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
    from photoclip.cli import main as cli_main

    return cli_main(argv)


def gui_main(argv: list[str] | None = None) -> int:
    configure_threads()
    why = no_display()
    if why:  # Qt would abort the process with its own message (rc 134)
        print(f"photoclip: the PhotoCLIP window needs a graphical display, and {why}. "
              "Everything works from the command line too: see 'photoclip --help'.",
              file=sys.stderr)
        return 1
    from photoclip.gui import run

    return run(sys.argv[1:] if argv is None else argv)


def no_display() -> str | None:
    """Why no window can open here (a Linux session without X11 or Wayland), or None."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return "none was found (DISPLAY and WAYLAND_DISPLAY are not set: an SSH or text session?)"
