"""``photoclip category``: the user's categories, their examples and members (lib.categories)."""

from __future__ import annotations

import argparse

from photoclip.cli.output import to_json
from photoclip.core.categories.model import THRESHOLD
from photoclip.core.library import Library
from photoclip.core.paths import shown
from photoclip.core.search import query as grammar

EXAMPLES = """\
categories: mark a few photos, PhotoCLIP learns the rest (retrained on every change):
  photoclip category create Receipts --description "a photo of a shop receipt"
  photoclip category add Receipts ~/Pictures/scan_0012.jpg ~/Pictures/scan_0031.jpg
  photoclip category add Receipts ~/Pictures/menu.jpg --not    # not in this category
  photoclip category suggest Receipts        # the photos worth answering next
  photoclip category show Receipts --limit 20
  photoclip search "category:Receipts" --json
  photoclip category export Receipts          # members as the XMP keyword Categories|Receipts"""


def add_parsers(sub) -> None:
    s = sub.add_parser("category", help="teach PhotoCLIP your own categories from a few "
                                        "examples", description=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    cs = s.add_subparsers(dest="category_command", metavar="ACTION", required=True)
    c = cs.add_parser("create", help="a new category (then add examples)")
    c.add_argument("name")
    c.add_argument("--description", default="", metavar="TEXT",
                   help="what it is, in words (helps while there are few examples)")
    a = cs.add_parser("add", help="photos in the category (or, with --not, not in it)")
    a.add_argument("name")
    a.add_argument("paths", nargs="+", metavar="PATH")
    a.add_argument("--not", dest="negative", action="store_true",
                   help="these photos are NOT in the category")
    f = cs.add_parser("forget", help="drop photos from the examples (in or not in)")
    f.add_argument("name")
    f.add_argument("paths", nargs="+", metavar="PATH")
    ls = cs.add_parser("list", help="categories: examples +/-, members, estimated quality")
    ls.add_argument("--json", action="store_true")
    for name, helptext in (("show", "the members, most likely first, with probability"),
                           ("suggest", "unlabelled photos it is least sure about: answer "
                                       "these next (add, or add --not)")):
        p = cs.add_parser(name, help=helptext)
        p.add_argument("name")
        p.add_argument("--limit", type=int, default=50 if name == "show" else 20, metavar="N")
        p.add_argument("--json", action="store_true")
    t = cs.add_parser("threshold", help="how sure it must be to count a photo in")
    t.add_argument("name")
    t.add_argument("value", type=float, metavar="P",
                   help=f"a probability between 0 and 1 (default {THRESHOLD:g}; higher: "
                        f"fewer, surer members)")
    r = cs.add_parser("rename", help="a new name (and/or description)")
    r.add_argument("name")
    r.add_argument("new_name", nargs="?")
    r.add_argument("--description", metavar="TEXT")
    d = cs.add_parser("delete", help="delete a category and its examples")
    d.add_argument("name")
    e = cs.add_parser("export", help="write members to XMP sidecars as the keyword "
                                     "Categories|NAME (merged into existing sidecars)")
    e.add_argument("name")
    e.add_argument("--folder", metavar="DIR")
    e.add_argument("--naming", choices=("ext", "base"), default="ext",
                   help="ext: photo.jpg.xmp (default); base: photo.xmp")


def cmd_category(lib: Library, args) -> int:
    return {"create": _create, "add": _add, "forget": _add, "list": _list, "show": _show,
            "suggest": _show, "threshold": _threshold, "rename": _rename, "delete": _delete,
            "export": _export}[args.category_command](lib, args)


def _create(lib: Library, args) -> int:
    cat = lib.categories.create(args.name, args.description)
    print(f"Created {cat.name}. Add examples: photoclip category add {_quoted(cat.name)} "
          "PATH…")
    return 0


def _add(lib: Library, args) -> int:
    forget = args.category_command == "forget"
    positive = None if forget else not args.negative
    cat = lib.categories.label(args.name, args.paths, positive)
    what = ("forgotten" if forget else "not in the category" if args.negative
            else "in the category")
    print(f"{cat.name}: {len(args.paths)} photo(s) {what}; {cat.positives} in, "
          f"{cat.negatives} not in.")
    members = lib.categories.members(cat.name)
    print(f"{len(members)} members now.")
    return 0


def _list(lib: Library, args) -> int:
    rows = lib.categories.overview()
    if args.json:
        print(to_json(rows))
        return 0
    if not rows:
        print("No categories yet: photoclip category create NAME.")
    for r in rows:
        print(f"{r['name']}: {r['members']} members; examples {r['positives']} in, "
              f"{r['negatives']} not in; threshold {r['threshold']:g}")
        print(f"  quality: {r['quality_text']}")
    return 0


def _show(lib: Library, args) -> int:
    if args.category_command == "show":
        hits = lib.search.find(grammar.category_term(args.name), limit=args.limit)
    else:
        hits = lib.categories.suggestions(args.name, args.limit)
    if args.json:
        print(to_json([{"path": h.path, "probability": round(h.score, 4)} for h in hits]))
        return 0
    if not hits:
        print("No members yet." if args.category_command == "show"
              else "Nothing to ask: every photo is labelled, or none is indexed.")
    elif all(h.score != h.score for h in hits):  # (NaN: no example yet to learn from)
        print(f"No example yet: the photos {args.name!r} describes best. Mark a few "
              f"('photoclip category add {args.name} PATH...') and it learns from them.")
    for h in hits:
        print(f"{'' if h.score != h.score else format(h.score, '.1%'):>6}  {shown(h.path)}")
    return 0


def _threshold(lib: Library, args) -> int:
    cat = lib.categories.update(args.name, threshold=args.value)
    print(f"{cat.name}: threshold {cat.threshold:g}, {len(lib.categories.members(cat.name))} "
          "members.")
    return 0


def _rename(lib: Library, args) -> int:
    cat = lib.categories.update(args.name, args.new_name, args.description)
    print(f"{args.name} is now {cat.name}" + (f" ({cat.description})" if cat.description
                                               else "") + ".")
    return 0


def _delete(lib: Library, args) -> int:
    lib.categories.delete(args.name)
    print(f"Deleted {args.name} and its examples (no photo was touched).")
    return 0


def _export(lib: Library, args) -> int:
    r = lib.categories.export_xmp(args.name, args.folder, args.naming)
    for sentence in r.sentences():
        print(sentence)
    for path, why in r.failed:
        print(f"  not written: {shown(path)}: {why}")
    return 1 if r.failed else 0


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


COMMANDS = {"category": cmd_category}
