"""Which functions get a test: the public functions and methods under the given paths that no test calls
yet (or those selected by name), in a stable order, split into shards for a CI matrix."""

from __future__ import annotations

import ast
import fnmatch
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import Symbol, module_name, relative_to_root
from haiku_lsp.python.symbols import symbols
from haiku_lsp.tools import SKIP_DIRS

_ROOT_MARKERS = ("pyproject.toml", "setup.py", "setup.cfg", ".git")


@dataclass(frozen=True)
class Target:
    """One function or method to write a test for."""

    path: Path  # absolute
    rel: str  # workspace-relative, posix
    module: str
    qualname: str
    line: int  # 0-based line of its `def`

    @property
    def id(self) -> str:
        return f"{self.rel}::{self.qualname}"


def project_root(paths: Sequence[Path]) -> Path:
    """The project the paths belong to: the nearest folder above the first one holding pyproject.toml,
    setup.py, setup.cfg or .git; else the first path's folder."""
    first = paths[0].resolve()
    start = first if first.is_dir() else first.parent
    for folder in (start, *start.parents):
        if any((folder / marker).exists() for marker in _ROOT_MARKERS):
            return folder
    return start


def is_test_file(rel: PurePath) -> bool:
    name = rel.name
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or any(part in ("tests", "test") for part in rel.parts[:-1]))


def _skipped_dir(rel: PurePath) -> bool:
    return any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]) or (
        len(rel.parts) > 1 and rel.parts[0] in ("build", "dist"))


def python_files(root: Path, paths: Iterable[Path]) -> list[Path]:
    """The .py files under `paths` (files or folders) inside `root`, sorted, without skipped folders."""
    found: set[Path] = set()
    for path in paths:
        path = path.resolve()
        candidates = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in candidates:
            rel = relative_to_root(file, root, resolve=True)
            if rel is not None and file.suffix == ".py" and not _skipped_dir(rel):
                found.add(file)
    return sorted(found)


def called_names(root: Path) -> set[str]:
    """Names the project's tests call (`f(...)`, `obj.f(...)`): a function whose name is among them counts
    as tested already."""
    names: set[str] = set()
    for file in python_files(root, [root]):
        rel = relative_to_root(file, root, resolve=True)
        if rel is None or not is_test_file(rel):
            continue
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name):
                    names.add(func.id)
                elif isinstance(func, ast.Attribute):
                    names.add(func.attr)
    return names


def _public(symbol: Symbol) -> bool:
    if symbol.kind == "class" or "<locals>" in symbol.qualname:
        return False
    return not any(part.startswith("_") for part in symbol.qualname.split("."))


def _selected(target: Target, patterns: Sequence[str]) -> bool:
    names = (target.qualname, f"{target.module}.{target.qualname}", target.id)
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names)


def find_targets(root: Path, paths: Sequence[Path], *, select: Sequence[str] = (),
                 ignore: IgnoreRules | None = None) -> list[Target]:
    """The functions to test, sorted by id: with `select` (fnmatch patterns on `qualname`,
    `module.qualname` or `path::qualname`), those selected, tested or not; else every public function
    and method no test calls yet. Test files, ignored files and files that are not importable modules of
    `root` are left out."""
    tested = set() if select else called_names(root)
    targets: list[Target] = []
    for file in python_files(root, paths):
        rel = relative_to_root(file, root, resolve=True)
        if rel is None or is_test_file(rel) or rel.name in ("setup.py", "conftest.py"):
            continue
        if ignore is not None and ignore.is_ignored(str(file)):
            continue  # nothing of an ignored file goes upstream
        module = module_name(root, file)
        if module is None:
            continue
        try:
            source = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines = source.splitlines()
        for symbol in symbols(source):
            if not _public(symbol):
                continue
            def_line = next((i for i in range(symbol.start_line, symbol.end_line + 1)
                             if lines[i].lstrip().startswith(("def ", "async def "))), symbol.start_line)
            target = Target(file, rel.as_posix(), module, symbol.qualname, def_line)
            if select:
                if _selected(target, select):
                    targets.append(target)
            elif symbol.name not in tested:
                targets.append(target)
    return sorted(targets, key=lambda t: t.id)


def parse_shard(value: str) -> tuple[int, int]:
    """"I/N" (1 <= I <= N) -> (I, N); ValueError otherwise."""
    index, sep, count = value.partition("/")
    if not sep or not index.strip().isdigit() or not count.strip().isdigit():
        raise ValueError(f"expected I/N, got {value!r}")
    i, n = int(index), int(count)
    if not 1 <= i <= n:
        raise ValueError(f"shard {i}/{n}: I must be between 1 and N")
    return i, n


def in_shard(target: Target, index: int, count: int) -> bool:
    """Shard of a target by a hash of its id: the same on every machine and run, and adding a function
    moves no other one to another shard."""
    digest = hashlib.sha256(target.id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1
