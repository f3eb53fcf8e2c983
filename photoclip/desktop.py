"""Desktop integration on Linux: the application launcher and the start-at-login entry.

Both are freedesktop.org ``.desktop`` files written into the user's own folders (nothing needs
root), beside the AppStream metainfo software centres read. They start PhotoCLIP the way it is
installed: an interpreter running the package (a venv, ``pip install``), or the built app's
executable (PyInstaller: ``sys.frozen``). ``installer/install-linux.sh`` runs
``python -m photoclip.desktop install`` for a venv and ``PhotoCLIP desktop install`` for a
built app.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

APP_ID = "io.photoclip.PhotoCLIP"
RESOURCES = Path(__file__).resolve().parent / "resources"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def app_command(python: str | None = None, frozen: bool | None = None) -> list[str]:
    """The argv that runs PhotoCLIP: ``python`` (or this interpreter) with ``-m photoclip``,
    or, in a built app, its own executable (which takes no ``-m``)."""
    if python:
        return [python, "-m", "photoclip"]
    if getattr(sys, "frozen", False) if frozen is None else frozen:
        return [sys.executable]
    return [sys.executable, "-m", "photoclip"]


# Characters that make an Exec argument need quotes (Desktop Entry Specification, "The Exec key").
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def exec_arg(arg: str, quote: bool = False) -> str:
    """One argument as an ``Exec`` value holds it: ``%`` doubled (it starts field codes); quoted
    when it holds a reserved character, with ``"`` `` ` `` ``$`` ``\\`` backslash-escaped inside
    the quotes; then every backslash doubled again (the string-value escape is undone first)."""
    arg = arg.replace("%", "%%")
    if arg and not quote and not _RESERVED.intersection(arg):
        return arg
    quoted = '"' + re.sub(r'(["`$\\])', r"\\\1", arg) + '"'
    return quoted.replace("\\", "\\\\")


def exec_line(argv: list[str]) -> str:
    """The program (always quoted: a path) and its arguments as one ``Exec`` value."""
    return " ".join(exec_arg(a, quote=i == 0) for i, a in enumerate(argv))


def launch_command(python: str | None = None, frozen: bool | None = None) -> str:
    """The ``Exec`` value of the menu launcher: PhotoCLIP's window."""
    return exec_line([*app_command(python, frozen), "gui"])


def autostart_command(python: str | None = None, frozen: bool | None = None) -> str:
    """The ``Exec`` value that starts PhotoCLIP at login, in the background."""
    return exec_line([*app_command(python, frozen), "gui", "--minimized"])


def desktop_entry(exec_line: str, icon: str, autostart: bool = False) -> str:
    lines = [
        "[Desktop Entry]",
        "Type=Application",
        "Version=1.0",
        "Name=PhotoCLIP",
        "GenericName=Photo Organizer",
        "Comment=Search your photos in plain language",
        f"Exec={exec_line}",
        f"Icon={icon}",
        "Terminal=false",
        "Categories=Graphics;Photography;Viewer;",
        "Keywords=photo;picture;image;search;clip;",
        "StartupNotify=true",
    ]
    if autostart:
        lines += ["X-GNOME-Autostart-enabled=true"]
    return "\n".join(lines) + "\n"


def install_icons(data_home: Path | None = None) -> str:
    """Copy the icon into the user's hicolor theme; returns the icon name to use."""
    base = (data_home or _data_home()) / "icons" / "hicolor"
    for size in ICON_SIZES:
        src = RESOURCES / f"photoclip-{size}.png"
        if src.exists():
            dst = base / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
    svg = RESOURCES / "photoclip.svg"
    if svg.exists():
        dst = base / "scalable" / "apps" / f"{APP_ID}.svg"
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(svg, dst)
    return APP_ID


def install_launcher(python: str | None = None, data_home: Path | None = None) -> Path:
    """Write the menu launcher (~/.local/share/applications), install the icon and the
    AppStream metainfo (~/.local/share/metainfo, for software centres)."""
    icon = install_icons(data_home)
    base = data_home or _data_home()
    path = base / "applications" / f"{APP_ID}.desktop"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(desktop_entry(launch_command(python), icon), encoding="utf-8")
    metainfo = base / "metainfo" / METAINFO.name
    metainfo.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(METAINFO, metainfo)
    return path


def uninstall_launcher(data_home: Path | None = None) -> None:
    base = data_home or _data_home()
    (base / "applications" / f"{APP_ID}.desktop").unlink(missing_ok=True)
    (base / "metainfo" / METAINFO.name).unlink(missing_ok=True)
    for size in ICON_SIZES:
        (base / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").unlink(
            missing_ok=True)
    (base / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").unlink(missing_ok=True)


def autostart_path(config_home: Path | None = None) -> Path:
    return (config_home or _config_home()) / "autostart" / f"{APP_ID}.desktop"


def set_autostart(enabled: bool, python: str | None = None,
                  config_home: Path | None = None, frozen: bool | None = None,
                  platform: str | None = None) -> None:
    """Start PhotoCLIP (watching the folders) when the user logs in, or stop doing so: the
    same interpreter or built app that runs now. Linux (and other freedesktop systems): an
    autostart .desktop file; macOS: a LaunchAgent; Windows: the user's Run registry key."""
    plat = platform or sys.platform
    if plat == "darwin":
        _launch_agent(enabled, [*app_command(python, frozen), "gui", "--minimized"])
        return
    if plat == "win32":
        _run_key(enabled, [*_windowless(app_command(python, frozen)), "gui", "--minimized"])
        return
    path = autostart_path(config_home)
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(desktop_entry(autostart_command(python, frozen), APP_ID, autostart=True),
                    encoding="utf-8")


def launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{APP_ID}.plist"


def _launch_agent(enabled: bool, argv: list[str]) -> None:
    """macOS: ~/Library/LaunchAgents/io.photoclip.PhotoCLIP.plist, run once at login."""
    import plistlib

    path = launch_agent_path()
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        plistlib.dump({"Label": APP_ID, "ProgramArguments": argv, "RunAtLoad": True,
                       "ProcessType": "Interactive"}, f)


def _windowless(argv: list[str]) -> list[str]:
    """Windows: pythonw.exe instead of python.exe, so login opens no console window (the
    built app's PhotoCLIP.exe has none)."""
    exe = Path(argv[0])
    if exe.name.lower() == "python.exe" and (exe.parent / "pythonw.exe").exists():
        return [str(exe.parent / "pythonw.exe"), *argv[1:]]
    return argv


RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def _run_key(enabled: bool, argv: list[str], winreg: ModuleType | None = None) -> None:
    """Windows: the value "PhotoCLIP" under HKEY_CURRENT_USER\\...\\Run (no admin rights)."""
    import subprocess

    if winreg is None:
        import winreg as the_registry
        winreg = the_registry
    with winreg.CreateKey(winreg.HKEY_CURRENT_USER, RUN_KEY) as key:
        if enabled:
            winreg.SetValueEx(key, "PhotoCLIP", 0, winreg.REG_SZ, subprocess.list2cmdline(argv))
        else:
            try:
                winreg.DeleteValue(key, "PhotoCLIP")
            except FileNotFoundError:
                pass


def main(argv: list[str] | None = None) -> int:
    prog = "PhotoCLIP desktop" if getattr(sys, "frozen", False) else "python -m photoclip.desktop"
    ap = argparse.ArgumentParser(prog=prog,
                                 description="Install or remove the PhotoCLIP launcher.")
    ap.add_argument("action", choices=["install", "uninstall"])
    ap.add_argument("--python", help="interpreter the launcher runs (default: this one, or "
                    "the built app's executable)")
    args = ap.parse_args(argv)
    if args.action == "install":
        path = install_launcher(args.python)
        print(f"Installed {path}")
    else:
        uninstall_launcher()
        set_autostart(False)
        print("Removed the PhotoCLIP launcher.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
