"""XMP sidecars: tags out to digiKam, darktable, Lightroom; keywords in.

The only place PhotoCLIP writes next to photos, and only when asked (``photoclip xmp export``).

- Names: ``photo.jpg.xmp`` (digiKam, darktable; the default) or ``photo.xmp`` (Lightroom,
  Capture One). With ``photo.xmp``, two photos of one name (``IMG_1.jpg``, ``IMG_1.png``)
  would share a sidecar: neither is written (reported), and import reads it for neither.
- Fields: ``dc:subject`` (the label), ``lr:hierarchicalSubject`` (``Places|beach``; darktable
  reads only this one when present) and ``digiKam:TagsList`` (``Places/beach``). A name that
  holds a field's separator (``AC/DC``, ``rock|roll``) is left out of that field rather than
  written where a reader would split it; markup is escaped; characters XML cannot hold
  (control characters) are never written.
- Ownership is exact: PhotoCLIP records in its own namespace (``photoclip:WroteSubject`` …,
  one ``kind:value`` entry per field value, kind ``auto``, ``manual`` or ``category``) what it
  added. It removes only entries recorded there, and records only entries it added: a keyword
  the sidecar already held is the user's and is never removed, whatever its name.
- Everything else in an existing sidecar is kept as it was (rating, title, other keywords,
  other namespaces and their prefixes). It is replaced atomically (a crash leaves the old
  sidecar or the new one; a temporary file left by a killed run is removed by the next export
  of that folder); a read-only one (no write permission bit) is reported, not replaced; a
  symbolic link is never written through.
- Hostile files are refused, not read: anything but a regular file (FIFOs, devices), files
  over :data:`MAX_SIDECAR` bytes, DTDs and entities (XXE, entity bombs), absurd nesting or
  numbers of namespace declarations. Parsing and merging are linear, and keep no state across
  files (no global namespace registry).

Import reads sidecars (both names) and the keywords embedded in the photo (XMP packet, IPTC,
decoded by its declared character set, else UTF-8, else Latin-1). Entries PhotoCLIP recorded as
its own automatic tags or category memberships are left alone (auto stays auto, a category a
category); everything else becomes a manual tag, once.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
import threading
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, NoReturn
from xml.parsers import expat

from photoclip.core.paths import fsync_dir, shown

if TYPE_CHECKING:
    from photoclip.core.store.tags import TagStore

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "photoclip": "https://github.com/photoclip/photoclip/ns/xmp/1.0/",
}
XML_NS = "http://www.w3.org/XML/1998/namespace"


def _qname(prefix: str, name: str) -> str:
    return "{" + NS[prefix] + "}" + name


RDF = _qname("rdf", "")
LI = RDF + "li"
SUBJECT = _qname("dc", "subject")
HIERARCHICAL = _qname("lr", "hierarchicalSubject")
TAGSLIST = _qname("digiKam", "TagsList")
# each field: its container, how a path is written in it, and where PhotoCLIP records what it
# wrote there
FIELDS = ((SUBJECT, "Bag", None, _qname("photoclip", "WroteSubject")),
          (HIERARCHICAL, "Bag", "|", _qname("photoclip", "WroteHierarchicalSubject")),
          (TAGSLIST, "Seq", "/", _qname("photoclip", "WroteTagsList")))
KINDS = ("auto", "manual", "category")
NAMINGS = ("ext", "base")
CATEGORIES = "Categories"  # the keyword parent of exported category memberships

MAX_SIDECAR = 8 << 20  # bytes: real sidecars are kilobytes; anything bigger is refused
MAX_NAMESPACES = 1000  # namespace declarations in one file (real ones: a few dozen)
MAX_DEPTH = 100  # element nesting (real XMP: about a dozen)
EMBEDDED_BYTES = 1 << 20  # metadata sits in a photo's first segments
TMP_SUFFIX = ".photoclip-tmp"
_TMP = re.compile(r"\.xmp\.(?:(\d+)-)?[0-9a-f]{8}" + re.escape(TMP_SUFFIX) + "$")
STALE_TMP_S = 600  # a temporary file this old whose writer cannot be checked is left over

_EMPTY = ("<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"" + NS["rdf"] + "\">"
          "<rdf:Description rdf:about=\"\"/></rdf:RDF></x:xmpmeta>").encode()
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'


class XmpError(Exception):
    """A sidecar that is not XMP PhotoCLIP can read or merge into (it is left untouched)."""


def sidecar_path(photo: str, naming: str = "ext") -> str:
    """``photo.jpg`` → ``photo.jpg.xmp`` (ext) or ``photo.xmp`` (base)."""
    if naming == "base":
        return os.path.splitext(photo)[0] + ".xmp"
    return photo + ".xmp"


# -- names: what may go into XML -------------------------------------------------------------

# C0/C1 controls, DEL, line/paragraph separators (white space to collapse), and what XML 1.0
# cannot hold at all: surrogates and U+FFFE/U+FFFF.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def clean(name: str) -> str:
    """A name as it may be written into XML (and as PhotoCLIP stores names): NFC, control
    characters gone, white space collapsed, trimmed. May be empty."""
    text = unicodedata.normalize("NFC", str(name))
    return " ".join(_CONTROL.sub(" ", text).split())


def _entry(path: list[str], sep: str | None) -> str | None:
    """How the tag ``path`` is written in a field: the leaf in dc:subject, the joined path in
    the hierarchical ones; None where a level holds the field's separator (a reader would
    split it) or nothing is left of a level."""
    levels = [clean(x) for x in path]
    if not all(levels):
        return None
    if sep is None:
        return levels[-1]
    if any(sep in x for x in levels):
        return None
    return sep.join(levels)


# -- reading files safely --------------------------------------------------------------------


def _open_regular(path: str, follow: bool = True) -> tuple[int, os.stat_result]:
    """An fd of ``path`` opened without blocking (a FIFO does not hang us) that is checked to
    be a regular file (a device, FIFO or socket is refused)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    if not follow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise XmpError("not a regular file")
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def _read_capped(fd: int, cap: int) -> bytes:
    chunks, size = [], 0
    while size <= cap:
        b = os.read(fd, min(1 << 20, cap + 1 - size))
        if not b:
            break
        chunks.append(b)
        size += len(b)
    return b"".join(chunks)


def read_file(path: str, follow: bool = True) -> bytes:
    """A sidecar's bytes: a regular file of at most :data:`MAX_SIDECAR` bytes, else XmpError."""
    fd, st = _open_regular(path, follow)
    try:
        if st.st_size > MAX_SIDECAR:
            raise XmpError(f"larger than {MAX_SIDECAR >> 20} MB: not a sidecar")
        data = _read_capped(fd, MAX_SIDECAR)
        if len(data) > MAX_SIDECAR:
            raise XmpError(f"larger than {MAX_SIDECAR >> 20} MB: not a sidecar")
        return data
    finally:
        os.close(fd)


# -- parsing and writing XML without global state --------------------------------------------


class _Refused(Exception):
    pass


def _parse(data: bytes) -> tuple[ET.Element, dict[str, str]]:
    """The element tree of ``data`` and its namespace prefixes (uri → the file's prefix).
    DTDs (and so entities: XXE, entity bombs) are refused, as are absurd nesting and numbers
    of namespace declarations. Names are ElementTree's ``{uri}local``."""
    p = expat.ParserCreate(None, "}")
    p.buffer_text = True
    p.ordered_attributes = False
    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    prefixes: dict[str, str] = {}
    declared = 0
    stack: list[ET.Element] = []
    root: list[ET.Element] = []
    text: list[str] = []

    def fix(name: str) -> str:
        return "{" + name if "}" in name else name

    def flush() -> None:
        if not text or not stack:
            text.clear()
            return
        s = "".join(text)
        text.clear()
        top = stack[-1]
        if len(top):
            last = top[-1]
            last.tail = (last.tail or "") + s
        else:
            top.text = (top.text or "") + s

    def start(name: str, attrs: dict[str, str]) -> None:
        flush()
        if len(stack) >= MAX_DEPTH:
            raise _Refused(f"nested more than {MAX_DEPTH} deep")
        el = ET.Element(fix(name), {fix(k): v for k, v in attrs.items()})
        if stack:
            stack[-1].append(el)
        else:
            root.append(el)
        stack.append(el)

    def end(name: str) -> None:
        flush()
        stack.pop()

    def ns_decl(prefix: str | None, uri: str | None) -> None:
        nonlocal declared
        declared += 1
        if declared > MAX_NAMESPACES:
            raise _Refused(f"declares more than {MAX_NAMESPACES} namespaces")
        if prefix and uri and uri not in prefixes:
            prefixes[uri] = prefix

    def refuse(*_args: object) -> NoReturn:
        raise _Refused("a DTD or entity declaration (not allowed in XMP)")

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = text.append
    p.StartNamespaceDeclHandler = ns_decl
    p.StartDoctypeDeclHandler = refuse
    p.EntityDeclHandler = refuse
    p.UnparsedEntityDeclHandler = refuse
    p.ExternalEntityRefHandler = refuse
    try:
        p.Parse(data, True)
    except _Refused as e:
        raise XmpError(f"refused: {e}") from None
    except expat.ExpatError as e:
        raise XmpError(f"not valid XML ({expat.ErrorString(e.code)}, line {e.lineno})") \
            from None
    if not root:
        raise XmpError("not valid XML (no element)")
    return root[0], prefixes


# a character XML 1.0 cannot hold, raw or as a reference: what older PhotoCLIP versions (and
# other programs) wrote from an IPTC keyword, making the whole sidecar unreadable
_BAD_RAW = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_BAD_REF = re.compile(rb"&#(?:x0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F])"
                      rb"|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));")


def _parse_repairing(data: bytes) -> tuple[ET.Element, dict[str, str], bool]:
    """:func:`_parse`, and when the only fault is control characters XML cannot hold, the
    file without them (third value True: it needs rewriting)."""
    try:
        return (*_parse(data), False)
    except XmpError:
        if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # UTF-16: bytes < 0x20 are no evidence
            raise
        fixed = _BAD_REF.sub(b"", _BAD_RAW.sub(b"", data))
        if fixed == data:
            raise
        return (*_parse(fixed), True)


def _escape(s: str, attr: bool = False) -> str:
    s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    if attr:
        s = s.replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    return s


def _serialize(root: ET.Element, prefixes: dict[str, str]) -> bytes:
    """The tree as an XMP packet, each namespace declared once on the root with the file's own
    prefix (else PhotoCLIP's, else ``nsN``), indented. Iterative: no recursion limit."""
    if root.tag == RDF + "RDF":  # a bare rdf:RDF sidecar: wrap it as XMP readers expect
        meta = ET.Element(_qname("x", "xmpmeta"))
        meta.append(root)
        root = meta
    by_uri: dict[str, str] = {XML_NS: "xml"}
    taken = {"xml", "xmlns"}

    def prefix_of(uri: str) -> str:
        p = by_uri.get(uri)
        if p is None:
            p = prefixes.get(uri) or next((k for k, v in NS.items() if v == uri), "")
            if not p or p in taken:
                n = len(by_uri)
                while f"ns{n}" in taken:
                    n += 1
                p = f"ns{n}"
            by_uri[uri] = p
            taken.add(p)
        return p

    def name(n: str) -> str:
        if n[:1] != "{":
            return n
        uri, _, local = n[1:].partition("}")
        return prefix_of(uri) + ":" + local

    out: list[str] = [""]  # [0]: the root's start tag, written last (its declarations)
    # (element, depth) to write, or text to copy
    todo: list[tuple[ET.Element, int] | str] = [(root, 0)]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            out.append(item)
            continue
        el, depth = item
        pad = "\n" + " " * depth
        tag = name(el.tag)
        attrs = "".join(f' {name(k)}="{_escape(v, True)}"' for k, v in el.attrib.items())
        if el is root:
            attrs = "\0" + attrs  # where the declarations go
        text = el.text or ""
        if len(el):
            head = f"<{tag}{attrs}>" + (_escape(text) if text.strip() else "")
            todo.append(("" if text.strip() else pad) + f"</{tag}>")
            for child in reversed(el):
                if child.tail and child.tail.strip():
                    todo.append(_escape(child.tail))
                todo.append((child, depth + 1))
        elif text:
            head = f"<{tag}{attrs}>{_escape(text)}</{tag}>"
        else:
            head = f"<{tag}{attrs}/>"
        if el is root:
            out[0] = head
        else:
            out.append(pad + head)
    decls = "".join(f' xmlns:{p}="{_escape(uri, True)}"' for uri, p in by_uri.items()
                    if p != "xml")
    out[0] = out[0].replace("\0", decls, 1)
    return (_PACKET_BEGIN + "".join(out) + _PACKET_END).encode("utf-8")


# -- merging PhotoCLIP's entries into a tree -------------------------------------------------


def _rdf_root(root: ET.Element) -> ET.Element:
    rdf = root if root.tag == RDF + "RDF" else root.find(RDF + "RDF")
    if rdf is None:
        raise XmpError("no rdf:RDF element: not XMP")
    return rdf


def _items(descriptions: Sequence[ET.Element], tag: str) -> list[ET.Element]:
    return [li for _, li in _items_in(descriptions, tag)]


def _items_in(descriptions: Sequence[ET.Element], tag: str) -> list[tuple[ET.Element, ET.Element]]:
    """(container, rdf:li) of a field, in order."""
    return [(box, li) for d in descriptions for prop in d.findall(tag) for box in prop.iter()
            for li in box if li.tag == LI]


def _record(descriptions: Sequence[ET.Element], tag: str) -> dict[str, set[str]]:
    """What PhotoCLIP recorded it wrote in one field: value → kinds."""
    out: dict[str, set[str]] = {}
    for li in _items(descriptions, tag):
        kind, _, value = (li.text or "").partition(":")
        value = clean(value)
        if kind in KINDS and value:
            out.setdefault(value, set()).add(kind)
    return out


# a tag to write: (its path [set, label] or [keyword], kind)
Carried = list[tuple[list[str], str]]
# whether this export manages an entry: (kind, field tag, value) → bool
Manages = Callable[[str, str, str], bool]


def merge(root: ET.Element, carried: Carried, manages: Manages) -> bool:
    """Bring PhotoCLIP's entries in the tree up to date: each entry of ``carried`` added where
    missing (and recorded as PhotoCLIP's), each recorded entry that ``manages`` covers and is
    no longer carried taken out. Entries PhotoCLIP did not record are never taken out, nor
    claimed. Linear in the size of the tree. Returns whether the tree changed."""
    rdf = _rdf_root(root)
    descriptions = rdf.findall(RDF + "Description")
    if not descriptions:
        descriptions = [ET.SubElement(rdf, RDF + "Description", {RDF + "about": ""})]
    changed = False
    for tag, container, sep, record_tag in FIELDS:
        want: dict[str, str] = {}
        for path, kind in carried:
            e = _entry(path, sep)
            if e is not None:
                want.setdefault(e, kind)
        owned = _record(descriptions, record_tag)
        present: dict[str, list[tuple[ET.Element, ET.Element]]] = {}
        for box, li in _items_in(descriptions, tag):
            present.setdefault(clean(li.text or ""), []).append((box, li))
        drop: dict[int, tuple[ET.Element, set[int]]] = {}  # container → its items to take out
        touched = [v for v, kinds in owned.items() if any(manages(k, tag, v) for k in kinds)]
        new_items: list[str] = []
        record_changed = False
        for v in dict.fromkeys(touched + list(want)):
            old = owned.get(v, set())
            new = {k for k in old if not manages(k, tag, v)}
            if v in want and (old or v not in present):  # never claim the user's own entry
                new.add(want[v])
            if old and not new and v in present:
                for box, li in present.pop(v):
                    drop.setdefault(id(box), (box, set()))[1].add(id(li))
                changed = True
            if v in want and new and v not in present:
                new_items.append(v)
            if new != old:
                record_changed = True
                if new:
                    owned[v] = new
                else:
                    owned.pop(v, None)
        for box, gone in drop.values():  # one pass per container: linear
            box[:] = [li for li in box if id(li) not in gone]
            if not len(box):  # PhotoCLIP took out the last entry: the field goes
                box.text = None
                for d in descriptions:
                    for prop in d.findall(tag):
                        if list(prop) == [box] and not (prop.text or "").strip():
                            d.remove(prop)
        if new_items:
            box = _container(descriptions, tag, container)
            for v in new_items:
                ET.SubElement(box, LI).text = v
            changed = True
        if record_changed:
            _write_record(descriptions, record_tag, owned)
            changed = True
    return changed


def _container(descriptions: Sequence[ET.Element], tag: str, container: str) -> ET.Element:
    prop = next((p for d in descriptions for p in d.findall(tag)), None)
    if prop is None:
        prop = ET.SubElement(descriptions[0], tag)
    box = next((b for b in (prop.find(RDF + k) for k in (container, "Bag", "Seq"))
                if b is not None), None)
    if box is None:
        box = ET.SubElement(prop, RDF + container)
    return box


def _write_record(descriptions: Sequence[ET.Element], record_tag: str,
                  owned: dict[str, set[str]]) -> None:
    for d in descriptions:
        for prop in d.findall(record_tag):
            d.remove(prop)
    if owned:
        box = ET.SubElement(ET.SubElement(descriptions[0], record_tag), RDF + "Bag")
        for v, kinds in owned.items():
            for k in KINDS:
                if k in kinds:
                    ET.SubElement(box, LI).text = f"{k}:{v}"


def write_sidecar(path: str, carried: Carried, manages: Manages) -> str:
    """Merge ``carried`` into the sidecar at ``path`` (created if missing; nothing is created
    for nothing to carry). Returns "written", "repaired" (written, and characters XML cannot
    hold were dropped from the old file), "unchanged", "none" (no sidecar, nothing to
    write) or "read-only" (it needed a change but
    has no write permission bit: left as it is). XmpError/OSError when it cannot be done."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    repaired = False
    if st is None:
        if not carried:
            return "none"
        root, prefixes = _parse(_EMPTY)
    elif stat.S_ISLNK(st.st_mode):
        raise XmpError("a symbolic link: not written through")
    else:
        root, prefixes, repaired = _parse_repairing(read_file(path, follow=False))
    if not merge(root, carried, manages) and not repaired:
        return "unchanged"
    if st is not None and (not st.st_mode & 0o222 or not os.access(path, os.W_OK)):
        return "read-only"
    _atomic_write(path, _serialize(root, prefixes), st)
    return "repaired" if repaired else "written"


_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()


def _atomic_write(path: str, data: bytes, old: os.stat_result | None) -> None:
    """Write beside ``path`` and rename over it (permissions: the old file's, else the
    umask's default, as any program's new file). The temporary name holds our process id, so
    a later export can tell one left by a killed run from one being written."""
    tmp = f"{path}.{os.getpid()}-{secrets.token_hex(4)}{TMP_SUFFIX}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
        | getattr(os, "O_BINARY", 0)
    with _in_flight_lock:
        _in_flight.add(tmp)
    try:
        fd = os.open(tmp, flags, 0o666)
        try:
            with os.fdopen(fd, "wb") as f:
                fd = -1
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        finally:
            if fd != -1:
                os.close(fd)
        if old is not None:
            os.chmod(tmp, old.st_mode & 0o7777)
        now = os.lstat(path) if os.path.lexists(path) else None
        if now is not None and stat.S_ISLNK(now.st_mode):
            raise XmpError("a symbolic link: not written through")
        os.replace(tmp, path)
        fsync_dir(os.path.dirname(path))
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    finally:
        with _in_flight_lock:
            _in_flight.discard(tmp)


def clean_temporary(folder: str) -> int:
    """Remove the temporary files a killed export left in ``folder``: only PhotoCLIP's own
    (``*.xmp.<pid>-<hex>.photoclip-tmp``, regular files) whose writer is gone (that process
    no longer runs, or — where that cannot be checked — the file is over 10 minutes old).
    Returns how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        m = _TMP.search(e.name)
        if m is None:
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or not _abandoned(e.path, m.group(1), st):
                continue
            os.unlink(e.path)
            removed += 1
        except OSError:
            continue
    return removed


def _abandoned(path: str, pid: str | None, st: os.stat_result) -> bool:
    with _in_flight_lock:
        if path in _in_flight:
            return False
    if pid is not None and os.name == "posix":
        if int(pid) == os.getpid():
            return True  # ours, and not in flight: left by an exception we could not clean
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except (OSError, OverflowError):
            pass
        else:
            return False  # that process runs (perhaps another PhotoCLIP writing it now)
    return time.time() - st.st_mtime > STALE_TMP_S


# -- reading keywords ------------------------------------------------------------------------


# an entry of a photo's keywords: ("flat", keyword) or ("path", (level, level, ...))
Entry = tuple[str, str | tuple[str, ...]]


@dataclass
class Keywords:
    """What a photo's metadata says: flat keywords and hierarchical paths (lists of levels),
    in order, each once. ``own``: the entries (``("flat", k)`` / ``("path", (a, b))``) that
    PhotoCLIP recorded as its own automatic tags or category memberships, and that no source
    holds as anything else."""

    flat: list[str] = field(default_factory=list)
    paths: list[list[str]] = field(default_factory=list)
    ours: set[Entry] = field(default_factory=set)
    theirs: set[Entry] = field(default_factory=set)

    @property
    def own(self) -> set[Entry]:
        return self.ours - self.theirs

    def merge(self, other: Keywords) -> None:
        self.flat = list(dict.fromkeys(self.flat + other.flat))
        seen = {tuple(p) for p in self.paths}
        new: list[list[str]] = []
        for p in other.paths:
            if tuple(p) not in seen:
                seen.add(tuple(p))
                new.append(p)
        self.paths += new
        self.ours |= other.ours
        self.theirs |= other.theirs


def read_sidecar(path: str) -> Keywords:
    return read_packet(read_file(path))


def read_packet(data: bytes) -> Keywords:
    root, _ = _parse_repairing(data)[:2]
    out = Keywords()
    descriptions = list(root.iter(RDF + "Description"))

    def mark(key: Entry, kinds: set[str] | None) -> None:
        if kinds and "manual" not in kinds:
            out.ours.add(key)
        else:
            out.theirs.add(key)

    record = _record(descriptions, FIELDS[0][3])
    flat: dict[str, None] = {}
    for li in _items(descriptions, SUBJECT):
        v = clean(li.text or "")
        if v:
            flat[v] = None
            mark(("flat", v), record.get(v))
    paths: dict[tuple[str, ...], None] = {}
    for tag, _, sep, record_tag in FIELDS[1:]:
        record = _record(descriptions, record_tag)
        for li in _items(descriptions, tag):
            v = clean(li.text or "")
            if not v or v in flat:  # a flat keyword that holds the separator: not a path
                continue
            p = tuple(x for x in (clean(x) for x in v.split(sep)) if x)
            if p:
                paths[p] = None
                mark(("path", p), record.get(v))
    out.flat = list(flat)
    out.paths = [list(p) for p in paths]
    return out


_XMP_PACKET = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.S)


def read_embedded(photo: str) -> Keywords:
    """Keywords stored inside the photo: its XMP packet and IPTC keywords."""
    out = Keywords()
    fd, _ = _open_regular(photo)
    with os.fdopen(fd, "rb") as f:
        head = f.read(EMBEDDED_BYTES)
        m = _XMP_PACKET.search(head)
        if m:
            try:
                out.merge(read_packet(m.group(0)))
            except XmpError:
                pass
        f.seek(0)
        words = _iptc_keywords(f)
    out.flat = list(dict.fromkeys(out.flat + words))
    out.theirs |= {("flat", w) for w in words}
    return out


def _iptc_keywords(f: IO[bytes]) -> list[str]:
    try:
        from PIL import Image, IptcImagePlugin

        with Image.open(f) as im:
            info = IptcImagePlugin.getiptcinfo(im) or {}
    except Exception:  # not an image Pillow reads, or no IPTC block: nothing to import
        return []
    words = info.get((2, 25)) or []
    if isinstance(words, bytes):
        words = [words]
    charset = info.get((1, 90)) or b""
    if isinstance(charset, list):
        charset = charset[0] if charset else b""
    return [t for t in (clean(decode_iptc(w, charset)) for w in words) if t]


def decode_iptc(raw: bytes, charset: bytes = b"") -> str:
    """An IPTC string by its declared character set (1:90 ``ESC % G`` is UTF-8); undeclared,
    UTF-8 when it is valid UTF-8, else Latin-1 (what old cameras and tools wrote). Declared
    UTF-8 that is not valid UTF-8 is read as Latin-1 too."""
    if charset and charset not in _UTF8:  # declared, and not UTF-8 (ESC . A: Latin-1)
        return raw.decode("latin-1")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_UTF8 = (b"\x1b%G", b"\x1b%/G", b"\x1b%/H", b"\x1b%/I")


# -- the library's side: which tags go to which sidecar, and back -------------------------------


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


@dataclass
class ExportReport:
    written: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    offline: int = 0  # photos of unreachable folders, not written
    missing: list[str] = field(default_factory=list)  # photos not there now: nothing written
    read_only: list[str] = field(default_factory=list)  # sidecars left as they are
    collisions: list[tuple[str, list[str]]] = field(default_factory=list)  # (sidecar, photos)
    repaired: list[str] = field(default_factory=list)  # sidecars made readable XML again
    cleaned: int = 0  # temporary files of interrupted exports removed

    def sentences(self) -> list[str]:
        """The report, one sentence per fact (what the CLI prints)."""
        out = [f"{_plural(self.written, 'sidecar')} written, "
               f"{self.unchanged:,} already up to date."]
        if self.offline:
            out.append(f"{_plural(self.offline, 'photo')} in offline folders skipped.")
        if self.missing:
            out.append(f"{_plural(len(self.missing), 'photo')} no longer on disk: nothing was "
                       "written beside them.")
        if self.read_only:
            out.append(f"{_plural(len(self.read_only), 'sidecar')} read-only, left as "
                       f"{'it is' if len(self.read_only) == 1 else 'they are'} (make "
                       "writable to update): " + ", ".join(shown(p) for p in self.read_only[:3])
                       + (" …" if len(self.read_only) > 3 else ""))
        if self.collisions:
            out.append(f"{_plural(len(self.collisions), 'sidecar')} would be shared by photos "
                       "of the same name, so not written (use --naming ext): "
                       + "; ".join(f"{shown(s)} ({_names(ps)})" for s, ps in self.collisions[:3])
                       + (" …" if len(self.collisions) > 3 else ""))
        if self.repaired:
            out.append(f"{_plural(len(self.repaired), 'sidecar')} held characters XML cannot "
                       "hold; they were dropped so the file reads again.")
        if self.cleaned:
            out.append(f"{_plural(self.cleaned, 'temporary file')} left by an interrupted "
                       "export removed.")
        return out


@dataclass
class ImportReport:
    photos: int = 0  # photos with keywords found
    tagged: int = 0  # manual tags added
    failed: list[tuple[str, str]] = field(default_factory=list)
    own: int = 0  # PhotoCLIP's own exported auto tags / categories recognised, left as they are
    offline: int = 0
    missing: list[str] = field(default_factory=list)
    collisions: list[tuple[str, list[str]]] = field(default_factory=list)  # not read

    def sentences(self) -> list[str]:
        out = [f"Keywords found for {_plural(self.photos, 'photo')}: "
               f"{_plural(self.tagged, 'tag')} of yours added."]
        if self.own:
            out.append(f"{_plural(self.own, 'entry', 'entries')} PhotoCLIP exported itself "
                       "(automatic tags, categories) left as they are.")
        if self.offline:
            out.append(f"{_plural(self.offline, 'photo')} in offline folders skipped.")
        if self.missing:
            out.append(f"{_plural(len(self.missing), 'photo')} no longer on disk skipped.")
        if self.collisions:
            out.append(f"{_plural(len(self.collisions), 'sidecar')} shared by photos of the "
                       "same name not read (it cannot tell which photo it is for): "
                       + "; ".join(shown(s) for s, _ in self.collisions[:3])
                       + (" …" if len(self.collisions) > 3 else ""))
        return out


def export_tags(tagsets: TagStore, photos: Iterable[tuple[int, str, bool]], naming: str = "ext",
                categories: set[str] | None = None) -> ExportReport:
    """Write the tags of ``photos`` ((id, path, online) rows) to their sidecars, auto and
    manual ones recorded as such. Only entries PhotoCLIP recorded as its own tags are taken
    out (categories are left to the category export, except those of categories that no
    longer exist: ``categories``, the names there are now). A photo with no tag gets no new
    sidecar."""

    def entries(pid: int) -> Carried:
        return [(t.hierarchical, "auto" if t.source == "auto" else "manual")
                for t in tagsets.photo_tags(pid)]

    def manages(kind: str, tag: str, value: str) -> bool:
        return kind != "category" or _stale_category(tag, value, categories)

    return _export(photos, naming, entries, manages)


def _stale_category(tag: str, value: str, existing: set[str] | None) -> bool:
    """Whether a category entry PhotoCLIP wrote names a category that is gone (renamed or
    deleted since): nothing would ever take it out otherwise."""
    if existing is None:
        return False
    keys = {n.casefold() for n in existing}
    name = value
    for field_tag, _, sep, _ in FIELDS:
        if field_tag == tag and sep is not None:
            head, found, rest = value.partition(sep)
            if not found or head != CATEGORIES:
                return False
            name = rest
    return name.casefold() not in keys


def export_category(name: str, members: set[int], photos: Iterable[tuple[int, str, bool]],
                    naming: str = "ext", categories: set[str] | None = None) -> ExportReport:
    """Write a category's membership to the sidecars of ``photos`` as the keyword
    ``Categories|name``: added for members, taken out of a non-member's existing sidecar
    where PhotoCLIP wrote it — as are the entries it wrote for categories that are gone
    (``categories``: the names there are now)."""
    path = [CATEGORIES, name]
    mine = {(tag, _entry(path, sep)) for tag, _, sep, _ in FIELDS}

    def manages(kind: str, tag: str, value: str) -> bool:
        return kind == "category" and ((tag, value) in mine
                                       or _stale_category(tag, value, categories))

    return _export(photos, naming,
                   lambda pid: [(path, "category")] if pid in members else [], manages)


def _export(photos: Iterable[tuple[int, str, bool]], naming: str, entries: Callable[[int], Carried],
            manages: Manages) -> ExportReport:
    if naming not in NAMINGS:
        raise ValueError(f"naming must be one of {NAMINGS}")
    report = ExportReport()
    here = _present(photos, report)
    shared = _shared_sidecars(here, naming)
    visited: set[str] = set()
    done: set[str] = set()  # (a RAW + JPEG pair's one shot.xmp is written once)
    for pid, path in here:
        side = sidecar_path(path, naming)
        if side in done:
            continue
        done.add(side)
        carried = entries(pid)
        folder = os.path.dirname(side)
        if folder not in visited:
            visited.add(folder)
            report.cleaned += clean_temporary(folder)
        if side in shared:  # refused: the other photo's tags would end up on this one
            sharers = shared[side]
            if sharers is not None and (carried or os.path.lexists(side)):
                report.collisions.append((side, sharers))
                shared[side] = None
            continue
        try:
            result = write_sidecar(side, carried, manages)
        except (OSError, XmpError) as e:
            report.failed.append((side, getattr(e, "strerror", None) or str(e)))
            continue
        if result == "read-only":
            report.read_only.append(side)
        elif result == "unchanged":
            report.unchanged += 1
        elif result != "none":
            report.written += 1
            if result == "repaired":
                report.repaired.append(side)
    return report


def _present(photos: Iterable[tuple[int, str, bool]],
             report: ExportReport | ImportReport) -> list[tuple[int, str]]:
    """(id, path) of the photos there now; the others counted in ``report``: offline folders,
    and photos that are not on disk now (deleted, or a drive unplugged under a bare mount
    point) — nothing is ever written beside those."""
    here: list[tuple[int, str]] = []
    for pid, path, online in photos:
        if not online:
            report.offline += 1
        elif not os.path.isfile(path):
            report.missing.append(path)
        else:
            here.append((pid, path))
    return here


def _shared_sidecars(photos: Iterable[tuple[int, str]], naming: str) -> dict[str, list[str] | None]:
    """Sidecar → the files of two or more photos that would share it under ``naming``. (The
    two files of one RAW + JPEG pair are one photo: ``shot.xmp`` is theirs to share.)"""
    by_side: dict[str, list[tuple[int, str]]] = {}
    for pid, path in photos:
        by_side.setdefault(sidecar_path(path, naming), []).append((pid, path))
    return {s: [p for _, p in ps] for s, ps in by_side.items() if len({i for i, _ in ps}) > 1}


def import_tags(tagsets: TagStore, photos: Iterable[tuple[int, str, bool]],
                categories: Iterable[str] = ()) -> ImportReport:
    """Keywords found in the sidecars (either name) and inside ``photos`` ((id, path, online)
    rows) become manual tags: ``Set|label`` of a known set is that label, anything else a free
    keyword. Left alone: entries PhotoCLIP recorded as its own automatic tags or category
    memberships, and (for sidecars written before it recorded them) ``Categories|name`` of
    one of ``categories``. A tag the user removed in PhotoCLIP stays removed; a sidecar two
    photos would share is read for neither."""
    report = ImportReport()
    here = _present(photos, report)
    shared = _shared_sidecars(here, "base")
    cats = {clean(c).casefold() for c in categories}
    labels = _LabelIds(tagsets)
    files: dict[int, list[str]] = {}  # (a RAW + JPEG pair: the sidecars of both files)
    for pid, path in here:
        files.setdefault(pid, []).append(path)
    for pid, paths in files.items():
        found = Keywords()
        sides = {sidecar_path(p, naming): p for p in reversed(paths) for naming in NAMINGS}
        path = paths[0]  # (named in a failure)
        try:
            for side, path in sides.items():  # noqa: B007
                if side in shared:
                    sharers = shared[side]
                    if sharers is not None and os.path.lexists(side):
                        report.collisions.append((side, sharers))
                    shared[side] = None
                    continue
                if os.path.lexists(side):
                    found.merge(read_sidecar(side))
            for path in paths:
                found.merge(read_embedded(path))
        except (OSError, XmpError) as e:
            report.failed.append((path, getattr(e, "strerror", None) or str(e)))
            continue
        own = found.own
        names: dict[tuple[str, str], None] = {}
        for p in found.paths:
            if ("path", tuple(p)) in own or \
                    (len(p) == 2 and p[0] == CATEGORIES and p[1].casefold() in cats):
                report.own += 1
                continue
            names[_leaf_or_label(labels, p)] = None
        leaves = {p[-1] for p in found.paths}
        for k in found.flat:
            if k in leaves:
                continue
            if ("flat", k) in own:
                report.own += 1
                continue
            names[("", k)] = None
        if not names:
            continue
        report.photos += 1
        ids = [labels.get(s, lb) for s, lb in names if s]
        ids += tagsets.keyword_ids([lb for s, lb in names if not s])
        # (one transaction per photo: a sidecar of 20,000 keywords is one write, not 20,000)
        report.tagged += tagsets.import_manual_many(pid, [i for i in ids if i is not None])
    return report


class _LabelIds:
    """Label ids by (set, label), the set read once (``TagStore.get``), so a name holding ``/``
    or ``|`` is never parsed again."""

    def __init__(self, tagsets: TagStore):
        self.tagsets = tagsets
        self.sets: dict[str, dict[str, int | None] | None] = {}

    def get(self, set_name: str, label: str) -> int | None:
        if set_name not in self.sets:
            try:
                ts = self.tagsets.get(set_name)
                self.sets[set_name] = {clean(lb.name).casefold(): lb.id for lb in ts.labels}
            except Exception:  # no such set
                self.sets[set_name] = None
        ids = self.sets[set_name]
        return None if ids is None else ids.get(clean(label).casefold())


def _leaf_or_label(labels: _LabelIds, path: list[str]) -> tuple[str, str]:
    """``['Places', 'beach']`` → ('Places', 'beach') when Places has that label, else the
    leaf as a free keyword ('', 'beach')."""
    if len(path) == 2 and labels.get(path[0], path[1]) is not None:
        return path[0], path[1]
    return "", path[-1]


def _names(paths: Iterable[str]) -> str:
    """The file names of ``paths``, as people see them, comma-separated."""
    return ", ".join(shown(os.path.basename(p)) for p in paths)
