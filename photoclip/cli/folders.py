"""``photoclip add | remove | relink | index | status | watch | doctor``: the library's
folders, indexing them, and what state the library is in (lib.folders, lib.status)."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from photoclip.cli.output import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ProgressPrinter,
    hms,
    print_report,
    report_dict,
    to_json,
)
from photoclip.core.indexing.indexer import Report
from photoclip.core.library import Library
from photoclip.core.names import printable
from photoclip.core.paths import shown


def cmd_add(lib: Library, args) -> int:
    for folder in args.folders:
        f = lib.folders.add(folder)
        print(f"Added {shown(f.path)}")
    print("Run 'photoclip index' to index the photos in it.")
    return EXIT_OK


def cmd_remove(lib: Library, args) -> int:
    for folder in args.folders:
        removed = lib.folders.remove(folder)
        print(f"Removed {printable(shown(folder))}: {removed.describe()}")
        if removed.adopted:
            print(f"  {removed.adopted:,} of these photos are also in another folder of the "
                  "library: they carry your tags and examples there.")
    return EXIT_OK


def cmd_relink(lib: Library, args) -> int:
    folder = lib.folders.relink(args.old, args.new)
    print(f"{printable(shown(args.old))} is now {printable(shown(folder.path))}: its photos keep "
          "their tags, examples and search vectors. Run 'photoclip index' to check the files "
          "there.")
    return EXIT_OK


def cmd_index(lib: Library, args) -> int:
    cancel = threading.Event()
    bar = ProgressPrinter(sys.stderr)

    def on_sigint(signum, frame):
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        print("\nStopping after the current batch (Ctrl-C again to quit now)…", file=sys.stderr)

    old = signal.signal(signal.SIGINT, on_sigint)
    try:
        report = lib.folders.index(
            progress=bar, cancel=cancel, retry_failed=args.retry_failed,
            on_wait=lambda holder: print(f"{holder} is indexing this library; waiting for it "
                                         "to finish (Ctrl-C to stop)…", file=sys.stderr),
            # (loaded only when there are photos to encode; a missing model fails before any)
            on_model=lambda: print(f"Encoding with {lib.model.encoding_reason()}.",
                                   file=sys.stderr))
    finally:
        signal.signal(signal.SIGINT, old)
        bar.finish()
    if args.json:
        print(to_json(report_dict(report)))
    else:
        print_report(report)
    return EXIT_INTERRUPTED if report.cancelled else EXIT_OK


def cmd_status(lib: Library, args) -> int:
    st = lib.status()
    if args.failures or args.json:
        st["failures"] = [{"path": p, "reason": r} for p, r in lib.folders.failures(100000)]
    if args.json:
        print(to_json(st))
        return EXIT_OK
    print(f"Library:  {st['home']}")
    print(f"Model:    {st['model']}")
    if st.get("precision"):
        print(f"Encoding: {st['precision_why']}")
    print(f"Search:   {st['fast_search']}")
    print(f"Photos:   {st['photos']} catalogued, {st['indexed']} indexed, "
          f"{st['pending']} waiting, {st['failed']} failed")
    print(f"Index:    {st['index']['vectors']} vectors, "
          f"{st['index']['bytes_on_disk'] / 2**20:.1f} MB on disk")
    print("Folders:" if st["folders"] else "Folders:  none yet — add one with 'photoclip add DIR'")
    for f in st["folders"]:
        state = "" if f["online"] else ("  (offline: not reachable or empty — drive unplugged? "
                                        "its photos are kept)")
        print(f"  {shown(f['path'])}: {f['photos']} photos, {f['indexed']} indexed, "
              f"{f['failed']} failed{state}")
    if args.failures:
        for item in st["failures"]:
            print(f"  failed: {shown(item['path'])}: {item['reason']}")
    elif st["failed"]:
        print("  ('photoclip status --failures' lists the failed files and why)")
    return EXIT_OK


def cmd_watch(lib: Library, args) -> int:
    """Foreground daemon: reconcile every folder, then follow changes until Ctrl-C."""
    from photoclip.core.indexing.worker import Worker

    if lib.model.image_encoder_if_ready() is None:
        print(f"photoclip: {lib.model.error}\nCataloguing only; search turns on once a model "
              "is available.", file=sys.stderr)
    stop = threading.Event()
    last = {"line": ""}

    def on_status(s) -> None:
        if s.state == "working":
            eta = hms(s.eta) if s.eta is not None else "--:--"
            line = (f"{s.done}/{s.total}  {s.rate:.1f} img/s  ETA {eta}"
                    f"{f'  failed {s.failed}' if s.failed else ''}  {shown(Path(s.current).name)}")
        else:
            line = s.state + (f" ({s.message})" if s.message else "")
        if line != last["line"]:
            last["line"] = line
            print(time.strftime("%H:%M:%S ") + line, file=sys.stderr, flush=True)

    def on_report(r: Report) -> None:
        for path, reason in r.failed:
            print(f"failed: {shown(path)}: {reason}", file=sys.stderr, flush=True)

    worker = Worker(lib, on_status=on_status, on_report=on_report, force_polling=args.poll)
    old = signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        worker.start()
        print(f"Watching {len(lib.folders.all())} folder(s). Ctrl-C to stop.",
              file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        print("Stopping…", file=sys.stderr, flush=True)
        worker.stop()
        signal.signal(signal.SIGINT, old)
    return EXIT_OK


def cmd_doctor(home: Path, args) -> int:
    """Check what can be damaged in the data folder; with --repair, repair the catalog."""
    from photoclip.core.library import check_library, repair_library

    findings = check_library(home)
    for f in findings:
        print(f"{'ok ' if f.ok else 'BAD'}  {f.what}: {f.detail}")
    broken = next((f for f in findings if f.what == "catalog" and not f.ok), None)
    if broken is None:
        print("Search index: checked and rebuilt if needed whenever the library is opened.")
        return EXIT_OK
    if not args.repair:
        print("Run 'photoclip doctor --repair' to rebuild it from everything that can still be "
              "read (your tags and categories first), the newest snapshot and backup.")
        return EXIT_ERROR
    report = repair_library(home)
    print(report.sentence() if report is not None else "The catalog is sound: nothing to repair.")
    return EXIT_OK


COMMANDS = {"add": cmd_add, "remove": cmd_remove, "relink": cmd_relink, "index": cmd_index,
            "status": cmd_status, "watch": cmd_watch}
