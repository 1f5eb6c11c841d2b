"""The LSP client harness's own logic (tests/harness), without a server: its hooks into pygls (the protocol
class that times and counts responses, the converter that decodes code actions as VS Code does) and the
editor's text bookkeeping."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.protocol import JsonRPCRequestMessage, JsonRPCResponseMessage

from tests.harness import (
    ClientProtocol,
    apply_change,
    apply_insert,
    column,
    converter_factory,
    end_of,
    item_texts,
    utf16_len,
)


def test_code_actions_carrying_a_command_are_not_taken_for_commands():
    converter = converter_factory()
    result_type = Optional[Sequence[Union[types.Command, types.CodeAction]]]
    decoded = converter.structure([
        {"title": "Run it", "command": "haiku.run", "arguments": [1]},
        {"title": "Explain", "kind": "quickfix", "command": {"title": "Explain", "command": "haiku.explain"}},
    ], result_type)
    assert [type(item) for item in decoded] == [types.Command, types.CodeAction]
    assert decoded[1].command == types.Command(title="Explain", command="haiku.explain")


def test_the_protocol_times_and_counts_responses_not_requests():
    client = LanguageClient("t", "0", protocol_cls=ClientProtocol, converter_factory=converter_factory)
    protocol = client.protocol
    assert isinstance(protocol, ClientProtocol)
    protocol.handle_message(JsonRPCResponseMessage(id="r1", jsonrpc="2.0", result=None))
    protocol.handle_message(JsonRPCResponseMessage(id="r1", jsonrpc="2.0", result=None))
    protocol.handle_message(JsonRPCRequestMessage(id="s1", method="unknown/method", jsonrpc="2.0", params=None))
    assert dict(protocol.responses) == {"r1": 2}
    assert set(protocol.received) == {"r1"}


def test_positions_count_utf16_units():
    line = "a😀b"  # the emoji is two UTF-16 code units
    assert utf16_len(line) == 4
    assert [column(line, units) for units in (0, 1, 3, 4, 9)] == [0, 1, 2, 3, 3]
    assert end_of("x = 1\ny = '😀'", "'😀") == types.Position(line=1, character=7)


def test_edits_apply_as_an_editor_applies_them():
    lines = ["def f():", "    return 😀 + 1", ""]
    rng = types.Range(start=types.Position(line=1, character=11), end=types.Position(line=1, character=13))
    apply_change(lines, rng, "x\n    y")
    assert lines == ["def f():", "    return x", "    y + 1", ""]
    assert apply_insert("ab\ncd", types.Position(line=1, character=1), "X") == "ab\ncXd"


def test_inline_answers_of_every_shape():
    item = types.InlineCompletionItem(insert_text="x")
    snippet = types.InlineCompletionItem(insert_text=types.StringValue(value="y"))
    assert item_texts(None) == []
    assert item_texts([item, snippet]) == ["x", "y"]
    assert item_texts(types.InlineCompletionList(items=[item])) == ["x"]
