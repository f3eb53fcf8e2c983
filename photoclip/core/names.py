"""One rule for every name a user gives: tag sets, labels, keywords and categories.

- :func:`clean` is what is stored: Unicode NFC, control characters gone, runs of white space
  (new lines included) one space, trimmed. An empty result is refused.
- :func:`key` is what names are compared by: the clean name with Unicode case folding, so
  "Ärger" and "ärger" (or "STRASSE" and "straße") are one name — SQLite's NOCASE folds ASCII
  only.
- :func:`quote` / :func:`unquote` write and read a name inside a query (``tag:"city street"``,
  ``category:"He said \\"hi\\""``): quotes only where needed, backslash escapes inside them.
- :func:`printable` is a name (or path) for a terminal: control characters (escape sequences)
  shown as ``\\xNN`` instead of being obeyed.
"""

from __future__ import annotations

import re
import unicodedata

from photoclip.core.errors import PhotoclipError

# C0 and C1 control characters, DEL, the Unicode line/paragraph separators, and the
# bidirectional overrides and isolates (U+202E makes "gpj.exe" read "exe.jpg").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def clean(name: str, what: str = "A name") -> str:
    """The stored form of a name (see the module doc); PhotoclipError when nothing is left."""
    text = unicodedata.normalize("NFC", str(name))
    text = " ".join(_CONTROL.sub(" ", text).split())
    if not text:
        raise PhotoclipError(f"{what} cannot be empty.")
    return text


def key(name: str) -> str:
    """What two names are compared by: equal keys are the same name."""
    text = unicodedata.normalize("NFC", str(name))
    text = " ".join(_CONTROL.sub(" ", text).split())
    return unicodedata.normalize("NFC", text.casefold())


def quote(name: str) -> str:
    """``beach`` → ``beach``; ``city street`` → ``"city street"``; quotes and backslashes
    inside a quoted name are escaped. :func:`unquote` gives the name back."""
    if name and not any(c.isspace() or c in '"\\' for c in name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def unquote(text: str) -> str:
    """The name in a (possibly quoted) query term."""
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


# A quoted name (escapes allowed inside) or a run of non-space characters.
TERM_VALUE = r'(?:"(?:[^"\\]|\\.)*"|\S+)'


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: control characters as ``\\xNN``."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256
                        else f"\\u{ord(m.group()):04x}", text)
