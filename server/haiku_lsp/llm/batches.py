"""The Message Batches API (`/v1/messages/batches`) over the anthropic SDK: bulk, non-interactive calls at
half the price (`BATCH_DISCOUNT`, llm/accounting.py), answered within 24 hours.

`BatchClient.submit` sends `ModelRequest`s under custom ids and returns the batch id; `status` says how
far a batch is (`BatchStatus`); `results` gives each custom id's `BatchAnswer`: a `Completion` when the
request succeeded, else the kind (`errored`, `expired`, `canceled`) and the error. Failures to reach the
API are raised as `haiku_lsp.errors.ProviderError` subclasses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from haiku_lsp.errors import (
    NoKeyError,
    ProviderConnectionError,
    ProviderError,
    ProviderTimeout,
    provider_error_for_status,
)
from haiku_lsp.llm.accounting import Usage
from haiku_lsp.llm.anthropic import api_key_present
from haiku_lsp.llm.provider import Completion, ModelRequest


@dataclass(frozen=True)
class BatchStatus:
    id: str
    processing_status: str  # in_progress | canceling | ended
    counts: dict[str, int] = field(default_factory=dict)  # processing, succeeded, errored, canceled, expired

    @property
    def ended(self) -> bool:
        return self.processing_status == "ended"

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class BatchAnswer:
    kind: str  # succeeded | errored | expired | canceled
    completion: Completion | None = None
    error: str = ""


def _completion(message: Any) -> Completion:
    texts = [b.text for b in message.content if getattr(b, "type", "") == "text"]
    tools = [b.input for b in message.content if getattr(b, "type", "") == "tool_use"]
    u = message.usage
    usage = Usage(message.model, u.input_tokens or 0, u.output_tokens or 0,
                  getattr(u, "cache_creation_input_tokens", None) or 0,
                  getattr(u, "cache_read_input_tokens", None) or 0)
    return Completion("".join(texts), tools[0] if tools else None, message.stop_reason, usage)


class BatchClient:
    """Message batches through `anthropic.AsyncAnthropic` (the SDK reads the key and ANTHROPIC_BASE_URL)."""

    def __init__(self, *, timeout: float = 120.0) -> None:
        self.timeout = timeout
        self._client: Any = None
        self._sdk: Any = None

    async def _ensure(self) -> Any:
        if self._client is None:
            if not api_key_present():
                raise NoKeyError("no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN is set")
            self._sdk = await asyncio.to_thread(__import__, "anthropic")
            self._client = self._sdk.AsyncAnthropic(max_retries=2, timeout=self.timeout)
        return self._client

    def _convert(self, err: Exception) -> ProviderError:
        sdk = self._sdk
        if isinstance(err, sdk.APITimeoutError):
            return ProviderTimeout("the batch API did not answer in time")
        if isinstance(err, sdk.APIConnectionError):
            return ProviderConnectionError(f"could not reach the batch API: {err}")
        if isinstance(err, sdk.APIStatusError):
            return provider_error_for_status(err.status_code, getattr(err, "message", str(err)))
        return ProviderConnectionError(f"{type(err).__name__}: {err}")

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            if self._sdk is not None and isinstance(err, self._sdk.AnthropicError):
                raise self._convert(err) from err
            raise

    async def submit(self, requests: Mapping[str, ModelRequest]) -> BatchStatus:
        """Create a batch of `requests` by custom id (1-64 of `[A-Za-z0-9_-]`); its first status."""
        client = await self._ensure()
        batch = await self._call(client.messages.batches.create,
                                 requests=[{"custom_id": cid, "params": r.payload()} for cid, r in requests.items()])
        return self._status(batch)

    async def status(self, batch_id: str) -> BatchStatus:
        client = await self._ensure()
        return self._status(await self._call(client.messages.batches.retrieve, batch_id))

    async def cancel(self, batch_id: str) -> BatchStatus:
        client = await self._ensure()
        return self._status(await self._call(client.messages.batches.cancel, batch_id))

    async def results(self, batch_id: str) -> dict[str, BatchAnswer]:
        """Every request's answer by custom id (the batch must have ended)."""
        client = await self._ensure()
        decoder = await self._call(client.messages.batches.results, batch_id)
        answers: dict[str, BatchAnswer] = {}
        try:
            async for line in decoder:
                result = line.result
                if result.type == "succeeded":
                    answers[line.custom_id] = BatchAnswer("succeeded", _completion(result.message))
                elif result.type == "errored":
                    error = result.error.error
                    answers[line.custom_id] = BatchAnswer("errored", error=f"{error.type}: {error.message}")
                else:
                    answers[line.custom_id] = BatchAnswer(result.type, error=f"the request was {result.type}")
        except Exception as err:
            if self._sdk is not None and isinstance(err, self._sdk.AnthropicError):
                raise self._convert(err) from err
            raise
        return answers

    @staticmethod
    def _status(batch: Any) -> BatchStatus:
        c = batch.request_counts
        counts = {"processing": c.processing, "succeeded": c.succeeded, "errored": c.errored,
                  "canceled": c.canceled, "expired": c.expired}
        return BatchStatus(batch.id, batch.processing_status, counts)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None
