"""Plain-text helpers every capability shares (no LSP, no I/O): a document's lines as the editor
counts them.
"""

from __future__ import annotations

import re

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of `text` as LSP counts them: '\\n', '\\r\\n' and '\\r' end a line, and a final
    terminator opens an empty line, so "" is one empty line (the position 0:0 exists in an empty
    document). Joining the result with '\\n' gives `text` with its line ends normalised."""
    if "\r" not in text:
        return text.split("\n")  # the common case, several times faster than the regex
    return _LINE_BREAK.split(text)
