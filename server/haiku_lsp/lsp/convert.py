"""The one place where LSP positions (client units, UTF-16 by default) become code points and back.

Everything behind this module works on `lines` (the document split on LSP line terminators, without
them) and (line, column) in code points.
"""

from __future__ import annotations

import re

from lsprotocol import types
from pygls.workspace import TextDocument

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(source: str) -> list[str]:
    """LSP's lines: '\\n', '\\r\\n' and '\\r' end a line; a final terminator opens an empty line."""
    if "\r" not in source:
        return source.split("\n")  # the common case, several times faster than the regex
    return _LINE_BREAK.split(source)


def code_point_position(document: TextDocument, lines: list[str],
                        position: types.Position) -> tuple[int, int] | None:
    """(line, column) in code points, or None when the position is outside the document."""
    if position.line < 0 or position.character < 0 or position.line >= len(lines):
        return None
    text = lines[position.line]
    codec = document.position_codec
    if position.character > codec.client_num_units(text):
        return None
    converted = codec.position_from_client_units(
        lines, types.Position(line=position.line, character=position.character))
    return converted.line, converted.character


def client_position(document: TextDocument, lines: list[str], line: int, col: int) -> types.Position:
    return document.position_codec.position_to_client_units(lines, types.Position(line=line, character=col))
