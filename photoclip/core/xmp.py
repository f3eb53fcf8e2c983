"""XMP sidecars: tags out to digiKam, darktable, Lightroom; keywords in.

The only place PhotoCLIP writes next to photos, and only when asked (``photoclip xmp export``).

- Names: ``photo.jpg.xmp`` (digiKam, darktable; the default) or ``photo.xmp`` (Lightroom,
  Capture One).
- Fields: ``dc:subject`` (the label), ``lr:hierarchicalSubject`` (``Places|beach``; darktable
  reads only this one when present) and ``digiKam:TagsList`` (``Places/beach``).
- An existing sidecar is merged, never clobbered: every element and attribute PhotoCLIP does not
  own is kept as it was (rating, title, other keywords, other namespaces). PhotoCLIP owns only
  the entries of its own tag sets: ``Set|label`` for a label the photo no longer carries goes,
  and its plain ``label`` with it when the sidecar shows PhotoCLIP wrote it; a tag the user
  took off goes wherever it is.
- The file is replaced atomically (a crash leaves the old sidecar or the new one).

Import reads sidecars (both names) and the keywords embedded in the photo (XMP packet, IPTC).
"""

from __future__ import annotations

import os
import re
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
}


def _qname(prefix: str, name: str) -> str:
    return "{" + NS[prefix] + "}" + name


RDF = _qname("rdf", "")
SUBJECT = _qname("dc", "subject")
HIERARCHICAL = _qname("lr", "hierarchicalSubject")
TAGSLIST = _qname("digiKam", "TagsList")
# each field, its container and how a path is written in it
FIELDS = ((SUBJECT, "Bag", None), (HIERARCHICAL, "Bag", "|"), (TAGSLIST, "Seq", "/"))
NAMINGS = ("ext", "base")
CATEGORIES = "Categories"  # the keyword parent of exported category memberships
_EMPTY = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""/>
 </rdf:RDF>
</x:xmpmeta>"""
_PACKET_BEGIN = '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
_PACKET_END = '\n<?xpacket end="w"?>\n'


class XmpError(Exception):
    """A sidecar that is not XMP PhotoCLIP can merge into (it is left untouched)."""


def sidecar_path(photo: str, naming: str = "ext") -> str:
    """``photo.jpg`` → ``photo.jpg.xmp`` (ext) or ``photo.xmp`` (base)."""
    if naming == "base":
        return os.path.splitext(photo)[0] + ".xmp"
    return photo + ".xmp"


@dataclass
class Keywords:
    """What a photo's metadata says: flat keywords and hierarchical paths (lists of levels)."""

    flat: list[str] = field(default_factory=list)
    paths: list[list[str]] = field(default_factory=list)

    def merge(self, other: Keywords) -> None:
        self.flat += [k for k in other.flat if k not in self.flat]
        self.paths += [p for p in other.paths if p not in self.paths]


def write_sidecar(path: str, carried: list[list[str]], dropped: list[list[str]]) -> bool:
    """Merge tags into the sidecar at ``path`` (created if missing). ``carried``: the photo's
    tags as [set, label] or [keyword]; ``dropped``: PhotoCLIP's entries to take out (labels no
    longer carried, tags the user removed). Returns whether the file changed."""
    old_text = None
    if os.path.exists(path):
        with open(path, "rb") as f:
            old_text = f.read()
    root = _parse(old_text) if old_text is not None else ET.fromstring(_EMPTY)
    rdf = root if root.tag == RDF + "RDF" else root.find(RDF + "RDF")
    if rdf is None:
        raise XmpError(f"{path} has no rdf:RDF element")
    descriptions = rdf.findall(RDF + "Description")
    if not descriptions:
        descriptions = [ET.SubElement(rdf, RDF + "Description", {RDF + "about": ""})]
    existing_paths = {"|".join(p) for p in _read_description_paths(descriptions)}
    for tag, container, sep in FIELDS:
        want = [_entry(t, sep) for t in carried]
        gone = {_entry(t, sep) for t in dropped
                if sep is not None or len(t) == 1 or "|".join(t) in existing_paths}
        gone -= set(want)
        prop = next((p for d in descriptions for p in d.findall(tag)), None)
        if prop is None:
            if not want:
                continue
            prop = ET.SubElement(descriptions[0], tag)
        box = next((b for b in (prop.find(RDF + k) for k in (container, "Bag", "Seq"))
                    if b is not None), None)
        if box is None:
            box = ET.SubElement(prop, RDF + container)
        items = [li for li in box.findall(RDF + "li")]
        have = [li.text or "" for li in items]
        for li in items:
            if (li.text or "") in gone:
                box.remove(li)
        for w in want:
            if w not in have:
                ET.SubElement(box, RDF + "li").text = w
    new_text = _serialize(root)
    if old_text is not None and _normalised(old_text) == _normalised(new_text):
        return False
    _atomic_write(path, new_text)
    return True


def _entry(tag: list[str], sep: str | None) -> str:
    return tag[-1] if sep is None else sep.join(tag)


def read_sidecar(path: str) -> Keywords:
    with open(path, "rb") as f:
        return read_packet(f.read())


def read_packet(data: bytes) -> Keywords:
    root = _parse(data)
    out = Keywords()
    descriptions = root.iter(RDF + "Description")
    descriptions = list(descriptions)
    for d in descriptions:
        for prop in d.findall(SUBJECT):
            out.flat += [li.text.strip() for li in prop.iter(RDF + "li")
                         if li.text and li.text.strip() and li.text.strip() not in out.flat]
    for p in _read_description_paths(descriptions):
        if p not in out.paths:
            out.paths.append(p)
    return out


def _read_description_paths(descriptions) -> list[list[str]]:
    paths: list[list[str]] = []
    for d in descriptions:
        for tag, sep in ((HIERARCHICAL, "|"), (TAGSLIST, "/")):
            for prop in d.findall(tag):
                for li in prop.iter(RDF + "li"):
                    if li.text and li.text.strip():
                        p = [x.strip() for x in li.text.strip().split(sep) if x.strip()]
                        if p and p not in paths:
                            paths.append(p)
    return paths


_XMP_PACKET = re.compile(rb"<x:xmpmeta.*?</x:xmpmeta>", re.S)
EMBEDDED_BYTES = 1 << 20  # metadata sits in a photo's first segments


def read_embedded(photo: str) -> Keywords:
    """Keywords stored inside the photo: its XMP packet and IPTC keywords."""
    out = Keywords()
    with open(photo, "rb") as f:
        head = f.read(EMBEDDED_BYTES)
    m = _XMP_PACKET.search(head)
    if m:
        try:
            out.merge(read_packet(m.group(0)))
        except XmpError:
            pass
    try:
        from PIL import Image, IptcImagePlugin

        with Image.open(photo) as im:
            info = IptcImagePlugin.getiptcinfo(im) or {}
        words = info.get((2, 25)) or []
        if isinstance(words, bytes):
            words = [words]
        for w in words:
            text = w.decode("utf-8", "replace").strip()
            if text and text not in out.flat:
                out.flat.append(text)
    except Exception:  # not an image Pillow reads, or no IPTC block: nothing to import
        pass
    return out


def _parse(data: bytes) -> ET.Element:
    for prefix, uri in _namespaces(data):
        if prefix and not re.match(r"ns\d+$", prefix):
            ET.register_namespace(prefix, uri)  # keep the file's own prefixes
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise XmpError(f"not valid XML ({e})") from None


def _namespaces(data: bytes) -> list[tuple[str, str]]:
    import io

    try:
        return [ns for _, ns in ET.iterparse(io.BytesIO(data), events=("start-ns",))]
    except ET.ParseError:
        return []


def _serialize(root: ET.Element) -> bytes:
    for prefix, uri in NS.items():
        ET.register_namespace(prefix, uri)
    if root.tag == RDF + "RDF":  # a bare rdf:RDF sidecar: wrap it as XMP readers expect
        meta = ET.Element(_qname("x", "xmpmeta"))
        meta.append(root)
        root = meta
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return (_PACKET_BEGIN + body + _PACKET_END).encode("utf-8")


def _normalised(data: bytes) -> bytes:
    try:
        root = _parse(data)
    except XmpError:
        return data
    ET.indent(root, space=" ")
    return ET.tostring(root)


def _atomic_write(path: str, data: bytes) -> None:
    """Write beside ``path`` and rename over it (permissions: the old file's, else the
    umask's default, as any program's new file)."""
    tmp = f"{path}.{secrets.token_hex(4)}.photoclip-tmp"
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- the library's side: which tags go to which sidecar, and back -------------------------------


@dataclass
class ExportReport:
    written: int = 0
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    offline: int = 0  # photos of unreachable folders, not written


@dataclass
class ImportReport:
    photos: int = 0  # photos with keywords found
    tagged: int = 0  # manual tags added
    failed: list[tuple[str, str]] = field(default_factory=list)


def export_tags(tagsets, photos, naming: str = "ext") -> ExportReport:
    """Write the tags of ``photos`` ((id, path, online) rows) to their sidecars. A photo with
    no tag gets no new sidecar, but an existing one loses PhotoCLIP's stale entries."""
    ours = [[ts.name, lb.name] for ts in tagsets.all() for lb in ts.labels]

    def entries(pid: int) -> tuple[list[list[str]], list[list[str]]]:
        carried = [t.hierarchical for t in tagsets.photo_tags(pid)]
        return carried, [t for t in ours if t not in carried] + tagsets.removed_names(pid)

    return _export(photos, naming, entries)


def export_category(name: str, members: set[int], photos,
                    naming: str = "ext") -> ExportReport:
    """Write a category's membership to the sidecars of ``photos`` as the keyword
    ``Categories|name``: added for members, taken out of a non-member's existing sidecar."""
    entry = [CATEGORIES, name]
    return _export(photos, naming,
                   lambda pid: ([entry], []) if pid in members else ([], [entry]))


def _export(photos, naming: str, entries) -> ExportReport:
    if naming not in NAMINGS:
        raise ValueError(f"naming must be one of {NAMINGS}")
    report = ExportReport()
    for pid, path, online in photos:
        if not online:
            report.offline += 1
            continue
        carried, dropped = entries(pid)
        side = sidecar_path(path, naming)
        if not carried and not os.path.exists(side):
            continue
        try:
            if write_sidecar(side, carried, dropped):
                report.written += 1
            else:
                report.unchanged += 1
        except (OSError, XmpError) as e:
            report.failed.append((side, getattr(e, "strerror", None) or str(e)))
    return report


def import_tags(tagsets, photos) -> ImportReport:
    """Keywords found in the sidecars (either name) and inside ``photos`` ((id, path, online)
    rows) become manual tags: ``Set|label`` of a known set is that label, anything else a free
    keyword. A tag the user removed in PhotoCLIP stays removed."""
    report = ImportReport()
    for pid, path, online in photos:
        if not online:
            continue
        found = Keywords()
        try:
            for naming in NAMINGS:
                side = sidecar_path(path, naming)
                if os.path.exists(side):
                    found.merge(read_sidecar(side))
            found.merge(read_embedded(path))
        except (OSError, XmpError) as e:
            report.failed.append((path, getattr(e, "strerror", None) or str(e)))
            continue
        names = {_leaf_or_label(tagsets, p) for p in found.paths}
        leaves = {p[-1] for p in found.paths}
        names |= {("", k) for k in found.flat if k not in leaves}
        if not names:
            continue
        report.photos += 1
        for set_name, label in sorted(names):
            tag_id = tagsets.keyword_id(label, set_name or None)
            report.tagged += tagsets.import_manual(pid, tag_id)
    return report


def _leaf_or_label(tagsets, path: list[str]) -> tuple[str, str]:
    """``['Places', 'beach']`` → ('Places', 'beach') when Places has that label, else the
    leaf as a free keyword ('', 'beach')."""
    if len(path) == 2 and tagsets.has_label(path[0], path[1]):
        return path[0], path[1]
    return "", path[-1]
