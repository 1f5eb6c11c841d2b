"""Tests of the fake Anthropic API (tests/fakes/anthropic_api/), driven by the real ``anthropic`` SDK
(its pure helpers are tested in tests/unit/test_fake_api.py).

They also pin down how the SDK reacts to each failure mode, which the server code relies on:
a connection dropped mid-stream surfaces as a raw ``httpx2.RemoteProtocolError`` (not wrapped, not
retried), an SSE ``error`` event as a plain ``anthropic.APIStatusError`` with status 200, a stream
without ``message_stop`` as no error at all (stop_reason None), a read timeout mid-stream as a raw
``httpx2.ReadTimeout``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import anthropic
import httpx2
import pytest

from tests.fakes.anthropic_api import (
    FakeAnthropic,
    Fault,
    Reply,
    count_tokens,
)

pytest_plugins = ["tests.fakes.plugin"]

HAIKU = "claude-haiku-4-5"
USER = [{"role": "user", "content": "Complete this function please"}]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def client(fake_anthropic: FakeAnthropic):
    c = anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="test-key")
    yield c
    c.close()


def aclient(fake: FakeAnthropic, **kw) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(base_url=fake.base_url, api_key="test-key", **kw)


_http: httpx2.Client | None = None


@pytest.fixture(scope="module", autouse=True)
def _raw_http_client():
    global _http
    with httpx2.Client() as _http:
        yield
    _http = None


def raw_post(fake: FakeAnthropic, path: str, body: dict, headers: dict | None = None) -> httpx2.Response:
    """A plain HTTP request (bypassing the SDK's own checks), API version 2023-06-01 by default."""
    base = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
    assert _http is not None
    return _http.post(fake.base_url + path, json=body, headers={**base, **(headers or {})})


# --------------------------------------------------------------------------------------------------
# happy paths


def test_non_streaming_create(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="return a + b"))
    msg = client.messages.create(model=HAIKU, max_tokens=100, system="You complete code.", messages=USER)
    assert msg.type == "message" and msg.role == "assistant" and msg.model == HAIKU
    assert msg.id.startswith("msg_")
    assert [b.type for b in msg.content] == ["text"] and msg.content[0].text == "return a + b"
    assert msg.stop_reason == "end_turn" and msg.stop_sequence is None
    assert msg.usage.input_tokens == count_tokens("You complete code.") + count_tokens(USER[0]["content"])
    assert msg.usage.output_tokens == count_tokens("return a + b")
    assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0

    [req] = fake_anthropic.requests
    assert (req.method, req.path, req.status, req.stream) == ("POST", "/v1/messages", 200, False)
    assert req.headers["authorization"] == "Bearer test-key"
    assert req.headers["anthropic-version"] == "2026-10-21"
    assert req.model == HAIKU and req.system_text == "You complete code."
    assert req.last_user_text == USER[0]["content"] and req.messages == USER
    assert req.sent_text == "return a + b" and req.output_tokens == msg.usage.output_tokens
    assert req.stop_reason == "end_turn"
    assert req.arrived_at <= req.finished_at <= time.monotonic() and req.client_closed_at is None
    assert msg._request_id == req.request_id


def test_stream_text_and_final_message(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    text = "for item in items:\n    total += item.price\nreturn total"
    fake_anthropic.script(Reply(text=text, chunk_chars=5))
    with client.messages.stream(model=HAIKU, max_tokens=200, messages=USER) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == text and len(pieces) == -(-len(text) // 5)
    assert final.content[0].text == text and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == count_tokens(text)
    assert final.usage.input_tokens == count_tokens(USER[0]["content"])
    req = fake_anthropic.wait_for_requests(1)[0]
    fake_anthropic.wait_until_closed(req)
    assert req.stream and req.sent_text == text and req.output_tokens == count_tokens(text)
    assert req.events[:3] == ["message_start", "content_block_start", "ping"]
    assert req.events[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert req.arrived_at <= req.first_delta_at <= req.finished_at


def test_raw_stream_events_in_order(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="abcdefghij", chunk_chars=4))
    events = list(client.messages.create(model=HAIKU, max_tokens=50, messages=USER, stream=True))
    types = [e.type for e in events]
    assert types == ["message_start", "content_block_start"] + ["content_block_delta"] * 3 + [
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0].message
    assert start.content == [] and start.stop_reason is None and start.usage.output_tokens == 1
    assert start.usage.input_tokens == count_tokens(USER[0]["content"])
    assert events[1].content_block.type == "text" and events[1].content_block.text == ""
    assert [e.delta.text for e in events[2:5]] == ["abcd", "efgh", "ij"]
    assert events[6].delta.stop_reason == "end_turn"
    assert events[6].usage.output_tokens == count_tokens("abcdefghij")
    assert events[6].usage.input_tokens == start.usage.input_tokens


def test_stop_sequences_and_max_tokens(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    text = "x = compute()\n\ndef next_function():\n    pass"
    fake_anthropic.default_reply = Reply(text=text)
    msg = client.messages.create(
        model=HAIKU, max_tokens=100, messages=USER, stop_sequences=["\ndef ", "\n\n"]
    )
    assert msg.content[0].text == "x = compute()"
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == "\n\n"
    assert msg.usage.output_tokens == count_tokens("x = compute()")

    with client.messages.stream(model=HAIKU, max_tokens=3, messages=USER) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens" and final.usage.output_tokens == 3
    assert final.content[0].text == "x = compute" and count_tokens(final.content[0].text) == 3
    assert fake_anthropic.requests[-1].sent_text == "x = compute"

    msg = client.messages.create(model=HAIKU, max_tokens=100, messages=USER, stop_sequences=["nothing"])
    assert msg.stop_reason == "end_turn" and msg.content[0].text == text


def test_tool_use_reply_and_structured_output(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    tool = {"name": "propose_edit", "description": "d", "input_schema": {"type": "object", "properties": {}}}
    call = {"name": "propose_edit", "input": {"title": "Add docstring", "code": "def f():\n    ..."}}
    fake_anthropic.default_reply = Reply(tool_use=call, chunk_chars=10)
    kwargs = dict(model=HAIKU, max_tokens=500, messages=USER, tools=[tool])
    msg = client.messages.create(**kwargs, tool_choice={"type": "tool", "name": "propose_edit"})
    assert msg.stop_reason == "tool_use"
    [block] = msg.content
    assert block.type == "tool_use" and block.name == "propose_edit" and block.input == call["input"]
    assert block.id.startswith("toolu_")

    with client.messages.stream(**kwargs) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert final.content[0].input == call["input"] and final.stop_reason == "tool_use"
    assert any(e.type == "input_json" for e in events)
    req = fake_anthropic.requests[-1]
    assert json.loads(req.sent_json) == call["input"] and req.sent_text == ""

    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    fake_anthropic.default_reply = Reply(text='{"answer": "42"}')
    msg = client.messages.create(
        model=HAIKU,
        max_tokens=100,
        messages=USER,
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    assert json.loads(msg.content[0].text) == {"answer": "42"}


def test_text_then_tool_use_blocks(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="Let me fix that.", tool_use={"name": "t", "input": {"a": 1}}))
    with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
        final = stream.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use"]
    assert final.content[0].text == "Let me fix that." and final.content[1].input == {"a": 1}


def test_count_tokens_endpoint(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    tools = [{"name": "t", "description": "a tool", "input_schema": {"type": "object"}}]
    res = client.messages.count_tokens(model=HAIKU, system="Be brief.", messages=USER)
    assert res.input_tokens == count_tokens("Be brief.") + count_tokens(USER[0]["content"])
    with_tools = client.messages.count_tokens(model=HAIKU, system="Be brief.", messages=USER, tools=tools)
    assert with_tools.input_tokens > res.input_tokens
    assert [r.path for r in fake_anthropic.requests] == ["/v1/messages/count_tokens"] * 2
    assert fake_anthropic.message_requests == []


def test_keep_alive_reuses_the_connection(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    for _ in range(3):
        client.messages.create(model=HAIKU, max_tokens=10, messages=USER)
    with client.messages.stream(model=HAIKU, max_tokens=10, messages=USER) as stream:
        stream.until_done()
    reqs = fake_anthropic.requests
    assert len({r.connection_id for r in reqs}) == 1
    assert reqs[0].headers["connection"] == "keep-alive"


# --------------------------------------------------------------------------------------------------
# validation and auth


def test_sampling_parameters_rejected_on_2026_api_version(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    for param, value in (("temperature", 0.2), ("top_p", 0.9), ("top_k", 5)):
        with pytest.raises(anthropic.BadRequestError) as exc:
            client.messages.create(model=HAIKU, max_tokens=10, messages=USER, extra_body={param: value})
        assert exc.value.status_code == 400 and exc.value.type == "invalid_request_error"
        assert param in exc.value.api_message
    # an older API version still accepts them
    assert raw_post(fake_anthropic, "/v1/messages", {"model": HAIKU, "max_tokens": 5, "messages": USER,
                                                     "temperature": 0.5}).status_code == 200  # fmt: skip


def test_prefill_rules(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    prefill = [*USER, {"role": "assistant", "content": "def add(a, b):"}]
    for model in ("claude-sonnet-4-6", "claude-opus-4-7"):
        with pytest.raises(anthropic.BadRequestError) as exc:
            client.messages.create(model=model, max_tokens=10, messages=prefill)
        assert "does not support assistant message prefill" in exc.value.api_message
        assert "must end with a user message" in exc.value.api_message
    fake_anthropic.script(Reply(text="\n    return a + b"))
    msg = client.messages.create(model=HAIKU, max_tokens=10, messages=prefill)
    assert msg.content[0].text == "\n    return a + b"
    trailing = [*USER, {"role": "assistant", "content": [{"type": "text", "text": "def add(a, b): "}]}]
    for model in (HAIKU, "claude-sonnet-4-6"):
        with pytest.raises(anthropic.BadRequestError, match="cannot end with trailing whitespace"):
            client.messages.create(model=model, max_tokens=10, messages=trailing)
    assert [r.status for r in fake_anthropic.requests] == [400, 400, 200, 400, 400]


def test_request_body_validation(fake_anthropic: FakeAnthropic) -> None:
    full = {"model": HAIKU, "max_tokens": 10, "messages": USER}
    for missing in ("model", "max_tokens", "messages"):
        body = {k: v for k, v in full.items() if k != missing}
        res = raw_post(fake_anthropic, "/v1/messages", body)
        assert res.status_code == 400, missing
        err = res.json()
        assert err["type"] == "error" and err["error"]["type"] == "invalid_request_error"
        assert err["error"]["message"] == f"{missing}: Field required"
        assert err["request_id"] == res.headers["request-id"] and err["request_id"].startswith("req_")
    bad = [
        {**full, "messages": []},
        {**full, "messages": [{"role": "system", "content": "x"}]},
        {**full, "messages": [{"role": "user", "content": ""}]},
        {**full, "stop_sequence": ["x"]},
        {**full, "max_tokens": -1},
    ]
    for body in bad:
        assert raw_post(fake_anthropic, "/v1/messages", body).status_code == 400, body
    res = raw_post(fake_anthropic, "/v1/messages", full, {"anthropic-version": ""})
    assert res.status_code == 400 and "anthropic-version" in res.json()["error"]["message"]
    res = httpx2.post(fake_anthropic.base_url + "/v1/messages", content=b"{nope", headers={"x-api-key": "k"})
    assert res.status_code == 400
    res = raw_post(fake_anthropic, "/v1/messages", {**full, "model": "gpt-4"})
    assert res.status_code == 404 and res.json()["error"]["type"] == "not_found_error"


def test_unknown_path_is_404(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    res = raw_post(fake_anthropic, "/v1/complete", {})
    assert res.status_code == 404 and res.json()["error"]["type"] == "not_found_error"
    assert httpx2.get(fake_anthropic.base_url + "/v1/messages").status_code == 404
    with pytest.raises(anthropic.NotFoundError):
        client.post("/v1/nothing", cast_to=object, body={})


def test_authentication(fake_anthropic: FakeAnthropic) -> None:
    no_key = anthropic.Anthropic(
        base_url=fake_anthropic.base_url, api_key="x", default_headers={"Authorization": anthropic.Omit()}
    )
    with no_key, pytest.raises(anthropic.AuthenticationError) as exc:
        no_key.messages.create(model=HAIKU, max_tokens=10, messages=USER)
    assert exc.value.status_code == 401 and exc.value.type == "authentication_error"
    assert "authorization" not in fake_anthropic.requests[-1].headers
    assert raw_post(
        fake_anthropic, "/v1/messages", {"model": HAIKU, "max_tokens": 5, "messages": USER}
    ).is_success

    fake_anthropic.api_key = "the-right-key"
    with anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="wrong") as wrong:
        with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
            wrong.messages.create(model=HAIKU, max_tokens=10, messages=USER)
    with anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="the-right-key") as right:
        assert right.messages.create(model=HAIKU, max_tokens=10, messages=USER).type == "message"
    res = raw_post(fake_anthropic, "/v1/messages", {}, {"x-api-key": "the-right-key"})
    assert res.status_code == 400  # the key is accepted from x-api-key too


# --------------------------------------------------------------------------------------------------
# HTTP status faults and SDK retries


def test_429_retry_after_is_honored(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(fault=Fault.status(429, retry_after=0.05)), times=1)
    fake_anthropic.script(Reply(text="ok"))
    msg = client.messages.create(model=HAIKU, max_tokens=10, messages=USER)
    assert msg.content[0].text == "ok"
    first, second = fake_anthropic.requests
    assert first.status == 429 and first.error["type"] == "rate_limit_error"
    assert second.status == 200 and second.headers["x-stainless-retry-count"] == "1"
    gap = second.arrived_at - first.finished_at
    assert 0.05 <= gap < 0.3  # without the header the SDK would wait >= 0.375 s
    assert first.body == second.body


def test_429_error_shape_and_default_retry_after(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.script(Reply(fault=Fault.status(429)))
    res = raw_post(fake_anthropic, "/v1/messages", {"model": HAIKU, "max_tokens": 5, "messages": USER})
    assert res.status_code == 429 and res.headers["retry-after"] == "1"
    assert res.json()["error"]["type"] == "rate_limit_error"


def test_529_without_retries(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.script(Reply(fault=Fault.status(529)), times=1)
    with anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="k", max_retries=0) as c:
        with pytest.raises(anthropic.InternalServerError) as exc:
            c.messages.create(model=HAIKU, max_tokens=10, messages=USER)
        assert isinstance(exc.value, anthropic.OverloadedError)
        assert exc.value.status_code == 529 and exc.value.type == "overloaded_error"
        assert exc.value.request_id == fake_anthropic.requests[0].request_id
        # the fault was used up: the next call succeeds
        assert c.messages.create(model=HAIKU, max_tokens=10, messages=USER).type == "message"


async def test_500_on_stream_is_retried_then_succeeds(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.script(Reply(fault=Fault.status(500, "boom", retry_after=0.01)), times=2)
    fake_anthropic.script(Reply(text="third time"))
    async with aclient(fake_anthropic) as c:
        async with c.messages.stream(model=HAIKU, max_tokens=10, messages=USER) as stream:
            assert await stream.get_final_text() == "third time"
    assert [r.status for r in fake_anthropic.requests] == [500, 500, 200]


# --------------------------------------------------------------------------------------------------
# mid-stream faults


def test_error_event_mid_stream(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="abcdefghijklmnop", chunk_chars=3, fault=Fault.error_event(6)))
    got: list[str] = []
    with pytest.raises(anthropic.APIStatusError) as exc:
        with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
            for text in stream.text_stream:
                got.append(text)
    assert "".join(got) == "abcdef"
    # the SDK builds the error from the event body, on the 200 response: the base class, status 200
    assert type(exc.value) is anthropic.APIStatusError and exc.value.status_code == 200
    assert exc.value.type == "overloaded_error" and exc.value.body["error"]["type"] == "overloaded_error"
    req = fake_anthropic.requests[0]
    assert fake_anthropic.wait_until_closed(req) == req.finished_at
    assert req.events[-1] == "error" and req.error["type"] == "overloaded_error"
    assert req.sent_text == "abcdef" and req.stop_reason is None and req.finished_at is not None


def test_error_event_non_streaming_is_an_http_error(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.script(Reply(text="x", fault=Fault.error_event(0, type="api_error")))
    with pytest.raises(anthropic.InternalServerError) as exc:
        client.with_options(max_retries=0).messages.create(model=HAIKU, max_tokens=10, messages=USER)
    assert exc.value.status_code == 500 and exc.value.type == "api_error"


def test_drop_mid_stream(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="0123456789", chunk_chars=2, fault=Fault.drop(4)))
    got: list[str] = []
    # Not wrapped by the SDK (the failure happens while iterating, outside its request/retry loop).
    with pytest.raises(httpx2.RemoteProtocolError, match="incomplete chunked read"):
        with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
            for text in stream.text_stream:
                got.append(text)
    assert "".join(got) == "0123"
    [req] = fake_anthropic.requests
    assert req.sent_text == "0123" and req.output_tokens == count_tokens("0123")
    assert "message_stop" not in req.events and req.client_closed_at is None and req.finished_at is not None


def test_drop_non_streaming_is_retried_by_the_sdk(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.script(Reply(fault=Fault.drop()), times=1)
    fake_anthropic.script(Reply(text="after retry"))
    msg = client.messages.create(model=HAIKU, max_tokens=10, messages=USER)
    assert msg.content[0].text == "after retry"
    first, second = fake_anthropic.requests
    assert first.status is None and second.status == 200
    assert first.connection_id != second.connection_id


def test_stream_without_message_stop(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="abcdefgh", chunk_chars=2, fault=Fault.no_stop(4)), times=1)
    with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
        final = stream.get_final_message()  # the SDK does not complain
    assert final.content[0].text == "abcd" and final.stop_reason is None
    req = fake_anthropic.requests[0]
    assert req.events[-1] == "content_block_delta" and req.stop_reason is None
    # the connection stays usable
    fake_anthropic.script(Reply(text="next"))
    assert client.messages.create(model=HAIKU, max_tokens=10, messages=USER).content[0].text == "next"
    assert fake_anthropic.requests[1].connection_id == req.connection_id


def test_malformed_sse_event(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="abcdefgh", chunk_chars=2, fault=Fault.malformed(4)), times=1)
    texts: list[str] = []
    with pytest.raises(json.JSONDecodeError):  # what the SDK makes of an event that is not JSON
        with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
            texts.extend(stream.text_stream)
    assert texts == ["ab", "cd"]
    req = fake_anthropic.requests[0]
    assert req.events[-1] == "malformed" and req.sent_text == "abcd"


def test_malformed_json_body(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="abcdefgh", fault=Fault.malformed()), times=1)
    with pytest.raises(json.JSONDecodeError):  # the SDK does not wrap it either
        client.messages.create(model=HAIKU, max_tokens=100, messages=USER)


def test_stall_then_continue(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="aaaabbbb", chunk_chars=4, fault=Fault.stall(4, 0.3)))
    stamps: list[tuple[str, float]] = []
    with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
        for text in stream.text_stream:
            stamps.append((text, time.monotonic()))
    assert [t for t, _ in stamps] == ["aaaa", "bbbb"]
    assert 0.28 <= stamps[1][1] - stamps[0][1] < 0.6


def test_stall_past_client_read_timeout(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.script(Reply(text="aaaabbbb", chunk_chars=4, fault=Fault.stall(4, 5.0)))
    with anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="k", timeout=0.2) as c:
        with pytest.raises(httpx2.ReadTimeout):
            with c.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
                for _ in stream.text_stream:
                    pass
        gave_up = time.monotonic()
    req = fake_anthropic.requests[0]
    closed = fake_anthropic.wait_until_closed(req, timeout=2)
    assert req.client_closed_at == closed and abs(closed - gave_up) < 0.1
    assert req.sent_text == "aaaa" and req.finished_at is None
    assert len(fake_anthropic.requests) == 1  # not retried


# --------------------------------------------------------------------------------------------------
# timing knobs and client closing


def test_ttft_and_throughput(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    fake_anthropic.script(Reply(text="x" * 20, ttft=0.15, chunk_chars=5, chunk_delay=0.05), times=1)
    with client.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
        stream.until_done()
    req = fake_anthropic.requests[-1]
    assert 0.15 <= req.first_delta_at - req.arrived_at < 0.45
    assert 0.15 <= req.finished_at - req.first_delta_at < 0.45  # 3 delays of 0.05

    text = "word " * 20  # 20 tokens -> 4 chunks of 5 tokens; 3 delays of 5 / 100 s
    fake_anthropic.script(Reply(text=text, chunk_chars=25, tokens_per_second=100), times=1)
    client.messages.create(model=HAIKU, max_tokens=100, messages=USER)  # non-streaming waits as long
    req = fake_anthropic.requests[-1]
    assert 0.15 <= req.finished_at - req.arrived_at < 0.45

    fake_anthropic.latency = 0.1
    client.messages.create(model=HAIKU, max_tokens=100, messages=USER)
    req = fake_anthropic.requests[-1]
    assert 0.1 <= req.finished_at - req.arrived_at < 0.4


async def test_closing_stream_early_is_recorded_promptly(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.script(Reply(text="y" * 40, chunk_chars=4, chunk_delay=2.0))
    async with aclient(fake_anthropic) as c:
        async with c.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    break
            closed_by_client = time.monotonic()
            await stream.close()
        [req] = await fake_anthropic.wait_for_requests_async(1)
        seen = await fake_anthropic.wait_until_closed_async(req, timeout=1)
    assert seen == req.client_closed_at and req.finished_at is None
    assert 0 <= seen - closed_by_client < 0.1  # noticed in the middle of a 2 s chunk_delay
    assert req.sent_text == "yyyy" and req.output_tokens == count_tokens("yyyy")
    assert req.stop_reason is None and "message_stop" not in req.events


async def test_closing_during_ttft_is_recorded(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.script(Reply(text="never sent", ttft=3.0))
    async with aclient(fake_anthropic) as c:
        async with c.messages.stream(model=HAIKU, max_tokens=100, messages=USER) as stream:
            first = await stream.__anext__()
            assert first.type == "message_start"  # message_start goes out at once, before the ttft wait
        closed_by_client = time.monotonic()
    req = fake_anthropic.requests[0]
    seen = await fake_anthropic.wait_until_closed_async(req, timeout=1)
    assert seen - closed_by_client < 0.1 and req.first_delta_at is None and req.sent_text == ""


async def test_concurrent_streams_overlap(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.default_reply = Reply(text="z" * 24, chunk_chars=4, chunk_delay=0.05)

    async def one(c: anthropic.AsyncAnthropic, i: int) -> str:
        messages = [{"role": "user", "content": f"worker {i}"}]
        async with c.messages.stream(model=HAIKU, max_tokens=100, messages=messages) as stream:
            return await stream.get_final_text()

    started = time.monotonic()
    async with aclient(fake_anthropic) as c:
        results = await asyncio.gather(*(one(c, i) for i in range(5)))
    elapsed = time.monotonic() - started
    assert results == ["z" * 24] * 5
    reqs = fake_anthropic.requests
    assert len(reqs) == 5 and len({r.connection_id for r in reqs}) == 5
    assert max(r.arrived_at for r in reqs) < min(r.finished_at for r in reqs)  # all windows overlap
    assert elapsed < 0.25 * 5  # each takes ~0.25 s; sequential would be >= 1.25 s
    assert sorted(r.last_user_text for r in reqs) == [f"worker {i}" for i in range(5)]


# --------------------------------------------------------------------------------------------------
# prompt caching


def _cached_system(text: str, ttl: str | None = None) -> list[dict]:
    cc = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": text, "cache_control": cc}]


def test_prompt_caching_create_then_read(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    big = "def function_number_%d(argument):\n    return argument * 2\n\n"
    context = "".join(big % i for i in range(400))
    ctx_tokens = count_tokens(context)
    assert ctx_tokens >= 4096
    q1, q2 = "What does function 3 do?", "And function 7?"

    def ask(question: str, model: str = HAIKU, system: list[dict] | None = None):
        return client.messages.create(
            model=model,
            max_tokens=10,
            system=system or _cached_system(context),
            messages=[{"role": "user", "content": question}],
        ).usage

    u1 = ask(q1)
    assert u1.cache_creation_input_tokens == ctx_tokens and u1.cache_read_input_tokens == 0
    assert u1.input_tokens == count_tokens(q1)
    assert u1.cache_creation.ephemeral_5m_input_tokens == ctx_tokens
    u2 = ask(q2)
    assert u2.cache_read_input_tokens == ctx_tokens and u2.cache_creation_input_tokens == 0
    assert u2.input_tokens == count_tokens(q2)

    # streaming reports the same accounting, in message_start and message_delta
    with client.messages.stream(
        model=HAIKU, max_tokens=10, system=_cached_system(context), messages=[{"role": "user", "content": q2}]
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_read_input_tokens == ctx_tokens and final.usage.input_tokens == count_tokens(q2)

    # the cache is per model and per exact prefix
    u3 = ask(q1, model="claude-sonnet-4-6")
    assert u3.cache_creation_input_tokens == ctx_tokens and u3.cache_read_input_tokens == 0
    u4 = ask(q1, system=_cached_system(context + "# changed\n"))
    assert u4.cache_read_input_tokens == 0 and u4.cache_creation_input_tokens == count_tokens(
        context + "# changed\n"
    )


def test_prompt_caching_below_minimum(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    medium = "value = compute(item) + offset\n" * 150  # between 1024 and 4096 tokens
    tokens = count_tokens(medium)
    assert 1024 <= tokens < 4096
    for model, cached in ((HAIKU, False), ("claude-sonnet-4-6", True), ("claude-opus-4-7", True)):
        usages = [
            client.messages.create(
                model=model, max_tokens=5, system=_cached_system(medium), messages=USER
            ).usage
            for _ in range(2)
        ]
        if cached:
            assert (
                usages[0].cache_creation_input_tokens == tokens
                and usages[1].cache_read_input_tokens == tokens
            )
        else:
            assert all(u.cache_creation_input_tokens == 0 and u.cache_read_input_tokens == 0 for u in usages)
            assert all(u.input_tokens == tokens + count_tokens(USER[0]["content"]) for u in usages)


def test_prompt_caching_on_message_blocks_and_top_level(
    fake_anthropic: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    fake_anthropic.cache_min_tokens = 10
    doc = "some document text that is long enough " * 5
    content = [
        {"type": "text", "text": doc, "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "question one"},
    ]
    u1 = client.messages.create(
        model=HAIKU, max_tokens=5, system="sys", messages=[{"role": "user", "content": content}]
    ).usage
    assert u1.cache_creation_input_tokens == count_tokens("sys") + count_tokens(doc)
    assert u1.input_tokens == count_tokens("question one")
    content[1] = {"type": "text", "text": "question two"}
    u2 = client.messages.create(
        model=HAIKU, max_tokens=5, system="sys", messages=[{"role": "user", "content": content}]
    ).usage
    assert u2.cache_read_input_tokens == u1.cache_creation_input_tokens

    # top-level cache_control: the whole prompt, then a longer conversation reads it back
    turn = [{"role": "user", "content": "first question here please"}]
    t1 = client.messages.create(
        model=HAIKU, max_tokens=5, system=doc, messages=turn, cache_control={"type": "ephemeral"}
    )
    assert t1.usage.cache_creation_input_tokens == count_tokens(doc) + count_tokens(turn[0]["content"])
    longer = [*turn, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "follow up"}]
    t2 = client.messages.create(
        model=HAIKU, max_tokens=5, system=doc, messages=longer, cache_control={"type": "ephemeral"}
    )
    assert t2.usage.cache_read_input_tokens == t1.usage.cache_creation_input_tokens
    assert t2.usage.cache_creation_input_tokens == count_tokens("ok") + count_tokens("follow up")


# --------------------------------------------------------------------------------------------------
# scripting and bookkeeping


def test_script_matching_order_and_times(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    first = fake_anthropic.script(Reply(text="A"), match="alpha", times=1)
    fake_anthropic.script(Reply(text="B"), match="alpha")
    fake_anthropic.script("C", match=lambda body: body["max_tokens"] == 7)
    fake_anthropic.script(lambda body: Reply(text=body["messages"][-1]["content"].upper()), match="echo")
    fake_anthropic.default_reply = Reply(text="default")

    def ask(content: str, max_tokens: int = 10) -> str:
        msg = client.messages.create(
            model=HAIKU, max_tokens=max_tokens, messages=[{"role": "user", "content": content}]
        )
        return msg.content[0].text

    assert ask("alpha one") == "A"
    assert ask("alpha two") == "B"
    assert ask("alpha three", max_tokens=7) == "B"  # order wins over a later match
    assert ask("gamma", max_tokens=7) == "C"
    assert ask("echo me") == "ECHO ME"
    assert ask("anything else") == "default"
    assert first.used == 1 and first.exhausted
    # a match also sees the system prompt, and plain text with newlines
    fake_anthropic.script("D", match="line1\nline2", times=1)
    msg = client.messages.create(model=HAIKU, max_tokens=5, system="line1\nline2", messages=USER)
    assert msg.content[0].text == "D"


def test_wait_helpers_and_reset(fake_anthropic: FakeAnthropic, client: anthropic.Anthropic) -> None:
    with pytest.raises(TimeoutError):
        fake_anthropic.wait_for_requests(1, timeout=0.05)
    fake_anthropic.script("x", times=5)
    client.messages.create(model=HAIKU, max_tokens=5, messages=USER)
    [req] = fake_anthropic.wait_for_requests(1)
    assert fake_anthropic.wait_until_closed(req) == req.finished_at
    assert fake_anthropic.last_request is req
    fake_anthropic.reset()
    assert fake_anthropic.requests == []
    assert client.messages.create(model=HAIKU, max_tokens=5, messages=USER).content[0].text == ""


def test_used_from_a_subprocess(fake_anthropic: FakeAnthropic) -> None:
    """Another process (like the language server under test) reaches the fake via ANTHROPIC_BASE_URL, and
    its time.monotonic() is the fake's clock.  (stdlib client here: importing the SDK costs ~2 s.)"""
    fake_anthropic.script(Reply(text="from the fake", chunk_chars=3))
    code = (
        "import json, os, time, urllib.request\n"
        "body = {'model': 'claude-haiku-4-5', 'max_tokens': 20, 'stream': True,\n"
        "        'messages': [{'role': 'user', 'content': 'hi'}]}\n"
        "req = urllib.request.Request(os.environ['ANTHROPIC_BASE_URL'] + '/v1/messages',\n"
        "    data=json.dumps(body).encode(), headers={'x-api-key': os.environ['ANTHROPIC_API_KEY'],\n"
        "    'anthropic-version': '2023-06-01', 'content-type': 'application/json'})\n"
        "text = ''\n"
        "with urllib.request.urlopen(req) as res:\n"
        "    for line in res:\n"
        "        if line.startswith(b'data: '):\n"
        "            data = json.loads(line[6:])\n"
        "            if data['type'] == 'content_block_delta':\n"
        "                text += data['delta']['text']\n"
        "print(text)\n"
        "print(time.monotonic())\n"
    )
    env = {**os.environ, "ANTHROPIC_BASE_URL": fake_anthropic.base_url, "ANTHROPIC_API_KEY": "sub-key"}
    before = time.monotonic()
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    text, stamp = out.stdout.splitlines()
    assert text == "from the fake"
    [req] = fake_anthropic.requests
    assert req.headers["x-api-key"] == "sub-key" and req.stream
    assert before < req.arrived_at <= req.finished_at <= float(stamp) <= time.monotonic()


def test_context_manager_and_cli_entry(tmp_path: Path) -> None:
    with FakeAnthropic(default_reply=Reply(text="hi")) as fake:
        with anthropic.Anthropic(base_url=fake.base_url, api_key="k") as c:
            assert c.messages.create(model=HAIKU, max_tokens=5, messages=USER).content[0].text == "hi"
    with pytest.raises(httpx2.ConnectError):
        httpx2.post(fake.base_url + "/v1/messages", json={})

    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.anthropic_api", "--port", "0", "--text", "cli reply"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = proc.stdout.readline().strip()
        res = httpx2.post(
            base_url + "/v1/messages",
            json={"model": HAIKU, "max_tokens": 5, "messages": USER},
            headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
        )
        assert res.json()["content"][0]["text"] == "cli reply"
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stdout.close()
