"""Plain-text helpers every capability shares (no LSP, no I/O): a document's lines as the editor
counts them, numbered source lines and fenced code blocks as the models and the Markdown views show
them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of `text` as LSP counts them: '\\n', '\\r\\n' and '\\r' end a line, and a final
    terminator opens an empty line, so "" is one empty line (the position 0:0 exists in an empty
    document). Joining the result with '\\n' gives `text` with its line ends normalised."""
    if "\r" not in text:
        return text.split("\n")  # the common case, several times faster than the regex
    return _LINE_BREAK.split(text)


def numbered(lines: Sequence[str], first: int = 1, marks: Collection[int] | None = None) -> str:
    """`lines` with their numbers (the first is `first`), right-aligned to the widest: `12 | code`.
    With `marks`, a gutter in front: `>` on the lines whose number is marked, a space on the others
    (`> 12 | code`). An empty line ends at its `|`; other lines are kept exactly (trailing spaces too:
    they may be what a diagnostic is about)."""
    width = len(str(first + len(lines) - 1))
    out = []
    for n, line in enumerate(lines, first):
        head = f"{n:>{width}} |"
        if marks is not None:
            head = f"{'>' if n in marks else ' '} {head}"
        out.append(f"{head} {line}" if line else head)
    return "\n".join(out)


def fence(text: str, lang: str = "") -> str:
    """`text` as a fenced Markdown code block whose fence is longer than any run of backticks inside it,
    so code or output that holds a fence of its own cannot end the block early."""
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`{3,}", text)), default=0) + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"
