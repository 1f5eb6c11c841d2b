"""Mid-line spans: an answer that goes on past the cursor's line when the code there needs it (pure).

On a line that already holds code, a suggestion is normally the rest of that line. When the model goes on
past the line and the line alone does not fit the code around the cursor (a call whose arguments go on
below, a hole that ends inside a later line), the lines that follow are collected by :class:`SpanTail`
and kept only when the code around the cursor parses with them; the last line of such a span runs into
the text after the cursor, so a copy of that text at its end is trimmed.
"""

from __future__ import annotations

from collections.abc import Callable

from haiku_lsp.completion.shaping.filters import HOLE_RE, LexState, scan_line, trim_suffix_overlap

ECHO_LINES = 2  # lines of the code after the cursor's line an answer must copy to be read as copying it
MAX_TAIL_TRIES = 4  # shorter spans tried when the whole answer does not parse (each try is one parse)


class SpanTail:
    """The lines of a mid-line answer from its first line on (the first already fitted to the cursor).

    Collects lines until a fence or tag line, a copy of the code after the cursor's line (*after*: its first
    non-blank lines), or *max_lines*; :meth:`choose` then picks the longest span that parses."""

    def __init__(self, first: str, line_suffix: str, after: tuple[str, ...], max_lines: int) -> None:
        self.lines = [first]
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
        return len(self.lines) >= self._max_lines

    def end(self, tail: str) -> None:
        """The answer ended with *tail* (the text after its last line break, possibly empty or only
        indentation: the code after the cursor then starts a line, or continues after that indentation)."""
        if not self.add(tail):
            self.lines.extend(self._held)
            self._held = []

    def choose(self, fits: Callable[[str], bool | None]) -> str | None:
        """The longest span (all lines, then up to MAX_TAIL_TRIES shorter ones) that *fits* says parses
        around the cursor, without a copy of the text after the cursor at its end; None when none does."""
        lines = list(self.lines)
        while len(lines) > 1 and not lines[-1].strip() and not lines[-2].strip():
            lines.pop()  # blank lines at the end: one line break is all the code after the cursor can need
        for n in range(len(lines), max(1, len(lines) - MAX_TAIL_TRIES - 1), -1):
            whole = "\n".join(lines[:n])
            for text in dict.fromkeys((trim_suffix_overlap("", whole, self._suffix), whole)):
                last = text[text.rfind("\n") + 1 :]
                if self._suffix.strip() and scan_line(last, LexState()).in_comment:
                    continue  # a comment at the end would swallow the code after the cursor
                if "\n" in text and fits(text):
                    return text
        return None
