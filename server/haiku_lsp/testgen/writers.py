"""The offline writers of "Generate unit test", used when no model answers: a pytest module from a
symbol's doctest examples, and a property-based test from hypothesis's ghostwriter (run in a sandboxed
copy of the workspace: user code is never imported in-process).
"""

from __future__ import annotations

import ast
import builtins
import doctest
import io
import re
import textwrap
import tokenize
from pathlib import Path
from typing import Any

from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import Symbol
from haiku_lsp.python.symbols import symbols
from haiku_lsp.testgen.layout import import_names, validate_generated
from haiku_lsp.tools import run_in_sandbox

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
                bound.update(import_names(node))
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
                           ignore: IgnoreRules | None = None, os_sandbox: bool = True) -> str | None:
    """A property-based test from hypothesis's ghostwriter (`magic`: round-trips, idempotence,
    algebraic properties or a fuzz test), written by `python` in a sandboxed copy of `root` (user code
    is imported only there). A method's `self` is drawn from `st.builds(Class)`. None when the
    interpreter lacks hypothesis (or black), the import fails or times out, or the writer cannot
    infer strategies for every argument; for async functions and nested ones."""
    if "<locals>" in symbol.qualname or symbol.is_async:
        return None  # not importable / coroutines are not awaited by ghostwritten tests
    argv = [python, "-c", _GHOSTWRITER, module, symbol.qualname]
    proc = await run_in_sandbox(root, {}, argv, timeout_s=timeout_s, ignore=ignore, merge_stderr=False,
                                os_sandbox=os_sandbox)
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

