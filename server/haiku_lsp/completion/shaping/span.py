"""Mid-line spans: an answer that goes on past the cursor's line when the code there needs it (pure).

On a line that already holds code, a suggestion is normally the rest of that line. When the model goes on
past the line and the line alone does not fit the code around the cursor (a call whose arguments go on
below, a hole that ends inside a later line), the lines that follow are collected by :class:`SpanTail`
and kept only when the code around the cursor parses with them; the last line of such a span runs into
the text after the cursor, so a copy of that text at its end is trimmed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet

from haiku_lsp.completion.shaping.block_layout import ECHO_LINES
from haiku_lsp.completion.shaping.filters import HOLE_RE, PYTHON_NAMES, LexState, scan_line, trim_suffix_overlap

_LEADING_WORD_RE = re.compile(r"[^\W\d]\w*|\d\w*")
_TRAILING_WORD_RE = re.compile(r"\w+$")
MAX_TAIL_TRIES = 4  # shorter spans tried when the whole answer does not parse (each try is one parse)


class SpanTail:
    """The lines of a mid-line answer from its first line on (the first already fitted to the cursor).

    Collects lines until a fence or tag line, a copy of the code after the cursor's line (*after*: its first
    non-blank lines), or *max_lines*; :meth:`choose` then picks the longest span that parses."""

    def __init__(self, first: str, line_suffix: str, after: tuple[str, ...], max_lines: int,
                 give_up: bool = False) -> None:
        self.lines = [first]
        self._give_up = give_up  # an answer longer than max_lines is no span at all (else: the first lines)
        self.overflowed = False
        self._suffix = line_suffix
        self._after = after[:ECHO_LINES]
        self._held: list[str] = []  # lines equal to the code after the cursor's line, not yet known to be a copy
        self._max_lines = max_lines

    def add(self, raw: str) -> bool:
        """Add a complete line of the answer; True when the span is finished (the line is then left out)."""
        line = HOLE_RE.sub("", raw)
        if line.lstrip().startswith(("```", "</")):
            return True
        if self._after and line.strip():
            copied = sum(1 for x in self._held if x.strip())
            if line.rstrip() == self._after[copied]:
                if copied + 1 >= len(self._after):
                    return True  # the code after the cursor's line, copied: the span ended before it
                self._held.append(line)
                return False
            held, self._held = self._held, []
            self.lines.extend(held)
        elif self._held:
            self._held.append(line)
            return False
        self.lines.append(line)
        self.overflowed = len(self.lines) >= self._max_lines
        return self.overflowed

    def end(self, tail: str) -> None:
        """The answer ended with *tail* (the text after its last line break, possibly empty or only
        indentation: the code after the cursor then starts a line, or continues after that indentation)."""
        if not self.add(tail):
            self.lines.extend(self._held)
            self._held = []

    def choose(self, fits: Callable[[str], bool | None], known: Callable[[], AbstractSet[str]]) -> str | None:
        """The longest span (all lines, then up to MAX_TAIL_TRIES shorter ones) that *fits* says parses
        around the cursor, without a copy of the text after the cursor at its end; None when none does.

        A span whose end runs into a word after the cursor and makes a name the file does not know (*known*)
        gives way to a shorter one that makes a known name: before "esult", "raise NotImplementedError" is a
        run-on when "return r" is also there (Python parses both). A shorter span does not end in a comment
        (the model's note on what it left out)."""
        if self.overflowed and self._give_up:
            return None
        lines = list(self.lines)
        while len(lines) > 1 and not lines[-1].strip() and not lines[-2].strip():
            lines.pop()  # blank lines at the end: one line break is all the code after the cursor can need
        head = _LEADING_WORD_RE.match(self._suffix)
        unknown: str | None = None  # the longest fitting span, when it glues a word the file does not know
        for n in range(len(lines), max(1, len(lines) - MAX_TAIL_TRIES - 1), -1):
            whole = "\n".join(lines[:n])
            for text in dict.fromkeys((trim_suffix_overlap("", whole, self._suffix), whole)):
                last = text[text.rfind("\n") + 1 :]
                scan = scan_line(last, LexState())
                if scan.in_comment and (self._suffix.strip() or n < len(lines)):
                    continue  # a comment at the end would swallow the code after the cursor
                if "\n" not in text or not fits(text):
                    continue
                tail = _TRAILING_WORD_RE.search(last) if head else None
                if head is None or tail is None or last[: tail.start()].endswith("."):
                    if unknown is None:
                        return text  # nothing glued, or an attribute (which the file need not show)
                    continue
                if tail.group() + head.group() in known() | PYTHON_NAMES:
                    return text
                unknown = unknown or text
        return unknown
