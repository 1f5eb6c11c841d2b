"""A faithful local fake of the Anthropic Messages API, for tests.

The fake is a real HTTP/1.1 server (hand-written on ``asyncio.start_server``, standard library only)
listening on 127.0.0.1 on a free port.  Its asyncio loop runs in a background daemon thread, so one
instance can serve sync tests, async tests and a language-server *subprocess* started with
``ANTHROPIC_BASE_URL=fake.base_url`` at the same time.  All times it records are ``time.monotonic()``,
which on Linux is the same clock in every process.

Usage::

    fake = FakeAnthropic().start()  # or the ``fake_anthropic`` pytest fixture (tests/fakes/plugin.py)
    fake.script(Reply(text="def f():\\n    pass"), match="complete this", times=1)
    client = anthropic.Anthropic(base_url=fake.base_url, api_key="test-key")
    ...
    req = fake.wait_for_requests(1)[0]
    fake.stop()

Endpoints: ``POST /v1/messages`` (JSON or ``"stream": true`` SSE), ``POST /v1/messages/count_tokens``, the
Message Batches API under ``/v1/messages/batches`` (create, retrieve, list, cancel, delete, results as
JSONL; module ``batches``, knobs on ``fake.batches``); anything else is a 404 with the API's error body.

Streaming timeline (one SSE event per HTTP chunk, chunked transfer encoding)::

    headers, message_start, content_block_start, ping      -> sent at once when the request arrives
    (wait fake.latency + reply.ttft)
    content_block_delta * n  (reply.chunk_chars characters each; reply.chunk_delay, or
                              tokens(chunk) / reply.tokens_per_second, between two deltas)
    content_block_stop, [next block ...], message_delta, message_stop, end of body

A non-streaming request is answered after the same total time (latency + ttft + all chunk delays).

While a request is being answered the fake watches the socket for EOF, so a client going away is
noticed (``RecordedRequest.client_closed_at``) within a few milliseconds, even in the middle of a
ttft / chunk_delay / stall wait, and the fake then stops generating.

Modules: ``server`` (``FakeAnthropic``: its thread, routing), ``batches`` (the Message Batches API),
``connection`` (HTTP/1.1 connections, answering
one request), ``wire`` (wire format), ``validation``, ``scripting`` (``Reply``, ``Script``), ``faults``,
``answers`` (the plan of an answer; sent as JSON or SSE), ``recording`` (``RecordedRequest``, waits),
``tokens`` (tokenizer, models, prompt cache).  ``python -m tests.fakes.anthropic_api`` runs it standalone.
"""

from .faults import Fault
from .recording import RecordedRequest
from .scripting import Reply, Script
from .server import FakeAnthropic
from .tokens import cache_minimum_tokens, count_tokens, model_version, supports_prefill

__all__ = [
    "FakeAnthropic",
    "Fault",
    "RecordedRequest",
    "Reply",
    "Script",
    "cache_minimum_tokens",
    "count_tokens",
    "model_version",
    "supports_prefill",
]
