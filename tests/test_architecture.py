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
              "hnswlib": {"search/vector_index.py"}, "watchdog": {"indexing/watcher.py"},
              "rawpy": {"indexing/raw.py"}, "pillow_heif": {"indexing/formats.py"},
              "send2trash": {"duplicates/trash.py"},
              "tokenizers": {"model/hf_tokenizer.py"},
              "transformers": set()}  # (open_clip's, for Hugging Face text towers)
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


# -- the facade: the GUI and the CLI use the Library's services, nothing under them ------------

FRONTS = ("gui", "cli")
BELOW_THE_FACADE = {"catalog", "conn", "store", "tagsets"}  # (lib.catalog, tags.store...)


def front_modules():
    return [f for sub in FRONTS for f in modules(sub)]


def test_gui_and_cli_never_reach_sql_or_the_stores():
    for f in front_modules():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute):
                assert node.attr not in BELOW_THE_FACADE, \
                    f"{f.relative_to(PKG)}:{node.lineno}: .{node.attr} is below the facade"
        imp = imports_of(f)
        assert "sqlite3" not in imp, f
        assert not any(m.startswith("photoclip.core.store") for m in imp), \
            f"{f.relative_to(PKG)} imports the store"


def test_gui_and_cli_use_no_private_name_of_another_object():
    allowed = {"_actions", "_SubParsersAction"}  # argparse's, for completion and parsing
    for f in front_modules():
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Attribute) or not node.attr.startswith("_") \
                    or node.attr.startswith("__") or node.attr in allowed:
                continue
            owner = node.value
            own = isinstance(owner, ast.Name) and owner.id in ("self", "cls")
            own = own or (isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name)
                          and owner.func.id == "super")
            assert own, f"{f.relative_to(PKG)}:{node.lineno}: {ast.unparse(node)}"


def test_the_query_grammar_is_spelled_in_one_module():
    """``tag:`` and ``category:`` are written only by core/search/query.py (parse, format)."""
    for f in modules():
        if f == PKG / "core" / "search" / "query.py":
            continue
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and node.value.strip() in ("tag:", "category:"):
                raise AssertionError(f"{f.relative_to(PKG)}:{node.lineno} spells {node.value!r}")


def test_packages_import_each_other_without_cycles():
    """Module-level imports between photoclip's modules form no circle (function-level
    imports, made late on purpose, are not counted)."""
    graph: dict[str, set[str]] = {}
    for f in modules():
        name = ".".join(("photoclip", *f.relative_to(PKG).with_suffix("").parts))
        name = name.removesuffix(".__init__")
        tree = ast.parse(f.read_text(encoding="utf-8"))
        deps = set()
        for node in tree.body:  # (top level only)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                    and node.module.startswith("photoclip"):
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("photoclip"))
        graph[name] = deps
    graph = {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                circle = [*path[path.index(dep):], dep]
                raise AssertionError("import circle: " + " → ".join(circle))
            if dep not in state:
                visit(dep, [*path, dep])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
