"""The Message Batches API (``/v1/messages/batches``): create, retrieve, list, results (JSONL), cancel and
delete, as the real API answers them, so the SDK's ``client.messages.batches`` calls work unchanged.

A batch is processed in the fake's own time: each request is answered by the same scripts as
``POST /v1/messages`` (``FakeAnthropic.script``), and its result becomes due ``batch_seconds`` x
(its position / the batch's size) after the batch was created.  Until every result is due the batch
is ``in_progress`` with every request counted as ``processing`` (the real API moves the counts only
when the whole batch ends); then it is ``ended`` with ``results_url`` set.  A request whose params are
invalid, or whose reply is a status fault, gives an ``errored`` result; requests matching
``expire_match`` give ``expired`` results; a cancel before a request was due gives ``canceled``.
The envelope (``requests``, ``custom_id``) is checked at create time, as the real API does (400).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from .answers import plan_answer
from .connection import Exchange
from .faults import http_error
from .scripting import Matcher, Reply, Script
from .tokens import PromptCache
from .validation import check_model, validate
from .wire import ApiError, json_bytes, rand_id, response_head

PREFIX = "/v1/messages/batches"
_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
MAX_REQUESTS = 100_000


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass(eq=False)
class Batch:
    """One batch as the fake keeps it: its requests, their results and when each is due."""

    id: str
    created_at: datetime
    created_mono: float
    requests: list[tuple[str, dict]]  # (custom_id, params) in the order sent
    results: dict[str, dict] = field(default_factory=dict)  # custom_id -> result (succeeded/errored/expired)
    due: dict[str, float] = field(default_factory=dict)  # custom_id -> monotonic time its result is due
    cancel_initiated_mono: float | None = None
    cancel_initiated_at: datetime | None = None
    results_fetched: int = 0

    def ended_mono(self) -> float:
        """When processing ends: the last due result, or the cancel (nothing pending after it)."""
        last = max(self.due.values(), default=self.created_mono)
        if self.cancel_initiated_mono is not None:
            return min(last, self.cancel_initiated_mono)
        return last

    def outcome(self, custom_id: str) -> dict:
        """The result of a request once the batch has ended."""
        if self.cancel_initiated_mono is not None and self.due[custom_id] > self.cancel_initiated_mono:
            return {"type": "canceled"}
        return self.results[custom_id]


class BatchStore:
    """The batches of one ``FakeAnthropic``.  ``batch_seconds``: how long a batch takes to process;
    ``expire_match``: requests (a substring of their text, or a predicate on the params) whose result
    is ``expired``.  ``created``: every batch created, for tests to read."""

    def __init__(self, lock: threading.Condition, pick_reply: Callable[[dict], Reply], cache: PromptCache,
                 cache_min_tokens: Callable[[], int | None]) -> None:
        self._lock = lock
        self._pick_reply = pick_reply
        self._cache = cache
        self._cache_min_tokens = cache_min_tokens
        self.batch_seconds = 0.0
        self.expire_match: Matcher = None
        self.created: list[Batch] = []
        self._by_id: dict[str, Batch] = {}

    def clear(self) -> None:
        with self._lock:
            self.created.clear()
            self._by_id.clear()
            self.expire_match = None

    def finish_now(self, batch_id: str) -> None:
        """Make every result of the batch due now (a batch that would take hours ends at once)."""
        now = time.monotonic()
        with self._lock:
            batch = self._by_id[batch_id]
            batch.due = {cid: min(due, now) for cid, due in batch.due.items()}

    # -- routing ----------------------------------------------------------------------------------

    async def handle(self, ex: Exchange, base_url: str) -> bool:
        rec = ex.rec
        rest = rec.path.rstrip("/")[len(PREFIX):].strip("/")
        parts = rest.split("/") if rest else []
        method = rec.method
        if not parts:
            if method == "POST":
                return await self._create(ex, base_url)
            if method == "GET":
                return await self._list(ex, base_url)
        elif len(parts) == 1:
            if method == "GET":
                return await ex.send_json(200, self._view(self._get(parts[0]), base_url))
            if method == "DELETE":
                return await self._delete(ex, parts[0])
        elif len(parts) == 2 and parts[1] == "results" and method == "GET":
            return await self._results(ex, parts[0])
        elif len(parts) == 2 and parts[1] == "cancel" and method == "POST":
            return await self._cancel(ex, parts[0], base_url)
        raise ApiError(404, f"Not found: {method} {rec.path}")

    def _get(self, batch_id: str) -> Batch:
        with self._lock:
            batch = self._by_id.get(batch_id)
        if batch is None:
            raise ApiError(404, f"Message batch {batch_id} not found.")
        return batch

    # -- endpoints --------------------------------------------------------------------------------

    async def _create(self, ex: Exchange, base_url: str) -> bool:
        body = ex.rec.body
        if not isinstance(body, dict):
            raise ApiError(400, "The request body is not valid JSON: expected an object")
        unknown = [k for k in body if k != "requests"]
        if unknown:
            raise ApiError(400, f"{unknown[0]}: Extra inputs are not permitted")
        requests = body.get("requests")
        if not isinstance(requests, list):
            raise ApiError(400, "requests: Field required" if requests is None else "requests: Input should be a "
                                                                                    "valid list")
        if not requests:
            raise ApiError(400, "requests: List should have at least 1 item after validation, not 0")
        if len(requests) > MAX_REQUESTS:
            raise ApiError(400, f"requests: List should have at most {MAX_REQUESTS} items")
        seen: set[str] = set()
        items: list[tuple[str, dict]] = []
        for i, item in enumerate(requests):
            if not isinstance(item, dict) or "custom_id" not in item or "params" not in item:
                raise ApiError(400, f"requests.{i}: custom_id and params are required")
            cid, params = item["custom_id"], item["params"]
            if not isinstance(cid, str) or not _CUSTOM_ID.match(cid):
                raise ApiError(400, f"requests.{i}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'")
            if cid in seen:
                raise ApiError(400, f"requests.{i}.custom_id: custom_id '{cid}' is not unique within the batch")
            if not isinstance(params, dict):
                raise ApiError(400, f"requests.{i}.params: Input should be a valid dictionary")
            seen.add(cid)
            items.append((cid, params))
        now_mono = time.monotonic()
        batch = Batch(id=rand_id("msgbatch_"), created_at=datetime.now(timezone.utc), created_mono=now_mono,
                      requests=items)
        for i, (cid, params) in enumerate(items):
            batch.results[cid] = self._process(ex, cid, params)
            batch.due[cid] = now_mono + self.batch_seconds * (i + 1) / len(items)
        with self._lock:
            self.created.append(batch)
            self._by_id[batch.id] = batch
        return await ex.send_json(200, self._view(batch, base_url))

    def _process(self, ex: Exchange, custom_id: str, params: dict) -> dict:
        """The result of one request of a batch, worked out now (revealed when due)."""
        try:
            if params.get("stream"):
                raise ApiError(400, "stream: Streaming is not supported in the Message Batches API")
            validate(params, ex.rec.headers, count_only=False)
            check_model(params["model"])
        except ApiError as err:
            return _errored(err)
        if self._expires(params):
            return {"type": "expired"}
        reply = self._pick_reply(params)
        fault = reply.fault
        if fault is not None and fault.kind in ("status", "error_event"):
            return _errored(http_error(fault))
        plan = plan_answer(params, reply, self._cache, self._cache_min_tokens())
        usage = dict(plan.usage)
        usage["service_tier"] = "batch"
        message = {
            "id": rand_id("msg_"),
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": plan.blocks,
            "stop_reason": plan.stop_reason,
            "stop_sequence": plan.stop_sequence,
            "usage": usage,
        }
        return {"type": "succeeded", "message": message}

    def _expires(self, params: dict) -> bool:
        if self.expire_match is None:
            return False
        return Script(reply=Reply(), match=self.expire_match).matches(params)

    async def _list(self, ex: Exchange, base_url: str) -> bool:
        with self._lock:
            batches = list(reversed(self.created))  # newest first, as the API lists them
        query = dict(p.partition("=")[::2] for p in ex.rec.query.split("&") if p)
        limit = int(query.get("limit") or 20)
        after = query.get("after_id")
        if after:
            ids = [b.id for b in batches]
            batches = batches[ids.index(after) + 1:] if after in ids else []
        page = batches[:limit]
        data = [self._view(b, base_url) for b in page]
        return await ex.send_json(200, {"data": data, "has_more": len(batches) > limit,
                                        "first_id": page[0].id if page else None,
                                        "last_id": page[-1].id if page else None})

    async def _cancel(self, ex: Exchange, batch_id: str, base_url: str) -> bool:
        batch = self._get(batch_id)
        now = time.monotonic()
        with self._lock:
            if batch.cancel_initiated_mono is None and now < batch.ended_mono():
                batch.cancel_initiated_mono = now
                batch.cancel_initiated_at = datetime.now(timezone.utc)
        return await ex.send_json(200, self._view(batch, base_url))

    async def _delete(self, ex: Exchange, batch_id: str) -> bool:
        batch = self._get(batch_id)
        if time.monotonic() < batch.ended_mono():
            raise ApiError(400, f"Message batch {batch_id} cannot be deleted while it is in progress; "
                                "cancel it first.")
        with self._lock:
            self._by_id.pop(batch_id, None)
        return await ex.send_json(200, {"id": batch_id, "type": "message_batch_deleted"})

    async def _results(self, ex: Exchange, batch_id: str) -> bool:
        batch = self._get(batch_id)
        if time.monotonic() < batch.ended_mono():
            raise ApiError(400, f"Message batch {batch_id} has not finished processing; results are not "
                                "available yet.")
        lines = [json_bytes({"custom_id": cid, "result": batch.outcome(cid)}) for cid, _ in
                 reversed(batch.requests)]  # not in request order, as the API warns
        payload = b"\n".join(lines) + b"\n"
        with self._lock:
            batch.results_fetched += 1
        head = response_head(200, ex.rec.request_id, [("content-type", "application/binary"),
                                                      ("content-length", str(len(payload)))])
        ex.update(status=200)
        ex.finish()
        return await ex.conn.send(head + payload)

    # -- the batch object -------------------------------------------------------------------------

    def _view(self, batch: Batch, base_url: str) -> dict[str, Any]:
        now = time.monotonic()
        ended = now >= batch.ended_mono()
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for cid, _ in batch.requests:
                counts[batch.outcome(cid)["type"]] += 1
            status = "ended"
        else:
            counts["processing"] = len(batch.requests)
            status = "canceling" if batch.cancel_initiated_mono is not None else "in_progress"
        ended_at = batch.created_at + timedelta(seconds=batch.ended_mono() - batch.created_mono)
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _rfc3339(batch.created_at),
            "expires_at": _rfc3339(batch.created_at + timedelta(hours=24)),
            "ended_at": _rfc3339(ended_at) if ended else None,
            "cancel_initiated_at": _rfc3339(batch.cancel_initiated_at) if batch.cancel_initiated_at else None,
            "archived_at": None,
            "results_url": f"{base_url}{PREFIX}/{batch.id}/results" if ended else None,
        }


def _errored(err: ApiError) -> dict:
    return {"type": "errored", "error": {"type": "error", "error": {"type": err.error_type, "message": err.message},
                                         "request_id": rand_id("req_")}}
