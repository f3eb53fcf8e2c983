"""``photoclip duplicates``: the same photo saved twice, near-identical shots (lib.duplicates).

    photoclip duplicates [--folder DIR] [--similar] [--json]
    photoclip duplicates resolve [--folder DIR] [--similar] [--trash|--mark] [--yes]
    photoclip duplicates undo
"""

from __future__ import annotations

import argparse
import sys

from photoclip.cli.output import EXIT_USAGE, to_json
from photoclip.core.duplicates.model import SAME, Group
from photoclip.core.library import Library
from photoclip.core.names import printable
from photoclip.core.paths import shown

EXAMPLES = """\
Duplicates are found among the photos already indexed: byte copies, and copies re-saved,
resized, converted to another format or rotated are "the same photo"; with --similar, bursts
and light crops or edits of one shot ("near-identical shots") too. Two different photos of the
same kind of thing (two dogs) are never grouped. Each group suggests the photo to keep (the
RAW, the most pixels, the sharpest, the original) and says why.

  photoclip duplicates                          # list the groups
  photoclip duplicates --similar --json         # with near-identical shots, as JSON
  photoclip duplicates resolve --mark           # keep the suggested photo, mark the others
  photoclip duplicates resolve --folder ~/Pictures/Imports --yes   # others to the trash
  photoclip duplicates undo                     # take the last resolution back

Resolving never deletes a photo: --trash (the default) moves the others to the system trash
(recoverable), --mark keeps them and gives them the keyword "duplicate" (search
'tag:duplicate'). Either way the kept photo inherits the others' tags set by hand and their
category examples, and a resolved group does not come back."""


def add_parsers(sub) -> None:
    s = sub.add_parser("duplicates", help="find the same photo saved twice (and near-identical "
                                          "shots), keep the best one",
                       description=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _scope(s)
    s.add_argument("--json", action="store_true",
                   help='print {"groups": [{"kind", "keep", "photos", "reason"}, ...]}')
    ds = s.add_subparsers(dest="duplicates_command", metavar="ACTION")
    r = ds.add_parser("resolve", help="keep the suggested photo of every group; move the "
                                      "others to the trash (or --mark them)")
    _scope(r)
    how = r.add_mutually_exclusive_group()
    how.add_argument("--trash", dest="action", action="store_const", const="trash",
                     help="move the others to the system trash (the default; recoverable)")
    how.add_argument("--mark", dest="action", action="store_const", const="mark",
                     help='keep the others, marked with the keyword "duplicate"')
    r.add_argument("--yes", action="store_true", help="do not ask first")
    r.add_argument("--json", action="store_true", help="print what was done as JSON")
    ds.add_parser("undo", help="take the last resolution back (files return from the trash)")


def _scope(p: argparse.ArgumentParser) -> None:
    p.add_argument("--folder", metavar="DIR", help="only photos inside DIR")
    p.add_argument("--similar", action="store_true",
                   help="near-identical shots too (bursts, light crops and edits)")


def cmd_duplicates(lib: Library, args) -> int:
    action = getattr(args, "duplicates_command", None)
    if action == "undo":
        return _undo(lib)
    groups = lib.duplicates.find(args.folder, similar=args.similar,
                                 progress=_Progress() if not args.json else None)
    if action == "resolve":
        return _resolve(lib, args, groups)
    if args.json:
        print(to_json({"groups": [g.to_json() for g in groups]}))
        return 0
    if not groups:
        print("No duplicates." + ("" if args.similar else
                                  " ('--similar' looks for near-identical shots too.)"))
        return 0
    for g in groups:
        _print_group(g)
    n_same = sum(g.kind == SAME for g in groups)
    others = sum(len(g.others) for g in groups)
    print(f"{len(groups)} group{'s' * (len(groups) != 1)} ({n_same} of the same photo, "
          f"{len(groups) - n_same} of near-identical shots); {others} photo"
          f"{'s' * (others != 1)} could go. 'photoclip duplicates resolve' keeps the first of "
          "each group (or review them in the app: Duplicates…).")
    return 0


def _print_group(g: Group) -> None:
    kind = "the same photo" if g.kind == SAME else "near-identical shots"
    print(f"{kind}: keep {printable(shown(g.keep.path))} ({g.why})")
    for m in g.members:
        size = f"{m.width}×{m.height}" if m.width and m.height else "?"
        mark = "keep " if m is g.keep else "     "
        print(f"  {mark}{printable(shown(m.path))}  {size}  {m.size / 1e6:.1f} MB  {m.format}"
              f"  {m.taken_at or ''}")


def _resolve(lib: Library, args, groups: list[Group]) -> int:
    action = args.action or "trash"
    if not groups:
        print(to_json(lib.duplicates.resolve([], action).to_json()) if args.json
              else "No duplicates to resolve.")
        return 0
    others = sum(len(g.others) for g in groups)
    what = "move to the system trash" if action == "trash" else 'mark with "duplicate"'
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"This would {what} {others} photo{'s' * (others != 1)} of {len(groups)} "
                  "group(s); add --yes to do it without a question.", file=sys.stderr)
            return EXIT_USAGE
        for g in groups:
            _print_group(g)
        answer = input(f"Keep the first photo of each group and {what} the other {others}? "
                       "[y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 0
    res = lib.duplicates.resolve(groups, action)
    if args.json:
        print(to_json(res.to_json()))
        return 1 if res.problems else 0
    done = len(res.trashed) if action == "trash" else len(res.marked)
    verb = "moved to the trash" if action == "trash" else "marked as duplicates"
    print(f"{done} file{'s' * (done != 1)} {verb} ({res.groups} group"
          f"{'s' * (res.groups != 1)}); the kept photos inherited {res.inherited_tags} tag"
          f"{'s' * (res.inherited_tags != 1)} and {res.inherited_examples} category example"
          f"{'s' * (res.inherited_examples != 1)}. 'photoclip duplicates undo' takes it back.")
    for p in res.problems:
        print(f"  not done: {printable(p)}")
    return 1 if res.problems else 0


def _undo(lib: Library) -> int:
    u = lib.duplicates.undo()
    parts = []
    if u.restored:
        parts.append(f"{len(u.restored)} file{'s' * (len(u.restored) != 1)} back from the trash")
    if u.unmarked:
        parts.append(f"{u.unmarked} photo{'s' * (u.unmarked != 1)} no longer marked")
    if u.rows:
        parts.append(f"{u.rows} tag{'s' * (u.rows != 1)} and example{'s' * (u.rows != 1)} "
                     "as they were before")
    print("Undone: " + ("; ".join(parts) if parts else "the groups will be shown again") + ".")
    for p in u.problems:
        print(f"  not restored: {printable(p)}")
    return 1 if u.problems else 0


class _Progress:
    """'Reading photos indexed before 120/4000' on stderr (a terminal only)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.shown = False

    def __call__(self, what: str, done: int, total: int) -> None:
        if self.tty and total > 500:
            sys.stderr.write(f"\r{what} {done}/{total}   ")
            self.shown = True
            if done >= total:
                sys.stderr.write("\n")
                sys.stderr.flush()


COMMANDS = {"duplicates": cmd_duplicates}
