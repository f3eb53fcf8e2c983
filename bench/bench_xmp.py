"""XMP sidecars under load: import and export of a sidecar holding 20,000 keywords, and of one
declaring 20,000 namespace prefixes — the code before exact ownership against the code now.

The old code is loaded from git (``git show REV:photoclip/core/xmp.py`` into a module of its
own; REV defaults to the newest commit whose xmp.py has no ownership record), so both run in
one process on the same files. The tag store is an in-memory stand-in (no SQLite), so what is
timed is reading, merging and writing XMP. Printed: CPU seconds (process time) per step, and
the size of ElementTree's global prefix map afterwards (the old code grew it with every file).

    .venv/bin/python bench/bench_xmp.py [--keywords 20000] [--prefixes 20000] [--old REV]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from photoclip.core import xmp as new  # noqa: E402


def old_revision() -> str:
    revs = subprocess.run(["git", "log", "--format=%H", "--", "photoclip/core/xmp.py"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for rev in revs:
        text = subprocess.run(["git", "show", f"{rev}:photoclip/core/xmp.py"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
        if "WroteSubject" not in text:
            return rev
    raise SystemExit("no commit with the old xmp.py")


def load_old(rev: str, folder: Path):
    path = folder / "xmp_old.py"
    path.write_text(subprocess.run(["git", "show", f"{rev}:photoclip/core/xmp.py"], cwd=ROOT,
                                   capture_output=True, text=True, check=True).stdout)
    spec = importlib.util.spec_from_file_location("xmp_old", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["xmp_old"] = mod  # (dataclasses look their module up)
    spec.loader.exec_module(mod)
    return mod


@dataclass(frozen=True)
class Tag:
    name: str
    tagset: str | None
    source: str

    @property
    def hierarchical(self) -> list[str]:
        return [self.tagset, self.name] if self.tagset else [self.name]


class FakeTagStore:
    """The TagStore calls xmp makes, in memory."""

    def __init__(self, tags: list[Tag]):
        self.tags = tags
        self.ids: dict[str, int] = {}
        self.manual: set[tuple[int, int]] = set()

    def all(self):
        return []

    def get(self, name):
        raise KeyError(name)

    def has_label(self, set_name, label):
        return False

    def keyword_id(self, name, set_name=None):
        return self.ids.setdefault(name, len(self.ids) + 1)

    def import_manual(self, pid, tag_id):
        new_one = (pid, tag_id) not in self.manual
        self.manual.add((pid, tag_id))
        return int(new_one)

    def photo_tags(self, pid):
        return self.tags

    def removed_names(self, pid):
        return []


def keywords_sidecar(n: int) -> bytes:
    items = "".join(f"<rdf:li>keyword {i}</rdf:li>" for i in range(n))
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            '02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"'
            f'><dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject></rdf:Description>'
            '</rdf:RDF></x:xmpmeta>').encode()


def prefixes_sidecar(n: int) -> bytes:
    decls = "".join(f' xmlns:p{i}="http://e.com/{i}/"' for i in range(n))
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
            f'02/22-rdf-syntax-ns#"><rdf:Description{decls}/></rdf:RDF></x:xmpmeta>').encode()


def timed(label: str, fn) -> None:
    c, w = time.process_time(), time.perf_counter()
    try:
        result = fn()
        what = f"{result}" if result is not None else "ok"
    except Exception as e:  # a refusal is a result too
        what = f"{type(e).__name__}: {e}"
    print(f"  {label:<44} {time.process_time() - c:8.2f} s CPU "
          f"{time.perf_counter() - w:8.2f} s wall   {what[:70]}", flush=True)


def run(mod, name: str, folder: Path, n_keywords: int, n_prefixes: int) -> None:
    from PIL import Image

    print(f"{name}:")
    photo = folder / f"{name}.jpg"
    Image.new("RGB", (8, 8)).save(photo)
    side = Path(str(photo) + ".xmp")
    rows = [(1, str(photo), True)]
    side.write_bytes(keywords_sidecar(n_keywords))
    store = FakeTagStore([])
    timed(f"import: sidecar with {n_keywords:,} keywords",
          lambda: mod.import_tags(store, rows).tagged)
    store = FakeTagStore([Tag(f"keyword {i}", None, "manual") for i in range(n_keywords)])
    timed(f"export: {n_keywords:,} tags into that sidecar",
          lambda: mod.export_tags(store, rows).written)
    timed("export again (nothing to change)", lambda: mod.export_tags(store, rows).unchanged)
    side.write_bytes(prefixes_sidecar(n_prefixes))
    print(f"  (sidecar with {n_prefixes:,} prefixes: {side.stat().st_size / 1000:.0f} kB)")
    store = FakeTagStore([Tag("holiday", None, "manual")])
    timed(f"import: sidecar with {n_prefixes:,} namespace prefixes",
          lambda: mod.import_tags(store, rows).tagged)
    timed("export: 1 tag into that sidecar", lambda: mod.export_tags(store, rows).written)
    print(f"  ElementTree's global prefix map now holds {len(ET._namespace_map):,} entries")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keywords", type=int, default=20_000)
    ap.add_argument("--prefixes", type=int, default=20_000)
    ap.add_argument("--old", help="git revision of the old xmp.py (default: the last one "
                    "without ownership records)")
    args = ap.parse_args()
    rev = args.old or old_revision()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old = load_old(rev, folder)
        print(f"old: photoclip/core/xmp.py at {rev[:10]}; new: the working tree")
        run(new, "new", folder, args.keywords, args.prefixes)
        run(old, "old", folder, args.keywords, args.prefixes)


if __name__ == "__main__":
    main()
