"""What the command line writes: exit codes, JSON that is always valid, text that cannot
steer the terminal (a file name or keyword holding an escape sequence), progress and
reports. Every command module prints through these."""

from __future__ import annotations

import contextlib
import json
import math
import re
import sys
import time
from pathlib import Path

from photoclip.core.indexing.indexer import Progress, Report
from photoclip.core.names import printable
from photoclip.core.paths import shown
from photoclip.core.search.searcher import Hit

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_MODEL, EXIT_NOT_FOUND, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what other Unix tools give when their reader goes away


class Escaping:
    """A text stream that shows control characters (a keyword or file name holding an
    escape sequence) as \\xNN instead of letting the terminal obey them; tabs, new lines
    and the progress bar's carriage return pass."""

    CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(escaped(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)


def escaped(text: str) -> str:
    return Escaping.CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                                  else f"\\u{ord(m.group()):04x}", text)


@contextlib.contextmanager
def terminal_safe():
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = Escaping(out), Escaping(err)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


def to_json(data) -> str:
    """Always valid JSON: no NaN or infinity (null instead), and file names that are not valid
    UTF-8 kept losslessly as \\udcXX escapes (json.loads and os.fsencode give the bytes back)."""
    def clean(x):
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return [clean(v) for v in x]
        return x

    text = json.dumps(clean(data), ensure_ascii=False, indent=1, allow_nan=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def report_dict(r: Report) -> dict:
    return {"encoded": r.encoded, "reused": r.reused, "moved": r.moved, "paired": r.paired,
            "removed": r.removed,
            "unchanged": r.unchanged, "failed": [{"path": p, "reason": w} for p, w in r.failed],
            "offline": r.offline, "offline_why": r.offline_why, "cancelled": r.cancelled,
            "tagged": r.tagged, "restored": r.restored, "tag_problems": r.tag_problems,
            "duplicates": r.duplicates,
            "seconds": round(r.seconds, 2)}


def print_report(r: Report) -> None:
    parts = [f"{r.encoded} encoded"]
    for n, label in ((r.reused, "reused (copies)"), (r.moved, "moved"),
                     (r.paired, "now shown through the other file of their RAW+JPEG pair"),
                     (r.removed, "removed"), (r.unchanged, "unchanged")):
        if n:
            parts.append(f"{n} {label}")
    parts.append(f"{len(r.failed)} failed")
    if r.tagged:
        parts.append(f"{r.tagged} tags given by tag sets")
    if r.restored:
        parts.append(f"{r.restored} of your tags and examples back on photos that returned")
    print(", ".join(parts) + f" in {r.seconds:.1f} s.")
    if r.duplicates:
        print(f"  {r.duplicates} of the new photos {'is' if r.duplicates == 1 else 'are'} the "
              "same as one already in the library: see 'photoclip duplicates'.")
    for name, why in r.tag_problems.items():
        print(f"  tag set {printable(name)} could not tag photos: {printable(why)} (the other "
              "sets and indexing went on; fix it with 'photoclip tagset' and it catches up)")
    for path, reason in r.failed[:20]:
        print(f"  failed: {printable(shown(path))}: {printable(reason)}")
    if len(r.failed) > 20:
        print(f"  … and {len(r.failed) - 20} more ('photoclip status --failures' lists them)")
    for path in r.offline:
        why = r.offline_why.get(path, "not reachable")
        print(f"  offline: {shown(path)}: {why}; its photos are kept")
    if r.cancelled:
        print("Stopped early: what was done is saved. Run 'photoclip index' to continue.")


class ProgressPrinter:
    """A one-line progress bar on a terminal; a line every few seconds otherwise."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self.last = 0.0
        self.shown = False

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last < 5 and p.done < p.total:
            return
        self.last = now
        frac = p.done / p.total if p.total else 1.0
        eta = hms(p.eta) if p.eta is not None else "--:--"
        line = (f"{p.done}/{p.total} {frac:4.0%} {p.rate:6.1f} img/s  ETA {eta}"
                f"{f'  failed {p.failed}' if p.failed else ''}")
        if self.tty:
            width = 24
            fill = int(frac * width)
            name = shown(Path(p.current).name)[:30]
            self.stream.write(f"\r[{'#' * fill}{'.' * (width - fill)}] {line}  {name:<30}")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.shown = True

    def finish(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()


def hms(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def print_hits(hits: list[Hit], as_json: bool) -> None:
    if as_json:
        print(to_json([h.to_dict() for h in hits]))
        return
    if not hits:
        print("No matching photos.")
    for h in hits:
        print(f"{h.score:6.3f}  {printable(shown(h.path))}")  # (a new line cannot fake a hit)
