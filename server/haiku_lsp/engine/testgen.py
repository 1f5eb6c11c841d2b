"""The domain side of "Generate unit test": the symbol under the cursor, where its test goes, how a
new test joins an existing test file, what a model's answer must look like, and the offline writers
(doctest examples, hypothesis's ghostwriter). Generated tests are run with `sandbox.run_pytest`
before they are offered. Nothing here knows about LSP, and user code is never imported in-process.
"""

from __future__ import annotations

import ast
import builtins
import doctest
import io
import keyword
import os
import re
import textwrap
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .privacy import IgnoreRules
from .sandbox import SKIP_DIRS, run_in_sandbox, source_roots

# --- symbols ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Symbol:
    """A def or class. Lines are 0-based and inclusive, decorators included; `source` is those lines
    as written (indentation kept, no final newline); `docstring` is cleaned (inspect.cleandoc)."""

    name: str
    qualname: str  # "Cart.total"; "outer.<locals>.inner" for a nested function (not importable)
    kind: str  # "function" | "async function" | "method" (async ones too) | "class"
    start_line: int
    end_line: int
    source: str
    docstring: str | None
    is_async: bool = False


def symbols(source: str) -> list[Symbol]:
    """Every def and class in `source`, nested ones included, in document order; [] on syntax errors."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    lines = source.splitlines()
    found: list[Symbol] = []

    def visit(node: ast.AST, prefix: str, in_class: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                visit(child, prefix, in_class)
                continue
            is_async = isinstance(child, ast.AsyncFunctionDef)
            if isinstance(child, ast.ClassDef):
                kind = "class"
            else:
                kind = "method" if in_class else ("async function" if is_async else "function")
            start = min([child.lineno, *(d.lineno for d in child.decorator_list)]) - 1
            end = (child.end_lineno or child.lineno) - 1
            qualname = prefix + child.name
            found.append(Symbol(child.name, qualname, kind, start, end, "\n".join(lines[start:end + 1]),
                                ast.get_docstring(child), is_async))
            is_class = isinstance(child, ast.ClassDef)
            visit(child, qualname + ("." if is_class else ".<locals>."), is_class)

    visit(tree, "", False)
    return sorted(found, key=lambda s: (s.start_line, -s.end_line))


def symbol_at(source: str, line: int) -> Symbol | None:
    """The innermost def/class whose lines (decorators included) contain `line`; None if there is
    none or the source does not parse."""
    inside = [s for s in symbols(source) if s.start_line <= line <= s.end_line]
    return max(inside, key=lambda s: (s.start_line, -s.end_line), default=None)


# --- where tests go --------------------------------------------------------------------------------


def _inside(path: Path, root: Path) -> Path | None:
    """`path` relative to `root`, also when only their resolved forms agree; None when outside."""
    for p, r in ((path, root), (Path(os.path.realpath(path)), Path(os.path.realpath(root)))):
        try:
            rel = p.relative_to(r)
        except ValueError:
            continue
        if ".." not in rel.parts:
            return rel
    return None


def module_name(root: Path, path: Path) -> str | None:
    """The import name of a workspace file: "pkg.mod" inside packages (counted from the first parent
    without __init__.py, so src/ and other source roots are skipped), "mod" for a top-level module or
    one directly in a source root (src/, setuptools' where), "dir.mod" (namespace package) otherwise.
    None when the file is outside `root`, not .py, or a part is not an identifier."""
    root, path = Path(root).absolute(), Path(root, path).absolute()
    rel = _inside(path, root)
    if rel is None or path.suffix != ".py":
        return None
    path = root / rel
    base = path.parent
    while base != root and (base / "__init__.py").exists():
        base = base.parent
    if base == path.parent:  # not in a regular package
        base = max((r for r in source_roots(root) if path.is_relative_to(r)), key=lambda r: len(r.parts),
                   default=root)
    parts = list(path.relative_to(base).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return ".".join(parts)


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
        rel = _inside(candidate, test_dir(root))
        if (rel is not None and rel.parts and _inside(candidate, root) is not None
                and candidate.suffix == ".py" and candidate.name.startswith("test_")
                and not any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts)):
            return candidate
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


def _import_names(node: ast.Import | ast.ImportFrom) -> list[str]:
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
             for name in (_import_names(n) if isinstance(n, (ast.Import, ast.ImportFrom)) else _bound(n))}
    old_dumps = {ast.dump(n) for n in old_tree.body}
    # Leading block: the docstring, then the imports before the first other statement.
    body = old_tree.body
    doc_end = body[0].end_lineno if body and isinstance(body[0], ast.Expr) and isinstance(
        getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str) else 0
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


# --- offline writers -------------------------------------------------------------------------------

_BUILTINS = frozenset(dir(builtins))
# Expressions that read correctly as `assert <expr> == value` / as a call argument without parentheses.
_PLAIN = (ast.Call, ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.List, ast.Tuple, ast.Dict,
          ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.BinOp, ast.JoinedStr)
_CHECK_HELPER = '''

def _check(capsys, value, want, flags=0):
    """What an example shows (printed output, then the value's repr) matches `want`, as in doctest."""
    got = capsys.readouterr().out + ("" if value is None else repr(value) + "\\n")
    checker, example = doctest.OutputChecker(), doctest.Example("", want)
    assert checker.check_output(want, got, flags), checker.output_difference(example, got, flags)
'''


def _indent(code: str, prefix: str = "    ") -> str:
    """Indent `code`, leaving the continuation lines of multi-line strings alone."""
    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code + "\n").readline):
            if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_MIDDLE", -1):
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, SyntaxError):
        pass
    return "\n".join(line if i in inside or not line.strip() else prefix + line
                     for i, line in enumerate(code.split("\n"), 1))


def _source_of(node: ast.expr, source: str) -> str:
    # The example as written when it is one line without a comment (a directive, usually); a tuple
    # gets the parentheses unparse gives it.
    return source if "\n" not in source and "#" not in source and not isinstance(node, ast.Tuple) else (
        ast.unparse(node))


def _expr_text(node: ast.expr, source: str) -> str:
    text = _source_of(node, source)
    return text if isinstance(node, _PLAIN) else f"({text})"


def _literal(want: str) -> tuple[bool, Any]:
    try:
        value = ast.literal_eval(want.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None
    return True, value


def _pattern(message: str) -> str:
    """A string literal of the regex matching `message` literally, raw when that reads better."""
    escaped = re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", message)
    for quote in ("'", '"'):
        if quote not in escaped and not escaped.endswith("\\"):
            return f"r{quote}{escaped}{quote}"
    return repr(escaped)


def _example_code(ex: doctest.Example, exact: bool, uses: set[str]) -> str:
    """One example as test code; `uses` collects what it needs ("pytest", "capsys", "_check")."""
    source = ex.source.rstrip("\n")
    body = ast.parse(source).body
    expr = body[0].value if len(body) == 1 and isinstance(body[0], ast.Expr) else None
    if ex.exc_msg is not None:
        uses.add("pytest")
        name, _, message = ex.exc_msg.strip().partition(":")
        name = name.strip().rsplit(".", 1)[-1]
        message = message.strip()
        match = "" if "\n" in message or not message or ex.options.get(doctest.IGNORE_EXCEPTION_DETAIL) else (
            f", match={_pattern(message)}")
        if isinstance(getattr(builtins, name, None), type):
            return f"with pytest.raises({name}{match}):\n{_indent(source)}"
        return (f"with pytest.raises(Exception{match}) as excinfo:\n{_indent(source)}\n"
                f"assert type(excinfo.value).__name__ == {name!r}")
    if not ex.want:
        return source
    if not (exact or ex.options or "<BLANKLINE>" in ex.want):
        # Readable forms; each is what doctest checks when nothing else is printed meanwhile.
        is_literal, value = _literal(ex.want)
        prints = expr is not None and any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                                          and n.func.id in ("print", "pprint", "pp") for n in ast.walk(expr))
        if expr is not None and not prints:
            text = _expr_text(expr, source)
            if is_literal and value is True and isinstance(expr, (ast.Compare, ast.BoolOp)):
                return f"assert {_source_of(expr, source)}"
            if is_literal and (value is None or isinstance(value, bool)):
                return f"assert {text} is {value!r}"
            if is_literal:
                return f"assert {text} == {value!r}"
            return f"assert repr({_source_of(expr, source)}) == {ex.want[:-1]!r}"
        uses.add("capsys")
        return f"{source}\nassert capsys.readouterr().out == {ex.want!r}"
    uses.update(("capsys", "_check"))
    flags = " | ".join(f"doctest.{name}" for name, flag in doctest.OPTIONFLAGS_BY_NAME.items()
                       if ex.options.get(flag))
    tail = f", {flags}" if flags else ""
    if expr is not None:
        return f"_check(capsys, {_expr_text(expr, source)}, {ex.want!r}{tail})"
    return f"{source}\n_check(capsys, None, {ex.want!r}{tail})"


def _free_names(sources: list[str]) -> list[str]:
    bound: set[str] = set()
    loaded: list[str] = []
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Name):
                (loaded.append if isinstance(node.ctx, ast.Load) else bound.add)(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update(_import_names(node))
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
    return list(dict.fromkeys(n for n in loaded if n not in bound and n not in _BUILTINS))


def doctest_test(module: str, symbol: Symbol, *, exact: bool = False) -> str | None:
    """A pytest module running the doctest examples of `symbol` (for a class, also its methods'):
    one test function per docstring. An example whose output is a Python literal becomes
    `assert expr == literal` (`exact=True`: never), others are compared with doctest's OutputChecker
    and the example's option flags; an expected exception becomes pytest.raises plus a check of its
    type name; examples without output just run. Names the examples use come from `module`. None when
    there are no usable examples or the symbol is not importable (a nested function)."""
    if "<locals>" in symbol.qualname:
        return None
    sections = [(symbol.qualname, symbol.docstring)]
    if symbol.kind == "class":
        members = symbols(textwrap.dedent(symbol.source))
        sections += [(f"{symbol.qualname}.{s.name}", s.docstring) for s in members
                     if s.kind == "method" and s.qualname.count(".") == 1]
    parser = doctest.DocTestParser()
    uses: set[str] = set()
    functions: list[str] = []
    sources: list[str] = []
    for qualname, docstring in sections:
        try:
            examples = parser.get_examples(docstring or "")
            local: set[str] = set()
            lines = [_example_code(ex, exact, local) for ex in examples]
        except (ValueError, SyntaxError):
            continue  # malformed examples: doctest itself would not run them either
        if not lines:
            continue
        uses |= local
        sources += [ex.source for ex in examples]
        params = "capsys" if "capsys" in local else ""
        name = "test_" + qualname.replace(".", "_") + "_doctest"
        functions.append(f"def {name}({params}):\n" + "\n".join(_indent(line) for line in lines))
    if not functions:
        return None
    head = [f'"""Tests for {module}.{symbol.qualname}, from the examples in its docstring."""']
    head += ["import doctest"] if "_check" in uses else []
    head += ["import pytest"] if "pytest" in uses else []
    if free := _free_names(sources):
        # isort's order: CONSTANTS, Classes, functions.
        free.sort(key=lambda n: (not n.isupper(), not n[:1].isupper(), n.lower()))
        head.append(f"from {module} import {', '.join(free)}")
    helper = [_CHECK_HELPER.strip("\n")] if "_check" in uses else []
    return "\n\n".join(head) + "\n\n\n" + "\n\n\n".join([*helper, *functions]) + "\n"


_MARK = "<<<haiku-lsp ghostwriter>>>"
_GHOSTWRITER = f"""
import importlib, sys
from hypothesis.extra import ghostwriter
obj = importlib.import_module(sys.argv[1])
for part in sys.argv[2].split("."):
    obj = getattr(obj, part)
code = ghostwriter.magic(obj)
sys.stdout.write("\\n{_MARK}\\n" + code)
"""


async def ghostwriter_test(root: Path, module: str, symbol: Symbol, *, python: str, timeout_s: float,
                           ignore: IgnoreRules | None = None) -> str | None:
    """A property-based test from hypothesis's ghostwriter (`magic`: round-trips, idempotence,
    algebraic properties or a fuzz test), written by `python` in a sandboxed copy of `root` (user code
    is imported only there). A method's `self` is drawn from `st.builds(Class)`. None when the
    interpreter lacks hypothesis (or black), the import fails or times out, or the writer cannot
    infer strategies for every argument; for async functions and nested ones."""
    if "<locals>" in symbol.qualname or symbol.is_async:
        return None  # not importable / coroutines are not awaited by ghostwritten tests
    argv = [python, "-c", _GHOSTWRITER, module, symbol.qualname]
    proc = await run_in_sandbox(root, {}, argv, timeout_s=timeout_s, ignore=ignore, merge_stderr=False)
    code = proc.stdout.rpartition(f"\n{_MARK}\n")[2]  # whatever the user's code printed comes before
    if proc.exit_code != 0 or _MARK not in proc.stdout or not code.strip():
        return None
    if symbol.kind == "method":
        owner = symbol.qualname.rsplit(".", 1)[0]
        code = code.replace("self=st.nothing()", f"self=st.builds({module}.{owner})")
    code = re.sub(r"\n# TODO: replace st\.nothing\(\) with an appropriate strategy\n", "\n", code)
    if "st.nothing()" in code:
        return None  # a strategy the writer could not infer: the test would never run anything
    answer = {"test_path": "", "code": code, "command": "", "notes": ""}
    return code if validate_generated(answer) is None else None
