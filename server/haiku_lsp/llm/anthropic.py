"""The Anthropic provider over `anthropic.AsyncAnthropic`.

The SDK takes ~3 s to import on small machines, so it is imported in a background thread after the
server has answered `initialize` (`start_import`), and awaited on first use. Streams are async
context managers: leaving the block -- normally, by an exception or by cancellation -- closes the
HTTP response, so no tokens are paid past the point where the caller stopped reading.

Inline completions use a client with `max_retries=0` (a retried completion is stale) and a short
timeout; actions use the SDK's retries. Every call's usage is recorded in the ledger, also when a
stream was closed early (output tokens are then estimated from the text received).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import AsyncIterator
from typing import Any

from haiku_lsp.errors import (
    BudgetExceeded,
    IncompleteAnswer,
    NoKeyError,
    OverloadedError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    Refusal,
    UpstreamServerError,
    provider_error_for_status,
)
from haiku_lsp.llm.accounting import Ledger, Usage
from haiku_lsp.llm.provider import Completion, ModelRequest

log = logging.getLogger(__name__)



def api_key_present() -> bool:
    return bool(os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN"))


class TextStream:
    """Async iterator over text deltas of one streamed call; `usage` and `stop_reason` fill in."""

    def __init__(self, model: str, events: Any) -> None:
        self._events = events
        self.model = model
        self.input = self.cache_write = self.cache_read = 0
        self.output: int | None = None
        self.stop_reason: str | None = None
        self.finished = False  # saw message_stop
        self.chars = 0

    def __aiter__(self) -> AsyncIterator[str]:
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        try:
            async for text in self._decoded():
                yield text
        except ValueError as err:  # an SSE event whose data is not JSON (the SDK's json.loads)
            raise IncompleteAnswer(f"the answer stream was not valid SSE: {err}") from err

    async def _decoded(self) -> AsyncIterator[str]:
        async for event in self._events:
            kind = event.type
            if kind == "content_block_delta":
                delta = event.delta
                text = getattr(delta, "text", None)
                if text:
                    self.chars += len(text)
                    yield text
            elif kind == "message_start":
                self._usage(event.message.usage)
            elif kind == "message_delta":
                self.stop_reason = event.delta.stop_reason
                self._usage(event.usage)
            elif kind == "message_stop":
                self.finished = True

    def _usage(self, u: Any) -> None:
        self.input = getattr(u, "input_tokens", None) or self.input
        self.cache_write = getattr(u, "cache_creation_input_tokens", None) or self.cache_write
        self.cache_read = getattr(u, "cache_read_input_tokens", None) or self.cache_read
        out = getattr(u, "output_tokens", None)
        if out is not None:
            self.output = out

    @property
    def usage(self) -> Usage:
        output = self.output or 0
        if not self.finished:
            # Closed early: the API bills what it generated; estimate from what we received.
            output = max(output, round(self.chars / 3.5))
        return Usage(self.model, self.input, output, self.cache_write, self.cache_read)


class AnthropicProvider:
    """The `Provider` over the Messages API (the SDK reads the key and `ANTHROPIC_BASE_URL` itself)."""

    def __init__(self, ledger: Ledger | None = None) -> None:
        self.ledger = ledger or Ledger()
        self._client: Any = None
        self._inline_client: Any = None
        self._sdk: Any = None
        self._import_done = threading.Event()
        self._import_error: BaseException | None = None
        self._import_started = False

    @property
    def available(self) -> bool:
        return api_key_present()

    def start_import(self) -> None:
        """Import the SDK in a daemon thread; safe to call more than once."""
        if self._import_started:
            return
        self._import_started = True

        def work() -> None:
            try:
                import anthropic
                import httpx2  # noqa: F401  (the SDK's transport; its errors surface mid-stream)

                self._sdk = anthropic
            except BaseException as err:  # pragma: no cover - a broken install
                self._import_error = err
            finally:
                self._import_done.set()

        threading.Thread(target=work, name="import-anthropic", daemon=True).start()

    async def aclose(self) -> None:
        """Close the HTTP connections (a headless run ends with this)."""
        if self._client is not None:
            await self._client.close()
            self._client = self._inline_client = None

    def wait_for_import(self, timeout: float) -> bool:
        """Block (a background thread) until the SDK import has ended; False on timeout."""
        return self._import_done.wait(timeout) if self._import_started else True

    async def ready(self) -> None:
        """Wait for the SDK import and the client (NoKeyError without a key)."""
        await self._ensure_client()

    async def _ensure_client(self) -> Any:
        if self._client is not None:
            return self._client
        if not self.available:
            raise NoKeyError("no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN is set")
        self.start_import()
        if not self._import_done.is_set():
            await asyncio.to_thread(self._import_done.wait)
        if self._import_error is not None:
            raise ProviderConnectionError(f"the anthropic SDK failed to import: {self._import_error}")
        if self._client is None:
            # The SDK reads the key and ANTHROPIC_BASE_URL from the environment itself.
            self._client = self._sdk.AsyncAnthropic(max_retries=2)
            self._inline_client = self._client.with_options(max_retries=0)
        return self._client

    def _convert(self, err: BaseException) -> ProviderError:
        sdk = self._sdk
        if sdk is not None:
            if isinstance(err, sdk.APITimeoutError):
                return ProviderTimeout("the model did not answer in time")
            if isinstance(err, sdk.APIConnectionError):
                return ProviderConnectionError(f"could not reach the model API: {err}")
            if isinstance(err, sdk.APIStatusError):
                status = getattr(err, "status_code", None)
                body = getattr(err, "body", None)
                inner = body.get("error") if isinstance(body, dict) else None
                etype = inner.get("type", "") if isinstance(inner, dict) else ""
                message = getattr(err, "message", str(err))
                wait = _retry_after(getattr(err, "response", None))
                if etype == "overloaded_error":
                    return OverloadedError(message, status, wait)
                if status is not None and status < 400:  # an `error` event inside a 200 stream
                    return UpstreamServerError(message, status)
                return provider_error_for_status(status, message, wait)
        # The transport's errors (a connection dropped mid-stream, a read timeout) are not wrapped.
        if "Timeout" in type(err).__name__:
            return ProviderTimeout("the model stopped sending")
        return ProviderConnectionError(f"{type(err).__name__}: {err}")

    def _check_budget(self) -> None:
        if (problem := self.ledger.budget_problem()) is not None:
            raise BudgetExceeded(problem)

    @contextlib.asynccontextmanager
    async def stream(self, request: ModelRequest, *, timeout: float, inline: bool = True,
                     feature: str = "inline") -> AsyncIterator[TextStream]:
        """Open a streamed call. The HTTP stream is closed when the block is left, however."""
        self._check_budget()
        client = await self._ensure_client()
        if inline:
            client = self._inline_client
        try:
            raw = await client.messages.create(**request.payload(), stream=True, timeout=timeout)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            raise self._convert(err) from err
        stream = TextStream(request.model, raw)
        try:
            yield stream
        except (ProviderError, asyncio.CancelledError, GeneratorExit):
            raise
        except Exception as err:
            if self._sdk is not None and isinstance(err, self._sdk.APIError) or _is_transport_error(err):
                raise self._convert(err) from err
            raise
        finally:
            # Shielded: a second cancellation must not leave the connection open.
            with contextlib.suppress(Exception):
                await asyncio.shield(raw.close())
            if stream.input or stream.chars:
                self.ledger.record(stream.usage, feature)

    async def complete(self, request: ModelRequest, *, timeout: float, feature: str = "action",
                       retries: bool = True) -> Completion:
        """A whole answer (streamed underneath, so a long answer does not hit read timeouts)."""
        parts: list[str] = []
        s: TextStream | None = None
        try:
            async with self.stream(request, timeout=timeout, inline=not retries, feature=feature) as s:
                async for text in s:
                    parts.append(text)
            if not s.finished:
                raise IncompleteAnswer("the answer stream ended before message_stop")
            if s.stop_reason == "refusal":
                raise Refusal("the model declined to answer this request")
        except ProviderError as err:
            if s is not None:  # what the failed call cost, for the accounts (llm/guard.py)
                err.usage = s.usage  # type: ignore[attr-defined]
            raise
        return Completion("".join(parts), None, s.stop_reason, s.usage)


def _retry_after(response: Any) -> float | None:
    """Seconds from a response's `retry-after-ms` or `retry-after` (seconds; an HTTP date is not used)."""
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


def _is_transport_error(err: BaseException) -> bool:
    return type(err).__module__.split(".")[0] in ("httpx2", "httpx", "httpcore", "httpcore2", "h11")
