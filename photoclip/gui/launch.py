"""Opening the window, or saying in one sentence why it cannot open here: no display (an
SSH or text session), or system libraries Qt needs that this computer lacks. Imports no Qt
until both checks pass (Qt would abort the process with its own message)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    why = no_display()
    if why:  # Qt would abort the process with its own message (rc 134)
        print(f"photoclip: the PhotoCLIP window needs a graphical display, and {why}. "
              "Everything works from the command line too: see 'photoclip --help'.",
              file=sys.stderr)
        return 1
    missing = missing_gui_packages()
    if missing:  # Qt would abort with "could not load the Qt platform plugin xcb"
        names = " ".join(missing)
        print(f"photoclip: the PhotoCLIP window needs system libraries this computer lacks "
              f"({names}): install them (Debian/Ubuntu: sudo apt install {names}) and start it "
              "again. Everything works from the command line meanwhile: see 'photoclip --help'.",
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


def missing_gui_packages() -> list[str]:
    """The Debian/Ubuntu packages of the libraries Qt's X11 plugin needs and cannot find here
    (a fresh desktop may lack libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1…), or []. Asks
    the dynamic linker about the plugin Qt will load; [] where that cannot be told."""
    if not sys.platform.startswith("linux") or os.environ.get("WAYLAND_DISPLAY") \
            or os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb":
        return []
    import importlib.util
    import subprocess

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    plugin = os.path.join(spec.submodule_search_locations[0], "Qt", "plugins", "platforms",
                          "libqxcb.so")
    if not os.path.exists(plugin):
        return []
    try:
        out = subprocess.run(["ldd", plugin], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return packages_for(out)


def packages_for(ldd_output: str) -> list[str]:
    """Debian package names for the libraries ``ldd`` reports "not found" (libxcb-cursor.so.0
    → libxcb-cursor0, libxkbcommon-x11.so.0 → libxkbcommon-x11-0)."""
    out = []
    for line in ldd_output.splitlines():
        name, _, where = line.strip().partition(" => ")
        if where.strip() != "not found" or ".so." not in name:
            continue
        base, _, version = name.partition(".so.")
        version = version.split(".")[0]
        package = f"{base}{'-' if base[-1].isdigit() else ''}{version}"
        if package not in out:
            out.append(package)
    return out

