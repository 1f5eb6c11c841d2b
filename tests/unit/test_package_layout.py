"""The shape of the haiku_lsp package: every module imports on its own, modules import each other
without cycles, nobody imports another module's private names or re-exports what it imports, each
sub-package has a documented face (`__all__`), and only the LSP layer knows about lsprotocol and
pygls.

Read from the source (AST), except that every module is also imported, each in a fresh interpreter
state, so an order that only fails when a given module is imported first shows up too.
"""

from __future__ import annotations

import ast
import importlib
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "haiku_lsp"
ROOT = PACKAGE.parent
LSP_LIBRARIES = ("lsprotocol", "pygls")


@cache
def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (packages by their __init__.py). Folders without an
    __init__.py (data/) hold files, not modules; __main__ runs the server when imported."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if not all((ROOT.joinpath(*parts[:i]) / "__init__.py").exists() for i in range(1, len(parts))):
            continue
        if parts[-1] == "__main__":
            continue
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def is_package(name: str) -> bool:
    return modules()[name].name == "__init__.py"


@cache
def tree(name: str) -> ast.Module:
    return ast.parse(modules()[name].read_text(encoding="utf-8"), str(modules()[name]))


def absolute(name: str, node: ast.ImportFrom) -> str:
    """The module an ImportFrom reads from, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = name.split(".") if is_package(name) else name.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(name: str, *, top_level: bool) -> list[tuple[ast.stmt, str, list[str]]]:
    """(statement, module, names) of every import in module `name`; with `top_level`, only those run
    when it is imported: not in functions, not under `if TYPE_CHECKING:`."""
    out: list[tuple[ast.stmt, str, list[str]]] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                out.extend((node, a.name, []) for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                out.append((node, absolute(name, node), [a.name for a in node.names]))
            elif top_level and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            elif top_level and isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit([n for n in getattr(node, field, []) if isinstance(n, (ast.stmt, ast.excepthandler))])

    if top_level:
        visit(tree(name).body)
    else:
        out = [(n, a.name, []) for n in ast.walk(tree(name)) if isinstance(n, ast.Import) for a in n.names]
        out += [(n, absolute(name, n), [a.name for a in n.names])
                for n in ast.walk(tree(name)) if isinstance(n, ast.ImportFrom)]
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package that importing it runs first. A package that contains the
    importer is already being imported and adds no edge, unless a name other than a submodule is taken
    from it (that name may not be defined yet)."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name in known:
        for _, target, names in imports(name, top_level=True):
            if target not in known:
                continue
            parts = target.split(".")
            wanted = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
            submodules = {f"{target}.{n}" for n in names if f"{target}.{n}" in known}
            attributes = [n for n in names if f"{target}.{n}" not in known]
            wanted |= submodules
            for dep in wanted:
                containing = name.startswith(dep + ".")
                if dep == name or (containing and not (dep == target and attributes)):
                    continue
                graph[name].add(dep)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_the_graph_sees_lazy_and_type_only_imports_as_such():
    graph = import_graph()
    # lsp/code_actions.py imports the traceback parser inside a function, on purpose (start-up time).
    assert not any(dep.startswith("haiku_lsp.tracebacks") for dep in graph["haiku_lsp.lsp.code_actions"])
    # A face depends on its modules.
    assert "haiku_lsp.tracebacks.parse" in graph["haiku_lsp.tracebacks"]


def test_no_import_cycles_between_modules():
    found = cycles(import_graph())
    assert not found, "modules that import each other (directly or around a cycle) at import time:\n" + \
        "\n".join(" <-> ".join(c) for c in found)


def test_the_inline_completion_path_imports_no_other_capability():
    graph = import_graph()
    reached: set[str] = set()
    todo = ["haiku_lsp.completion", "haiku_lsp.lsp.inline_completion"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo += graph[name]
    others = ("tracebacks", "testgen", "refactor", "quickfix", "hover", "tools")
    assert not [m for m in reached if m.count(".") and m.split(".")[1] in others]


def test_no_module_imports_private_names_of_another():
    found = []
    for name in modules():
        for node, target, names in imports(name, top_level=False):
            if target != name and (target == "haiku_lsp" or target.startswith("haiku_lsp.")):
                private = [n for n in [*target.split(".")[1:], *names]
                           if n.startswith("_") and not (n.startswith("__") and n.endswith("__"))]
                if private:
                    found.append(f"{modules()[name].relative_to(ROOT)}:{node.lineno}: {target} {private}")
    assert not found, "\n".join(found)


def test_no_module_re_exports_what_it_imports():
    """Outside the package faces (__init__.py), a name imported from the package is imported to be used:
    callers import a name from where it lives, not through a module that happens to import it."""
    found = []
    for name in modules():
        if is_package(name):
            continue
        used = {n.id for n in ast.walk(tree(name)) if isinstance(n, ast.Name)}
        for node, target, _ in imports(name, top_level=True):
            if isinstance(node, ast.ImportFrom) and target.startswith("haiku_lsp"):
                unused = [a.asname or a.name for a in node.names if (a.asname or a.name) not in used]
                if unused:
                    found.append(f"{modules()[name].relative_to(ROOT)}:{node.lineno}: {unused}")
    assert not found, "\n".join(found)


def sub_packages() -> list[str]:
    return [name for name in modules() if is_package(name) and name != "haiku_lsp"]


@pytest.mark.parametrize("name", sub_packages())
def test_each_sub_package_documents_its_face(name):
    assert ast.get_docstring(tree(name)), f"{name}/__init__.py: say what the package does and what others may use"
    package = importlib.import_module(name)
    face = getattr(package, "__all__", None)
    assert isinstance(face, list) and face, f"{name}/__init__.py: list the names others may use in __all__"
    assert [n for n in face if not hasattr(package, n)] == [], f"{name}.__all__ names what it does not have"
    assert len(set(face)) == len(face)


def test_only_the_lsp_layer_imports_lsprotocol_or_pygls():
    found = []
    for name in modules():
        if name == "haiku_lsp.lsp" or name.startswith("haiku_lsp.lsp."):
            continue
        for node, target, _ in imports(name, top_level=False):
            if target.split(".")[0] in LSP_LIBRARIES:
                found.append(f"{modules()[name].relative_to(ROOT)}:{node.lineno}: {target}")
    assert not found, "\n".join(found)
