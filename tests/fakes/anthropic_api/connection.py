"""HTTP/1.1 connection handling: ``Conn`` (a client connection that notices the client going away at
once), reading one request off it, and ``Exchange`` (answering one request while keeping its record up to
date)."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from typing import Any, Callable

from .recording import RecordedRequest, RequestLog
from .wire import ApiError, chunk, fmt_seconds, json_bytes, response_head, sse

_CONN_IDS = itertools.count(1)


class Conn:
    """One client connection: a background task reads the socket into a buffer, so EOF (the client
    going away) is noticed at once, whatever the response writer is doing.  ``on_lost`` is then called
    with the request being answered (``current``) and the time."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_lost: Callable[[RecordedRequest, float], None],
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.on_lost = on_lost
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
            self.on_lost(rec, now)
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
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]  # names in lower case; a repeated header's values joined with ", "
    body: bytes


async def read_request(conn: Conn) -> RawRequest | None:
    """The next request on ``conn`` (body by content-length or chunked).  None when the connection is to
    end instead: the client went away, an oversized head, or a malformed request line (answered 400)."""
    head = await conn.read_until(b"\r\n\r\n", limit=256 * 1024)
    if head is None:
        return None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, _version = lines[0].split(" ", 2)
    except ValueError:
        await conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return None
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
                return None
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            data = await conn.read_exactly(size + 2)
            if data is None:
                return None
            if size == 0:
                # trailers end with an empty line; data is the CRLF that ends the (empty) trailer section
                break
            parts.append(data[:-2])
        raw_body = b"".join(parts)
    elif headers.get("content-length"):
        data = await conn.read_exactly(int(headers["content-length"]))
        if data is None:
            return None
        raw_body = data
    return RawRequest(method, target, headers, raw_body)


class Exchange:
    """One request being answered on a connection: sends the response, and keeps the request's record in
    the log up to date."""

    def __init__(self, conn: Conn, rec: RecordedRequest, log: RequestLog) -> None:
        self.conn = conn
        self.rec = rec
        self.log = log
        # How stream events are framed: SSE, or AWS event stream frames for Bedrock (platforms.py).
        self.framing: Callable[[str, dict], bytes] = sse
        self.stream_content_type = "text/event-stream; charset=utf-8"

    def update(self, **changes: Any) -> None:
        self.log.update(self.rec, **changes)

    def finish(self) -> None:
        """Recorded as finished (unless the client went away first); the connection answers nothing now."""
        self.log.finish(self.rec)
        self.conn.current = None

    async def send_json(self, status: int, obj: Any, extra: tuple | list = ()) -> bool:
        payload = json_bytes(obj)
        head = response_head(
            status,
            self.rec.request_id,
            [("content-type", "application/json"), ("content-length", str(len(payload))), *extra],
        )
        self.update(status=status)
        if self.conn.closed:
            return False
        # Recorded as finished just before the write, so a client never sees the answer before the record.
        self.finish()
        return await self.conn.send(head + payload)

    async def send_error(
        self,
        err: ApiError,
        retry_after: float | None = None,
        should_retry: bool | None = None,
    ) -> bool:
        error = {"type": err.error_type, "message": err.message}
        extra: list[tuple[str, str]] = []
        if retry_after is None and err.status == 429:
            retry_after = 1
        if retry_after is not None:
            extra.append(("retry-after", fmt_seconds(retry_after)))
        if should_retry is not None:
            extra.append(("x-should-retry", "true" if should_retry else "false"))
        self.update(error=error)
        body = {"type": "error", "error": error, "request_id": self.rec.request_id}
        return await self.send_json(err.status, body, extra)

    async def emit(self, name: str, data: dict) -> bool:
        """One SSE event (or platform frame), in its own HTTP chunk; added to the record's ``events`` once sent."""
        ok = await self.conn.send(chunk(self.framing(name, data)))
        if ok:
            self.rec.events.append(name)
        return ok
