"""Where a parse can tell how an insertion fits: the statements around the cursor, cut out (pure).

The excerpt is the outermost statements around the cursor within the lines the shaper holds, at their own
column (a method parsed alone when its class line is far above), dedented to column 0; with the insertion
in place of the cursor's line it parses on its own, or the insertion does not fit.
"""

from __future__ import annotations

import ast
import re
from typing import Protocol

from haiku_lsp.completion.shaping.filters import CONTINUATION_KEYWORDS, leading_identifier

_STATEMENT_START = re.compile(r"[A-Za-z_@]")  # a statement's first character


class Around(Protocol):
    """The text around the cursor (a CursorContext)."""

    @property
    def line_prefix(self) -> str: ...
    @property
    def line_suffix(self) -> str: ...
    @property
    def lines_before(self) -> tuple[str, ...]: ...
    @property
    def lines_after(self) -> tuple[str, ...]: ...


_TERMINAL_NODES = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def leaves_dead_code(tree: ast.AST, first: int, last: int) -> bool:
    """A return/raise/continue/break on lines *first*..*last* is followed by statements of its own suite.
    Only statements are visited (and only those reaching into those lines), not expressions."""
    suites: list[list[ast.stmt]] = [tree.body] if isinstance(tree, ast.Module) else []
    while suites:
        suite = suites.pop()
        for k, stmt in enumerate(suite):
            if stmt.lineno > last:
                break
            if (stmt.end_lineno or stmt.lineno) < first:
                continue
            if isinstance(stmt, _TERMINAL_NODES) and stmt.lineno >= first and k < len(suite) - 1:
                return True
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, name, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    suites.append(inner)
            for part in (*getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())):
                suites.append(part.body)
    return False


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _opens_statement(line: str) -> bool:
    """The line starts a statement that does not continue another (not `else:`, `except:` ...)."""
    body = line.lstrip(" \t")
    return bool(_STATEMENT_START.match(body)) and leading_identifier(body)[0] not in CONTINUATION_KEYWORDS


def dedent(line: str, base: int) -> str:
    return line[base:] if not line[:base].strip() else line.lstrip(" \t")


def excerpt_bounds(ctx: Around) -> tuple[int, int, int] | None:
    """The outermost statements around the cursor within the window, as (index in lines_before where they
    start, lines of lines_after they take, their column): from the last statement above at the lowest
    column (at most the cursor line's) to the first one below back at that column (a decorator's statement
    is the definition below it). None when there is no such statement above (nor on the cursor's line)."""
    column = _indent(ctx.line_prefix) if ctx.line_prefix.strip() else len(ctx.line_prefix)
    starts = [k for k, x in enumerate(ctx.lines_before) if _opens_statement(x)]
    base = min((_indent(ctx.lines_before[k]) for k in starts), default=column)
    if base > column:
        base = column  # the cursor's line is left of every statement above: it starts the excerpt
    starts = [k for k in starts if _indent(ctx.lines_before[k]) == base]
    if starts:
        start = starts[-1]
    elif ctx.line_prefix.strip() and _opens_statement(ctx.line_prefix):
        start = len(ctx.lines_before)  # the cursor's line starts the statement
    else:
        return None
    end, decorated = len(ctx.lines_after), (ctx.line_prefix + ctx.line_suffix).lstrip().startswith("@")
    for k, x in enumerate(ctx.lines_after):
        if not x.strip():
            continue
        if _indent(x) <= base and _opens_statement(x) and not decorated:
            end = k
            break
        decorated = _indent(x) <= base and x.lstrip().startswith("@")
    return start, end, base
