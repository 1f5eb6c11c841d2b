"""Bad input: malformed JSON-RPC written as raw bytes into the server's stdin, unknown methods and URIs,
positions out of range or inside a surrogate pair, a 10 MB document, NUL and odd characters. Each gets a
spec-conformant error or an empty answer, every request exactly one response, and the server keeps
answering other requests (a hover on another file)."""

from __future__ import annotations

import asyncio
import json

import pytest
from lsprotocol import types

from tests.e2e.test_inline import responses_since
from tests.e2e.test_stdio import EXIT, SHUTDOWN, initialized, read_message, send
from tests.fakes.anthropic_api import Reply
from tests.harness import end_of, items_of, text_of

OTHER = "import os\n\nos.path.join\n"
JOIN = types.Position(line=2, character=10)  # on `join`


async def answers(proc, ids: set) -> dict:
    """The responses to `ids` (None: the id-less error responses, counted) and nothing else of theirs."""
    got: dict = {}
    while not ids <= set(got):
        message = await asyncio.wait_for(read_message(proc.stdout), 20)
        if "method" not in message:
            key = message.get("id")
            got[key] = [*got.get(key, []), message] if key is None else message
    return got


async def test_malformed_json_rpc_gets_spec_errors_and_the_server_keeps_answering(tmp_path):
    proc = await initialized(tmp_path)
    uri = (tmp_path / "other.py").as_uri()
    await send(proc, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": OTHER}}})
    hover = {"jsonrpc": "2.0", "method": "textDocument/hover",
             "params": {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 10}}}
    await send(
        proc,
        b"Content-Length: 12\r\n\r\n{not json!!}",  # not JSON
        b'Content-Length: 20\r\n\r\n{"jsonrpc":"2.0",\xff\xfe}',  # not UTF-8
        b"Content-Length: 9\r\n\r\n[1, 2, 3]",  # JSON, not a message
        {"jsonrpc": "2.0", "id": 10, "method": "textDocument/flyToTheMoon", "params": {}},  # unknown method
        {"jsonrpc": "2.0", "method": "custom/unknownNotification", "params": {}},  # ignored
        {"jsonrpc": "2.0", "method": "$/unknownNotification", "params": {}},  # ignored
        {"jsonrpc": "2.0", "id": 11, "method": "textDocument/hover", "params": {"textDocument": {"uri": uri}}},
        {"jsonrpc": "2.0", "id": 12, "method": "textDocument/hover", "params": "a string"},
        {"jsonrpc": "2.0", "id": 13, "method": "textDocument/inlineCompletion", "params": {"position": 3}},
        {"id": 14},  # no jsonrpc, no method
        {"jsonrpc": "1.0", "id": 15, "method": "textDocument/hover", "params": hover["params"]},
        {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {"textDocument": {"uri": uri}}},  # bad
        {**hover, "id": 20},
    )
    got = await answers(proc, {None, 10, 11, 12, 13, 14, 15, 20})
    codes = {key: (m["error"]["code"] if key is not None else sorted(e["error"]["code"] for e in m))
             for key, m in got.items() if key != 20}
    assert codes == {None: [-32700, -32700, -32600], 10: -32601, 11: -32602, 12: -32602, 13: -32602,
                     14: -32600, 15: -32600}
    assert "join" in got[20]["result"]["contents"]["value"]  # and the document is still as opened

    await send(proc, SHUTDOWN, EXIT)
    await asyncio.wait_for(proc.wait(), 20)
    assert proc.returncode == 0  # a clean shutdown after all that


@pytest.fixture
async def session(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(2)"))
    s = await start_session()
    s.other = s.open("other.py", OTHER)
    return s


async def still_answering(s) -> None:
    hover = await s.hover(s.other, JOIN).wait(timeout=20)
    assert hover is not None and "join" in hover.contents.value


async def test_requests_for_documents_never_opened_get_empty_answers(session):
    s = session
    before = set(s.protocol.responses)
    nowhere = "file:///no/such/dir/nowhere.py"
    here = types.Position(line=0, character=0)
    assert items_of(await s.inline(nowhere, here, invoked=True)) == []
    assert await s.hover(nowhere, here) is None
    assert not await s.code_actions(nowhere, here)
    result = await s.command("haiku.fixDiagnostic", nowhere, {"range": {"start": {"line": 0, "character": 0},
                                                                       "end": {"line": 0, "character": 1}},
                                                             "message": "x"})
    assert result["status"] == "error" and result["message"]
    await still_answering(s)
    assert s.applied_edits == [] and all(n == 1 for n in responses_since(s, before).values())


@pytest.mark.parametrize("where", [(99, 0), (0, 999), (1, 10), (1, 19)],
                         ids=["line past the end", "column past the end", "inside 😀", "inside 𝄞"])
async def test_positions_out_of_range_or_inside_a_surrogate_pair_get_empty_answers(session, fake_anthropic, where):
    s = session
    text = 'import math\nlabel = "😀 héllo 𝄞" + math.sq\n'
    uri = s.open("emoji.py", text)
    position = types.Position(line=where[0], character=where[1])
    if where[0] == 1:  # the chosen columns are the middle of a two-unit character
        line = text.splitlines()[1]
        starts = {len(line[:i].encode("utf-16-le")) // 2 for i in range(len(line) + 1)}
        assert where[1] not in starts and where[1] < len(line.encode("utf-16-le")) // 2
    before = set(s.protocol.responses)
    assert items_of(await s.inline(uri, position, invoked=True)) == []
    assert await s.hover(uri, position) is None
    await s.code_actions(uri, position)  # answered (what it lists does not matter here)
    await still_answering(s)
    assert fake_anthropic.message_requests == []  # nothing was asked about a place that does not exist
    assert all(n == 1 for n in responses_since(s, before).values()) and len(responses_since(s, before)) == 4


async def test_nul_and_odd_characters_in_a_document_are_kept_and_completed(session, fake_anthropic):
    s = session
    text = 'import math\nx = "\x00\ufeff\u200b\udcff"\ny = math.sq'.replace("\udcff", "\ufffd")
    uri = s.open("odd.py", text)
    where = end_of(text, "math.sq")
    items = items_of(await s.inline(uri, where, invoked=True))
    assert [text_of(i) for i in items] == ["rt(2)"]
    [req] = [r for r in fake_anthropic.message_requests if "<HOLE/>" in r.last_user_text]
    assert 'x = "\x00\ufeff\u200b\ufffd"' in req.last_user_text  # sent as it is, NUL and all
    await s.hover(uri, types.Position(line=1, character=5))
    await still_answering(s)


async def test_a_10_mb_document_is_answered_and_does_not_stall_the_server(session, fake_anthropic):
    s = session
    block = "def f{n}(a, b):\n    return a + b  # " + "x" * 60 + "\n\n\n"
    text = "".join(block.format(n=i) for i in range(10 * 1024 * 1024 // len(block))) + "import math\nz = math.sq"
    assert len(text) >= 9.9 * 1024 * 1024
    before = set(s.protocol.responses)
    uri = s.open("huge.py", text)
    where = end_of(text, "z = math.sq")
    pending = s.inline(uri, where, invoked=True)
    await still_answering(s)  # while the huge one is worked on
    items = items_of(await pending.wait(timeout=120))
    assert [text_of(i) for i in items] == ["rt(2)"]
    [req] = [r for r in fake_anthropic.message_requests if "<HOLE/>" in r.last_user_text]  # (hovers may ask too)
    assert len(json.dumps(req.body)) < 200_000  # a window around the cursor, not 10 MB
    await s.hover(uri, types.Position(line=where.line, character=4))  # answered (checked below)
    s.insert(uri, where, "rt(")  # an edit to it is applied and the text stays right
    assert s.text(uri).endswith("z = math.sqrt(")
    await still_answering(s)
    assert all(n == 1 for n in responses_since(s, before).values())
