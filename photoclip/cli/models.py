"""``photoclip models``: the models PhotoCLIP offers, to choose one (``--model SPEC``)."""

from __future__ import annotations

from photoclip.cli.output import to_json
from photoclip.core.library import Library
from photoclip.core.model.choices import CHOICES, find, speed, suggested, system_language

HELP = ("the models PhotoCLIP offers: the languages each understands, its download, quality "
        "and speed on this computer")


def add_parsers(sub) -> None:
    s = sub.add_parser("models", help=HELP, description=HELP[0].upper() + HELP[1:] + ". "
                       "Switch with 'photoclip --model SPEC index': the library re-embeds its "
                       "photos with the new model. Any other open_clip NAME:PRETRAINED, "
                       "hf-hub:ORG/REPO or local-dir:PATH works the same way.")
    s.add_argument("--json", action="store_true", help="print JSON")


def cmd_models(lib: Library, args) -> int:
    measured = lib.model.measured_speed()
    pick, why = suggested(system_language())
    in_use = lib.model.id
    rows = [{**c.to_dict(), "in_use": c.spec == in_use, "speed": speed(c, measured)}
            for c in CHOICES]
    if args.json:
        print(to_json({"in_use": in_use, "suggested": pick.spec, "why": why, "models": rows}))
        return 0
    for c, row in zip(CHOICES, rows, strict=True):
        mark = "  (in use)" if row["in_use"] else "  (suggested)" if c is pick else ""
        print(f"{c.title}{mark}\n  --model {c.spec}\n"
              f"  languages: {c.languages}\n"
              f"  download {c.download_mb:,} MB · ImageNet {c.imagenet:g} % · {row['speed']} · "
              f"suits {c.suits}\n  {c.about}\n")
    if find(in_use) is None:
        print(f"In use: {in_use} (not one of these).")
    print(f"Suggested here: {pick.title}. {why}\n"
          "Switch: photoclip --model SPEC index (the photos are embedded again with it).")
    return 0


COMMANDS = {"models": cmd_models}
