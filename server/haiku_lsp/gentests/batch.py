"""`gen-tests --batch`: the same flow as the interactive mode, its model calls sent through the Message
Batches API at half the price.

The flow is run in rounds. In each round every unfinished function runs `generate_one` through a
`ReplayProvider`, which answers a request from the batch results received so far (by a content key of
the request) and defers one it has no answer for. The deferred requests of a round go into one batch;
when it has ended, its answers are taken in and the next round replays the flow a step further (the
answer, the sandboxed run, the repair request...). A function needs at most four calls (a test and a
repair, each with one JSON repair), so a few rounds finish every function.

Resumable: the batches sent and the answers received are kept in the cache dir (`BatchState`), so a
re-run -- after a CI job was stopped, or with the same code on another day -- picks up the batch in flight
instead of paying for it again (only a run stopped in the moment between the API creating a batch and the
run writing its id down leaves that batch behind). A function's answers are dropped from the state once it is done: a
passing test lives on in the test cache, a failing one is never kept (a re-run asks afresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from haiku_lsp.errors import BadRequestError, ProviderError, UpstreamServerError
from haiku_lsp.gentests.discover import Target
from haiku_lsp.gentests.generate import generate_one
from haiku_lsp.gentests.report import Outcome
from haiku_lsp.llm import (
    BATCH_DISCOUNT,
    BatchAnswer,
    BatchClient,
    BatchStatus,
    Completion,
    Ledger,
    ModelAccess,
    ModelRequest,
    TextStream,
    Usage,
    content_key,
)

log = logging.getLogger(__name__)

MAX_ROUNDS = 8


class Deferred(Exception):  # noqa: N818 - not an error: the request waits for a batch
    """The request has no batch answer yet; it goes into the next batch."""


def request_key(request: ModelRequest) -> str:
    """The custom id of a request in a batch: a content hash of exactly what is sent (64 hex digits)."""
    return content_key("batch-request", request.payload())


class BatchState:
    """What a batch run keeps between runs, as JSON in the cache dir: the requests in flight (key ->
    batch id), the answers received and not yet used up, the requests already sent again once after
    expiring, and what each batch covers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending: dict[str, str] = {}
        self.answers: dict[str, dict[str, Any]] = {}
        self.resent: set[str] = set()
        self.batches: dict[str, dict[str, Any]] = {}

    @classmethod
    def load(cls, path: Path) -> BatchState:
        state = cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return state
        if isinstance(data, dict):
            state.pending = dict(data.get("pending", {}))
            state.answers = dict(data.get("answers", {}))
            state.resent = set(data.get("resent", []))
            state.batches = dict(data.get("batches", {}))
        return state

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        live = set(self.pending.values())
        self.batches = {b: info for b, info in self.batches.items() if b in live}
        data = {"pending": self.pending, "answers": self.answers, "resent": sorted(self.resent),
                "batches": self.batches}
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self.path)  # atomic: a run stopped mid-write leaves the previous state

    def forget(self, keys: set[str]) -> None:
        for key in keys:
            self.answers.pop(key, None)
            self.resent.discard(key)


def state_path(cache_dir: Path, root: Path) -> Path:
    return cache_dir / "gen-tests" / f"batches-{content_key(str(root.resolve()))[:16]}.json"


class ReplayProvider:
    """A `Provider` answering one function's calls from batch results; a call without one is noted in
    `wanted` and deferred. An answer the batch errored on raises `UpstreamServerError` (the function's
    outcome is `error`).

    The first call of a function is keyed by its content (the code, the test file: the same in every
    round). Later calls carry what a sandboxed run printed (temporary paths, timings), which differs from
    round to round, so they are keyed by the first call's key and their place in the sequence."""

    def __init__(self, answers: dict[str, dict[str, Any]], ledger: Ledger) -> None:
        self.answers = answers
        self.ledger = ledger
        self.wanted: dict[str, ModelRequest] = {}
        self.used: set[str] = set()
        self._anchor = ""
        self._calls = 0

    def _key(self, request: ModelRequest) -> str:
        if self._calls == 0:
            self._anchor = request_key(request)
            key = self._anchor
        else:
            key = content_key("batch-request", self._anchor, self._calls)
        self._calls += 1
        return key

    @property
    def available(self) -> bool:
        return True

    async def ready(self) -> None:
        return None

    @contextlib.asynccontextmanager
    async def stream(self, request: ModelRequest, *, timeout: float, inline: bool = True,
                     feature: str = "inline") -> AsyncIterator[TextStream]:
        raise BadRequestError("a batch answers whole messages, not streams")
        yield  # pragma: no cover - makes this an async generator

    async def complete(self, request: ModelRequest, *, timeout: float, feature: str = "action",
                       retries: bool = True) -> Completion:
        key = self._key(request)
        answer = self.answers.get(key)
        if answer is None:
            self.wanted[key] = request
            raise Deferred(key)
        self.used.add(key)
        if "error" in answer:
            raise UpstreamServerError(f"the batch answered with an error: {answer['error']}")
        return Completion(answer["text"], answer.get("tool_input"), answer.get("stop_reason"),
                          Usage(**answer["usage"]))


def _stored(answer: BatchAnswer) -> dict[str, Any]:
    c = answer.completion
    if c is None:
        return {"error": answer.error or answer.kind}
    return {"text": c.text, "tool_input": c.tool_input, "stop_reason": c.stop_reason, "usage": asdict(c.usage)}


async def run_batch(llm: ModelAccess, targets: list[Target], *, root: Path, client: BatchClient,
                    state: BatchState, poll_interval: float, concurrency: int, test_timeout: float,
                    python: str | None, prices: dict[str, dict[str, float]],
                    progress: Callable[[str], None],
                    prepare: Callable[[ModelRequest], ModelRequest] = lambda request: request,
                    on_answer: Callable[[ModelRequest, BatchAnswer, int], None] = lambda request, answer, ms: None,
                    os_sandbox: bool = True) -> tuple[list[Outcome], list[str]]:
    """Every target's outcome (in the targets' order) and the ids of the batches this run waited on.
    `prepare` turns a request into what is sent (the session's budget check and redaction: batch calls do
    not pass the session's provider); `on_answer(request, answer, ms)` is told of each answer received,
    once, errors and expiries included (`ms`: since the batch was created), for accounting and the audit
    log (`GuardedProvider.record_batch`)."""
    outcomes: dict[str, Outcome] = {}
    batch_ids: list[str] = []
    gate = asyncio.Semaphore(max(1, concurrency))  # sandboxed pytest runs at once
    todo = list(targets)
    for _round in range(MAX_ROUNDS):
        wanted: dict[str, ModelRequest] = {}
        covers: dict[str, list[str]] = {}

        async def attempt(target: Target, wanted: dict[str, ModelRequest] = wanted,
                          covers: dict[str, list[str]] = covers) -> None:
            replay = ReplayProvider(state.answers, llm.provider.ledger)
            async with gate:
                try:
                    outcome = await generate_one(llm.through(replay), target, root=root, test_timeout=test_timeout,
                                                 python=python, price_factor=BATCH_DISCOUNT, prices=prices,
                                                 os_sandbox=os_sandbox)
                except Deferred:
                    for key, request in replay.wanted.items():
                        wanted[key] = request
                        covers.setdefault(key, []).append(target.id)
                    return
            if outcome.origin == "model":
                outcome.origin = "batch"
            outcomes[target.id] = outcome
            state.forget(replay.used)
            progress(f"{outcome.id}: {outcome.status} {outcome.summary or outcome.reason}")

        await asyncio.gather(*(attempt(t) for t in todo))
        state.save()
        todo = [t for t in todo if t.id not in outcomes]
        if not todo:
            break
        new = {key: r for key, r in wanted.items() if key not in state.pending}
        if new:
            status = await client.submit({key: prepare(request) for key, request in new.items()})
            for key in new:
                state.pending[key] = status.id
            state.batches[status.id] = {"created": time.time(), "requests": len(new),
                                        "covers": sorted({t for k in new for t in covers[k]})}
            state.save()
            progress(f"batch {status.id}: {len(new)} requests sent for {len(state.batches[status.id]['covers'])} "
                     "functions")
        for batch_id in sorted({state.pending[key] for key in wanted}):
            if batch_id not in batch_ids:
                batch_ids.append(batch_id)
            await _collect(client, batch_id, state, poll_interval, progress, on_answer, wanted)
    for target in todo:
        outcomes[target.id] = Outcome(target.id, "error",
                                      reason=f"no answer after {MAX_ROUNDS} batch rounds")
    return [outcomes[t.id] for t in targets], batch_ids


async def _collect(client: BatchClient, batch_id: str, state: BatchState, poll_interval: float,
                   progress: Callable[[str], None], on_answer: Callable[[ModelRequest, BatchAnswer, int], None],
                   requests: dict[str, ModelRequest]) -> None:
    """Wait for the batch to end (progress on each poll), then take in its answers (`requests`: this
    round's, by key: also those of a batch an earlier run sent, since the replay asks them again)."""
    started = time.monotonic()
    last = ""
    while True:
        try:
            status: BatchStatus = await client.status(batch_id)
        except ProviderError as err:
            if err.status == 404:  # gone (deleted, or another account's): its requests are sent again
                progress(f"batch {batch_id}: not found; its requests are sent again")
                state.pending = {k: b for k, b in state.pending.items() if b != batch_id}
                state.save()
                return
            raise
        line = (f"batch {batch_id}: {status.processing_status}, {status.total - status.counts['processing']}"
                f"/{status.total} done ({time.monotonic() - started:.0f} s)")
        if line != last:
            progress(line)
            last = line
        if status.ended:
            break
        await asyncio.sleep(poll_interval)
    answers = await client.results(batch_id)
    created = (state.batches.get(batch_id) or {}).get("created")
    ms = round((time.time() - created) * 1000) if isinstance(created, (int, float)) else 0
    for key in [k for k, b in state.pending.items() if b == batch_id]:
        del state.pending[key]
        answer = answers.get(key)
        if answer is None:
            continue  # not in the results: asked again next round
        model = answer.completion.usage.model if answer.completion is not None else ""
        on_answer(requests.get(key) or ModelRequest(model, (), 0), answer, ms)
        if answer.kind in ("expired", "canceled") and key not in state.resent:
            state.resent.add(key)  # sent again once in the next batch
            continue
        state.answers[key] = _stored(answer)
    state.save()
    counts = status.counts
    progress(f"batch {batch_id}: ended: {counts['succeeded']} succeeded, {counts['errored']} errored, "
             f"{counts['expired']} expired, {counts['canceled']} canceled")
