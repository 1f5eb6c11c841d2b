"""The one place where LSP positions (client units, UTF-16 by default) become code points and back.

Everything behind this module works on `lines` (the document split on LSP line terminators, without
them) and (line, column) in code points.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import TextDocument


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
