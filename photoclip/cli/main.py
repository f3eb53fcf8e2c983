"""The command line's entry: the parser, the dispatch to each command group's module (folders,
search, tags, categories, duplicates), and the guard that turns any failure into one sentence and an
exit code. Commands use the same Library services as the GUI, with human or JSON output
(cli/output.py)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from datetime import datetime
from pathlib import Path

from photoclip import __version__
from photoclip.cli import categories as cli_categories
from photoclip.cli import duplicates as cli_duplicates
from photoclip.cli import folders as cli_folders
from photoclip.cli import models as cli_models
from photoclip.cli import search as cli_search
from photoclip.cli import tags as cli_tags
from photoclip.cli.output import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    escaped,
    hms,
    terminal_safe,
)
from photoclip.config import DEFAULT_MODEL, data_home
from photoclip.core.errors import PhotoclipError, explain
from photoclip.core.library import Library
from photoclip.core.model.precision import PRECISIONS

DESCRIPTION = """\
PhotoCLIP finds photos by what is in them. Add your photo folders, index them once (new photos
are picked up by 'photoclip index' or by 'photoclip watch'), then search in plain language.

examples:
  photoclip --model local-dir:~/models/clip add ~/Pictures   # use (and remember) a local model
  photoclip index                          # embed new and changed photos; Ctrl-C is safe
  photoclip search "a dog on the beach" --limit 20
  photoclip search "beach +sunset -people" --json
  photoclip search "2:dog +snow" --after 2020-01-01 --folder ~/Pictures/Trips
  photoclip similar ~/Pictures/cat.jpg
  photoclip status
  photoclip tagset create Places beach mountain "city street" forest snow indoors
  photoclip tagset apply Places            # tags now, and every new photo from then on
  photoclip search "tag:beach dog"         # a tag filter combined with a description
  photoclip category create Receipts       # then: category add Receipts PATH... [--not]
  photoclip search "category:Receipts"     # the members, most likely first
  photoclip duplicates                     # the same photo saved twice; then: resolve, undo

query syntax: a phrase is one concept; '+word' adds and '-word' subtracts a concept;
'2:word' weights it; 'tag:beach' (or 'tag:Places/beach', 'tag:"city street"') keeps only
photos carrying that tag; a leading 'category:Receipts' keeps a category's members. Short
parts like 'dog' are expanded to photo prompts automatically.
CLIP is weak at counting ("three dogs") and at very fine distinctions (dog breeds, car models).

'photoclip' with no command (or 'photoclip gui') opens the desktop app.

exit codes: 0 ok, 1 error, 2 bad usage, 3 model unavailable, 4 folder or photo not found,
130 interrupted (the work done so far is kept), 141 output pipe closed (e.g. '| head').

shell completion: eval "$(photoclip completion bash)" (or zsh) in your shell's rc file."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="photoclip", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"PhotoCLIP {__version__}")
    p.add_argument("--model", metavar="SPEC",
                   help="CLIP model to use, and remember for this library: NAME:PRETRAINED "
                        f"(default {DEFAULT_MODEL}), hf-hub:ORG/REPO or local-dir:PATH. "
                        "PHOTOCLIP_MODEL sets it for one run without remembering it.")
    p.add_argument("--precision", choices=PRECISIONS, metavar="P",
                   help="how photos are encoded, remembered for this library: auto (default: "
                        "the fastest faithful path, measured once on this computer), fp32 "
                        "(exact), int8 (fastest on most CPUs; embeddings within ~0.5%% of fp32), "
                        "bf16 (fast on CPUs with native bf16 and on GPUs, slow elsewhere), fp16 "
                        "(GPUs). 'photoclip status' says which path runs and why.")
    p.add_argument("--home", metavar="DIR",
                   help="data folder holding the catalog and index (default: the platform's "
                        "user data folder, or PHOTOCLIP_HOME)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("add", help="add photo folders to the library")
    s.add_argument("folders", nargs="+", metavar="FOLDER", type=_nonempty)

    s = sub.add_parser("remove", help="forget folders (the photos on disk are not touched; your "
                                      "tags and examples on them are kept for their return)")
    s.add_argument("folders", nargs="+", metavar="FOLDER", type=_nonempty)

    s = sub.add_parser("relink", help="a folder moved or was renamed: point the library at "
                                      "its new place (its photos keep everything)")
    s.add_argument("old", metavar="OLD", type=_nonempty, help="the folder as the library knows it")
    s.add_argument("new", metavar="NEW", type=_nonempty, help="where it is now")

    s = sub.add_parser("index", help="embed new and changed photos of every folder")
    s.add_argument("--retry-failed", action="store_true",
                   help="try again every file that failed before (by themselves, failed files "
                        "are retried when they change or when they could not be read)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")

    for name, helptext, arg, arghelp in (
        ("search", "find photos matching a description", "query", "what to look for"),
        ("similar", "find photos that look like a photo", "photo",
         "a photo of the library or any image file"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument(arg, help=arghelp + (" (a query starting with '-', like '-dog', "
                                            "works too)" if name == "search" else ""))
        s.add_argument("-n", "--limit", type=_positive_int, default=20, metavar="N",
                       help="at most N results (default 20)")
        s.add_argument("--min-score", type=_score, metavar="S",
                       help="hide results scoring below S (cosine similarity, about 0.1-0.4)")
        s.add_argument("--folder", metavar="DIR", type=_nonempty,
                       help="only photos inside DIR")
        s.add_argument("--after", metavar="DATE", type=_date, help="only photos taken on or "
                       "after DATE (YYYY-MM-DD, or YYYY-MM-DDTHH:MM)")
        s.add_argument("--before", metavar="DATE", type=_date,
                       help="only photos taken before DATE")
        s.add_argument("--json", action="store_true", help="print a JSON array of hits")

    s = sub.add_parser("status", help="folders, photo counts, failures, model and index")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--failures", action="store_true", help="list every failed file and why")

    s = sub.add_parser("watch", help="keep the library in step with its folders until Ctrl-C")
    s.add_argument("--poll", action="store_true",
                   help="poll the folders instead of using file-system notifications")
    s = sub.add_parser("doctor", help="check the data folder (catalog, backups, settings) and "
                                      "repair a damaged catalog")
    s.add_argument("--repair", action="store_true",
                   help="rebuild a damaged catalog from every row that can still be read, "
                        "filling in what the damage took from the newest snapshot and backup "
                        "(the damaged file is kept)")

    cli_tags.add_parsers(sub)
    cli_categories.add_parsers(sub)
    cli_duplicates.add_parsers(sub)
    cli_models.add_parsers(sub)

    s = sub.add_parser("gui", help="open the desktop app (the default with no command)")
    s.add_argument("--minimized", action="store_true", help="start in the background")

    s = sub.add_parser("completion", help="print a shell completion script",
                       description="Print a completion script for the shell: commands, "
                                   "actions and options complete (files otherwise).",
                       epilog='bash: eval "$(photoclip completion bash)" in ~/.bashrc; '
                              'zsh: eval "$(photoclip completion zsh)" in ~/.zshrc')
    s.add_argument("shell", choices=["bash", "zsh"])
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a score is a number from -1 to 1, not '{text}'")
    return value


def _date(text: str) -> str:
    """An ISO date or date-time, normalised (YYYY-MM-DD[THH:MM[:SS]])."""
    try:
        return datetime.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date: use YYYY-MM-DD, e.g. 2021-06-30") from None


def _nonempty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty name is not a folder")
    return text


def _queries_may_start_with_a_dash(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``search -dog`` is the documented syntax (subtract a concept): argparse would take
    ``-dog`` for an option. A search argument that starts with '-' and is no option of
    ``search`` is the query; it is passed after '--'."""
    if "search" not in argv:
        return argv
    at = argv.index("search")
    options = {o for a in _subparser(parser, "search")._actions for o in a.option_strings}
    rest = argv[at + 1:]
    for i, arg in enumerate(rest):
        if arg == "--":
            return argv
        if arg.startswith("-") and len(arg) > 1 and arg.split("=")[0] not in options \
                and not _is_number(arg):
            return [*argv[:at + 1], *rest[:i], *rest[i + 1:], "--", arg]
    return argv


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[name]
    raise KeyError(name)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(_queries_may_start_with_a_dash(parser, argv))
    except BrokenPipeError:  # `photoclip --help | head`
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    setup_logging(args.verbose)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    home = Path(args.home).expanduser() if args.home else data_home()
    if args.command == "doctor":  # works on a library too damaged to open
        return _guarded(home, lambda: cli_folders.cmd_doctor(home, args))
    if args.command == "completion":  # needs no library
        from photoclip.cli.completion import script

        return _guarded(home, lambda: print(script(parser, args.shell), end=""))
    lib = None

    def run() -> int:
        nonlocal lib
        lib = Library.open(home, model=args.model, remember_model=bool(args.model),
                           precision=args.precision,
                           long_lived=args.command == "watch")  # (the rest run once)
        # (a repair's notice was logged: our warnings reach stderr, see setup_logging)
        with terminal_safe():
            code = COMMANDS[args.command](lib, args)
        _finish_index_build(lib)
        return code

    try:
        return _guarded(home, run)
    finally:
        if lib is not None:
            _guarded(home, lib.close)


def _guarded(home: Path, fn) -> int:
    """Run ``fn``; whatever goes wrong becomes one sentence and an exit code, never a
    traceback (unexpected errors leave their details in the log file)."""
    try:
        code = fn() or EXIT_OK
        sys.stdout.flush()  # (a closed pipe shows here, not as a warning at exit)
        return code
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `photoclip tagset list | head -1`: the reader has what it wanted
        _stdout_to_devnull()
        return EXIT_BROKEN_PIPE
    except Exception as e:
        explained = explain(e, home)
        if explained is not None:
            return _fail(explained)
        where = _log_unexpected(home)
        print(f"photoclip: unexpected error ({type(e).__name__}: {e}). "
              f"{'Details are in ' + str(where) if where else 'Run with -v for details'}.",
              file=sys.stderr)
        return EXIT_ERROR


def _stdout_to_devnull() -> None:
    """Nothing more can be written to a closed pipe, and Python's flush at exit would fail
    again ("Exception ignored … BrokenPipeError"): point stdout at the null device."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _log_unexpected(home: Path) -> Path | None:
    import traceback

    try:
        path = home / "photoclip.log"
        with open(path, "a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(time.strftime("%Y-%m-%d %H:%M:%S ") + traceback.format_exc() + "\n")
        return path
    except OSError:
        return None


def _finish_index_build(lib: Library) -> None:
    """A search index being rebuilt (missing or damaged files) answered this command with
    exact search; let it finish and be saved, so the next command is fast again."""
    if lib.search_index.build_progress() is None:
        return
    started = time.monotonic()
    print("Building the search index (once; Ctrl-C skips it until next time)…",
          file=sys.stderr, flush=True)
    try:
        while not lib.search_index.wait_built(2.0):
            progress = lib.search_index.build_progress()
            if progress and progress[0]:
                done, total = progress
                left = (time.monotonic() - started) / done * (total - done)
                print(f"  {done:,} of {total:,} photos, about {hms(left)} left",
                      file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("Skipped: the search index is built the next time.", file=sys.stderr)
        return
    print("Search index ready.", file=sys.stderr)


def setup_logging(verbose: bool) -> None:
    """Our own warnings always; other libraries' chatter (download retries…) only with -v."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("photoclip: %(message)s"))
    if not verbose:
        handler.addFilter(lambda record: record.name.startswith("photoclip"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler],
                        force=True)


def _fail(e: PhotoclipError) -> int:
    print(escaped(f"photoclip: {e}"), file=sys.stderr)  # (names a file or tag may hold)
    return e.exit_code


def cmd_gui(lib: Library, args) -> int:
    lib.close()
    from photoclip.gui.launch import main as open_app  # (no Qt until it can open)

    return open_app(["--minimized"] if args.minimized else [])


COMMANDS = {"gui": cmd_gui, **cli_folders.COMMANDS, **cli_search.COMMANDS, **cli_tags.COMMANDS,
            **cli_categories.COMMANDS, **cli_duplicates.COMMANDS, **cli_models.COMMANDS}
