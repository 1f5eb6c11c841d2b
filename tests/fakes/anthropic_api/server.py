"""The fake Anthropic Messages API server (see the package docstring for usage)."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http
import itertools
import json
import re
import secrets
import string
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Union

# --------------------------------------------------------------------------------------------------
# Tokenizer


# A run of up to 7 letters (with one leading space/tab glued on, as BPE does), up to 3 digits, an
# underscore, 1-2 punctuation characters (also with a leading space/tab), or up to 8 whitespace
# characters.  Every character is in exactly one token; about 3.5-3.9 characters per token on Python
# source and ~4.5-5 on English prose, close to the real tokenizer.
_TOKEN_RE = re.compile(r"[ \t]?[^\W\d_]{1,7}|\d{1,3}|_|[ \t]?[^\w\s]{1,2}|\s{1,8}")


def count_tokens(text: str) -> int:
    """Deterministic stand-in for the model's tokenizer (BPE-like: ~3.5-4 characters per token of code)."""
    return len(_TOKEN_RE.findall(text))


def _cut_tokens(text: str, n: int) -> str:
    """The longest prefix of ``text`` made of its first ``n`` tokens."""
    if n <= 0:
        return ""
    end = 0
    for i, m in enumerate(_TOKEN_RE.finditer(text)):
        if i >= n:
            break
        end = m.end()
    return text[:end]


# --------------------------------------------------------------------------------------------------
# Models


_VERSION_RE = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:[-.](\d{1,2})(?!\d))?")


def model_version(model: str) -> tuple[int, int] | None:
    """``claude-sonnet-4-6`` -> (4, 6); ``claude-3-5-haiku-20241022`` -> (3, 5); ``claude-opus-4-20250514``
    -> (4, 0); None when the id has no version."""
    m = _VERSION_RE.search(model)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


def supports_prefill(model: str) -> bool:
    """Models 4.6 and later reject a conversation that ends with an assistant message."""
    version = model_version(model)
    return version is None or version < (4, 6)


def cache_minimum_tokens(model: str) -> int:
    """Smallest cacheable prefix: 4096 tokens for Haiku models, 1024 for Sonnet / Opus."""
    return 4096 if "haiku" in model else 1024


# --------------------------------------------------------------------------------------------------
# Scripting


@dataclass(frozen=True)
class Fault:
    """Something going wrong with one response.  Build with the class methods."""

    kind: str  # "status" | "error_event" | "drop" | "stall" | "no_stop"
    after_chars: int = 0
    seconds: float = 0.0
    status_code: int = 0
    error_type: str | None = None
    message: str | None = None
    retry_after: float | None = None
    should_retry: bool | None = None

    @classmethod
    def status(
        cls,
        code: int,
        message: str | None = None,
        retry_after: float | None = None,
        *,
        type: str | None = None,
        should_retry: bool | None = None,
    ) -> Fault:
        """An HTTP error response (before any body).  ``retry_after`` (seconds, float allowed) is sent as the
        ``retry-after`` header; a 429 without one gets ``retry-after: 1`` like the real API.
        ``should_retry`` sends ``x-should-retry: true/false`` (the SDK obeys it)."""
        return cls(
            "status",
            status_code=code,
            message=message,
            retry_after=retry_after,
            error_type=type or _ERROR_TYPES.get(code, "api_error"),
            should_retry=should_retry,
        )

    @classmethod
    def error_event(
        cls, after_chars: int = 0, type: str = "overloaded_error", message: str | None = None
    ) -> Fault:
        """After ``after_chars`` characters of content, an ``event: error`` SSE event; then the body ends
        and the connection is closed.  For a non-streaming request: the matching HTTP error status."""
        return cls("error_event", after_chars=after_chars, error_type=type, message=message)

    @classmethod
    def drop(cls, after_chars: int = 0) -> Fault:
        """After ``after_chars`` characters the connection is closed in the middle of the chunked body
        (no message_stop, no final chunk).  Non-streaming: closed without any response."""
        return cls("drop", after_chars=after_chars)

    @classmethod
    def stall(cls, after_chars: int, seconds: float) -> Fault:
        """After ``after_chars`` characters nothing is sent for ``seconds``, then the stream continues."""
        return cls("stall", after_chars=after_chars, seconds=seconds)

    @classmethod
    def no_stop(cls, after_chars: int = 0) -> Fault:
        """After ``after_chars`` characters the HTTP body ends cleanly, without content_block_stop,
        message_delta or message_stop.  Non-streaming: text cut there, ``stop_reason`` null."""
        return cls("no_stop", after_chars=after_chars)


@dataclass
class Reply:
    """What the fake model answers.

    ``text`` is the generated text (a continuation, when the request ends with an assistant prefill);
    ``tool_use`` ({"name": ..., "input": {...}, optional "id"}) adds a tool_use block after the text
    (stop_reason ``tool_use``).  ``stop_sequences`` / ``max_tokens`` of the request cut the text.
    ``ttft`` is the wait before the first content_block_delta (message_start goes out at once);
    ``chunk_chars`` characters per delta; ``chunk_delay`` seconds between deltas, or, when
    ``tokens_per_second`` is set, ``count_tokens(chunk) / tokens_per_second``.  ``stop_reason``
    overrides the computed one; ``usage`` is merged over the computed usage.
    """

    text: str = ""
    tool_use: dict | None = None
    ttft: float = 0.0
    chunk_chars: int = 8
    chunk_delay: float = 0.0
    tokens_per_second: float | None = None
    stop_reason: str | None = None
    usage: dict | None = None
    fault: Fault | None = None


ReplyLike = Union[Reply, str, Callable[[dict], "Reply | str"]]
Matcher = Union[None, str, Callable[[dict], bool]]


@dataclass(eq=False)
class Script:
    """A scripted reply (returned by ``FakeAnthropic.script``); ``used`` counts the requests it answered."""

    reply: ReplyLike
    match: Matcher = None
    times: int | None = None
    used: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, body: dict) -> bool:
        if self.match is None:
            return True
        if isinstance(self.match, str):
            return self.match in _search_text(body)
        return bool(self.match(body))


# --------------------------------------------------------------------------------------------------
# Recording


def content_text(content: Any) -> str:
    """Plain text of a message ``content`` (string or list of blocks; blocks joined with newlines)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "tool_result":
            parts.append(content_text(block.get("content")))
        elif kind == "tool_use":
            parts.append(json.dumps(block.get("input", {}), ensure_ascii=False))
    return "\n".join(parts)


def _search_text(body: dict) -> str:
    """What a string ``match`` is searched in: the JSON of system + messages, and their plain text."""
    as_json = json.dumps({"system": body.get("system"), "messages": body.get("messages")}, ensure_ascii=False)
    plain = [content_text(body.get("system"))]
    for msg in body.get("messages") or []:
        if isinstance(msg, dict):
            plain.append(content_text(msg.get("content")))
    return as_json + "\n" + "\n".join(plain)


@dataclass(eq=False)
class RecordedRequest:
    """One HTTP request the fake received, and what it did with it.  Filled in by the server thread."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    arrived_at: float
    request_id: str = ""
    connection_id: int = 0  # same number = same TCP connection (keep-alive reuse)
    stream: bool = False
    reply: Reply | None = None
    status: int | None = None
    first_delta_at: float | None = None
    finished_at: float | None = None
    client_closed_at: float | None = None
    sent_text: str = ""
    sent_json: str = ""
    output_tokens: int = 0
    stop_reason: str | None = None
    stop_sequence: str | None = None
    usage: dict | None = None
    error: dict | None = None
    events: list[str] = field(default_factory=list)

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict]:
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def system_text(self) -> str:
        """The system prompt as text (text blocks joined with newlines)."""
        return content_text(self.body.get("system")) if isinstance(self.body, dict) else ""

    @property
    def last_user_text(self) -> str:
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                return content_text(msg.get("content"))
        return ""

    @property
    def done(self) -> bool:
        return self.finished_at is not None or self.client_closed_at is not None

    @property
    def ended_at(self) -> float | None:
        """When the exchange ended: server finished sending, or the client went away."""
        times = [t for t in (self.finished_at, self.client_closed_at) if t is not None]
        return min(times) if times else None


# --------------------------------------------------------------------------------------------------
# HTTP helpers


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_STATUS_FOR_TYPE = {v: k for k, v in _ERROR_TYPES.items()}
_DEFAULT_MESSAGES = {
    "invalid_request_error": "Invalid request",
    "authentication_error": "invalid x-api-key",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "not_found_error": "Not found",
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    "rate_limit_error": "This request would exceed your organization's rate limit. Please try again later.",
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "overloaded_error": "Overloaded",
}

_SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
_NO_SAMPLING_VERSION = "2026-10-21"
_KNOWN_FIELDS = {
    "model", "messages", "max_tokens", "system", "stream", "stop_sequences", "metadata", "tools",
    "tool_choice", "thinking", "output_config", "output_format", "cache_control", "container",
    "context_management", "diagnostics", "inference_geo", "mcp_servers", "service_tier", "speed", "betas",
    *_SAMPLING_PARAMS,
}  # fmt: skip
_MAX_CACHE_BREAKPOINTS = 4


def _reason(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _rand_id(prefix: str) -> str:
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(24))


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _sse(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _json_bytes(data) + b"\n\n"


def _chunk(payload: bytes) -> bytes:
    return b"%x\r\n" % len(payload) + payload + b"\r\n"


class _ApiError(Exception):
    def __init__(self, status: int, message: str, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or _ERROR_TYPES.get(status, "api_error")


_CONN_IDS = itertools.count(1)


class _Conn:
    """One client connection: a background task reads the socket into a buffer, so EOF (the client
    going away) is noticed at once, whatever the response writer is doing."""

    def __init__(
        self, fake: FakeAnthropic, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.fake = fake
        self.reader = reader
        self.writer = writer
        self.buf = bytearray()
        self.data_ev = asyncio.Event()
        self.closed_ev = asyncio.Event()
        self.current: RecordedRequest | None = None
        self.server_closing = False
        self.id = next(_CONN_IDS)
        self.read_task = asyncio.get_running_loop().create_task(self._read_loop())

    @property
    def closed(self) -> bool:
        return self.closed_ev.is_set()

    async def _read_loop(self) -> None:
        try:
            while True:
                data = await self.reader.read(65536)
                if not data:
                    break
                self.buf += data
                self.data_ev.set()
        except (ConnectionError, OSError):
            pass
        finally:
            self._lost()

    def _lost(self) -> None:
        """The connection is gone (EOF, reset, or a failed write)."""
        now = time.monotonic()
        rec = self.current
        if rec is not None and not self.server_closing:
            self.fake._mark_client_closed(rec, now)
        self.closed_ev.set()
        self.data_ev.set()

    async def _wait_data(self) -> bool:
        if self.closed:
            return False
        self.data_ev.clear()
        await self.data_ev.wait()
        return True

    async def read_until(self, sep: bytes, limit: int = 1 << 20) -> bytes | None:
        while True:
            idx = self.buf.find(sep)
            if idx >= 0:
                out = bytes(self.buf[: idx + len(sep)])
                del self.buf[: idx + len(sep)]
                return out
            if len(self.buf) > limit or not await self._wait_data():
                return None

    async def read_exactly(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if not await self._wait_data():
                return None
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    async def send(self, data: bytes) -> bool:
        """Write and drain; False when the client is gone."""
        if self.closed:
            return False
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, OSError, RuntimeError):
            self._lost()
            return False
        return not self.closed

    async def sleep(self, seconds: float) -> bool:
        """Sleep, but wake up at once if the client goes away.  False when it did."""
        if seconds <= 0:
            return not self.closed
        try:
            await asyncio.wait_for(self.closed_ev.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.server_closing = True
        try:
            self.writer.close()
        except (ConnectionError, OSError, RuntimeError):
            pass

    def abort(self) -> None:
        self.server_closing = True
        try:
            self.writer.transport.abort()
        except (ConnectionError, OSError, RuntimeError):
            pass


@dataclass
class _Plan:
    blocks: list[dict]
    stop_reason: str | None
    stop_sequence: str | None
    usage: dict


# --------------------------------------------------------------------------------------------------
# The fake


class FakeAnthropic:
    """Fake Anthropic API server.  ``start()`` / ``stop()`` (or use as a context manager).

    Knobs: ``default_reply`` (answers when no script matches), ``latency`` (seconds added before the
    first delta of every reply), ``api_key`` (when set, any other key is a 401), ``cache_min_tokens``
    (overrides the per-model prompt-cache minimum).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: float = 0.0,
        default_reply: Reply | None = None,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.port = port
        self.latency = latency
        self.default_reply: Reply = default_reply if default_reply is not None else Reply()
        self.cache_min_tokens: int | None = None
        self.errors: list[str] = []  # internal errors of the fake (a bug, or a raising script predicate)
        self._cond = threading.Condition()
        self._requests: list[RecordedRequest] = []
        self._scripts: list[Script] = []
        self._cache: dict[str, float] = {}  # prefix hash -> expiry (monotonic)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_ev: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._conns: set[_Conn] = set()

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeAnthropic:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._thread_main, name="fake-anthropic", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake Anthropic server did not start")
        if self._start_error is not None:
            raise RuntimeError("fake Anthropic server failed to start") from self._start_error
        return self

    def stop(self) -> None:
        """Stop the server and close every connection."""
        thread, loop, stop_ev = self._thread, self._loop, self._stop_ev
        if thread is None:
            return
        if loop is not None and stop_ev is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop_ev.set)
            except RuntimeError:
                pass
        thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeAnthropic:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: B036 - reported to start()
            self._start_error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_ev = asyncio.Event()
        server = await asyncio.start_server(self._on_connect, self.host, self.port, backlog=512)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop_ev.wait()
        finally:
            server.close()
            tasks = []
            for conn in list(self._conns):
                conn.abort()
                tasks.append(conn.read_task)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

    # -- scripting --------------------------------------------------------------------------------

    def script(self, reply: ReplyLike, match: Matcher = None, times: int | None = None) -> Script:
        """Add a scripted reply.  Scripts are tried in order; the first one not exhausted whose ``match``
        matches answers (``match``: None = any request, a substring of the JSON / plain text of
        system + messages, or a predicate on the parsed body).  ``reply`` may be a Reply, a string (the
        text) or a callable(body) -> Reply.  ``times``: how many requests it answers (None: unlimited)."""
        s = Script(reply=reply, match=match, times=times)
        with self._cond:
            self._scripts.append(s)
        return s

    def reset(self) -> None:
        """Forget recorded requests, scripts, the prompt cache and internal errors."""
        with self._cond:
            self._requests.clear()
            self._scripts.clear()
            self._cache.clear()
            self.errors.clear()

    # -- inspection -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    @property
    def message_requests(self) -> list[RecordedRequest]:
        """The ``POST /v1/messages`` requests only."""
        return [r for r in self.requests if r.path == "/v1/messages"]

    @property
    def last_request(self) -> RecordedRequest | None:
        reqs = self.requests
        return reqs[-1] if reqs else None

    def wait_for_requests(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least ``n`` requests have arrived; returns them.  Raises TimeoutError."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._requests) >= n, timeout):
                raise TimeoutError(f"expected {n} requests to the fake API, got {len(self._requests)}")
            return list(self._requests)

    def wait_until_closed(self, req: RecordedRequest, timeout: float = 5.0) -> float:
        """Block until ``req`` was fully answered or the client went away; returns when that happened."""
        with self._cond:
            if not self._cond.wait_for(lambda: req.done, timeout):
                raise TimeoutError(f"request {req.request_id} still open after {timeout}s")
            ended = req.ended_at
            assert ended is not None
            return ended

    async def wait_for_requests_async(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """``wait_for_requests`` for async tests (does not block the event loop)."""
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.requests
            if len(reqs) >= n:
                return reqs
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {n} requests to the fake API, got {len(reqs)}")
            await asyncio.sleep(0.002)

    async def wait_until_closed_async(self, req: RecordedRequest, timeout: float = 5.0) -> float:
        deadline = time.monotonic() + timeout
        while not req.done:
            if time.monotonic() > deadline:
                raise TimeoutError(f"request {req.request_id} still open after {timeout}s")
            await asyncio.sleep(0.002)
        ended = req.ended_at
        assert ended is not None
        return ended

    # -- recording (server thread) ----------------------------------------------------------------

    def _update(self, rec: RecordedRequest, **changes: Any) -> None:
        with self._cond:
            for key, value in changes.items():
                setattr(rec, key, value)
            self._cond.notify_all()

    def _mark_client_closed(self, rec: RecordedRequest, when: float) -> None:
        with self._cond:
            if rec.finished_at is None and rec.client_closed_at is None:
                rec.client_closed_at = when
                if rec.output_tokens == 0:
                    rec.output_tokens = count_tokens(rec.sent_text) + count_tokens(rec.sent_json)
                self._cond.notify_all()

    def _finish(self, rec: RecordedRequest, conn: _Conn) -> None:
        with self._cond:
            if rec.client_closed_at is None and rec.finished_at is None:
                rec.finished_at = time.monotonic()
            if rec.output_tokens == 0:
                rec.output_tokens = count_tokens(rec.sent_text) + count_tokens(rec.sent_json)
            self._cond.notify_all()
        conn.current = None

    def _internal_error(self, exc: BaseException) -> None:
        with self._cond:
            self.errors.append(f"{type(exc).__name__}: {exc}")

    # -- connection handling ----------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = _Conn(self, reader, writer)
        self._conns.add(conn)
        try:
            while not conn.closed:
                keep_alive = await self._serve_one(conn)
                if not keep_alive:
                    break
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in the fake: record it, drop the connection
            self._internal_error(exc)
        finally:
            conn.close()
            self._conns.discard(conn)

    async def _serve_one(self, conn: _Conn) -> bool:
        head = await conn.read_until(b"\r\n\r\n", limit=256 * 1024)
        if head is None:
            return False
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            await conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if not line:
                continue
            name, _, value = line.partition(":")
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        raw_body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            while True:
                size_line = await conn.read_until(b"\r\n")
                if size_line is None:
                    return False
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                data = await conn.read_exactly(size + 2)
                if data is None:
                    return False
                if size == 0:
                    # trailers end with an empty line; data is the CRLF that ends the (empty) trailer section
                    break
                parts.append(data[:-2])
            raw_body = b"".join(parts)
        elif headers.get("content-length"):
            data = await conn.read_exactly(int(headers["content-length"]))
            if data is None:
                return False
            raw_body = data
        path, _, query = target.partition("?")
        body: Any = None
        body_error = None
        if raw_body:
            try:
                body = json.loads(raw_body)
            except ValueError as exc:
                body_error = f"There was an error parsing the body of your request: {exc}"
        rec = RecordedRequest(
            method=method.upper(),
            path=path,
            query=query,
            headers=headers,
            body=body,
            arrived_at=time.monotonic(),
            request_id=_rand_id("req_"),
            connection_id=conn.id,
        )
        conn.current = rec
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()
        keep_alive = headers.get("connection", "").lower() != "close"
        try:
            ok = await self._dispatch(conn, rec, body_error)
        except _ApiError as err:
            ok = await self._send_error(conn, rec, err)
        except Exception as exc:
            self._internal_error(exc)
            ok = await self._send_error(conn, rec, _ApiError(500, f"fake API internal error: {exc!r}"))
        finally:
            self._finish(rec, conn)
        return ok and keep_alive and not conn.closed

    # -- responses --------------------------------------------------------------------------------

    def _head(self, status: int, rec: RecordedRequest, headers: list[tuple[str, str]]) -> bytes:
        all_headers = [
            ("date", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())),
            ("request-id", rec.request_id),
            ("connection", "keep-alive"),
            *headers,
        ]
        out = [f"HTTP/1.1 {status} {_reason(status)}"] + [f"{k}: {v}" for k, v in all_headers]
        return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1")

    async def _send_json(
        self, conn: _Conn, rec: RecordedRequest, status: int, obj: Any, extra: tuple | list = ()
    ) -> bool:
        payload = _json_bytes(obj)
        head = self._head(
            status,
            rec,
            [("content-type", "application/json"), ("content-length", str(len(payload))), *extra],
        )
        self._update(rec, status=status)
        if conn.closed:
            return False
        # Recorded as finished just before the write, so a client never sees the answer before the record.
        self._finish(rec, conn)
        return await conn.send(head + payload)

    async def _send_error(
        self,
        conn: _Conn,
        rec: RecordedRequest,
        err: _ApiError,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> bool:
        error = {"type": err.error_type, "message": err.message}
        extra: list[tuple[str, str]] = []
        if retry_after is None and err.status == 429:
            retry_after = 1
        if retry_after is not None:
            extra.append(("retry-after", _fmt_seconds(retry_after)))
        if should_retry is not None:
            extra.append(("x-should-retry", "true" if should_retry else "false"))
        self._update(rec, error=error)
        body = {"type": "error", "error": error, "request_id": rec.request_id}
        return await self._send_json(conn, rec, err.status, body, extra)

    # -- routing ----------------------------------------------------------------------------------

    async def _dispatch(self, conn: _Conn, rec: RecordedRequest, body_error: str | None) -> bool:
        routes = {"/v1/messages": self._messages, "/v1/messages/count_tokens": self._count_tokens}
        handler = routes.get(rec.path.rstrip("/") or "/")
        if handler is None or rec.method != "POST":
            raise _ApiError(404, f"Not found: {rec.method} {rec.path}")
        self._check_auth(rec)
        if body_error is not None:
            raise _ApiError(400, body_error)
        if not isinstance(rec.body, dict):
            raise _ApiError(400, "The request body is not valid JSON: expected an object")
        return await handler(conn, rec)

    def _check_auth(self, rec: RecordedRequest) -> None:
        key = rec.headers.get("x-api-key")
        auth = rec.headers.get("authorization", "")
        if key is None and auth.lower().startswith("bearer "):
            key = auth[7:].strip()
        if not key:
            raise _ApiError(401, "x-api-key header is required")
        if self.api_key is not None and key != self.api_key:
            raise _ApiError(401, "invalid x-api-key")

    # -- validation -------------------------------------------------------------------------------

    def _validate(self, rec: RecordedRequest, *, count_only: bool) -> None:
        body: dict = rec.body
        version = rec.headers.get("anthropic-version")
        if not version:
            raise _ApiError(400, "anthropic-version: header is required")
        required = ("model", "messages") if count_only else ("model", "max_tokens", "messages")
        for name in required:
            if name not in body:
                raise _ApiError(400, f"{name}: Field required")
        if version == _NO_SAMPLING_VERSION:
            for name in _SAMPLING_PARAMS:
                if name in body:
                    raise _ApiError(
                        400,
                        f"{name}: Extra inputs are not permitted (sampling parameters are not supported "
                        f"with anthropic-version {version})",
                    )
        for name in body:
            if name not in _KNOWN_FIELDS or (
                count_only and name in ("max_tokens", "stream", "stop_sequences")
            ):
                raise _ApiError(400, f"{name}: Extra inputs are not permitted")
        model = body["model"]
        if not isinstance(model, str) or not model:
            raise _ApiError(400, "model: Input should be a valid string")
        if not count_only:
            mt = body["max_tokens"]
            if not isinstance(mt, int) or isinstance(mt, bool) or mt < 0:
                raise _ApiError(400, "max_tokens: Input should be a valid non-negative integer")
            if "stream" in body and not isinstance(body["stream"], bool):
                raise _ApiError(400, "stream: Input should be a valid boolean")
            stops = body.get("stop_sequences")
            if stops is not None and (
                not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
            ):
                raise _ApiError(400, "stop_sequences: Input should be a valid list of strings")
        system = body.get("system")
        if system is not None and not isinstance(system, str):
            if not isinstance(system, list):
                raise _ApiError(400, "system: Input should be a valid string or list of text blocks")
            for i, block in enumerate(system):
                if not isinstance(block, dict) or block.get("type") != "text":
                    raise _ApiError(400, f"system.{i}.type: Input should be 'text'")
                if not isinstance(block.get("text"), str):
                    raise _ApiError(400, f"system.{i}.text: Field required")
        messages = body["messages"]
        if not isinstance(messages, list):
            raise _ApiError(400, "messages: Input should be a valid list")
        if not messages:
            raise _ApiError(400, "messages: at least one message is required")
        for i, msg in enumerate(messages):
            if not isinstance(msg, dict):
                raise _ApiError(400, f"messages.{i}: Input should be a valid dictionary")
            if msg.get("role") not in ("user", "assistant"):
                raise _ApiError(400, f"messages.{i}.role: Input should be 'user' or 'assistant'")
            if "content" not in msg:
                raise _ApiError(400, f"messages.{i}.content: Field required")
            content = msg["content"]
            if isinstance(content, list):
                for j, block in enumerate(content):
                    if not isinstance(block, dict) or "type" not in block:
                        raise _ApiError(400, f"messages.{i}.content.{j}.type: Field required")
                    if block["type"] == "text" and not block.get("text"):
                        raise _ApiError(400, "messages: text content blocks must be non-empty")
            elif not isinstance(content, str):
                raise _ApiError(400, f"messages.{i}.content: Input should be a valid string or list")
            is_final_assistant = i == len(messages) - 1 and msg["role"] == "assistant"
            if not content and not is_final_assistant:
                raise _ApiError(
                    400,
                    f"messages.{i}: all messages must have non-empty content except for the optional "
                    "final assistant message",
                )
        n_breakpoints = sum(1 for seg in _segments(body) if seg[2] is not None)
        if n_breakpoints > _MAX_CACHE_BREAKPOINTS:
            raise _ApiError(
                400,
                f"A maximum of {_MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
                f"Found {n_breakpoints}.",
            )
        if count_only:
            return
        last = messages[-1]
        if last["role"] == "assistant":
            # checked first, so it is reported for every model
            text = last["content"] if isinstance(last["content"], str) else None
            if text is None:
                texts = [b.get("text", "") for b in last["content"] if b.get("type") == "text"]
                text = texts[-1] if texts else ""
            if text and text != text.rstrip():
                raise _ApiError(400, "messages: final assistant content cannot end with trailing whitespace")
            if not supports_prefill(model):
                raise _ApiError(
                    400,
                    "This model does not support assistant message prefill. "
                    "The conversation must end with a user message.",
                )

    def _check_model(self, model: str) -> None:
        if not model.startswith("claude-"):
            raise _ApiError(404, f"model: {model}")

    # -- count_tokens -----------------------------------------------------------------------------

    async def _count_tokens(self, conn: _Conn, rec: RecordedRequest) -> bool:
        self._validate(rec, count_only=True)
        self._check_model(rec.body["model"])
        total = sum(seg[1] for seg in _segments(rec.body))
        return await self._send_json(conn, rec, 200, {"input_tokens": total})

    # -- messages ---------------------------------------------------------------------------------

    def _pick_reply(self, body: dict) -> Reply:
        chosen: ReplyLike | None = None
        with self._cond:
            for s in self._scripts:
                if s.exhausted:
                    continue
                try:
                    hit = s.matches(body)
                except Exception as exc:
                    self.errors.append(f"script match raised {type(exc).__name__}: {exc}")
                    continue
                if hit:
                    s.used += 1
                    chosen = s.reply
                    break
        if chosen is None:
            chosen = self.default_reply
        if callable(chosen) and not isinstance(chosen, Reply):
            chosen = chosen(body)
        if isinstance(chosen, str):
            chosen = Reply(text=chosen)
        if not isinstance(chosen, Reply):
            raise TypeError(f"scripted reply must be a Reply or str, got {type(chosen).__name__}")
        return chosen

    async def _messages(self, conn: _Conn, rec: RecordedRequest) -> bool:
        self._validate(rec, count_only=False)
        body = rec.body
        self._check_model(body["model"])
        stream = bool(body.get("stream"))
        reply = self._pick_reply(body)
        self._update(rec, stream=stream, reply=reply)
        fault = reply.fault
        if fault is not None and fault.kind == "status":
            if not await conn.sleep(self.latency):
                return False
            err = _ApiError(
                fault.status_code, fault.message or _DEFAULT_MESSAGES.get(fault.error_type or "", "Error")
            )
            err.error_type = fault.error_type or err.error_type
            return await self._send_error(conn, rec, err, fault.retry_after, fault.should_retry)
        plan = self._plan(body, reply)
        if stream:
            return await self._stream(conn, rec, reply, plan)
        return await self._non_stream(conn, rec, reply, plan)

    def _plan(self, body: dict, reply: Reply) -> _Plan:
        text = reply.text
        tool = reply.tool_use
        max_tokens: int = body["max_tokens"]
        stop_reason: str | None = "end_turn"
        stop_sequence = None
        best = None
        for seq in body.get("stop_sequences") or []:
            pos = text.find(seq) if seq else -1
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, seq)
        if best is not None:
            text = text[: best[0]]
            stop_reason, stop_sequence, tool = "stop_sequence", best[1], None
        blocks: list[dict] = []
        if max_tokens == 0:
            text, tool, stop_reason, stop_sequence = "", None, "max_tokens", None
        else:
            if count_tokens(text) > max_tokens:
                text = _cut_tokens(text, max_tokens)
                stop_reason, stop_sequence, tool = "max_tokens", None, None
            elif tool is not None and count_tokens(text) == max_tokens:
                stop_reason, tool = "max_tokens", None
            blocks.append({"type": "text", "text": text})
            if tool is not None:
                stop_reason = "tool_use"
                tool_block = {
                    "type": "tool_use",
                    "id": tool.get("id") or _rand_id("toolu_"),
                    "name": tool["name"],
                    "input": tool.get("input", {}),
                }
                if text:
                    blocks.append(tool_block)
                else:
                    blocks = [tool_block]
        if reply.stop_reason is not None:
            stop_reason = reply.stop_reason
        out_tokens = sum(count_tokens(_block_payload(b)) for b in blocks)
        if blocks and out_tokens == 0:
            out_tokens = 1  # the API never reports 0 output tokens for a generated message
        usage = self._input_usage(body)
        usage["output_tokens"] = out_tokens
        usage["service_tier"] = "standard"
        if reply.usage:
            usage.update(reply.usage)
        return _Plan(blocks=blocks, stop_reason=stop_reason, stop_sequence=stop_sequence, usage=usage)

    def _input_usage(self, body: dict) -> dict:
        """Input-token accounting with prompt caching (a cache entry per eligible breakpoint; reads look
        back up to 20 blocks before each breakpoint, like the real API)."""
        segments = _segments(body)
        model = body["model"]
        minimum = self.cache_min_tokens if self.cache_min_tokens is not None else cache_minimum_tokens(model)
        prefix_tokens: list[int] = []
        keys: list[str] = []
        h = hashlib.sha256(("model:" + model).encode())
        running = 0
        for key, tokens, _ttl in segments:
            h.update(key.encode())
            running += tokens
            keys.append(h.copy().hexdigest())
            prefix_tokens.append(running)
        total = running
        breakpoints = [i for i, seg in enumerate(segments) if seg[2] is not None]
        now = time.monotonic()
        read_pos = -1
        with self._cond:
            for b in breakpoints:
                for p in range(b, max(-1, b - 20), -1):
                    expiry = self._cache.get(keys[p])
                    if expiry is not None and expiry > now and p > read_pos:
                        read_pos = p
                        break
            eligible = [b for b in breakpoints if prefix_tokens[b] >= minimum]
            write_pos = eligible[-1] if eligible else -1
            for b in eligible:
                ttl = 3600.0 if segments[b][2] == "1h" else 300.0
                self._cache[keys[b]] = max(self._cache.get(keys[b], 0.0), now + ttl)
            if read_pos >= 0:
                self._cache[keys[read_pos]] = max(self._cache[keys[read_pos]], now + 300.0)
        read = prefix_tokens[read_pos] if read_pos >= 0 else 0
        creation = prefix_tokens[write_pos] - read if write_pos > read_pos else 0
        creation_1h = 0
        if creation and segments[write_pos][2] == "1h":
            creation_1h = creation
        return {
            "input_tokens": total - read - creation,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": creation - creation_1h,
                "ephemeral_1h_input_tokens": creation_1h,
            },
        }

    def _message_obj(self, rec: RecordedRequest, blocks: list[dict], plan: _Plan, usage: dict) -> dict:
        return {
            "id": rec.request_id.replace("req_", "msg_", 1),
            "type": "message",
            "role": "assistant",
            "model": rec.body["model"],
            "content": blocks,
            "stop_reason": plan.stop_reason,
            "stop_sequence": plan.stop_sequence,
            "usage": usage,
        }

    def _pieces(self, reply: Reply, plan: _Plan) -> list[tuple[int, str]]:
        """(block index, delta payload) pairs; a piece boundary is put at the fault's ``after_chars``."""
        size = max(1, reply.chunk_chars)
        cut = reply.fault.after_chars if reply.fault is not None else None
        out: list[tuple[int, str]] = []
        offset = 0
        for index, block in enumerate(plan.blocks):
            payload = _block_payload(block)
            if not payload:
                continue
            bounds = set(range(0, len(payload), size))
            if cut is not None and offset < cut < offset + len(payload):
                bounds.add(cut - offset)
            starts = sorted(bounds)
            for a, b in zip(starts, starts[1:] + [len(payload)], strict=True):
                out.append((index, payload[a:b]))
            offset += len(payload)
        return out

    def _delay(self, reply: Reply, piece: str) -> float:
        if reply.tokens_per_second:
            return count_tokens(piece) / reply.tokens_per_second
        return reply.chunk_delay

    async def _non_stream(self, conn: _Conn, rec: RecordedRequest, reply: Reply, plan: _Plan) -> bool:
        pieces = self._pieces(reply, plan)
        wait = self.latency + reply.ttft + sum(self._delay(reply, p) for _, p in pieces[1:])
        fault = reply.fault
        if fault is not None and fault.kind == "stall":
            wait += fault.seconds
        if not await conn.sleep(wait):
            return False
        blocks, stop_reason, stop_sequence = plan.blocks, plan.stop_reason, plan.stop_sequence
        if fault is not None:
            if fault.kind == "drop":
                conn.close()
                return False
            if fault.kind == "error_event":
                etype = fault.error_type or "overloaded_error"
                status = _STATUS_FOR_TYPE.get(etype, 500)
                return await self._send_error(
                    conn,
                    rec,
                    _ApiError(status, fault.message or _DEFAULT_MESSAGES.get(etype, "Error"), etype),
                )
            if fault.kind == "no_stop":
                blocks = _truncate_blocks(blocks, fault.after_chars)
                stop_reason = stop_sequence = None
        usage = dict(plan.usage)
        message = self._message_obj(rec, blocks, plan, usage)
        message["stop_reason"], message["stop_sequence"] = stop_reason, stop_sequence
        text = "".join(b["text"] for b in blocks if b["type"] == "text")
        tool_json = "".join(_block_payload(b) for b in blocks if b["type"] == "tool_use")
        self._update(
            rec,
            sent_text=text,
            sent_json=tool_json,
            output_tokens=usage["output_tokens"],
            stop_reason=stop_reason,
            stop_sequence=stop_sequence,
            usage=usage,
        )
        return await self._send_json(conn, rec, 200, message)

    async def _stream(self, conn: _Conn, rec: RecordedRequest, reply: Reply, plan: _Plan) -> bool:
        head = self._head(
            200,
            rec,
            [
                ("content-type", "text/event-stream; charset=utf-8"),
                ("cache-control", "no-cache"),
                ("transfer-encoding", "chunked"),
            ],
        )
        self._update(rec, status=200)
        if not await conn.send(head):
            return False

        async def emit(name: str, data: dict) -> bool:
            ok = await conn.send(_chunk(_sse(name, data)))
            if ok:
                rec.events.append(name)
            return ok

        start_usage = {k: v for k, v in plan.usage.items() if k != "output_tokens"}
        start_usage["output_tokens"] = 1 if plan.blocks else 0
        start_msg = self._message_obj(rec, [], plan, start_usage)
        start_msg["stop_reason"] = start_msg["stop_sequence"] = None
        if not await emit("message_start", {"type": "message_start", "message": start_msg}):
            return False

        fault = reply.fault
        pieces = self._pieces(reply, plan)
        state = {"pos": 0, "ttft_done": False, "fault_fired": False, "n": 0}

        async def checkpoint() -> str | None:
            """Before a delta (and before the end of the content): ttft wait and fault trigger."""
            if not state["ttft_done"]:
                state["ttft_done"] = True
                if not await conn.sleep(self.latency + reply.ttft):
                    return "closed"
            if fault is not None and not state["fault_fired"] and state["pos"] >= fault.after_chars:
                state["fault_fired"] = True
                if fault.kind == "stall":
                    return None if await conn.sleep(fault.seconds) else "closed"
                return fault.kind
            return None

        async def handle(outcome: str) -> bool:
            if outcome == "closed":
                return False
            if outcome == "drop":
                self._finish(rec, conn)
                conn.close()
                return False
            if outcome == "error_event":
                etype = fault.error_type or "overloaded_error"
                error = {"type": etype, "message": fault.message or _DEFAULT_MESSAGES.get(etype, "Error")}
                self._update(rec, error=error)
                if await emit("error", {"type": "error", "error": error, "request_id": rec.request_id}):
                    self._finish(rec, conn)  # done sending: the client may hang up before the final chunk
                    await conn.send(b"0\r\n\r\n")
                self._finish(rec, conn)
                conn.close()
                return False
            if outcome == "no_stop":
                ok = await conn.send(b"0\r\n\r\n")
                return ok
            raise AssertionError(outcome)

        for index, block in enumerate(plan.blocks):
            start_block = dict(block)
            if block["type"] == "text":
                start_block["text"] = ""
            else:
                start_block["input"] = {}
            if not await emit("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": start_block}):  # fmt: skip
                return False
            if index == 0 and not await emit("ping", {"type": "ping"}):
                return False
            for piece_index, piece in ((i, p) for i, (bi, p) in enumerate(pieces) if bi == index):
                if piece_index > 0 and not await conn.sleep(self._delay(reply, piece)):
                    return False
                outcome = await checkpoint()
                if outcome is not None:
                    return await handle(outcome)
                if block["type"] == "text":
                    delta = {"type": "text_delta", "text": piece}
                else:
                    delta = {"type": "input_json_delta", "partial_json": piece}
                if not await emit("content_block_delta", {"type": "content_block_delta", "index": index,
                                                          "delta": delta}):  # fmt: skip
                    return False
                state["pos"] += len(piece)
                with self._cond:
                    if block["type"] == "text":
                        rec.sent_text += piece
                    else:
                        rec.sent_json += piece
                    if rec.first_delta_at is None:
                        rec.first_delta_at = time.monotonic()
                    self._cond.notify_all()
            if index == len(plan.blocks) - 1:
                outcome = await checkpoint()
                if outcome is not None:
                    return await handle(outcome)
            if not await emit("content_block_stop", {"type": "content_block_stop", "index": index}):
                return False
        if not plan.blocks:
            outcome = await checkpoint()
            if outcome is not None:
                return await handle(outcome)

        delta_usage = {
            k: plan.usage[k]
            for k in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
            )
            if k in plan.usage
        }
        delta = {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence}
        if not await emit("message_delta", {"type": "message_delta", "delta": delta, "usage": delta_usage}):
            return False
        self._update(
            rec,
            stop_reason=plan.stop_reason,
            stop_sequence=plan.stop_sequence,
            usage=dict(plan.usage),
            output_tokens=plan.usage["output_tokens"],
        )
        if not await emit("message_stop", {"type": "message_stop"}):
            return False
        self._finish(rec, conn)  # all events sent: a client hanging up before the final chunk is not a cancel
        return await conn.send(b"0\r\n\r\n")


# --------------------------------------------------------------------------------------------------
# Prompt segments (for token counting and caching)


def _strip_cache_control(block: dict) -> dict:
    return {k: v for k, v in block.items() if k != "cache_control"}


def _ttl(block: Any) -> str | None:
    """The cache ttl of a block with ``cache_control`` ("5m" / "1h"), else None."""
    if isinstance(block, dict) and isinstance(block.get("cache_control"), dict):
        return str(block["cache_control"].get("ttl") or "5m")
    return None


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return count_tokens(block)
    if not isinstance(block, dict):
        return count_tokens(json.dumps(block))
    kind = block.get("type")
    if kind == "text":
        return count_tokens(str(block.get("text", "")))
    if kind == "tool_use":
        return count_tokens(str(block.get("name", ""))) + count_tokens(json.dumps(block.get("input", {})))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return sum(_block_tokens(b) for b in content)
        return count_tokens(str(content or ""))
    if kind == "image":
        return 1000
    return count_tokens(json.dumps(_strip_cache_control(block), ensure_ascii=False))


def _segments(body: dict) -> list[tuple[str, int, str | None]]:
    """The prompt as (canonical key, tokens, cache ttl or None) in cache-prefix order: tools, system,
    messages.  A top-level ``cache_control`` marks the last block."""
    segs: list[tuple[str, int, str | None]] = []
    for tool in body.get("tools") or []:
        clean = _strip_cache_control(tool) if isinstance(tool, dict) else tool
        text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
        segs.append(("tool:" + text, count_tokens(text), _ttl(tool)))
    system = body.get("system")
    if isinstance(system, str):
        if system:
            segs.append(("system:" + json.dumps(system), count_tokens(system), None))
    elif isinstance(system, list):
        for block in system:
            clean = _strip_cache_control(block) if isinstance(block, dict) else block
            segs.append(("system:" + json.dumps(clean, sort_keys=True), _block_tokens(clean), _ttl(block)))
    for i, msg in enumerate(body.get("messages") or []):
        if not isinstance(msg, dict):
            continue
        role = msg.get("role")
        content = msg.get("content")
        blocks = [content] if isinstance(content, str) else content if isinstance(content, list) else []
        for block in blocks:
            clean = _strip_cache_control(block) if isinstance(block, dict) else block
            key = f"msg{i}:{role}:" + json.dumps(clean, sort_keys=True)
            segs.append((key, _block_tokens(clean), _ttl(block)))
    top = body.get("cache_control")
    if isinstance(top, dict) and segs:
        key, tokens, ttl = segs[-1]
        segs[-1] = (key, tokens, ttl or str(top.get("ttl") or "5m"))
    return segs


def _block_payload(block: dict) -> str:
    """What a content block streams as deltas: its text, or its tool input JSON."""
    if block["type"] == "text":
        return block["text"]
    return json.dumps(block.get("input", {}), ensure_ascii=False)


def _truncate_blocks(blocks: list[dict], chars: int) -> list[dict]:
    out: list[dict] = []
    for block in blocks:
        if chars <= 0 and out:
            break
        payload = _block_payload(block)
        if block["type"] == "text":
            out.append({"type": "text", "text": payload[: max(chars, 0)]})
        elif chars >= len(payload):
            out.append(block)
        chars -= len(payload)
    return out


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


# --------------------------------------------------------------------------------------------------
# CLI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Anthropic API until interrupted.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--text", default="", help="default reply text")
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--chunk-chars", type=int, default=8)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--tokens-per-second", type=float, default=None)
    parser.add_argument("--api-key", default=None, help="only accept this key")
    args = parser.parse_args(argv)
    fake = FakeAnthropic(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        default_reply=Reply(
            text=args.text,
            ttft=args.ttft,
            chunk_chars=args.chunk_chars,
            chunk_delay=args.chunk_delay,
            tokens_per_second=args.tokens_per_second,
        ),
    ).start()
    print(fake.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()

