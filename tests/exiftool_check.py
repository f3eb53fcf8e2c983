"""Reading sidecars back with exiftool, the reference reader (the XMP and category tests)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

EXIFTOOL = shutil.which("exiftool")
needs_exiftool = pytest.mark.skipif(
    EXIFTOOL is None, reason="exiftool missing (Debian: libimage-exiftool-perl; CI installs it)")


def exif(path) -> dict:
    out = subprocess.run([EXIFTOOL, "-j", "-struct", "-XMP:all", str(path)], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)[0]


def as_list(v) -> list:
    return v if isinstance(v, list) else [v]
