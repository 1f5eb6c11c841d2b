"""The one place where LSP positions (client units, UTF-16 by default) become code points and back.

Everything behind this module works on `lines` (the document split on LSP line terminators, without
them) and (line, column) in code points.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import TextDocument


def code_point_position(document: TextDocument, lines: list[str],
                        position: types.Position) -> tuple[int, int] | None:
    """(line, column) in code points, or None when the position is outside the document or inside a
    character (the middle of a surrogate pair in UTF-16, of a multi-byte sequence in UTF-8)."""
    if position.line < 0 or position.character < 0 or position.line >= len(lines):
        return None
    text = lines[position.line]
    codec = document.position_codec
    if position.character > codec.client_num_units(text):
        return None
    converted = codec.position_from_client_units(
        lines, types.Position(line=position.line, character=position.character))
    if codec.position_to_client_units(lines, converted).character != position.character:
        return None  # inside a character (between the two halves of a UTF-16 surrogate pair): no such place
    return converted.line, converted.character


def client_position(document: TextDocument, lines: list[str], line: int, col: int) -> types.Position:
    return document.position_codec.position_to_client_units(lines, types.Position(line=line, character=col))
