"""`GuardedProvider`: the one door every model call of a session goes through.

The session wraps its provider in one; the completion engine, the hover explainer and every
`ModelAccess` (fixes, tests, explanations, refactor planner and workers) only ever see the wrapper.
For each call, in order:

1. the budgets: the session cap (`budgetUsd`) and the daily cap shared by the user's servers
   (`dailyBudgetUsd`, llm/usage.py) -- when one is reached `BudgetExceeded` is raised before anything
   is sent;
2. redaction (unless `redactSecrets` is off): every text of the request (system blocks, messages,
   earlier answers in a repair round) goes through `privacy.redact`, whatever the feature did before.
   Features redact their own prompts too, with the same function; `redact` is idempotent, so this pass
   changes nothing then, and a prompt it does change is logged as a feature's miss. Cache keys stay
   true to what was sent: the inline key hashes the request itself (already redacted by the same
   function), the other features' keys hash the inputs their prompt is made from, and the prompt sent
   is a function of those inputs, so one key never stands for two different prompts;
3. the call itself, timed;
4. accounting: tokens (input, output, cache write, cache read) and dollars by model and feature into
   the usage store, and the whole exchange -- the prompt as sent, the answer, usage, cost, latency,
   outcome -- into the audit log.

Calls through the Message Batches API (`gen-tests --batch`) do not pass `stream`/`complete`: their
requests go through `prepare` (steps 1 and 2) before they are submitted, and each answer, once the batch
has ended, through `record_batch` (step 4, at the batch price; the latency is the batch's turnaround,
marked `"batch": true` so that the interactive latency figures leave it out).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from haiku_lsp.errors import BudgetExceeded, ProviderError
from haiku_lsp.llm.accounting import Usage, cost_usd
from haiku_lsp.llm.audit import AuditLog
from haiku_lsp.llm.provider import Completion, ModelRequest, Provider, TextStream
from haiku_lsp.llm.usage import UsageStore
from haiku_lsp.privacy import redact

log = logging.getLogger(__name__)


def redact_request(request: ModelRequest) -> tuple[ModelRequest, int]:
    """`request` with every text redacted, and how many secrets were found."""
    found = 0

    def text(value: str) -> str:
        nonlocal found
        out, n = redact(value)
        found += n
        return out

    def block(b: Any) -> Any:
        if isinstance(b, dict) and isinstance(b.get("text"), str):
            return {**b, "text": text(b["text"])}
        return b

    def message(m: dict[str, Any]) -> dict[str, Any]:
        content = m.get("content")
        if isinstance(content, str):
            return {**m, "content": text(content)}
        if isinstance(content, list):
            return {**m, "content": [block(b) for b in content]}
        return m

    system = tuple(block(b) for b in request.system)
    messages = tuple(message(m) for m in request.messages)
    if not found:
        return request, 0
    return ModelRequest(request.model, messages, request.max_tokens, system, request.stop_sequences,
                        request.extra), found


class _Watched:
    """A provider's stream, passed through while keeping the text for the audit log."""

    def __init__(self, inner: TextStream) -> None:
        self.inner = inner
        self.parts: list[str] = []
        self.stop_reason: str | None = inner.stop_reason
        self.finished = inner.finished

    @property
    def usage(self) -> Usage:
        return self.inner.usage

    def __aiter__(self) -> AsyncIterator[str]:
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        try:
            async for text in self.inner:
                self.parts.append(text)
                yield text
        finally:
            self.stop_reason, self.finished = self.inner.stop_reason, self.inner.finished


class GuardedProvider:
    """A `Provider` in front of another (`inner`): budgets, redaction, accounting and the audit log.
    `should_redact()` reads the `redactSecrets` setting at call time."""

    def __init__(self, inner: Provider, store: UsageStore, audit: AuditLog,
                 should_redact: Callable[[], bool] = lambda: True,
                 on_call: Callable[[], None] = lambda: None) -> None:
        self.inner = inner
        self.ledger = inner.ledger
        self.ledger.spent_today = store.spent_today
        self.store, self.audit = store, audit
        self._should_redact = should_redact
        self._on_call = on_call

    @property
    def available(self) -> bool:
        return self.inner.available

    async def ready(self) -> None:
        await self.inner.ready()

    def prepare(self, request: ModelRequest, feature: str) -> ModelRequest:
        """`request` as it may be sent (redacted), or `BudgetExceeded` when a budget is reached."""
        if (problem := self.ledger.budget_problem()) is not None:
            raise BudgetExceeded(problem)
        if not self._should_redact():
            return request
        sent, found = redact_request(request)
        if found:
            log.info("%d secret(s) redacted from a %s request at the last step", found, feature)
        return sent

    def stream(self, request: ModelRequest, *, timeout: float, inline: bool = True,
               feature: str = "inline") -> contextlib.AbstractAsyncContextManager[TextStream]:
        return self._stream(request, timeout=timeout, inline=inline, feature=feature)

    @contextlib.asynccontextmanager
    async def _stream(self, request: ModelRequest, *, timeout: float, inline: bool,
                      feature: str) -> AsyncIterator[TextStream]:
        sent = self.prepare(request, feature)
        started = time.monotonic()
        watched: _Watched | None = None
        outcome = "ok"
        try:
            async with self.inner.stream(sent, timeout=timeout, inline=inline, feature=feature) as opened:
                watched = _Watched(opened)
                yield watched
            if not watched.inner.finished:
                outcome = "stopped"  # the caller had what it needed and closed the stream
        except (asyncio.CancelledError, GeneratorExit):
            outcome = "cancelled"
            raise
        except ProviderError as err:
            outcome = err.kind
            raise
        except Exception as err:
            outcome = type(err).__name__
            raise
        finally:
            usage = watched.usage if watched is not None else Usage(sent.model)
            text = "".join(watched.parts) if watched is not None else ""
            stop = watched.inner.stop_reason if watched is not None else None
            self._record(sent, feature, usage, text, stop, _ms_since(started), outcome)

    async def complete(self, request: ModelRequest, *, timeout: float, feature: str = "action",
                       retries: bool = True) -> Completion:
        sent = self.prepare(request, feature)
        started = time.monotonic()
        try:
            completion = await self.inner.complete(sent, timeout=timeout, feature=feature, retries=retries)
        except (asyncio.CancelledError, Exception) as err:
            cancelled = isinstance(err, asyncio.CancelledError)
            outcome = "cancelled" if cancelled else getattr(err, "kind", type(err).__name__)
            usage = getattr(err, "usage", None)
            self._record(sent, feature, usage if isinstance(usage, Usage) else Usage(sent.model), "", None,
                         _ms_since(started), outcome)
            raise
        self._record(sent, feature, completion.usage, completion.text, completion.stop_reason, _ms_since(started),
                     "ok")
        return completion

    def record_batch(self, sent: ModelRequest, feature: str, completion: Completion | None, outcome: str,
                     ms: int) -> None:
        """One answer of a Message Batch (`completion`, or None when the request `outcome` was `errored`,
        `expired` or `canceled`) for the request `sent` (as `prepare` made it): into the ledger (the session
        budget), the usage store (the daily budget, `haiku-lsp stats`) and the audit log, at the batch price.
        `ms`: from the batch's creation to its answers."""
        usage = completion.usage if completion is not None else Usage(sent.model)
        if completion is not None:
            self.ledger.record(usage, feature, batch=True)
        self._record(sent, feature, usage, completion.text if completion else "",
                     completion.stop_reason if completion else None, ms, outcome, batch=True)

    def _record(self, sent: ModelRequest, feature: str, usage: Usage, text: str, stop: str | None,
                ms: int, outcome: str, batch: bool = False) -> None:
        usd = cost_usd(usage, self.ledger.prices, batch=batch)
        tokens = {"input": usage.input, "output": usage.output, "cache_write": usage.cache_write,
                  "cache_read": usage.cache_read}
        marks = {"batch": True} if batch else {}
        try:
            self.store.append({"kind": "call", "feature": feature, "model": usage.model or sent.model, **tokens,
                               "usd": round(usd, 8), "ms": ms, "outcome": outcome, **marks})
            # Redacted even when `redactSecrets` let the secrets go out: the log is a second copy.
            payload = redact_request(sent)[0].payload() if self.audit.enabled else {}
            self.audit.write({
                "time": datetime.datetime.now().astimezone().isoformat(timespec="milliseconds"),
                "pid": os.getpid(), "feature": feature, "model": sent.model,
                "prompt": {k: payload[k] for k in ("system", "messages") if k in payload},
                "output": redact(text)[0], "stop_reason": stop, "usage": tokens, "usd": round(usd, 8), "latency_ms": ms,
                "outcome": outcome, **marks})
            self._on_call()
        except Exception as err:  # accounting must never break a feature
            log.warning("could not record a model call: %s", err)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
