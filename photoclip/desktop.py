"""Desktop integration on Linux: the application launcher and the start-at-login entry.

Both are freedesktop.org ``.desktop`` files written into the user's own folders (nothing needs
root). ``python -m photoclip.desktop install`` is what ``installer/install-linux.sh`` runs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

APP_ID = "io.photoclip.PhotoCLIP"
RESOURCES = Path(__file__).resolve().parent / "resources"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def _data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def _config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def launch_command(python: str | None = None) -> str:
    """The command a launcher runs: this interpreter running the app."""
    exe = python or sys.executable
    return f'"{exe}" -m photoclip gui'


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
    """Write the menu launcher (~/.local/share/applications) and install the icon."""
    icon = install_icons(data_home)
    path = (data_home or _data_home()) / "applications" / f"{APP_ID}.desktop"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(desktop_entry(launch_command(python), icon), encoding="utf-8")
    return path


def uninstall_launcher(data_home: Path | None = None) -> None:
    base = data_home or _data_home()
    (base / "applications" / f"{APP_ID}.desktop").unlink(missing_ok=True)
    for size in ICON_SIZES:
        (base / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").unlink(
            missing_ok=True)
    (base / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").unlink(missing_ok=True)


def autostart_path(config_home: Path | None = None) -> Path:
    return (config_home or _config_home()) / "autostart" / f"{APP_ID}.desktop"


def set_autostart(enabled: bool, python: str | None = None,
                  config_home: Path | None = None) -> None:
    """Start PhotoCLIP (watching the folders) when the user logs in, or stop doing so."""
    path = autostart_path(config_home)
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    exec_line = f'"{python or sys.executable}" -m photoclip gui --minimized'
    path.write_text(desktop_entry(exec_line, APP_ID, autostart=True), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m photoclip.desktop",
                                 description="Install or remove the PhotoCLIP launcher.")
    ap.add_argument("action", choices=["install", "uninstall"])
    ap.add_argument("--python", help="interpreter the launcher runs (default: this one)")
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
