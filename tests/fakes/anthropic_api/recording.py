"""What the fake received and did: ``RecordedRequest`` records in a ``RequestLog`` that the server thread
fills in and notifies, and that tests read and wait on (from any thread, or an event loop)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .scripting import Reply
from .tokens import count_tokens
from .wire import content_text


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


class RequestLog:
    """The requests received, in arrival order.  The server thread adds and changes records under ``lock``
    and notifies it on every change; the waits wake up on that."""

    def __init__(self, lock: threading.Condition) -> None:
        self._cond = lock
        self._requests: list[RecordedRequest] = []

    def add(self, rec: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._requests.clear()

    def snapshot(self) -> list[RecordedRequest]:
        with self._cond:
            return list(self._requests)

    def update(self, rec: RecordedRequest, **changes: Any) -> None:
        with self._cond:
            for key, value in changes.items():
                setattr(rec, key, value)
            self._cond.notify_all()

    def add_sent(self, rec: RecordedRequest, piece: str, *, text: bool) -> None:
        """A content delta was sent: its text (``text``) or tool input JSON; the first one is timed."""
        with self._cond:
            if text:
                rec.sent_text += piece
            else:
                rec.sent_json += piece
            if rec.first_delta_at is None:
                rec.first_delta_at = time.monotonic()
            self._cond.notify_all()

    def mark_client_closed(self, rec: RecordedRequest, when: float) -> None:
        """The client went away at ``when`` while ``rec`` was being answered (ignored once it is done)."""
        with self._cond:
            if rec.finished_at is None and rec.client_closed_at is None:
                rec.client_closed_at = when
                if rec.output_tokens == 0:
                    rec.output_tokens = count_tokens(rec.sent_text) + count_tokens(rec.sent_json)
                self._cond.notify_all()

    def finish(self, rec: RecordedRequest) -> None:
        """``rec`` is fully answered (unless the client went away first); its output tokens are counted
        from what was sent, unless already known."""
        with self._cond:
            if rec.client_closed_at is None and rec.finished_at is None:
                rec.finished_at = time.monotonic()
            if rec.output_tokens == 0:
                rec.output_tokens = count_tokens(rec.sent_text) + count_tokens(rec.sent_json)
            self._cond.notify_all()

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
            reqs = self.snapshot()
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
