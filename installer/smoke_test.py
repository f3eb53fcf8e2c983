"""Smoke test of PhotoCLIP as people get it: an installed wheel, or the PyInstaller app.

    python installer/smoke_test.py --exe /tmp/venv/bin/photoclip [--python /tmp/venv/bin/python]
    python installer/smoke_test.py --exe dist/PhotoCLIP/PhotoCLIP --gui

Runs in a temporary folder (never in the checkout, so nothing can be imported from the source
tree) with a fresh data folder and the fixture CLIP (``local-dir:$PHOTOCLIP_SHARED/models/
cifar-clip``, default ../shared beside the checkout): add, index, search, similar, tag set
create/apply and a ``tag:`` search, a starter set, category create/add/show, XMP export,
duplicates found, resolved to the trash and undone,
every photo format (``--samples``: HEIC, AVIF, JPEG 2000, WebP, TIFF, PNG, DNG, a RAW + JPEG
pair, written by tests/samples.py with a Python that has pillow-heif and pidng),
status, ``--help`` of every command and action, a closed pipe, and (``--gui``) the window
started offscreen until search is ready, then a second launch handing over to it, then a first
start on an empty data folder (the welcome dialog must come to "✔ Model ready"). Checks that
the answers are right (the horses come first), not only that commands exit 0. Prints timings;
exits 1 on the first failure. Standard library only: it runs under any Python.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PHOTOCLIP_SHARED", ROOT.parent / "shared")).resolve()
CLASSES = ("horse", "ship", "cat", "dog")
PER_CLASS = 8


class Failed(Exception):
    pass


def check(cond: bool, what: str) -> None:
    if not cond:
        raise Failed(what)


class Runner:
    def __init__(self, exe: list[str], work: Path, env: dict[str, str]):
        self.exe, self.work, self.env = exe, work, env
        self.times: dict[str, float] = {}

    def __call__(self, *args: str, ok: bool = True,
                 timeout: float = 300) -> subprocess.CompletedProcess:
        t = time.perf_counter()
        proc = subprocess.run([*self.exe, *args], cwd=self.work, env=self.env, text=True,
                              capture_output=True, timeout=timeout)
        self.times[" ".join(args[:2])] = time.perf_counter() - t
        if ok and proc.returncode != 0:
            raise Failed(f"photoclip {' '.join(args)} exited {proc.returncode}:\n"
                         f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
        if ok and ("Traceback" in proc.stderr or "unexpected error" in proc.stderr):
            raise Failed(f"photoclip {' '.join(args)} said:\n{proc.stderr[-3000:]}")
        return proc

    def json(self, *args: str):
        return json.loads(self(*args, "--json").stdout)


def folder_of(hit: dict) -> str:
    return Path(hit["path"]).parent.name


def cli_flow(run: Runner, pictures: Path, model: str, formats: int = 0) -> None:
    run("--model", model, "add", str(pictures))
    report = run.json("index")
    check(report.get("encoded") == len(CLASSES) * PER_CLASS + formats and not report["failed"],
          f"index encoded {report}")
    if formats:  # the same truck in every format: each found, the RAW + JPEG pair once
        hits = run.json("search", "a photo of a truck", "--limit", str(formats))
        check(sorted(folder_of(h) for h in hits) == ["formats"] * formats
              and sum(bool(h.get("raw")) for h in hits) == 1, f"formats: {hits}")

    hits = run.json("search", "a photo of a horse", "--limit", "5")
    check(sum(folder_of(h) == "horse" for h in hits) >= 4, f"horse search: {hits}")
    hits = run.json("search", "一只猫", "--limit", "5")  # (the fixture reads Chinese too)
    check(sum(folder_of(h) == "cat" for h in hits) >= 3, f"一只猫: {hits}")
    ship = sorted((pictures / "ship").iterdir())[0]
    hits = run.json("similar", str(ship), "--limit", "5")
    check(sum(folder_of(h) == "ship" for h in hits) >= 4, f"similar to a ship: {hits}")

    run("tagset", "create", "Animals", "horse", "ship=boat", "cat", "dog", "--exclusive")
    run("tagset", "apply", "Animals")
    listed = run("tagset", "list").stdout
    check("applied to the library" in listed, f"tagset list: {listed}")
    hits = run.json("search", "tag:horse", "--limit", "50")
    check(hits and sum(folder_of(h) == "horse" for h in hits) >= 0.7 * len(hits),
          f"tag:horse: {hits}")
    check("places" in run("tagset", "starters").stdout.lower(), "tagset starters")
    run("tagset", "create", "--starter", "places")
    tagsets = run.json("tagset", "list")["tagsets"]
    check({t["name"].lower() for t in tagsets} >= {"animals", "places"}, f"sets: {tagsets}")
    tags = run.json("tags", str(sorted((pictures / "horse").iterdir())[0]))
    check(isinstance(tags, list | dict), f"tags: {tags}")

    run("category", "create", "Boats", "--description", "a photo of a ship")
    examples = [str(p) for p in sorted((pictures / "ship").iterdir())[:3]]
    run("category", "add", "Boats", *examples)
    shown = run.json("category", "show", "Boats", "--limit", "8")
    members = shown["members"] if isinstance(shown, dict) else shown
    check(sum(folder_of(m) == "ship" for m in members) >= 6, f"category show: {shown}")
    hits = run.json("search", "category:Boats", "--limit", "8")
    check(sum(folder_of(h) == "ship" for h in hits) >= 6, f"category:Boats: {hits}")

    run("xmp", "export", "--folder", str(pictures / "horse"))
    check(any(p.suffix == ".xmp" for p in (pictures / "horse").iterdir()), "xmp export")
    status = run.json("status")
    check(isinstance(status, dict) and status, f"status: {status}")


def duplicates_flow(run: Runner, pictures: Path, trash: Path, formats: int) -> None:
    """A byte copy (and, with the samples, the truck in every format) found as duplicates,
    resolved to the system trash (send2trash, as packaged), and brought back by undo."""
    ship = sorted(p for p in (pictures / "ship").iterdir() if p.suffix == ".jpg")[0]
    copy = pictures / "copies" / "ship copy.jpg"
    copy.parent.mkdir()
    shutil.copy(ship, copy)
    run("index")
    groups = run.json("duplicates")["groups"]
    check(any(g["kind"] == "same" and sorted(g["photos"]) == sorted([str(ship), str(copy)])
              for g in groups), f"duplicates: {groups}")
    if formats:  # the same truck as HEIC, AVIF, JPEG 2000, WebP, PNG...: one photo
        check(any(sum(Path(p).parent.name == "formats" for p in g["photos"]) >= 4
                  for g in groups), f"the truck in every format is not one group: {groups}")
    run("duplicates", "resolve", "--trash", "--yes")
    check(not copy.exists() and (trash / "files" / copy.name).exists(),
          f"resolve: {copy} not in the trash {trash}")
    check(run.json("duplicates")["groups"] == [], "resolved groups came back")
    run("duplicates", "undo")
    check(copy.exists(), "undo did not bring the copy back from the trash")


def help_everywhere(run: Runner) -> int:
    """--help of every command and action (read from the completion table, which is
    generated from the parser: a new command is covered by itself)."""
    script = run("completion", "bash").stdout
    paths = [p for p in re.findall(r'^\s+"([^"]*)"\) subs=', script, re.M) if p]
    check(len(paths) > 15, f"completion lists {paths}")
    for path in paths:
        out = run(*path.split(), "--help").stdout
        check(out.startswith("usage:"), f"{path} --help: {out[:200]}")
    return len(paths)


def closed_pipe(run: Runner) -> None:
    """`photoclip tagset list | head -1`: no 'unexpected error', no traceback."""
    proc = subprocess.Popen([*run.exe, "tagset", "list"], cwd=run.work, env=run.env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.read(10)
    proc.stdout.close()  # the reader goes away after its first bytes
    err = proc.stderr.read().decode(errors="replace")
    proc.wait(timeout=60)
    check("Traceback" not in err and "unexpected" not in err, f"closed pipe: {err}")


def gui_start(run: Runner, home: Path, timeout: float = 180) -> dict[str, float]:
    """The window, offscreen, until search is ready (the first-run dialog's "loading…"
    state ends); then a second launch hands over to it and exits 0."""
    env = {**run.env, "QT_QPA_PLATFORM": "offscreen"}
    log = home / "photoclip.log"
    before = log.read_text(errors="replace") if log.exists() else ""
    t0 = time.perf_counter()
    proc = subprocess.Popen([*run.exe, "gui"], cwd=run.work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    found: dict[str, float] = {}
    try:
        while time.perf_counter() - t0 < timeout and "search" not in found:
            text = log.read_text(errors="replace")[len(before):] if log.exists() else ""
            if "window shown" in text and "window" not in found:
                found["window"] = time.perf_counter() - t0
            if "search ready" in text:
                found["search"] = time.perf_counter() - t0
            if "search unavailable" in text or "Traceback" in text:
                raise Failed(f"the window could not prepare search:\n{text[-3000:]}")
            if proc.poll() is not None:
                raise Failed(f"the window exited {proc.returncode}: {proc.stdout.read()}")
            time.sleep(0.05)
        check("search" in found, f"no 'search ready' in {timeout:.0f} s")
        second = subprocess.run([*run.exe, "gui"], cwd=run.work, env=env, capture_output=True,
                                text=True, timeout=60)
        check(second.returncode == 0 and "already open" in second.stderr,
              f"second launch: {second.returncode} {second.stderr}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
    return found


def gui_first_run(run: Runner, work: Path, model: str, timeout: float = 240) -> float:
    """A first start: no library yet, so the welcome dialog opens; the model (given by
    PHOTOCLIP_MODEL) must load in the window and the dialog must say so ("✔ Model ready"),
    not stay on "loading…" (what the built app without torchvision's operators did)."""
    home = work / "first-run-home"
    env = {**run.env, "QT_QPA_PLATFORM": "offscreen", "PHOTOCLIP_HOME": str(home),
           "PHOTOCLIP_MODEL": model}
    log = home / "photoclip.log"
    t0 = time.perf_counter()
    proc = subprocess.Popen([*run.exe], cwd=run.work, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        while time.perf_counter() - t0 < timeout:
            text = log.read_text(errors="replace") if log.exists() else ""
            said = [line for line in text.splitlines() if "first run:" in line]
            if any("Model ready" in line for line in said[1:]):
                return time.perf_counter() - t0
            if any(w in line for line in said[1:] for w in ("could not", "Search is off",
                                                            "No model")) or "Traceback" in text:
                raise Failed(f"the welcome dialog says:\n{text[-3000:]}")
            if proc.poll() is not None:
                raise Failed(f"the app exited {proc.returncode}: {proc.stdout.read()}")
            time.sleep(0.05)
        raise Failed(f"the welcome dialog still says {said[-1:]} after {timeout:.0f} s")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--exe", required=True, help="the photoclip command (an installed console "
                    "script, or the built app's executable)")
    ap.add_argument("--python", help="the interpreter of the installed package: checks that "
                    "photoclip is imported from it, not from a checkout")
    ap.add_argument("--gui", action="store_true", help="also start the window (offscreen)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--samples", metavar="PYTHON", help="a Python with pillow-heif and pidng "
                    "(the checkout's .venv): photos in every format are added to the library")
    args = ap.parse_args(argv)
    model = SHARED / "models" / "cifar-clip"
    if not model.is_dir():
        print(f"smoke test: no fixture model at {model} (set PHOTOCLIP_SHARED)", file=sys.stderr)
        return 1
    exe = [str(Path(args.exe).resolve())]
    work = Path(tempfile.mkdtemp(prefix="photoclip-smoke-"))
    home = work / "home"
    pictures = work / "Pictures"
    for c in CLASSES:
        (pictures / c).mkdir(parents=True)
        for p in sorted((SHARED / "datasets" / "cifar10-sample" / c).iterdir())[:PER_CLASS]:
            shutil.copy(p, pictures / c / p.name)
    formats = 0
    if args.samples:
        truck = sorted((SHARED / "datasets" / "cifar10-sample" / "truck").iterdir())[0]
        out = pictures / "formats"
        subprocess.run([args.samples, str(ROOT / "tests" / "samples.py"), str(out), str(truck)],
                       check=True)
        shutil.copy(truck, out / f"{truck.stem}.jpg")  # beside its .dng: a RAW + JPEG pair
        formats = len(list(out.iterdir())) - 1
        print(f"smoke test: {', '.join(sorted(p.name for p in out.iterdir()))}")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PHOTOCLIP_", "PYTHON")) and k != "VIRTUAL_ENV"}
    env.update(PHOTOCLIP_HOME=str(home), HOME=str(work / "user"), PYTHONNOUSERSITE="1",
               XDG_DATA_HOME=str(work / "user" / "share"))  # (the trash duplicates go to)
    (work / "user").mkdir()  # (a home folder, as every user has: the trash is found from it)
    run = Runner(exe, work, env)
    t = time.perf_counter()
    try:
        if args.python:
            where = subprocess.run([args.python, "-c", "import photoclip; print(photoclip.__file__)"
                                    ], cwd=work, env=env, capture_output=True, text=True).stdout
            check(where.strip() and not where.startswith(str(ROOT) + os.sep),
                  f"photoclip is imported from {where.strip()!r}, the checkout")
            print(f"photoclip imported from {where.strip()}")
        check(run("--version").stdout.startswith("PhotoCLIP "), "--version")
        cli_flow(run, pictures, f"local-dir:{model}", formats)
        duplicates_flow(run, pictures, work / "user" / "share" / "Trash", formats)
        helped = help_everywhere(run)
        closed_pipe(run)
        t_search = []
        for _ in range(3):  # a whole search process, warm file cache
            s = time.perf_counter()
            run("search", "a photo of a horse", "--limit", "5")
            t_search.append(time.perf_counter() - s)
        gui = gui_start(run, home) if args.gui else {}
        if args.gui:
            gui["first run"] = gui_first_run(run, work, f"local-dir:{model}")
    except (Failed, subprocess.TimeoutExpired, json.JSONDecodeError) as e:
        print(f"SMOKE TEST FAILED ({' '.join(exe)}): {e}", file=sys.stderr)
        print(f"(files kept in {work})", file=sys.stderr)
        return 1
    print(f"smoke test passed: {' '.join(exe)} in {time.perf_counter() - t:.1f} s")
    print(f"  --help of {helped} commands and actions")
    print(f"  index {run.times.get('index --json', 0):.1f} s; search process "
          f"{min(t_search):.2f}-{max(t_search):.2f} s")
    if gui:
        print(f"  window: shown {gui['window']:.2f} s after launch, search ready "
              f"{gui['search']:.2f} s; first run: the welcome dialog says the model is ready "
              f"{gui['first run']:.2f} s after launch")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
