"""What the shaper knows of the code around the cursor, worked out once per cursor (pure).

Lexical facts (the state the cursor's line starts in, whether the cursor is in a string or a comment), the
lines next to it that an answer may repeat or copy, the words the file knows, and the parse that tells how
an insertion fits: the excerpt around the cursor (:mod:`.excerpt`) parsed with the insertion in place.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from haiku_lsp.completion.shaping.excerpt import dedent, excerpt_bounds, leaves_dead_code
from haiku_lsp.completion.shaping.filters import LexState, LineScan, carried_state, scan_line, words

MAX_PARSE_LINES = 600  # around the cursor: more, and a parse cannot decide how an answer fits
AFTER_LINES = 4  # non-blank lines after the cursor's kept for telling a copy of them from new code


@dataclass(frozen=True)
class CursorContext:
    """The text around the cursor, as the shaper needs it."""

    line_prefix: str  # text on the cursor line before the cursor
    line_suffix: str  # text on the cursor line after the cursor
    lines_before: tuple[str, ...] = ()  # lines above the cursor line, in file order
    lines_after: tuple[str, ...] = ()  # lines below the cursor line, in file order
    max_lines: int = 40  # hard cap on lines in a block completion
    max_line_chars: int = 400  # hard cap per line (runaway guard)

    @property
    def mode(self) -> Literal["line", "block"]:
        """Line mode when line_prefix has non-whitespace, else block mode."""
        return "line" if self.line_prefix.strip() else "block"


class Surroundings:
    """The code around one cursor position (a CursorContext); every fact is computed on first use."""

    def __init__(self, ctx: CursorContext) -> None:
        self.ctx = ctx

    @cached_property
    def line_start(self) -> LexState:
        """The lexical state the cursor's line starts in."""
        return carried_state(self.ctx.lines_before)

    @cached_property
    def cursor(self) -> LineScan:
        return scan_line(self.ctx.line_prefix, self.line_start)

    @cached_property
    def in_string(self) -> bool:
        return bool(self.cursor.state.quote) or self.cursor.open_string

    @cached_property
    def in_text(self) -> bool:
        """The cursor is inside a string or comment (prose there is legitimate)."""
        return self.in_string or self.cursor.in_comment

    @cached_property
    def prev_line(self) -> str:
        """The last non-blank line above, with its indentation: a repeat is the whole line again."""
        return next((x.rstrip() for x in reversed(self.ctx.lines_before) if x.strip()), "")

    @cached_property
    def after(self) -> tuple[str, ...]:
        """The first non-blank lines after the cursor line (for telling a copy of them from new code)."""
        return tuple(x.rstrip() for x in self.ctx.lines_after if x.strip())[:AFTER_LINES]

    @cached_property
    def known(self) -> set[str]:
        """The words of the code around the cursor."""
        ctx = self.ctx
        return words("\n".join((*ctx.lines_before, *ctx.lines_after, ctx.line_suffix)))

    def opens_block(self, fitted: str) -> bool:
        """The cursor's line completed with *fitted* is a block header (ends with ":" outside brackets)."""
        scan = scan_line(self.ctx.line_prefix + fitted, self.line_start)
        line = (self.ctx.line_prefix + fitted)[: scan.code_end].rstrip()
        return scan.state.at_statement_start and line.endswith(":") and not scan.open_string

    # --- parsing ---------------------------------------------------------------------------------------

    @cached_property
    def excerpt(self) -> tuple[tuple[str, ...], tuple[str, ...], int] | None:
        """(lines before, lines after, columns removed): whole statements around the cursor that parse on
        their own once the insertion is in, dedented to column 0; None when the window holds none or they
        are too long to parse on every answer."""
        found = excerpt_bounds(self.ctx)
        if found is None:
            return None
        start, end, base = found
        ctx = self.ctx
        if len(ctx.lines_before) - start + end > MAX_PARSE_LINES:
            return None
        return (tuple(dedent(x, base) for x in ctx.lines_before[start:]),
                tuple(dedent(x, base) for x in ctx.lines_after[:end]), base)

    def fits(self, text: str) -> bool | None:
        """Does the code around the cursor parse with *text* at the cursor, without a return/raise/... of
        it leaving statements after it dead? None: cannot tell."""
        ctx = self.ctx
        tree = self.parse(ctx.line_prefix + text + ctx.line_suffix)
        if tree is None:
            return None
        if tree is False:
            return False
        first = len(self.excerpt[0]) + 1 if self.excerpt else 1  # 1-based lines of the text in the excerpt
        return not leaves_dead_code(tree, first, first + text.count("\n"))

    def parse(self, cursor_line: str) -> ast.Module | Literal[False] | None:
        """The excerpt around the cursor parsed with *cursor_line* (possibly several lines) in place of the
        cursor's line: its tree, False when it does not parse, None when there is no excerpt."""
        excerpt = self.excerpt
        if excerpt is None:
            return None
        before, after, base = excerpt
        text = "\n".join([*before, *(dedent(x, base) for x in cursor_line.split("\n")), *after])
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError):
            return False

    @cached_property
    def parse_decides(self) -> bool:
        """The code around the cursor parses with a plain statement (or a block header) in place of the
        cursor's line: a parse can then tell how an answer fits. (Code that is broken elsewhere, as it
        often is while typing, fails with any answer.)"""
        prefix = self.ctx.line_prefix
        indent = prefix[: len(prefix) - len(prefix.lstrip(" \t"))]
        return any(self.parse(indent + stmt) not in (None, False) for stmt in ("pass", "if True:", ""))
