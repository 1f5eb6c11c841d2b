"""Property-based tests (hypothesis): position conversion at the LSP boundary (lsp/convert.py), the edits the
commands send (applied as pygls' own document applies a client's changes), and the typed-ahead anchors."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import TextDocument

from haiku_lsp.completion.typed_ahead import TAIL, Anchor, digest
from haiku_lsp.lsp.commands.shared import whole_file_edit
from haiku_lsp.lsp.convert import client_position, code_point_position
from haiku_lsp.text import split_lines

# Text mixing ASCII, accents, CJK, astral characters (two UTF-16 units: emoji, musical symbols), NUL,
# and every LSP line terminator.
CHARS = st.sampled_from(list("ab x_()=:") + ["é", "中", "😀", "𝄞", "\x00", "\ufeff", "\n", "\r\n", "\r", "\t"])
TEXT = st.lists(CHARS, max_size=60).map("".join)
LINE = st.lists(st.sampled_from(list("ab (x)=:") + ["é", "中", "😀", "𝄞", "\x00"]), max_size=30).map("".join)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@given(TEXT)
def test_every_code_point_position_round_trips_through_client_units(text):
    doc = TextDocument("file:///t.py", text)
    lines = split_lines(text)
    for line_no, line in enumerate(lines):
        for col in range(len(line) + 1):
            pos = client_position(doc, lines, line_no, col)
            assert pos.character == utf16(line[:col])
            assert code_point_position(doc, lines, pos) == (line_no, col)


@given(TEXT, st.integers(-3, 80), st.integers(-3, 80))
def test_any_client_position_is_a_place_in_the_document_or_none(text, line_no, character):
    doc = TextDocument("file:///t.py", text)
    lines = split_lines(text)
    try:
        position = types.Position(line=line_no, character=character)
    except Exception:  # lsprotocol rejects negative numbers before they reach the server
        assume(False)
    got = code_point_position(doc, lines, position)
    if got is None:
        inside = 0 <= line_no < len(lines) and 0 <= character <= utf16(lines[line_no])
        if inside:  # then only the middle of a surrogate pair has no place
            line = lines[line_no]
            assert character not in {utf16(line[:c]) for c in range(len(line) + 1)}
    else:
        assert got[0] == line_no and utf16(lines[line_no][: got[1]]) == character


@given(LINE, st.data())
def test_the_middle_of_a_surrogate_pair_is_no_position(line, data):
    astral = [i for i, ch in enumerate(line) if ord(ch) > 0xFFFF]
    assume(astral)
    i = data.draw(st.sampled_from(astral))
    doc = TextDocument("file:///t.py", line)
    middle = types.Position(line=0, character=utf16(line[:i]) + 1)
    assert code_point_position(doc, [line], middle) is None


@settings(max_examples=300)
@given(st.lists(LINE, min_size=1, max_size=8), st.lists(LINE, min_size=1, max_size=8))
def test_a_whole_file_edit_applied_by_an_editor_gives_the_new_text(old_lines, new_lines):
    old, new = "\n".join(old_lines), "\n".join(new_lines)
    edit = whole_file_edit("file:///t.py", 3, old, new)
    doc = TextDocument("file:///t.py", old, version=3)
    [text_edit] = edit.edits
    assert isinstance(text_edit, types.TextEdit)
    doc.apply_change(types.TextDocumentContentChangePartial(range=text_edit.range, text=text_edit.new_text))
    assert doc.source == new
    assert edit.text_document.version == 3
    if old == new:  # nothing to change: an empty replacement of nothing
        assert text_edit.new_text == "" and text_edit.range.start == text_edit.range.end


@given(TEXT, TEXT, TEXT)
def test_an_anchor_sees_exactly_what_was_typed_after_it(before, typed, after):
    anchor = Anchor.of(before, digest(after))
    assert anchor.typed(before + typed, digest(after)) == typed
    assert anchor.typed(before + typed, digest(after + "x")) is None  # the text after the cursor changed


@given(TEXT, TEXT, st.data())
def test_an_anchor_sees_nothing_when_the_text_before_it_changed(before, typed, data):
    assume(before)
    i = data.draw(st.integers(0, len(before) - 1))
    changed = before[:i] + ("Z" if before[i] != "Z" else "Y") + before[i + 1:]
    anchor = Anchor.of(before, digest(""))
    assert anchor.typed(changed + typed, digest("")) is None
    assert anchor.typed(before[:i], digest("")) is None  # deleted back past the anchor


@given(TEXT, TEXT, TEXT)
def test_anchors_checked_together_share_the_hashing_without_mixing_answers(a, b, typed):
    first, second = Anchor.of(a, 0), Anchor.of(a + b, 0)
    memo: dict[int, int] = {}
    assert first.typed(a + b + typed, 0, memo) == b + typed
    assert second.typed(a + b + typed, 0, memo) == typed
    assert len(first.tail) == min(len(a), TAIL)
