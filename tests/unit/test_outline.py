"""The indentation-only enclosing definition used while listing code actions, checked against ast."""

from __future__ import annotations

import ast
from pathlib import Path

import haiku_lsp.completion.engine as sample_module
from haiku_lsp.python import enclosing_definition

SOURCE = '''import os


class Cart:
    """A cart."""

    def __init__(self):
        self.items = []

    @property
    def total(self):
        x = 1

        return x

    class Inner:
        async def run(self):
            pass


def top(a,
        b):
    return a


VALUE = 3
'''


def test_table():
    lines = SOURCE.split("\n")
    expected = {0: None, 3: "Cart", 4: "Cart", 6: "Cart.__init__", 7: "Cart.__init__", 9: "Cart.total",
                10: "Cart.total", 11: "Cart.total", 12: "Cart.total", 13: "Cart.total", 16: "Cart.Inner.run",
                17: "Cart.Inner.run", 20: "top", 22: "top", 25: None}
    for line, name in expected.items():
        assert enclosing_definition(lines, line) == name, (line, lines[line])


def _ast_innermost(tree: ast.Module, line: int) -> str | None:
    best: list[str] = []

    def visit(node: ast.AST, prefix: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                start = min([child.lineno, *[d.lineno for d in child.decorator_list]])
                if start <= line <= child.end_lineno:
                    best[:] = [*prefix, child.name]
                    visit(child, [*prefix, child.name])
            else:
                visit(child, prefix)

    visit(tree, [])
    return ".".join(best) or None


def test_agrees_with_ast_on_real_code():
    source = Path(sample_module.__file__).read_text()
    tree, lines = ast.parse(source), source.split("\n")
    for i, text in enumerate(lines):
        if text.strip() and not text.lstrip().startswith(("#", '"', "'", ")", "]", "}")):
            assert enclosing_definition(lines, i) == _ast_innermost(tree, i + 1), (i + 1, text)
