"""Faults: something going wrong with one response (an HTTP error status, an SSE error event, the
connection dropped or stalled, a body ending without its closing events, an event that is not JSON), and
what each makes of the answer.  Build them with the ``Fault`` class methods and script them with
``Reply(fault=...)``."""

from __future__ import annotations

from dataclasses import dataclass

from .wire import DEFAULT_MESSAGES, ERROR_TYPES, STATUS_FOR_TYPE, ApiError, block_payload


@dataclass(frozen=True)
class Fault:
    """Something going wrong with one response.  Build with the class methods."""

    kind: str  # "status" | "error_event" | "drop" | "stall" | "no_stop" | "malformed"
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
            error_type=type or ERROR_TYPES.get(code, "api_error"),
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
    def malformed(cls, after_chars: int = 0) -> Fault:
        """After ``after_chars`` characters, an SSE event whose ``data`` is not JSON (a proxy mangling the
        stream); then the body ends.  Non-streaming: a 200 whose body is not JSON."""
        return cls("malformed", after_chars=after_chars)

    @classmethod
    def no_stop(cls, after_chars: int = 0) -> Fault:
        """After ``after_chars`` characters the HTTP body ends cleanly, without content_block_stop,
        message_delta or message_stop.  Non-streaming: text cut there, ``stop_reason`` null."""
        return cls("no_stop", after_chars=after_chars)


def http_error(fault: Fault) -> ApiError:
    """The HTTP error answering a ``status`` fault, or an ``error_event`` fault of a non-streaming request."""
    if fault.kind == "status":
        err = ApiError(fault.status_code, fault.message or DEFAULT_MESSAGES.get(fault.error_type or "", "Error"))
        err.error_type = fault.error_type or err.error_type
        return err
    etype = fault.error_type or "overloaded_error"
    status = STATUS_FOR_TYPE.get(etype, 500)
    return ApiError(status, fault.message or DEFAULT_MESSAGES.get(etype, "Error"), etype)


def sse_error(fault: Fault) -> dict:
    """The ``error`` of the ``event: error`` an ``error_event`` fault sends on a stream."""
    etype = fault.error_type or "overloaded_error"
    return {"type": etype, "message": fault.message or DEFAULT_MESSAGES.get(etype, "Error")}


def truncate_blocks(blocks: list[dict], chars: int) -> list[dict]:
    """What a ``no_stop`` fault leaves of ``blocks`` after ``chars`` characters of deltas."""
    out: list[dict] = []
    for block in blocks:
        if chars <= 0 and out:
            break
        payload = block_payload(block)
        if block["type"] == "text":
            out.append({"type": "text", "text": payload[: max(chars, 0)]})
        elif chars >= len(payload):
            out.append(block)
        chars -= len(payload)
    return out


MALFORMED_EVENT = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, "delta": {"ty\n\n'
MALFORMED_BODY = b'{"id": "msg_broken", "type": "message", "content": [{"type": "te'
