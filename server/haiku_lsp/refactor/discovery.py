"""Which of a project's tests exercise a module: the test files pytest would collect (its configuration's
`testpaths` and `python_files`, else its defaults) that import the module directly, through an alias,
or through a package whose `__init__` re-exports it (`from toolz import partitionby` where
`toolz/__init__.py` does `from .recipes import *`; `import more_itertools as mi`), or that name it in
a string (a doctest suite). When none does but the project has tests, the whole suite is chosen: a
refactor is better checked by every test than by none. Text search only; nothing is imported.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from haiku_lsp.tools import SKIP_DIRS

DEFAULT_PYTHON_FILES = ("test_*.py", "*_test.py")
MAX_FILES = 5000


@dataclass(frozen=True)
class TestSelection:
    """`args`: what pytest is given (files, or nothing to let the project's `testpaths` decide); `files`:
    the test files found to import the module (empty for the whole suite); `how`: "imports", "whole
    suite" or "none"; `why`: in the user's words."""

    args: list[str]
    files: list[str]
    how: str
    why: str


def pytest_config(root: Path) -> tuple[list[str], list[str]]:
    """(testpaths, python_files) from the first pytest configuration found, as pytest looks for it:
    pytest.ini, pyproject.toml's [tool.pytest.ini_options], tox.ini's [pytest], setup.cfg's [tool:pytest]."""
    def split(value: object) -> list[str]:
        if isinstance(value, str):
            return value.split()
        return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []

    for name, section in (("pytest.ini", "pytest"), ("pyproject.toml", None), ("tox.ini", "pytest"),
                          ("setup.cfg", "tool:pytest")):
        path = root / name
        if not path.is_file():
            continue
        try:
            if section is None:
                options = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("pytest", {})
                options = options.get("ini_options") if isinstance(options, dict) else None
                if not isinstance(options, dict):
                    continue
            else:
                parser = configparser.ConfigParser(interpolation=None)
                parser.read(path, encoding="utf-8")
                if not parser.has_section(section):
                    continue
                options = dict(parser.items(section))
        except (OSError, ValueError, configparser.Error):
            continue
        return split(options.get("testpaths", [])), split(options.get("python_files", [])) or list(
            DEFAULT_PYTHON_FILES)
    return [], list(DEFAULT_PYTHON_FILES)


def carriers(root: Path, module: str, path: Path) -> list[str]:
    """`module` and the packages above it whose `__init__` re-exports it (directly, or through a
    package below that does): importing any of them runs the module's code under test."""
    found = [module]
    parts = module.split(".")
    init_dir = path.parent
    for depth in range(len(parts) - 1, 0, -1):
        package = ".".join(parts[:depth])
        try:
            text = (init_dir / "__init__.py").read_text(encoding="utf-8", errors="replace")
        except OSError:
            break
        init_dir = init_dir.parent
        for carrier in list(found):
            rel = carrier[len(package) + 1:]
            if not carrier.startswith(package + ".") or not rel:
                continue
            head = rel.split(".")[0]
            pattern = re.compile(
                rf"^\s*(?:from\s+\.{re.escape(rel)}\s+import\b|from\s+{re.escape(carrier)}\s+import\b"
                rf"|from\s+\.\s+import\s+[^\n]*\b{re.escape(head)}\b|import\s+{re.escape(carrier)}\b)", re.M)
            if pattern.search(text):
                found.append(package)
                break
    return found


def _imports(module: str, found: list[str]) -> re.Pattern[str]:
    parent, _, leaf = module.rpartition(".")
    names = "|".join(re.escape(c) for c in found)
    patterns = [
        rf"^\s*import\s+[^\n]*(?<![\w.])(?:{names})(?![\w])",  # import x, import x as y, import a, x.y
        rf"^\s*from\s+{re.escape(module)}(?:\.\w+)*\s+import\b",
        rf"^\s*from\s+(?:{names})\s+import\b",
        rf"""['"]{re.escape(module)}['"]""",  # DocTestSuite('pkg.mod'), importlib.import_module("pkg.mod")
    ]
    if parent:
        patterns.append(rf"^\s*from\s+{re.escape(parent)}\s+import\s+[^\n]*\b{re.escape(leaf)}\b")
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.M)


def _test_files(root: Path, testpaths: list[str], python_files: list[str]) -> list[Path]:
    starts = [root / p for p in testpaths if (root / p).exists()] or [root]
    out: list[Path] = []
    for start in starts:
        if start.is_file():
            out.append(start)
            continue
        for dirpath, dirnames, filenames in os.walk(start):
            here = Path(dirpath)
            top = here == root
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.endswith(".egg-info")
                                 and not (top and d in ("build", "dist")))
            for name in sorted(filenames):
                if name.endswith(".py") and any(fnmatch.fnmatch(name, g) for g in python_files):
                    out.append(here / name)
                    if len(out) >= MAX_FILES:
                        return out
    return out


def find_tests(root: Path, module: str, path: Path | None = None) -> TestSelection:
    """The tests to run for `module` (the file at `path`, default found from the module name)."""
    root = Path(root)
    path = path or root.joinpath(*module.split(".")).with_suffix(".py")
    testpaths, python_files = pytest_config(root)
    candidates = _test_files(root, testpaths, python_files)
    pattern = _imports(module, carriers(root, module, path))
    found = []
    for test in candidates:
        try:
            text = test.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if pattern.search(text):
            found.append(test.relative_to(root).as_posix())
    if found:
        return TestSelection(found, found, "imports", "")
    if candidates:
        args = [] if testpaths else [t.relative_to(root).as_posix() for t in candidates]
        return TestSelection(args, [], "whole suite",
                             f"no test file imports `{module}` (directly or through its package): "
                             f"ran the whole test suite ({len(candidates)} files)")
    globs = ", ".join(python_files)
    return TestSelection([], [], "none", f"no test file found in the workspace (pytest's python_files: {globs})")
