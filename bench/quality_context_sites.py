"""The package and the call sites of bench/quality_context.py: a pinned PyPI wheel, downloaded once with pip
into a cache directory and checked against its SHA-256; its modules read with `ast` to find the calls whose
callee is defined in another module of the package, and where that definition is."""

from __future__ import annotations

import ast
import collections
import os
import random
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.harness.pypi import pinned_wheel


@dataclass(frozen=True)
class Pinned:
    name: str
    version: str
    sha256: str  # of the wheel on PyPI


CLICK = Pinned("click", "8.1.7", "ae74fb96c20a0277a1d615f1e4d73c8414f5a98db8b799a7931d1582f3390c28")


def cache_dir() -> Path:
    """`HAIKU_LSP_BENCH_CACHE`, else the user cache dir + `/haiku-lsp-bench` (kept between runs and tests)."""
    if env := os.environ.get("HAIKU_LSP_BENCH_CACHE"):
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "haiku-lsp-bench"


def fetch(pin: Pinned, cache: Path | None = None) -> Path:
    """The wheel's path in the cache, downloaded with pip the first time; never a file of another hash."""
    return pinned_wheel(pin.name, pin.version, (cache or cache_dir()) / "pypi", pin.sha256)


def unpack(wheel: Path, package: str, dest: Path) -> Path:
    """The wheel's package folder extracted into `dest`; returns `dest / package`."""
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            if member.startswith(package + "/"):
                zf.extract(member, dest)
    return dest / package


# --------------------------------------------------------------------------------------------------
# Call sites


Bound = tuple[str, "str | None", bool]  # (module file, imported name or None for a module, absolute import)


@dataclass(frozen=True)
class Definition:
    module: str  # the file, relative to the package's parent: "click/core.py"
    name: str
    kind: str  # "def" or "class"


@dataclass(frozen=True)
class Site:
    """A call in `module` whose callee is `callee`; (line, col) is the cursor right after its `(`
    (0-based, code points), (end_line, end_col) the position of its closing `)`."""

    module: str
    line: int
    col: int
    end_line: int
    end_col: int
    callee: Definition
    # "name": `f(` imported at module level; "attribute": `mod.f(`; "local": `f(` imported in the function;
    # "absolute": `f(` imported as `from click.m import f` (left out of the sample by default: jedi looks
    # `click` up on its sys.path, where the interpreter's installed click comes before the workspace copy)
    form: str
    call: str  # the call's first line as written

    def document(self, source: str) -> str:
        """The module as the user has it while typing the call: its arguments removed, `(` and `)` kept
        (an editor closes the bracket), the rest of the file as it is."""
        lines = source.split("\n")
        head = lines[self.line][:self.col]
        tail = lines[self.end_line][self.end_col:]
        return "\n".join(lines[:self.line] + [head + tail] + lines[self.end_line + 1:])

    def arguments(self, source: str) -> str:
        """What the user would type at the cursor: the call's arguments as written."""
        lines = source.split("\n")
        if self.line == self.end_line:
            return lines[self.line][self.col:self.end_col]
        return "\n".join([lines[self.line][self.col:], *lines[self.line + 1:self.end_line],
                          lines[self.end_line][:self.end_col]])


def _column(line: str, byte_offset: int) -> int:
    """ast's UTF-8 byte offset as a code-point column."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


class _Package:
    """The package's modules parsed; what each top-level name of a module is."""

    def __init__(self, root: Path) -> None:
        self.root = root  # the package folder ("<tmp>/click")
        self.trees = {p.relative_to(root.parent).as_posix(): ast.parse(p.read_text(encoding="utf-8"))
                      for p in sorted(root.rglob("*.py"))}

    def target(self, module: str, level: int, name: str | None) -> str | None:
        """The module file of a relative import `from <level dots><name> import ...` made in `module`."""
        base = Path(module).parent
        for _ in range(level - 1):
            base = base.parent
        path = base.joinpath(*name.split(".")) if name else base
        for candidate in (path.with_suffix(".py").as_posix(), (path / "__init__.py").as_posix()):
            if candidate in self.trees:
                return candidate
        return None

    def imports(self, module: str, body: list[ast.stmt]) -> dict[str, Bound]:
        """Names bound by the imports of the package's own modules in `body` (not looking into functions, nor
        into `if TYPE_CHECKING:` blocks): local name -> (module file, imported name or None when the name is a
        module, whether the import is absolute)."""
        found: dict[str, Bound] = {}
        for node in _walk_outside_functions(body):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level >= 1:
                level, name, importer = node.level, node.module, module
            elif node.module is not None and node.module.split(".")[0] == self.root.name:
                # `from click.x import y` in click: as `from .x import y` in click/__init__.py
                level, name, importer = 1, node.module.partition(".")[2] or None, f"{self.root.name}/__init__.py"
            else:
                continue
            source = self.target(importer, level, name)
            for alias in node.names:
                if source is None or alias.name == "*":
                    continue
                submodule = self.target(importer, level, ".".join(filter(None, [name, alias.name])))
                if name is None and submodule is not None:
                    found[alias.asname or alias.name] = (submodule, None, node.level == 0)
                else:
                    found[alias.asname or alias.name] = (source, alias.name, node.level == 0)
        return found

    def definition(self, module: str, name: str, depth: int = 0) -> Definition | None:
        """Where `name` of `module` is defined (a def or class at module level, possibly under if/try),
        following re-exports; None for assignments and the unknown."""
        tree = self.trees.get(module)
        if tree is None or depth > 4:
            return None
        for node in _walk_outside_functions(tree.body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                return Definition(module, name, "class" if isinstance(node, ast.ClassDef) else "def")
        bound = self.imports(module, tree.body).get(name)
        if bound is not None and bound[1] is not None:
            return self.definition(bound[0], bound[1], depth + 1)
        return None

    def top_level_names(self, module: str) -> set[str]:
        names = set()
        for node in _walk_outside_functions(self.trees[module].body):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names.update(t.id for t in targets if isinstance(t, ast.Name))
        return names


def _walk_outside_functions(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of `body` and of the if/try/with blocks in it, not those inside defs and classes
    (which are yielded, not entered), nor those under `if TYPE_CHECKING:` (never run)."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(reversed(node.orelse))
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            stack.extend(reversed(getattr(node, field, None) or []))


def find_sites(package: Path) -> list[Site]:
    """Every call in the package whose callee is a def or class of another module of the package, named
    through a package-relative import (at module level, or in the calling function)."""
    pkg = _Package(package)
    sites: list[Site] = []
    for module, tree in pkg.trees.items():
        lines = (package.parent / module).read_text(encoding="utf-8").split("\n")
        own = pkg.top_level_names(module)
        module_level = {k: v for k, v in pkg.imports(module, tree.body).items() if k not in own}
        scopes: list[tuple[ast.AST, dict[str, Bound], str]] = [(tree, module_level, "")]
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                local = pkg.imports(module, node.body)
                if local:
                    scopes.append((node, local, "local"))
        seen: set[tuple[int, int]] = set()
        for scope, bound, form in reversed(scopes):  # function-level imports first: they shadow
            for call in ast.walk(scope):
                if not isinstance(call, ast.Call) or call.end_lineno is None or call.end_col_offset is None:
                    continue
                site = _site(pkg, module, lines, call, bound, form)
                if site is not None and (site.line, site.col) not in seen:
                    seen.add((site.line, site.col))
                    sites.append(site)
    return sorted(sites, key=lambda s: (s.module, s.line, s.col))


def _site(pkg: _Package, module: str, lines: list[str], call: ast.Call,
          bound: dict[str, Bound], form: str) -> Site | None:
    func = call.func
    if isinstance(func, ast.Name) and func.id in bound and bound[func.id][1] is not None:
        source, name, absolute = bound[func.id]
        kind = form or "name"
    elif (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in bound
          and bound[func.value.id][1] is None):
        source, _, absolute = bound[func.value.id]
        name, kind = func.attr, form or "attribute"
    else:
        return None
    kind = "absolute" if absolute else kind
    assert name is not None
    callee = pkg.definition(source, name)
    if callee is None or callee.module == module or func.end_lineno is None or func.end_col_offset is None:
        return None
    line = func.end_lineno - 1
    col = _column(lines[line], func.end_col_offset)
    if not lines[line][col:].startswith("("):
        return None  # `f (x)` or a bracket on the next line: not how the call is typed
    end_line = call.end_lineno - 1  # type: ignore[operator]
    end_col = _column(lines[end_line], call.end_col_offset) - 1  # type: ignore[arg-type]
    return Site(module, line, col + 1, end_line, end_col, callee, kind, lines[line].strip())


def sample(sites: list[Site], n: int | None, seed: int = 9) -> list[Site]:
    """A fixed seeded sample of `n` sites (all when None) spread across modules (taken in turn) and
    across callees (in each module, a callee's first sites before anybody's second)."""
    rng = random.Random(seed)
    by_module: dict[str, list[Site]] = collections.defaultdict(list)
    for s in sites:
        by_module[s.module].append(s)
    queues = []
    for module in sorted(by_module):
        shuffled = rng.sample(by_module[module], len(by_module[module]))
        rank: collections.Counter[str] = collections.Counter()
        ordered = []
        for s in shuffled:
            ordered.append((rank[s.callee.name], len(ordered), s))
            rank[s.callee.name] += 1
        queues.append(collections.deque(s for _, _, s in sorted(ordered, key=lambda t: (t[0], t[1]))))
    out: list[Site] = []
    limit = len(sites) if n is None else min(n, len(sites))
    while len(out) < limit:
        for q in queues:
            if q and len(out) < limit:
                out.append(q.popleft())
    return out
