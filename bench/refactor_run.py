"""One run of bench/refactor.py: `run_refactor` on the workspace with the fake scripted, timed by phase,
by model request (from the fake's records) and by validation tool."""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from refactor_script import MODULE, PLANNER, WORKER, planning, reviewing, script, worker_sid

# Timing the validation tools (wrappers around the names the validator looks up at call time)


@dataclass
class ToolTimes:
    calls: list[tuple[str, float]] = field(default_factory=list)

    def total(self, name: str) -> float:
        return sum(d for n, d in self.calls if n == name)

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.calls if n == name)


TOOLS = ToolTimes()


def instrument_validation() -> None:
    from haiku_lsp.refactor import validate

    def timed_async(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.monotonic()
            try:
                return await fn(*args, **kwargs)
            finally:
                TOOLS.calls.append((name, time.monotonic() - t0))
        return wrapper

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.monotonic()
            try:
                return fn(*args, **kwargs)
            finally:
                TOOLS.calls.append((name, time.monotonic() - t0))
        return wrapper

    validate.run_pytest = timed_async("pytest", validate.run_pytest)
    validate.ruff_check = timed_async("ruff", validate.ruff_check)
    validate.compile_error = timed("compile", validate.compile_error)



@dataclass
class Run:
    scenario: str
    wall: float
    phases: dict[str, float]
    ideal: float
    busy: dict[str, float]  # per phase: time with a model request in flight (union of arrival..last byte)
    requests: int
    planner_req: float
    slowest_worker: float  # first round
    slowest_sum: float  # slowest worker of each round, summed
    review_req: float
    worker_reqs: list[float]
    planner_ttft: float
    tokens_per_s: dict[str, list[float]]
    usage: dict[str, dict[str, int]]
    usd: dict[str, float]
    ok: bool
    statuses: list[str]
    rounds: int
    tools: list[tuple[str, float]]
    problems: list[str]

    @property
    def model_phases(self) -> float:
        return self.phases["plan"] + self.phases["execute"] + self.phases["review"]

    @property
    def other(self) -> float:
        return self.wall - sum(self.phases.values())

    def unscaled(self, seconds: float, scale: float, phases: tuple[str, ...] = ("plan", "execute", "review")) -> float:
        """`seconds` (which hold all the model request time of `phases`) with that request time unscaled."""
        return seconds + sum(self.busy[p] for p in phases) * (1 / scale - 1)


def _union(intervals: list[tuple[float, float]]) -> float:
    total, end = 0.0, -math.inf
    for a, b in sorted(intervals):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


async def one_run(scenario: str, fake: Any, provider: Any, ws: Path, cache: Any, *, scale: float,
                  concurrency: int, broken: bool = False, cached: bool = False) -> Run:
    from haiku_lsp.llm import ModelAccess
    from haiku_lsp.refactor import run_refactor

    if cached:
        fake.reset()  # no script: any request would get the fake's empty default answer, and be counted
    else:
        script(fake, scale, broken=broken)
    TOOLS.calls.clear()
    t0 = time.monotonic()
    result = await run_refactor(ModelAccess(provider, cache, PLANNER, 60), ModelAccess(provider, cache, WORKER, 60),
                                text=MODULE, path=ws / "inventory.py", root=ws, instruction="Add type hints",
                                concurrency=concurrency, test_timeout=60, python=sys.executable)
    wall = time.monotonic() - t0
    problems: list[str] = []
    if fake.errors:
        problems.append("fake errors: " + "; ".join(fake.errors))
    if any(r.finished_at is None for r in fake.message_requests):
        problems.append(f"{scenario}: a request did not finish")
    reqs = [r for r in fake.message_requests if r.finished_at is not None]
    plans = [r for r in reqs if planning(r.body)]
    reviews = [r for r in reqs if reviewing(r.body)]
    workers = [r for r in reqs if worker_sid(r.body)]
    review_at = min((r.arrived_at for r in reviews), default=math.inf)
    rounds = [[r for r in workers if r.arrived_at < review_at], [r for r in workers if r.arrived_at >= review_at]]
    slowest = []
    for group in rounds:
        per_sid: dict[str, float] = {}
        for r in group:  # a repair round adds its request to the subtask's time
            sid = worker_sid(r.body) or ""
            per_sid[sid] = per_sid.get(sid, 0.0) + r.finished_at - r.arrived_at
        slowest.append(max(per_sid.values(), default=0.0))
    planner_req = sum(r.finished_at - r.arrived_at for r in plans)
    review_req = sum(r.finished_at - r.arrived_at for r in reviews)
    busy = {"plan": _union([(r.arrived_at, r.finished_at) for r in plans]),
            "execute": sum(_union([(r.arrived_at, r.finished_at) for r in group]) for group in rounds),
            "review": _union([(r.arrived_at, r.finished_at) for r in reviews])}
    tps: dict[str, list[float]] = {PLANNER: [], WORKER: []}
    for r in reqs:
        if r.first_delta_at is not None and r.finished_at > r.first_delta_at and r.model in tps:
            tps[r.model].append(r.output_tokens / (r.finished_at - r.first_delta_at) * scale)
    expected = (0, 0, 0) if cached else (1, 1, 6) if broken else (1, 0, 5)
    if (len(plans), len(reviews), len(workers)) != expected or len(fake.message_requests) != sum(expected):
        problems.append(f"{scenario}: {len(fake.message_requests)} requests (plan {len(plans)}, review "
                        f"{len(reviews)}, workers {len(workers)}), expected {expected}")
    if not result.ok:
        problems.append(f"{scenario}: result not ok: {[o.status for o in result.subtasks]}")
    return Run(scenario, wall, dict(result.phase_seconds), planner_req + sum(slowest) + review_req, busy,
               len(fake.message_requests), planner_req, slowest[0], sum(slowest), review_req,
               [r.finished_at - r.arrived_at for r in rounds[0]],
               min((r.first_delta_at - r.arrived_at for r in plans if r.first_delta_at), default=0.0),
               tps, result.usage_by_model, result.usd_by_model, result.ok,
               [o.status for o in result.subtasks], result.review_rounds, list(TOOLS.calls), problems)
