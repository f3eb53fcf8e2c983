"""The layering rules of docs/ARCHITECTURE.md, enforced: a violation fails here, not in review."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "photoclip"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0] if not node.module.startswith("photoclip")
                      else node.module)
    return names


def modules(sub: str = ""):
    return sorted((PKG / sub).rglob("*.py"))


def test_core_has_no_qt_and_never_imports_the_ui():
    for f in modules("core"):
        imp = imports_of(f)
        assert "PySide6" not in imp, f
        assert not any(m.startswith(("photoclip.gui", "photoclip.cli")) for m in imp), f


def test_heavy_libraries_stay_in_their_module():
    clip = {"model/encoder.py", "model/export.py", "categories/probe.py"}
    owners = {"torch": clip, "open_clip": clip,
              "onnxruntime": {"model/runtime.py", "model/export.py"},
              "hnswlib": {"search/vector_index.py"}, "watchdog": {"indexing/watcher.py"}}
    for f in modules():
        imp = imports_of(f)
        for lib, allowed in owners.items():
            if lib in imp:
                assert f.relative_to(PKG / "core").as_posix() in allowed, f"{lib} imported in {f}"


def test_only_gui_imports_qt():
    for f in modules():
        if "PySide6" in imports_of(f):
            assert f.parent.name == "gui", f


def test_core_never_prints_or_exits():
    for f in modules("core"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("print", "exit"), f"{node.func.id}() in {f}"
            if isinstance(node, ast.Attribute) and node.attr == "exit":
                assert not (isinstance(node.value, ast.Name) and node.value.id == "sys"), f
