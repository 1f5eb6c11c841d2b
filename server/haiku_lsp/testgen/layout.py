"""The domain side of "Generate unit test": where a test goes, how a new test joins an existing test
file, and what a model's answer must look like. The symbol under the cursor comes from
:mod:`haiku_lsp.python.symbols`; the offline writers (doctest examples, hypothesis's ghostwriter) are
in :mod:`haiku_lsp.testgen.writers`. Generated tests are run with `run_pytest` before they are
offered. Nothing here knows about LSP, and user code is never imported in-process.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from pathlib import Path
from typing import Any

from haiku_lsp.python import module_name, relative_to_root
from haiku_lsp.tools import SKIP_DIRS

# --- where tests go --------------------------------------------------------------------------------


def test_dir(root: Path) -> Path:
    """The project's test directory: tests/ if it exists, else test/, else tests/ (to be created)."""
    for name in ("tests", "test"):
        if (root / name).is_dir():
            return root / name
    return root / "tests"


def test_target(root: Path, path: Path) -> Path:
    """Where the test of `path` goes: <test dir>/test_<module>.py, or mirrored into subdirectories
    (tests/pkg/sub/test_mod.py or tests/sub/test_mod.py) when the test directory already has one for
    the module's package; an existing file there is appended to."""
    root = Path(root).absolute()
    name = module_name(root, path)
    parts = name.split(".") if name else [Path(path).stem]
    tests = test_dir(root)
    filename = f"test_{parts[-1]}.py"
    packages = parts[:-1]
    best, depth = tests, 0
    for variant in (packages, packages[1:]):
        existing = 0
        while existing < len(variant) and tests.joinpath(*variant[:existing + 1]).is_dir():
            existing += 1
        if existing > depth:
            best, depth = tests.joinpath(*variant), existing
    return best / filename


def normalise_test_path(root: Path, proposed: str | None, path: Path) -> Path:
    """The model's proposed path (relative to `root` or absolute) when it is inside the test directory
    and named test_*.py, else test_target(root, path)."""
    root = Path(root).absolute()
    if proposed and proposed.strip():
        candidate = Path(os.path.normpath(root / proposed.strip()))
        rel = relative_to_root(candidate, test_dir(root), resolve=True)
        inside = relative_to_root(candidate, root, resolve=True)
        if (rel is not None and rel.parts and inside is not None
                and candidate.suffix == ".py" and candidate.name.startswith("test_")
                and not any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts)):
            return root / inside  # spelled under the root, as the test command and the cache key see it
    return test_target(root, path)


# Named test_*, but not tests: pytest must not collect them from test modules that import them.
test_dir.__test__ = test_target.__test__ = False  # type: ignore[attr-defined]


# --- the model's answer ----------------------------------------------------------------------------

TESTGEN_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "test_path": {"type": "string", "description": "Workspace-relative path of the test file."},
        "code": {"type": "string", "description": "The complete pytest test code to add: imports and tests."},
        "command": {"type": "string", "description": "The command that runs the new tests, e.g. "
                    "'python -m pytest tests/test_cart.py -q' (shown to the user, never executed)."},
        "notes": {"type": "string", "description": "One or two sentences on what the tests check."},
    },
    "required": ["test_path", "code", "command", "notes"],
    "additionalProperties": False,
}


def test_names(code: str) -> list[str]:
    """Top-level test functions (test_*) and test classes (Test* with a test_ method) in `code`."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            names.append(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test") and any(
                isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")
                for n in node.body):
            names.append(node.name)
    return names


test_names.__test__ = False  # type: ignore[attr-defined]


def new_test_ids(test_path: str, before: str | None, after: str) -> list[str]:
    """pytest node ids ("tests/test_x.py::test_y") of the tests `after` defines and `before` did not:
    what to run to check an appended test without the rest of the file."""
    old = set(test_names(before or ""))
    return [f"{test_path}::{name}" for name in test_names(after) if name not in old]


def validate_generated(answer: Any) -> str | None:
    """None when `answer` is a usable test answer; else what is wrong, worded for a repair round."""
    if not isinstance(answer, dict):
        return "The answer must be a JSON object with string fields test_path, code, command and notes."
    problems = [f"'{key}' is missing" for key in TESTGEN_SCHEMA["required"] if key not in answer]
    problems += [f"'{key}' must be a string" for key in TESTGEN_SCHEMA["required"]
                 if key in answer and not isinstance(answer[key], str)]
    if problems:
        return "; ".join(problems) + "."
    code = answer["code"]
    if not code.strip():
        return "'code' is empty."
    try:
        compile(code, answer["test_path"] or "<test>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        return f"'code' does not compile: {exc.msg} (line {exc.lineno})."
    except ValueError as exc:
        return f"'code' does not compile: {exc}."
    if not test_names(code):
        return "'code' defines no test: add at least one top-level function named test_..."
    return None


# --- merging ---------------------------------------------------------------------------------------


def _bound(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else (
        [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
    return [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]


def _import_keys(node: ast.Import | ast.ImportFrom) -> list[tuple]:
    if isinstance(node, ast.Import):
        return [("import", a.name, a.asname) for a in node.names]
    return [("from", node.level, node.module, a.name, a.asname) for a in node.names]


def import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    return [a.asname or a.name.split(".")[0] for a in node.names]


def _rename(code: str, renames: dict[str, str]) -> str:
    """Rename names (not attributes, not keyword arguments) by token, keeping formatting."""
    if not renames:
        return code
    lines = code.splitlines(keepends=True)
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(code).readline)
                  if t.type not in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT)]
    except (tokenize.TokenError, SyntaxError):
        return code
    depth, edits = 0, []
    for i, tok in enumerate(tokens):
        if tok.type == tokenize.OP:
            depth += tok.string in "([{"
            depth -= tok.string in ")]}"
        elif tok.type == tokenize.NAME and tok.string in renames:
            prev = tokens[i - 1].string if i else ""
            nxt = tokens[i + 1].string if i + 1 < len(tokens) else ""
            if prev != "." and not (depth and nxt == "="):
                edits.append(tok)
    for tok in reversed(edits):
        row, col = tok.start
        line = lines[row - 1]
        lines[row - 1] = line[:col] + renames[tok.string] + line[col + len(tok.string):]
    return "".join(lines)


def merge_test(existing: str | None, new_code: str) -> str:
    """`new_code` appended to the test file `existing` (None or blank: `new_code` alone).

    New imports join the existing top-level imports (names added to a matching one-line
    `from m import ...` when it stays short; duplicates dropped); the new module docstring and
    statements identical to existing ones are dropped; new top-level names that clash are renamed
    (test_x -> test_x_2) with their uses in the new code; two blank lines separate the parts; the
    result ends with a newline and compiles. If `existing` does not parse, `new_code` is appended
    as is. Raises ValueError when `new_code` does not compile."""
    try:
        new_tree = ast.parse(new_code)
        compile(new_code, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        raise ValueError(f"new test code does not compile: {exc}") from exc
    if existing is None or not existing.strip():
        return new_code.strip("\n") + "\n"
    try:
        old_tree = ast.parse(existing)
    except (SyntaxError, ValueError):
        return existing.rstrip() + "\n\n\n" + new_code.strip("\n") + "\n"

    old_lines = existing.rstrip().splitlines()
    have = {k for n in old_tree.body if isinstance(n, (ast.Import, ast.ImportFrom)) for k in _import_keys(n)}
    taken = {name for n in old_tree.body
             for name in (import_names(n) if isinstance(n, (ast.Import, ast.ImportFrom)) else _bound(n))}
    old_dumps = {ast.dump(n) for n in old_tree.body}
    # Leading block: the docstring, then the imports before the first other statement.
    body = old_tree.body
    first = body[0] if body else None
    doc_end = (first.end_lineno or 0) if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
        and isinstance(first.value.value, str) else 0
    leading = []
    for node in body[1 if doc_end else 0:]:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            break
        leading.append(node)
    future_at = max([doc_end or 0] + [n.end_lineno or 0 for n in leading
                                      if isinstance(n, ast.ImportFrom) and n.module == "__future__"])
    imports_at = leading[-1].end_lineno if leading else doc_end
    one_line_froms = {(n.level, n.module): n for n in leading if isinstance(n, ast.ImportFrom)
                      and n.lineno == n.end_lineno and old_lines[n.lineno - 1].strip() == ast.unparse(n)}

    new_lines = new_code.splitlines()
    drop: set[int] = set()  # 0-based lines of the new code not carried over
    futures: list[str] = []
    imports: list[str] = []
    changed_froms: dict[int, ast.ImportFrom] = {}
    renames: dict[str, str] = {}
    for i, node in enumerate(new_tree.body):
        span = range(min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))]) - 1,
                     node.end_lineno or node.lineno)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            drop.update(span)
            keep = [a for a, k in zip(node.names, _import_keys(node), strict=True) if k not in have]
            have.update(_import_keys(node))
            if not keep:
                continue
            if isinstance(node, ast.ImportFrom):
                target = one_line_froms.get((node.level, node.module))
                merged = target and ast.ImportFrom(node.module, [*target.names, *keep], node.level)
                if target and merged and len(ast.unparse(merged)) <= 88:
                    target.names = merged.names
                    changed_froms[target.lineno] = target
                    continue
                stmt = ast.unparse(ast.ImportFrom(node.module, keep, node.level))
                (futures if node.module == "__future__" else imports).append(stmt)
            else:
                imports.append(ast.unparse(ast.Import(keep)))
        elif i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            drop.update(span)  # the new module's docstring: the file has its own place for one
        elif ast.dump(node) in old_dumps:
            drop.update(span)
        else:
            for name in _bound(node):
                if name in taken:
                    n = 2
                    while f"{name}_{n}" in taken:
                        n += 1
                    renames[name] = f"{name}_{n}"
                taken.add(renames.get(name, name))

    for lineno, target in changed_froms.items():
        old_lines[lineno - 1] = ast.unparse(target)
    if imports:
        block = imports if leading else [*imports, ""]
        old_lines[imports_at:imports_at] = block
    if futures:
        old_lines[future_at:future_at] = futures
    rest = "\n".join(line for i, line in enumerate(new_lines) if i not in drop)
    rest = re.sub(r"\n{3,}", "\n\n\n", _rename(rest + "\n", renames)).strip("\n")
    merged_text = "\n".join(old_lines).rstrip() + ("\n\n\n" + rest if rest else "") + "\n"
    try:
        compile(merged_text, "<test>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return existing.rstrip() + "\n\n\n" + new_code.strip("\n") + "\n"
    return merged_text
