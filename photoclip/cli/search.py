"""``photoclip search | similar``: a search as typed in the app's bar (see
core/search/query.py for its grammar), and photos like a given one (lib.search)."""

from __future__ import annotations

from pathlib import Path

from photoclip.cli.output import EXIT_OK, print_hits
from photoclip.core.library import Library
from photoclip.core.search.searcher import Filters


def _filters(args) -> Filters:
    folder = str(Path(args.folder).expanduser().resolve()) if args.folder else None
    return Filters(folder=folder, after=args.after, before=args.before, min_score=args.min_score)


def cmd_search(lib: Library, args) -> int:
    print_hits(lib.search.find(args.query, args.limit, _filters(args)), args.json)
    return EXIT_OK


def cmd_similar(lib: Library, args) -> int:
    print_hits(lib.search.similar(args.photo, args.limit, _filters(args)), args.json)
    return EXIT_OK


COMMANDS = {"search": cmd_search, "similar": cmd_similar}
