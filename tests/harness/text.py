"""Positions as LSP counts them (UTF-16 code units) and edits applied as an editor applies them."""

from __future__ import annotations

from lsprotocol import types


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def column(line: str, character: int) -> int:
    """The code-point index in `line` of an LSP character offset (UTF-16 code units)."""
    units = 0
    for col, ch in enumerate(line):
        if units >= character:
            return col
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line)


def apply_change(lines: list[str], rng: types.Range, text: str) -> None:
    """Replace `rng` of the document held as `lines` with `text` (which may hold newlines), in place."""
    first, last = lines[rng.start.line], lines[rng.end.line]
    start, end = column(first, rng.start.character), column(last, rng.end.character)
    lines[rng.start.line:rng.end.line + 1] = (first[:start] + text + last[end:]).split("\n")


def apply_insert(text: str, position: types.Position, insert: str) -> str:
    """`text` with `insert` inserted at an LSP position."""
    lines = text.split("\n")
    apply_change(lines, types.Range(start=position, end=position), insert)
    return "\n".join(lines)


def end_of(text: str, needle: str) -> types.Position:
    """The position just after the first occurrence of `needle`."""
    index = text.index(needle) + len(needle)
    before = text[:index]
    line = before.count("\n")
    return types.Position(line=line, character=utf16_len(before.rsplit("\n", 1)[-1]))


def items_of(result: types.InlineCompletionList | list[types.InlineCompletionItem] | None
             ) -> list[types.InlineCompletionItem]:
    """The items of an inline completion answer (a list, a CompletionList or null)."""
    if result is None:
        return []
    return list(result.items if isinstance(result, types.InlineCompletionList) else result)


def text_of(item: types.InlineCompletionItem) -> str:
    return item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value


def item_texts(result: types.InlineCompletionList | list[types.InlineCompletionItem] | None) -> list[str]:
    return [text_of(item) for item in items_of(result)]
