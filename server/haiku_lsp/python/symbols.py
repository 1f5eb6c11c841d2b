"""The defs and classes of a Python source text, by a full parse (no jedi, no I/O): what "Generate unit
test" writes a test for and what a refactor plan targets.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


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
