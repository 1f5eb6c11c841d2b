"""Block mode: where a multi-line answer ends and how its lines are indented in the file (pure).

Used by :class:`haiku_lsp.completion.shaping.shaper.CompletionShaper` once the first line of a block-mode answer
(cursor on a blank line) is known.
"""

from __future__ import annotations

from collections.abc import Callable

from haiku_lsp.completion.shaping.filters import (
    CONTINUATION_KEYWORDS,
    HOLE_RE,
    LexState,
    leading_identifier,
    looks_like_prose,
    repeated_cycle,
    scan_line,
)

STOP, KEEP, WAIT, BELOW = "stop", "keep", "wait", "below"
TERMINAL = frozenset({"return", "raise", "continue", "break"})  # nothing after them in their suite runs
MAX_REPAIR_TRIES = 6  # shorter answers tried when the code around the hole does not parse with it
ECHO_LINES = 2  # lines of the code after the hole an answer must copy to be read as copying it


def fit_first(prefix: str, line: str) -> tuple[str, int, str | None]:
    """(first line as inserted after *prefix*, its column in the file, shift for the following lines,
    None while undecided).

    The model may restate the cursor line's indentation ("    return x" at column 4), omit it (the
    perfect answer: then the following lines are either in file indentation or relative to the cursor,
    decided later), or give less than the cursor has (its whole block shifted left)."""
    body = line.lstrip(" \t")
    ws = line[: len(line) - len(body)]
    if ws.startswith(prefix):
        return line[len(prefix) :], len(ws), ""
    if not ws:
        return line, len(prefix), None
    same_char = len(set(ws + prefix)) == 1 and len(ws) < len(prefix)
    return body, len(prefix), prefix[len(ws) :] if same_char else ""


class BlockLayout:
    """A block-mode answer from its first line on, and the rules that end the block.

    The model's lines are taken until the model stops, except that the block ends
    - where the enclosing suite ends in a way the code after the hole does not need: a statement left of
      the first line's column is kept only while it is not left of the code after the hole (*target*:
      the hole may close a suite and go on in the outer one, as the code after it does); with nothing
      after the hole, a statement back at module level ends a block that started inside a definition.
      Further left, the block is cut there unless *fits* (the code around the hole parses with the text
      inserted) says the whole answer, as the model ended it, fits: the hole's last lines may open the
      suite the code after it belongs to;
    - at module level, at a blank line followed by a new top-level statement;
    - at a closing fence or tag, an explanation in prose, a copy of the code after the hole (*after*, its
      first non-blank lines: a line equal to the first is held back until the next one shows whether the
      model is copying the code that follows or only wrote an equal line), a repeated line cycle, or
      *max_lines*."""

    def __init__(self, prefix: str, first_line: str, cursor: LexState, after: tuple[str, ...], max_lines: int,
                 fits: Callable[[str], bool | None] | None = None):
        target = after[0] if after else None
        self.prefix = prefix
        self.first, self.indent, self.shift = fit_first(prefix, first_line)
        self.rest: list[str] = []  # following lines as the model sent them
        self._cursor = cursor  # lexical state at the cursor
        self._target = target
        self._after = after[:ECHO_LINES]
        self._held: list[str] = []  # lines equal to the code after the hole, not yet known to be a copy
        self._max_lines = max_lines
        self._seen = [prefix + self.first]  # lines as they would appear in the file
        self._lex = LexState()  # lexical state at the start of the next line
        self._opens: bool | None = None  # first statement ends with ":" (None until its last line)
        # The lowest column the block may go back to: the code after the hole's, else (end of a
        # definition's body) anything but module level.
        self._floor = len(target) - len(target.lstrip(" \t")) if target is not None else min(self.indent, 1)
        self._fits = fits
        self._cut: int | None = None  # lines of `rest` before the first statement left of the floor
        self._final: str | None = None
        self._blank_run = 0  # blank lines since the last non-blank one
        # Column of the last statement after which nothing in its suite runs (return, raise, ...).
        self._terminal: int | None = self.indent if cursor.at_statement_start and _terminal_word(self.first) else None
        # Index in `rest` of a return/raise/... in the suite the code after the hole continues in, while it is
        # the answer's last statement: left as the last one, it turns the code after the hole into dead code.
        self._floor_terminal: int | None = None
        self._advance_lex(self.first, cursor)

    @property
    def copies_target(self) -> bool:
        """The first line is the line that already follows the hole."""
        return (self.prefix + self.first).rstrip() == self._target

    def render(self, held: int = 0) -> str:
        """The insertion text, without the last *held* lines (and, while undecided, not past a cut)."""
        end = len(self.rest) - held
        if self._cut is not None:
            end = min(end, self._cut)
        return self._text(end)

    def final(self) -> str:
        """The insertion text once the answer has ended.

        Not past a statement that would leave the code after the hole dead; past the cut only when that is
        what parses; and when the code around the hole does not parse with the answer (but does with less
        of it: the model went on past the hole, e.g. inside a literal), the longest part of it that does."""
        if self._final is None:
            ran_on = self._floor_terminal is not None
            end = len(self.rest) if self._floor_terminal is None else self._floor_terminal
            text = self._text(end, trim_comments=ran_on)
            fits = self._fits(text) if self._fits is not None else None
            if fits is False or (self._cut is not None and fits is None):
                repaired = self._repair(end) if fits is False else None
                if repaired is not None:
                    text = repaired
                elif self._cut is not None and self._cut < end:
                    text = self._text(self._cut)
            self._final = text
        return self._final

    def _repair(self, end: int) -> str | None:
        """The longest of the answer's first lines (at most MAX_REPAIR_TRIES fewer than *end*, comments
        at their end left out) that *fits* says parses in the code around the hole."""
        assert self._fits is not None
        tried: set[str] = set()
        for k in range(end - 1, max(-1, end - 1 - MAX_REPAIR_TRIES), -1):
            text = self._text(k, trim_comments=True)
            if text not in tried:
                tried.add(text)
                if self._fits(text):
                    return text
        return None

    def _text(self, end: int, trim_comments: bool = False) -> str:
        shift = self.shift or ""
        kept = self.rest[:end]
        while trim_comments and kept and (not kept[-1].strip() or kept[-1].lstrip().startswith("#")):
            kept.pop()  # a comment that introduced the lines left out ("# TODO: ...") goes with them
        lines = [self.first, *((shift + x) if x.strip() else x for x in kept)]
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()
        return "\n".join(lines)

    def preview(self) -> str:
        """render() without what may still be taken back: all but the first line while the shift is
        undecided, and trailing lines that repeat the ones before them (a runaway repetition starting)."""
        if self.shift is None:
            return self.first
        seen, held = self._seen, 0
        for k in range(1, 5):
            run = 0
            while run + k < len(seen) and seen[-1 - run] == seen[-1 - run - k]:
                run += 1
            held = max(held, run)
        return self.render(min(held, len(self.rest)))

    def add(self, raw: str, echo_check: bool = True) -> bool:
        """Add a complete line; True when the block is finished (the line is then left out if it is past
        the end)."""
        if self._held:
            return self._add_while_holding(raw)
        verdict, shift = self.judge(raw, True)
        if verdict == STOP:
            return True
        if verdict == BELOW and self._cut is None:
            self._cut = len(self.rest)
        line = HOLE_RE.sub("", raw)
        self.shift = shift
        file_line = (shift or "") + line if line.strip() else line
        if echo_check and line.strip() and shift is not None and file_line.rstrip() == self._target:
            if len(self._after) < 2:
                return True  # the model went on to copy the code that follows the hole
            self._held = [raw]
            return False
        self._track_terminal(line)
        self._advance_lex(line, self._lex)
        self.rest.append(line)
        self._seen.append(file_line)
        self._blank_run = 0 if line.strip() else self._blank_run + 1
        period = repeated_cycle(self._seen)
        if period:
            del self.rest[len(self.rest) - 2 * period :]
            return True
        return 1 + len(self.rest) >= self._max_lines

    def _add_while_holding(self, raw: str) -> bool:
        line = HOLE_RE.sub("", raw)
        if not line.strip():
            self._held.append(raw)
            return False
        copied = sum(1 for x in self._held if x.strip())
        if copied < len(self._after) and ((self.shift or "") + line).rstrip() == self._after[copied]:
            if copied + 1 >= len(self._after):
                return True  # the code after the hole, copied line for line: the hole ended before it
            self._held.append(raw)
            return False
        held, self._held = self._held, []  # not a copy: the held lines are the model's own
        for k, x in enumerate(held):
            if self.add(x, echo_check=k > 0):
                return True
        return self.add(raw)

    def judge(self, raw: str, complete: bool) -> tuple[str, str | None]:
        """Does *raw* (a line after the first, possibly incomplete) end the block? -> (verdict, shift).

        On an incomplete line only the indentation and the first word are used, so a STOP reached there
        is final (what makes the result independent of chunking); prose needs the whole line."""
        body = raw.lstrip(" \t")
        ws = raw[: len(raw) - len(body)]
        shift = self.shift
        if not body.strip():
            return (KEEP if complete else WAIT), shift
        if self._lex.quote:
            return KEEP, shift  # inside a string indentation means nothing
        if body.startswith("```"):
            return STOP, shift  # a closing fence, also inside brackets (never Python outside a string)
        if not self._lex.at_statement_start:
            if shift is None:
                shift = self._continuation_shift(ws, body)
            return KEEP, shift
        if body[0] in "`<":
            return STOP, shift  # closing fence or echoed tag: never Python at a statement start
        if complete and body[0].isupper() and looks_like_prose(body):
            return STOP, shift  # an explanation after the code ("This function ...")
        if shift is None:
            shift = self._probe_shift(ws, body, complete)
            if shift is None:
                return WAIT, None
        indent = len(shift) + len(ws)
        if self._terminal is not None and indent >= self._terminal:
            return STOP, shift  # after a return/raise/... in the same suite: code that never runs
        if shift and not ws and self._blank_run >= 2:
            return STOP, shift  # a block relative to the cursor cannot dedent: two blank lines end it
        if indent < self.indent:  # the suite of the first line ended: go on only where the code after does
            if indent >= self._floor:
                return KEEP, shift
            return (BELOW if self._fits is not None and self._target is not None else STOP), shift
        if self.indent:
            return KEEP, shift
        # Module level: statements run on until a blank line and a new top-level statement.
        return (STOP if indent == 0 and self._blank_run else KEEP), shift

    def _track_terminal(self, line: str) -> None:
        """Note where a statement after which nothing in its suite runs is (for a line about to be added)."""
        body = line.lstrip(" \t")
        if not self._lex.at_statement_start or self._lex.quote or not body or body.startswith("#"):
            return
        column = len(line) - len(body) + len(self.shift or "")
        if self._terminal is not None and column < self._terminal:
            self._terminal = None  # dedented out of the suite that ended
        self._floor_terminal = None
        if _terminal_word(body):
            self._terminal = column
            target = self._target
            if (target is not None and column == self._floor
                    and leading_identifier(target.lstrip())[0] not in CONTINUATION_KEYWORDS | {"case"}):
                self._floor_terminal = len(self.rest)

    def _advance_lex(self, line: str, state: LexState) -> None:
        scan = scan_line(line, state)
        self._lex = scan.state
        if self._opens is None and scan.state.at_statement_start:
            self._opens = line[: scan.code_end].rstrip().endswith(":")

    def _continuation_shift(self, ws: str, body: str) -> str:
        """Shift decided by a continuation line inside brackets. Hanging indents are deeper than the
        statement that opened them, so one at or left of the cursor column means the block is relative
        to the cursor."""
        prefix = self.prefix
        if not self._cursor.at_statement_start:
            # The cursor itself is inside brackets (e.g. a list's items): siblings share its column.
            return "" if len(ws) >= len(prefix) or body[0] in ")]}" else prefix
        if len(ws) > len(prefix) or (len(ws) == len(prefix) and body[0] in ")]}"):
            return ""
        return prefix

    def _probe_shift(self, ws: str, body: str, complete: bool) -> str | None:
        """Shift decided by the first statement after the first line (None: need more of the line).

        Perfect answers give following lines their file indentation; some answers are written relative
        to the cursor column instead. After a header ending in ":" the body must be deeper than the
        cursor; after a simple statement a return to column 0 is read as relative unless it looks like
        new top-level code (def/class/decorator/__main__ guard, two blank lines, or the line that follows
        the hole)."""
        prefix = self.prefix
        if self._opens:
            return "" if len(ws) > len(prefix) or not ws else prefix
        if ws or body[0] == "@":
            return ""
        word, ended = leading_identifier(body)
        if not (ended or complete) and any(k.startswith(word) for k in ("def", "class", "async", "if")):
            return None
        if word in ("def", "class", "async"):
            return ""
        if word == "if" and not complete and len(body) < 11 and "if __name__".startswith(body):
            return None
        if body.startswith("if __name__") or self._blank_run >= 2:
            return ""
        target = self._target
        if target is not None and target.startswith(body.rstrip()):
            if not complete:
                return None
            if body.rstrip() == target:
                return ""
        return prefix


def _terminal_word(line: str, complete: bool = True) -> bool:
    """The statement on *line* starts with return/raise/continue/break (its first word known in full)."""
    word, ended = leading_identifier(line.lstrip(" \t"))
    return (ended or complete) and word in TERMINAL
