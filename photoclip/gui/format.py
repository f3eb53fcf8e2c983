"""Numbers, sizes, durations and plurals as the app shows them (one place, one style)."""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """``"1 photo"``, ``"2 photos"``, ``"1,255 photos"``."""
    word = one if n == 1 else (many or one + "s")
    return f"{n:,} {word}"


def human_size(n: int) -> str:
    """``"937 bytes"``, ``"1 byte"``, ``"12.4 KB"``, ``"3.1 MB"``, ``"1.2 GB"`` (1 KB = 1024)."""
    if n < 1024:
        return plural(n, "byte")
    size = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1024
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if size >= 100 else f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def duration(seconds: float) -> str:
    """``"45 s"``, ``"3 min"``, ``"1 h 05 min"`` — an estimate, so no false precision."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    m = int(s / 60 + 0.5)
    if m < 60:
        return f"{m} min"
    return f"{m // 60} h {m % 60:02d} min"
