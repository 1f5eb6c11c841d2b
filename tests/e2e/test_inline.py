"""End to end: the server in a subprocess, a pytest-lsp client with VS Code's capabilities, the real
anthropic SDK talking HTTP to the fake Messages API."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from lsprotocol import types

from tests.fakes.anthropic_api import Fault, Reply
from tests.harness import API_KEY, Pending, apply_insert, end_of, items_of, text_of

SAMPLE = '''import math


def distance(a, b):
    """Euclidean distance between two points."""
    dx = a[0] - b[0]
    dy = a[1] - b[1]
    return math.sq
'''

BODY = '''def total(values):
    """Sum of the values, skipping None."""

'''


GEOMETRY = ('def scale(value: float, factor: float = 2.0) -> float:\n'
            '    """Multiply value by factor, rounding to 3 places."""\n'
            '    return round(value * factor, 3)\n')
CALLS_SCALE = "from geometry import scale\n\n\ndef doubled(x):\n    return scale(\n"  # main.py, calling it


def apply_item(text: str, item: types.InlineCompletionItem) -> str:
    assert item.range is not None and item.range.start == item.range.end
    return apply_insert(text, item.range.start, text_of(item))


async def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def responses_since(session, before: set[str]) -> dict[str, int]:
    """Responses per request id (as they were read: a server must send exactly one) to the requests whose
    ids were not in `before` (a set of `session.protocol.responses` taken earlier)."""
    return {k: n for k, n in session.protocol.responses.items() if k not in before}


async def test_first_completion_gives_the_expected_line(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)\n\n\ndef other():\n    pass"))
    s = await start_session()
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    items = items_of(await s.inline(uri, where))
    assert [text_of(i) for i in items] == ["rt(dx * dx + dy * dy)"]
    assert apply_item(SAMPLE, items[0]).splitlines()[7] == "    return math.sqrt(dx * dx + dy * dy)"

    [req] = fake_anthropic.message_requests
    body = req.body
    assert req.model == "claude-haiku-4-5"
    assert body["stream"] is True
    assert "temperature" not in body and "top_p" not in body and "top_k" not in body
    assert body["stop_sequences"] == ["</COMPLETION>"]
    assert body["max_tokens"] <= 128
    user = req.messages[0]["content"]
    assert "    return math.sq<HOLE/>" in user
    assert "def distance(a, b):" in user
    assert req.messages[-1] == {"role": "assistant", "content": "<COMPLETION>"}
    assert req.headers.get("authorization") == f"Bearer {API_KEY}" or req.headers.get("x-api-key") == API_KEY


async def test_block_completion_stops_at_dedent_and_closes_stream(start_session, fake_anthropic):
    answer = ("total = 0\n    for v in values:\n        if v is not None:\n            total += v\n\n"
              "    return total\n\n\ndef unrelated():\n" + "    x = 1\n" * 200)
    fake_anthropic.script(Reply(text=answer, chunk_chars=6, chunk_delay=0.005))
    s = await start_session()
    uri = s.open("agg.py", BODY)
    where = types.Position(line=2, character=4)
    s.insert(uri, types.Position(line=2, character=0), "    ")
    items = items_of(await s.inline(uri, where, invoked=True))
    assert text_of(items[0]) == ("total = 0\n    for v in values:\n        if v is not None:\n"
                                 "            total += v\n\n    return total")
    [req] = fake_anthropic.message_requests
    fake_anthropic.wait_until_closed(req)
    assert req.client_closed_at is not None, "the stream should be closed once the block ended"
    # Closed as soon as the dedent showed, not after the 200 lines that followed.
    assert "return total\n\n\nd" in req.sent_text and len(req.sent_text) < len(answer) / 4


async def test_repeated_request_hits_the_cache_also_after_restart(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session()
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    first = items_of(await s.inline(uri, where, invoked=True))
    second = items_of(await s.inline(uri, where, invoked=True))
    assert text_of(first[0]) == text_of(second[0]) == "rt(dx * dx + dy * dy)"
    assert len(fake_anthropic.message_requests) == 1

    # A new server process on the same cache directory: answered from disk.
    s2 = await start_session()
    uri2 = s2.open("geo.py", SAMPLE)
    third = items_of(await s2.inline(uri2, where, invoked=True))
    assert text_of(third[0]) == "rt(dx * dx + dy * dy)"
    assert len(fake_anthropic.message_requests) == 1


async def test_typing_ahead_into_a_suggestion_needs_no_new_request(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session()
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    items_of(await s.inline(uri, where))
    s.insert(uri, where, "rt(d")
    moved = types.Position(line=where.line, character=where.character + 4)
    items = items_of(await s.inline(uri, moved))
    assert [text_of(i) for i in items] == ["x * dx + dy * dy)"]
    assert len(fake_anthropic.message_requests) == 1
    assert apply_item(s.text(uri), items[0]).splitlines()[7] == "    return math.sqrt(dx * dx + dy * dy)"


async def test_typing_into_a_suggestion_still_streaming_reuses_the_stream(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)", ttft=0.3, chunk_chars=3, chunk_delay=0.02))
    s = await start_session()
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    first = s.inline(uri, where)
    await asyncio.to_thread(fake_anthropic.wait_for_requests, 1)
    s.insert(uri, where, "rt")
    second = await s.inline(uri, types.Position(line=where.line, character=where.character + 2))
    assert [text_of(i) for i in items_of(second)] == ["(dx * dx + dy * dy)"]
    assert items_of(await first) == []  # superseded: answered, empty
    assert len(fake_anthropic.message_requests) == 1


async def test_cancel_closes_the_upstream_stream(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)" * 20, ttft=0.1, chunk_chars=2, chunk_delay=0.2))
    s = await start_session()
    before = set(s.protocol.responses)
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    msg_id = "cancel-me"
    future = s.inline(uri, where, invoked=True, msg_id=msg_id)
    [req] = await asyncio.to_thread(fake_anthropic.wait_for_requests, 1)
    await wait_for(lambda: req.first_delta_at is not None)
    s.cancel(msg_id)
    await asyncio.to_thread(fake_anthropic.wait_until_closed, req)
    assert req.client_closed_at is not None and req.finished_at is None
    try:
        await asyncio.wait_for(future, 5)
    except Exception as err:  # RequestCancelled is a valid (error) answer
        assert "cancel" in str(err).lower()
    await asyncio.sleep(0.2)
    assert responses_since(s, before) == {msg_id: 1}
    # The server is still fine.
    fake_anthropic.script(Reply(text="rt(2)"))
    assert items_of(await s.inline(uri, where, invoked=True))


async def test_a_burst_of_automatic_triggers_makes_one_request_and_answers_all(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="(dx * dx + dy * dy)"))
    s = await start_session(init_options={"debounceMs": 80, "debounceMinMs": 80, "debounceMaxMs": 80})
    before = set(s.protocol.responses)
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.")
    futures = []
    for i, ch in enumerate("sqrt"):
        pos = types.Position(line=where.line, character=where.character + i)
        s.insert(uri, pos, ch) if i else None
        futures.append(s.inline(uri, types.Position(line=where.line, character=where.character + i)))
        await asyncio.sleep(0.01)
    results = await asyncio.wait_for(asyncio.gather(*futures), 10)
    assert [items_of(r) for r in results[:-1]] == [[], [], []]
    assert [text_of(i) for i in items_of(results[-1])] == ["(dx * dx + dy * dy)"]
    assert len(fake_anthropic.message_requests) == 1
    await asyncio.sleep(0.1)
    counts = responses_since(s, before)
    assert len(counts) == 4 and set(counts.values()) == {1}


async def test_without_a_key_offline_items_and_one_message(start_session, fake_anthropic):
    s = await start_session(key=False)
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    items = items_of(await s.inline(uri, where, invoked=True))
    assert "rt(" in [text_of(i) for i in items]
    items_of(await s.inline(uri, where))
    await wait_for(lambda: s.client.messages)
    notes = [m.message for m in s.client.messages if "ANTHROPIC_API_KEY" in m.message]
    assert len(notes) == 1
    assert fake_anthropic.requests == []


async def test_bad_settings_fall_back_and_name_the_key(start_session, fake_anthropic):
    s = await start_session(init_options={"debounceMs": "soon", "fastModel": 42})
    await wait_for(lambda: len(s.client.messages) >= 2)
    text = " | ".join(m.message for m in s.client.messages)
    assert "'debounceMs'" in text and "'fastModel'" in text
    s.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"haiku": {"maxPrefixTokens": -5}}))
    await wait_for(lambda: any("maxPrefixTokens" in m.message for m in s.client.messages))
    # Defaults still work: the request uses the default model.
    fake_anthropic.script(Reply(text="rt(2)"))
    uri = s.open("geo.py", SAMPLE)
    assert items_of(await s.inline(uri, end_of(SAMPLE, "return math.sq"), invoked=True))
    assert fake_anthropic.message_requests[0].model == "claude-haiku-4-5"


async def test_unknown_document_and_out_of_range_positions_get_a_clean_answer(start_session, fake_anthropic):
    s = await start_session()
    uri = s.open("geo.py", SAMPLE)
    missing = (s.root / "nope.py").as_uri()
    assert items_of(await s.inline(missing, types.Position(line=0, character=0))) == []
    assert items_of(await s.inline(uri, types.Position(line=999, character=0))) == []
    assert items_of(await s.inline(uri, types.Position(line=1, character=500))) == []
    assert fake_anthropic.requests == []
    fake_anthropic.script(Reply(text="rt(2)"))
    assert items_of(await s.inline(uri, end_of(SAMPLE, "return math.sq"), invoked=True))


async def test_utf16_positions_with_emoji_on_the_line(start_session, fake_anthropic):
    text = 'def greet(name):\n    label = "😀 héllo 𝄞" + na\n'
    fake_anthropic.script(Reply(text="me.title()"))
    s = await start_session()
    uri = s.open("greet.py", text)
    where = end_of(text, "+ na")
    assert where.character == len('    label = "😀 héllo 𝄞" + na'.encode("utf-16-le")) // 2
    items = items_of(await s.inline(uri, where, invoked=True))
    assert text_of(items[0]) == "me.title()"
    assert items[0].range == types.Range(start=where, end=where)
    assert apply_item(text, items[0]).splitlines()[1] == '    label = "😀 héllo 𝄞" + name.title()'
    assert '"😀 héllo 𝄞" + na<HOLE/>' in fake_anthropic.message_requests[0].messages[0]["content"]


async def test_upstream_errors_answer_empty_and_are_not_cached(start_session, fake_anthropic):
    fake_anthropic.script(Reply(fault=Fault.status(500)), times=1)
    fake_anthropic.script(Reply(fault=Fault.drop(after_chars=3)), times=1)
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session()
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    assert items_of(await s.inline(uri, where)) == []  # 500: no retry for inline completions
    assert len(fake_anthropic.message_requests) == 1
    assert items_of(await s.inline(uri, where)) == []  # dropped mid-stream: nothing half-done
    items = items_of(await s.inline(uri, where))
    assert [text_of(i) for i in items] == ["rt(dx * dx + dy * dy)"]
    assert len(fake_anthropic.message_requests) == 3


async def test_rejected_key_is_reported_once(start_session, fake_anthropic):
    fake_anthropic.script(Reply(fault=Fault.status(401)))
    s = await start_session()
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    for _ in range(3):
        # Invoked: the offline engine still offers the name ("rt(") when the model fails.
        assert [text_of(i) for i in items_of(await s.inline(uri, where, invoked=True))] == ["rt("]
    await wait_for(lambda: any("rejected" in m.message for m in s.client.messages))
    assert sum("rejected" in m.message for m in s.client.messages) == 1


async def test_ignored_files_and_secrets_never_leave(start_session, fake_anthropic, workspace):
    (workspace / ".gitignore").write_text("private/\n")
    secret = "sk-ant-api03-" + "A1b2C3d4" * 6
    text = f'API_KEY = "{secret}"\nPASSWORD = "correct-horse-battery"\nimport math\nx = math.sq\n'
    fake_anthropic.script(Reply(text="rt(2)"))
    s = await start_session()
    hidden = s.open("private/conf.py", text)
    items = items_of(await s.inline(hidden, end_of(text, "math.sq"), invoked=True))
    assert "rt(" in [text_of(i) for i in items]  # offline engine still helps
    assert fake_anthropic.requests == []
    visible = s.open("conf.py", text)
    assert items_of(await s.inline(visible, end_of(text, "math.sq"), invoked=True))
    [req] = fake_anthropic.message_requests
    sent = json.dumps(req.body)
    assert secret not in sent and "correct-horse-battery" not in sent
    assert "<REDACTED:" in sent


async def test_definitions_from_other_workspace_files_are_in_the_prompt(start_session, fake_anthropic,
                                                                        workspace):
    (workspace / "geometry.py").write_text(GEOMETRY)
    text = CALLS_SCALE
    fake_anthropic.script(Reply(text="x, 2.0)"))
    s = await start_session(init_options={"contextTimeBudgetMs": 5000})
    uri = s.open("main.py", text)
    await s.inline(uri, end_of(text, "return scale("), invoked=True)
    [req] = fake_anthropic.message_requests
    prompt = req.system_text + req.last_user_text
    assert "scale(value: float, factor: float=2.0) -> float" in prompt.replace(" = ", "=")
    assert "Multiply value by factor" in prompt


async def test_requests_during_a_jedi_resolution_wait_on_it_instead_of_queueing_it_again(
        start_session, fake_anthropic, workspace):
    """With no time budget every request goes out without waiting for jedi; the names near the cursor
    are resolved once in the background (not once per request) and the next request carries them."""
    (workspace / "geometry.py").write_text(
        'def scale(value: float, factor: float = 2.0) -> float:\n'
        '    """Multiply value by factor, rounding to 3 places."""\n'
        '    return round(value * factor, 3)\n'
        # a long module: parsing it keeps the resolution busy while the requests below come in
        + "".join(f"\n\ndef helper_{i}(a, b):\n    return a * {i} + b\n" for i in range(3000)))
    text = "from geometry import scale\n\n\ndef doubled(x):\n    return scale(\n"
    fake_anthropic.script(Reply(text="x, 2.0)"))
    s = await start_session(init_options={"contextTimeBudgetMs": 0})
    notes = s.open("notes.txt", "Remember to ", language="plaintext")  # no jedi: waits for the SDK only
    await s.inline(notes, types.Position(line=0, character=12), invoked=True)
    uri = s.open("main.py", text)

    def edit_and_request(i: int) -> Pending:
        # Each edit makes a new prompt: neither the cache nor typed-ahead answers.
        s.insert(uri, types.Position(line=1, character=0), f"# {i}\n")
        return s.inline(uri, end_of(s.text(uri), "return scale("), invoked=True)

    for i in range(6):  # one after another, while the first resolution is still running
        await asyncio.wait_for(edit_and_request(i), 10)
    deadline = time.monotonic() + 30
    while "Multiply value by factor" not in (fake_anthropic.message_requests[-1].system_text
                                             + fake_anthropic.message_requests[-1].last_user_text):
        assert time.monotonic() < deadline, "the resolved names never reached a prompt"
        await asyncio.sleep(0.2)
        await asyncio.wait_for(edit_and_request(99), 10)
    stats = await s.command("haiku.showStats")
    # One resolution of what main.py imports (started on didOpen) and one of the other names near the
    # cursor, which the following requests waited on: not one per request.
    assert stats["inline"]["jedi_resolutions"] == 2


@pytest.mark.parametrize("answer", [
    "Here is the completion you asked for: the square root function.",
    "   \n  ",
    "    dy = a[1] - b[1]",
])
async def test_useless_answers_are_dropped(start_session, fake_anthropic, answer):
    text = "import math\n\n\ndef distance(a, b):\n    dy = a[1] - b[1]\n    \n"
    fake_anthropic.script(Reply(text=answer))
    s = await start_session()
    uri = s.open("geo.py", text)
    assert items_of(await s.inline(uri, types.Position(line=5, character=4))) == []


async def test_after_a_line_is_accepted_the_next_lines_are_offered_not_thrown_away(start_session, fake_anthropic):
    # The editor asks again at the end of the line a suggestion just completed: the model's answer that
    # goes on to the next line is offered (a line break, then the line), in one call.
    text = SAMPLE.replace("return math.sq", "dist = math.sqrt(dx * dx + dy * dy)")
    fake_anthropic.script(Reply(text="\n    return dist\n\n\ndef other():\n    pass"))
    s = await start_session()
    uri = s.open("geo.py", text)
    items = items_of(await s.inline(uri, end_of(text, "dy * dy)")))
    assert [text_of(i) for i in items] == ["\n    return dist"]
    assert apply_item(text, items[0]).splitlines()[7:9] == ["    dist = math.sqrt(dx * dx + dy * dy)",
                                                            "    return dist"]
    [req] = fake_anthropic.message_requests
    assert "next line" in req.messages[0]["content"]  # the model is told it may go on below


async def test_the_lines_after_an_accepted_line_come_from_the_same_stream(start_session, fake_anthropic):
    # The model goes on past the line: the line is answered at once, the stream is read on, and once the
    # line is accepted the editor's request at its end gets the next lines with no second call.
    text = SAMPLE.replace("    dy = a[1] - b[1]\n    return math.sq\n", "").replace("b[0]", "")
    fake_anthropic.script(Reply(text="b[0]\n    dy = a[1] - b[1]\n    return math.hypot(dx, dy)\n"))
    s = await start_session()
    uri = s.open("geo.py", text)
    where = end_of(text, "dx = a[0] - ")
    items = items_of(await s.inline(uri, where))
    assert [text_of(i) for i in items] == ["b[0]"]
    s.insert(uri, where, "b[0]")  # accepted with Tab
    after = types.Position(line=where.line, character=where.character + 4)
    items = items_of(await s.inline(uri, after))
    assert [text_of(i) for i in items] == ["\n    dy = a[1] - b[1]\n    return math.hypot(dx, dy)"]
    assert len(fake_anthropic.message_requests) == 1
    assert apply_item(s.text(uri), items[0]).splitlines()[5:8] == [
        "    dx = a[0] - b[0]", "    dy = a[1] - b[1]", "    return math.hypot(dx, dy)"]


async def test_lines_read_on_that_nobody_accepts_stop_when_the_next_stream_starts(start_session, fake_anthropic):
    # The stream read on after an answered line is closed once the user asks elsewhere (a new stream):
    # no tokens for lines nobody will see.
    text = SAMPLE.replace("b[0]", "")
    slow_rest = "".join(f"\n    d{k} = {k}" for k in range(40))
    fake_anthropic.script(Reply(text="b[0]" + slow_rest, chunk_chars=4, chunk_delay=0.3), times=1)
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session()
    uri = s.open("geo.py", text)
    items = items_of(await s.inline(uri, end_of(text, "dx = a[0] - "), invoked=True))
    assert [text_of(i) for i in items] == ["b[0]"]
    [first] = fake_anthropic.message_requests
    assert first.client_closed_at is None  # still reading on
    elsewhere = end_of(text, "return math.sq")  # nothing accepted; the user moves on
    items = items_of(await s.inline(uri, elsewhere, invoked=True))
    assert [text_of(i) for i in items] == ["rt(dx * dx + dy * dy)"]
    await asyncio.to_thread(fake_anthropic.wait_until_closed, first)
    assert first.client_closed_at is not None and first.finished_at is None


async def test_a_header_completed_at_the_end_of_its_line_comes_with_its_body(start_session, fake_anthropic):
    # HumanEval-style: the user typed "for idx, e"; the model completes the header and writes its body. The
    # body is part of the suggestion (one Tab), ended where the model starts copying the code after it.
    text = ("def close(numbers, threshold):\n    for idx, e\n            if idx != idx2:\n"
            "                return abs(elem - elem2) < threshold\n    return False\n")
    body = "lem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):"
    fake_anthropic.script(Reply(text=body + "\n            if idx != idx2:\n                return abs("))
    s = await start_session()
    uri = s.open("close.py", text)
    items = items_of(await s.inline(uri, end_of(text, "for idx, e")))
    assert [text_of(i) for i in items] == [body]
    [req] = fake_anthropic.message_requests
    assert req.body["max_tokens"] == 360  # a header is answered with its body: a block's budget
    compile(apply_item(text, items[0]), "close.py", "exec")


async def test_an_answer_that_nothing_goes_here_gets_no_jedi_guess(start_session, fake_anthropic):
    # Invoked, the model answers with nothing: no suggestion, not jedi's completion of the word at the
    # cursor (which would contradict the model). When the upstream fails, jedi still stands in.
    text = "import math\n\n\ndef root(x):\n    return math.sqrt\n"
    fake_anthropic.script(Reply(text=""), times=1)
    fake_anthropic.script(Reply(fault=Fault.status(500)))
    s = await start_session()
    uri = s.open("root.py", text)
    where = end_of(text, "math.sq")
    assert items_of(await s.inline(uri, where, invoked=True)) == []
    s.insert(uri, types.Position(line=0, character=0), "# root\n")  # a new prompt: no cache hit
    where = types.Position(line=where.line + 1, character=where.character)
    offline = items_of(await s.inline(uri, where, invoked=True))
    assert offline and all(text_of(i).startswith("rt") for i in offline)


async def test_what_a_document_imports_is_resolved_when_it_is_opened(start_session, fake_anthropic, workspace):
    """The first completion in a file that was opened a moment ago carries the callee's signature even
    when the request itself gives jedi no time: the imports were resolved in the background on didOpen."""
    (workspace / "geometry.py").write_text(GEOMETRY)
    text = CALLS_SCALE
    fake_anthropic.script(Reply(text="x, 2.0)"))
    s = await start_session(init_options={"contextTimeBudgetMs": 0, "debounceMs": 0, "debounceMinMs": 0})
    uri = s.open("main.py", text)
    deadline = time.monotonic() + 20
    while (await s.command("haiku.showStats"))["inline"]["jedi_resolutions"] < 1:
        assert time.monotonic() < deadline, "nothing was resolved after didOpen"
        await asyncio.sleep(0.1)
    while (lane := (await s.command("haiku.showStats"))["jedi"]["small"])["busy"] or lane["queued"]:
        assert time.monotonic() < deadline, "the background resolution did not end"
        await asyncio.sleep(0.1)  # the background resolution (in the jedi worker) has finished
    await s.inline(uri, end_of(text, "return scale("), invoked=False)  # Automatic: no time for jedi
    [req] = fake_anthropic.message_requests
    assert "Multiply value by factor" in req.system_text + req.last_user_text


async def test_names_near_an_edit_are_resolved_once_the_edits_pause(start_session, fake_anthropic, workspace):
    """After typing stops, what the module imports and what the edited lines call are resolved in the
    background: the next completion there carries the callee's signature even when the request itself gives
    jedi no time."""
    (workspace / "geometry.py").write_text(GEOMETRY)
    fake_anthropic.script(Reply(text="x, 2.0)"))
    s = await start_session(init_options={"contextTimeBudgetMs": 0, "debounceMs": 0, "debounceMinMs": 0})
    uri = s.open("main.py", "def doubled(x):\n    return x\n")  # imports nothing: nothing resolved on didOpen
    s.insert(uri, types.Position(line=0, character=0), "from geometry import scale\n\n\n")
    s.set_line(uri, 4, "    return scale(")
    deadline = time.monotonic() + 20
    while True:  # the edits paused: one resolution is started, and ends
        stats = await s.command("haiku.showStats")
        if stats["inline"]["jedi_resolutions"] >= 1 and not stats["jedi"]["small"]["busy"] \
                and not stats["jedi"]["small"]["queued"]:
            break
        assert time.monotonic() < deadline, "nothing was resolved after the edits"
        await asyncio.sleep(0.1)
    await s.inline(uri, end_of(s.text(uri), "return scale("), invoked=False)  # Automatic: no time for jedi
    [req] = fake_anthropic.message_requests
    assert "Multiply value by factor" in req.system_text + req.last_user_text
