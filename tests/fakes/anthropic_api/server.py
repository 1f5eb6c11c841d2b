"""The fake's server: ``FakeAnthropic`` runs an asyncio HTTP server in a background thread, and routes each
request (auth and validation, then the scripted reply, answered as JSON or as an SSE stream)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

from .answers import answer_json, answer_stream, plan_answer
from .batches import PREFIX as BATCHES_PREFIX
from .batches import BatchStore
from .connection import Conn, Exchange, read_request
from .faults import http_error
from .platforms import EVENTSTREAM_TYPE, canonical_model, eventstream_frame, is_platform_path, platform_request
from .recording import RecordedRequest, RequestLog
from .scripting import Matcher, Reply, ReplyLike, Script, make_reply, take_script
from .tokens import PromptCache, prompt_segments
from .validation import check_auth, check_model, validate
from .wire import ApiError, rand_id


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
        self._cond = threading.Condition()  # guards the records, the scripts, the prompt cache and errors
        self._log = RequestLog(self._cond)
        self._scripts: list[Script] = []
        self._cache = PromptCache(self._cond)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_ev: asyncio.Event | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._conns: set[Conn] = set()
        # The Message Batches API: ``batches.batch_seconds`` (processing time), ``batches.expire_match``,
        # ``batches.created`` (what was sent); replies come from the same scripts as /v1/messages.
        self.batches = BatchStore(self._cond, self._pick_reply, self._cache, lambda: self.cache_min_tokens)

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
            self._log.clear()
            self._scripts.clear()
            self._cache.clear()
            self.errors.clear()
        self.batches.clear()

    # -- inspection -------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received so far, in arrival order."""
        return self._log.snapshot()

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
        return self._log.wait_for_requests(n, timeout)

    def wait_until_closed(self, req: RecordedRequest, timeout: float = 5.0) -> float:
        """Block until ``req`` was fully answered or the client went away; returns when that happened."""
        return self._log.wait_until_closed(req, timeout)

    async def wait_for_requests_async(self, n: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """``wait_for_requests`` for async tests (does not block the event loop)."""
        return await self._log.wait_for_requests_async(n, timeout)

    async def wait_until_closed_async(self, req: RecordedRequest, timeout: float = 5.0) -> float:
        return await self._log.wait_until_closed_async(req, timeout)

    # -- internal errors --------------------------------------------------------------------------

    def _internal_error(self, exc: BaseException) -> None:
        with self._cond:
            self.errors.append(f"{type(exc).__name__}: {exc}")

    # -- connection handling ----------------------------------------------------------------------

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Conn(reader, writer, self._log.mark_client_closed)
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

    async def _serve_one(self, conn: Conn) -> bool:
        raw = await read_request(conn)
        if raw is None:
            return False
        path, _, query = raw.target.partition("?")
        body: Any = None
        body_error = None
        if raw.body:
            try:
                body = json.loads(raw.body)
            except ValueError as exc:
                body_error = f"There was an error parsing the body of your request: {exc}"
        rec = RecordedRequest(
            method=raw.method.upper(),
            path=path,
            query=query,
            headers=raw.headers,
            body=body,
            arrived_at=time.monotonic(),
            request_id=rand_id("req_"),
            connection_id=conn.id,
        )
        conn.current = rec
        self._log.add(rec)
        ex = Exchange(conn, rec, self._log)
        keep_alive = raw.headers.get("connection", "").lower() != "close"
        try:
            ok = await self._dispatch(ex, body_error)
        except ApiError as err:
            ok = await ex.send_error(err)
        except Exception as exc:
            self._internal_error(exc)
            ok = await ex.send_error(ApiError(500, f"fake API internal error: {exc!r}"))
        finally:
            ex.finish()
        return ok and keep_alive and not conn.closed

    # -- routing ----------------------------------------------------------------------------------

    async def _dispatch(self, ex: Exchange, body_error: str | None) -> bool:
        rec = ex.rec
        if rec.path == BATCHES_PREFIX or rec.path.startswith(BATCHES_PREFIX + "/"):
            check_auth(rec.headers, self.api_key)
            if body_error is not None:
                raise ApiError(400, body_error)
            return await self.batches.handle(ex, self.base_url)
        if is_platform_path(rec.path):  # Vertex AI and Bedrock, as the SDK's platform clients call them
            if rec.method != "POST":
                raise ApiError(404, f"Not found: {rec.method} {rec.path}")
            if body_error is not None or not isinstance(rec.body, dict):
                raise ApiError(400, body_error or "The request body is not valid JSON: expected an object")
            return await self._platform(ex)
        routes = {"/v1/messages": self._messages, "/v1/messages/count_tokens": self._count_tokens}
        handler = routes.get(rec.path.rstrip("/") or "/")
        if handler is None or rec.method != "POST":
            raise ApiError(404, f"Not found: {rec.method} {rec.path}")
        check_auth(rec.headers, self.api_key)
        if body_error is not None:
            raise ApiError(400, body_error)
        if not isinstance(rec.body, dict):
            raise ApiError(400, "The request body is not valid JSON: expected an object")
        return await handler(ex)

    async def _count_tokens(self, ex: Exchange) -> bool:
        rec = ex.rec
        validate(rec.body, rec.headers, count_only=True)
        check_model(rec.body["model"])
        total = sum(seg[1] for seg in prompt_segments(rec.body))
        return await ex.send_json(200, {"input_tokens": total})

    def _pick_reply(self, body: dict) -> Reply:
        with self._cond:
            chosen = take_script(self._scripts, body, self.errors)
        return make_reply(self.default_reply if chosen is None else chosen, body)

    async def _platform(self, ex: Exchange) -> bool:
        rec = ex.rec
        request = platform_request(rec.path, rec.headers, rec.body)
        rec.body = request.body  # recorded as the first-party equivalent (model: the platform's id)
        rec.headers = {**rec.headers, "anthropic-version": request.api_version}
        if request.platform == "bedrock" and request.stream:
            ex.framing, ex.stream_content_type = eventstream_frame, EVENTSTREAM_TYPE
        return await self._messages(ex)

    async def _messages(self, ex: Exchange) -> bool:
        rec = ex.rec
        validate(rec.body, rec.headers, count_only=False)
        body = rec.body
        check_model(canonical_model(body["model"]))
        stream = bool(body.get("stream"))
        reply = self._pick_reply(body)
        ex.update(stream=stream, reply=reply)
        fault = reply.fault
        if fault is not None and fault.kind == "status":
            if not await ex.conn.sleep(self.latency):
                return False
            return await ex.send_error(http_error(fault), fault.retry_after, fault.should_retry)
        plan = plan_answer(body, reply, self._cache, self.cache_min_tokens)
        if stream:
            return await answer_stream(ex, reply, plan, self.latency)
        return await answer_json(ex, reply, plan, self.latency)
