"""``photoclip tagset | tag | tags | xmp``: tag sets, a photo's tags, XMP sidecars (lib.tags)."""

from __future__ import annotations

import argparse

from photoclip.cli.output import to_json
from photoclip.core.errors import PhotoclipError
from photoclip.core.library import Library
from photoclip.core.paths import shown
from photoclip.core.tags.model import THRESHOLD, Label, TagSet, starter_sets

EXAMPLES = """\
tag sets: your own vocabularies, applied zero-shot to the library and to every new photo:
  photoclip tagset create Places beach mountain "city street=street,downtown" forest snow
  photoclip tagset create --starter places        # one of the sets that ship (tagset starters)
  photoclip tagset apply Places --folder ~/Pictures/Trips
  photoclip search "tag:beach dog"
  photoclip untag ~/Pictures/Trips/img_0042.jpg beach    # your word wins over auto-tagging
  photoclip xmp export --folder ~/Pictures/Trips          # for digiKam, darktable, Lightroom"""


def add_parsers(sub) -> None:
    s = sub.add_parser("tagset", help="make, apply and list tag sets (your own vocabularies)",
                       description=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ts = s.add_subparsers(dest="tagset_command", metavar="ACTION", required=True)
    c = ts.add_parser("create", help="make a tag set from labels (or from a starter set)")
    c.add_argument("name", nargs="?", help="the set's name, e.g. Places")
    c.add_argument("labels", nargs="*", metavar="LABEL",
                   help="labels; 'city street=street,downtown' adds synonyms")
    c.add_argument("--exclusive", action="store_true",
                   help="each photo gets at most one label of this set (the best fit)")
    c.add_argument("--context", metavar="TEXT",
                   help="a prompt with {} for the label, e.g. 'a photo taken at the {}.'")
    c.add_argument("--threshold", type=float, metavar="T",
                   help=f"strictness: how much likelier than the photo's runner-up everyday "
                        f"alternative a label must be, in logits (default {THRESHOLD:g}; 1 is "
                        f"e times likelier, 2 about 7 times)")
    c.add_argument("--starter", metavar="NAME",
                   help="copy a starter set (see 'photoclip tagset starters'); NAME renames it")
    ts.add_parser("starters", help="list the tag sets that ship with PhotoCLIP")
    a = ts.add_parser("apply", help="tag photos now, and every new photo there from now on")
    a.add_argument("name")
    a.add_argument("--folder", metavar="DIR", help="only this folder (default: the library)")
    u = ts.add_parser("unapply", help="stop a tag set: it tags no more photos (there) and "
                                      "its automatic tags go; tags set by hand stay")
    u.add_argument("name")
    u.add_argument("--folder", metavar="DIR", help="only this folder (default: everywhere)")
    ls = ts.add_parser("list", help="tag sets, labels and how many photos carry each")
    ls.add_argument("--json", action="store_true")
    t = ts.add_parser("threshold", help="make a set or one label stricter (higher) or looser; "
                                        "its auto tags are redone")
    t.add_argument("name")
    t.add_argument("value", type=float, metavar="T",
                   help=f"margin in logits (default {THRESHOLD:g}; higher is stricter)")
    t.add_argument("--label", help="only this label")
    d = ts.add_parser("delete", help="delete a tag set and its tags (manual ones too)")
    d.add_argument("name")

    for name, helptext in (("tag", "tag photos by hand (it always wins over auto-tagging)"),
                           ("untag", "take a tag off photos (it stays off after re-applying)")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("paths", nargs="+", metavar="PATH")
        s.add_argument("tag", help="a label (Places/beach when several sets have it) or any "
                                   "keyword")
    s = sub.add_parser("tags", help="a photo's tags: label, set, confidence, source")
    s.add_argument("path")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser("xmp", help="tags to and from XMP sidecars (digiKam, darktable, "
                                   "Lightroom)")
    x = s.add_subparsers(dest="xmp_command", metavar="ACTION", required=True)
    e = x.add_parser("export", help="write tags to sidecars beside the photos (merged into "
                                    "existing ones: their other fields are kept)")
    e.add_argument("--folder", metavar="DIR")
    e.add_argument("--naming", choices=("ext", "base"), default="ext",
                   help="ext: photo.jpg.xmp (digiKam, darktable; default); base: photo.xmp "
                        "(Lightroom, Capture One)")
    i = x.add_parser("import", help="keywords of sidecars and of the photos themselves "
                                    "become manual tags")
    i.add_argument("--folder", metavar="DIR")


def cmd_tagset(lib: Library, args) -> int:
    return {"create": _create, "starters": _starters, "apply": _apply, "unapply": _unapply,
            "list": _list, "threshold": _threshold, "delete": _delete}[args.tagset_command](
                lib, args)


def _create(lib: Library, args) -> int:
    if args.starter:
        starters = starter_sets()
        key = args.starter.lower()
        found = starters.get(key) or next(
            (t for t in starters.values() if t.name.lower() == key), None)
        if found is None:
            raise PhotoclipError(f"There is no starter set {args.starter} (starters: "
                                 f"{', '.join(starters)}).")
        if args.name:
            found.name = args.name
        if args.labels:
            found.labels += [Label.parse(x) for x in args.labels]
        ts = found
    else:
        if not args.name or not args.labels:
            raise PhotoclipError("Name the set and its labels: photoclip tagset create Places "
                                 "beach mountain \"city street\".")
        ts = TagSet(args.name, [Label.parse(x) for x in args.labels])
    if args.exclusive:
        ts.exclusive = True
    if args.context is not None:
        ts.context = args.context
    if args.threshold is not None:
        ts.threshold = args.threshold
    ts = lib.tags.create_set(ts)
    print(f"Created {ts.name}{' (exclusive)' if ts.exclusive else ''}: "
          f"{', '.join(lb.name for lb in ts.labels)}.")
    print(f"Apply it with 'photoclip tagset apply {_quoted(ts.name)}' (optionally --folder DIR).")
    return 0


def _starters(lib: Library, args) -> int:
    for key, ts in starter_sets().items():
        kind = "exclusive" if ts.exclusive else "any number per photo"
        print(f"{key}: {ts.name} ({kind}): {', '.join(lb.name for lb in ts.labels)}")
    print("Copy one with 'photoclip tagset create --starter KEY [NAME]'.")
    return 0


def _apply(lib: Library, args) -> int:
    r = lib.tags.apply(args.name, args.folder)
    where = shown(args.folder) if args.folder else "the library"
    print(f"{r.tagset}: {r.tagged} tags on {r.photos} photos in {r.seconds:.1f} s. New photos "
          f"in {where} are tagged as they are indexed.")
    pending = lib.folders.counts()["pending"]
    if pending:
        print(f"{pending} photos are not indexed yet: they get their tags when they are "
              "('photoclip index').")
    return 0


def _unapply(lib: Library, args) -> int:
    gone = lib.tags.unapply(args.name, args.folder)
    where = shown(args.folder) if args.folder else "any folder"
    print(f"{args.name} no longer tags photos in {where}; {gone} automatic tag"
          f"{'s' if gone != 1 else ''} taken off (tags set by hand stay). "
          f"'photoclip tagset apply {args.name}' starts it again.")
    return 0


def _list(lib: Library, args) -> int:
    counts = lib.tags.counts()
    sets = lib.tags.sets()
    keywords = lib.tags.keywords()
    if args.json:
        out = []
        for ts in sets:
            d = ts.to_dict()
            d["problem"] = ts.problem
            for lb, item in zip(ts.labels, d["labels"], strict=True):
                item["count"] = counts.get(lb.id, 0) if lb.id is not None else 0
                item["threshold"] = ts.threshold_of(lb)
            out.append(d)
        print(to_json({"tagsets": out, "keywords": [
            {"name": name, "count": counts.get(tid, 0)} for tid, name in keywords]}))
        return 0
    if not sets and not keywords:
        print("No tag sets yet: 'photoclip tagset create NAME LABEL…' or "
              "'photoclip tagset starters'.")
    for ts in sets:
        where = ", ".join("the library" if s == "" else shown(s) for s in ts.scopes) \
            or "not applied yet"
        print(f"{ts.name} ({'exclusive, ' if ts.exclusive else ''}threshold {ts.threshold:g}; "
              f"{'applied to ' + where if ts.scopes else where})")
        if ts.problem:
            print(f"  cannot tag photos now: {ts.problem}")
        for lb in ts.labels:
            extra = f"  [threshold {lb.threshold:g}]" if lb.threshold is not None else ""
            count = counts.get(lb.id, 0) if lb.id is not None else 0
            print(f"  {lb.name}: {count}{extra}")
    if keywords:
        print("Keywords: " + ", ".join(f"{n} ({counts.get(t, 0)})" for t, n in keywords))
    return 0


def _threshold(lib: Library, args) -> int:
    ts = lib.tags.set_threshold(args.name, args.value, args.label)
    what = f"{ts.name}/{args.label}" if args.label else ts.name
    print(f"{what}: threshold {args.value:g}.")
    if ts.applied:
        r = lib.tags.retag(ts.name)
        print(f"Re-tagged: {r.tagged} tags on {r.photos} photos.")
    return 0


def _delete(lib: Library, args) -> int:
    n = lib.tags.delete_set(args.name)
    print(f"Deleted {args.name} and its {n} photo tags.")
    return 0


def cmd_tag(lib: Library, args) -> int:
    present = args.command == "tag"
    tag_id = lib.tags.set(args.paths, args.tag, present=present)
    n = len(args.paths)
    print(f"{'Tagged' if present else 'Untagged'} {n} photo{'s' if n != 1 else ''}: "
          f"{lib.tags.describe(tag_id)}.")
    return 0


def cmd_tags(lib: Library, args) -> int:
    tags = lib.tags.photo_tags(args.path)
    if args.json:
        print(to_json([t.to_dict() for t in tags]))
        return 0
    if not tags:
        print("No tags.")
    for t in tags:
        how = (f"auto {t.confidence:.0%}" if t.source == "auto" and t.confidence is not None
               else t.source)
        print(f"{'/'.join(t.hierarchical)}  ({how})")
    return 0


def cmd_xmp(lib: Library, args) -> int:
    if args.xmp_command == "export":
        exported = lib.tags.export_xmp(args.folder, args.naming)
        for sentence in exported.sentences():
            print(sentence)
        for path, why in exported.failed:
            print(f"  not written: {shown(path)}: {why}")
        return 1 if exported.failed else 0
    imported = lib.tags.import_xmp(args.folder)
    for sentence in imported.sentences():
        print(sentence)
    for path, why in imported.failed:
        print(f"  not read: {shown(path)}: {why}")
    return 0


def _quoted(name: str) -> str:
    return f'"{name}"' if " " in name else name


COMMANDS = {"tagset": cmd_tagset, "tag": cmd_tag, "untag": cmd_tag, "tags": cmd_tags,
            "xmp": cmd_xmp}
