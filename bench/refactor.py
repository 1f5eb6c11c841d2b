"""Whole-file refactor benchmark for haiku-lsp (`engine/refactor/pipeline.py: run_refactor`).

The engine runs in-process with the real provider (the Anthropic SDK) talking HTTP to the fake Messages
API (tests/fakes/anthropic_api/), which simulates model latency: the planner (Sonnet) 1.8 s to the
first token and 60 output tokens/s, the workers (Haiku) 0.9 s and 100 tokens/s. Every latency is
multiplied by `--scale` (default 0.25) to keep the run short; the figures are given scaled (as measured)
and unscaled (the fake's request time divided by the factor, everything else as measured). Validation
is real: ruff and pytest in a sandboxed copy of a temporary workspace holding a 5-function module and a
test file that imports it. Every run gets a fresh cache, except the cached re-run, which repeats a run on
its cache. Nothing here asserts; it prints tables.

    python bench/refactor.py            # full run, about 2 minutes; rewrites its BENCHMARKS.md section
    python bench/refactor.py --quick    # one repetition
    python bench/refactor.py --no-write # print only

Scenarios, one plan of 5 independent subtasks ("Add type hints", one subtask per function):

- all pass, default concurrency (4), the same with concurrency 1 (workers one after another) and 5;
- one worker's answer compiles but breaks the module's test; the planner's review says "revise" and
  the second answer passes (one review round);
- the cached re-run of the all-pass case (no upstream request expected);
- once, the all-pass case with pytest's plugin autoloading left on (the other runs set
  PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, as the engine's tests do).

The ideal of a run = planner request time + slowest worker request time + review request time (arrival to
last byte, from the fake's own records of that run; a review round adds its review and its slowest
re-run worker). The target (within 1.25x of the ideal for 5 subtasks) is judged on the model phases
(plan + execute + review from `phase_seconds`); the full wall time, validation included, is reported too.

The figures land in BENCHMARKS.md between `<!-- bench:refactor:start -->` and `<!-- bench:refactor:end -->`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import header, med, table, write_section  # bench/ is on sys.path when run

ROOT = Path(__file__).resolve().parents[1]
MD_PATH = ROOT / "BENCHMARKS.md"
START, END = "<!-- bench:refactor:start -->", "<!-- bench:refactor:end -->"
API_KEY = "sk-ant-bench-refactor-0123456789abcdef"

PLANNER, WORKER = "claude-sonnet-4-6", "claude-haiku-4-5"
PLAN_TTFT, PLAN_TPS = 1.8, 60.0
WORKER_TTFT, WORKER_TPS = 0.9, 100.0
CHUNK_CHARS = 32
TARGET = 1.25

# Filled in by main() once the repo root is on sys.path.
FakeAnthropic: Any = None
Reply: Any = None
count_tokens: Any = None


# --------------------------------------------------------------------------------------------------
# The workspace and the script

MODULE = '''"""Stock keeping for a small shop."""

import json


def load_items(path):
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    items = {}
    for row in raw:
        items[row["sku"]] = {"name": row["name"], "qty": int(row["qty"]), "price": float(row["price"])}
    return items


def restock(items, sku, amount):
    if amount <= 0:
        raise ValueError("amount must be positive")
    item = items.get(sku)
    if item is None:
        raise KeyError(sku)
    item["qty"] += amount
    return item["qty"]


def sell(items, sku, amount):
    item = items[sku]
    if item["qty"] < amount:
        raise ValueError(f"only {item['qty']} of {sku} left")
    item["qty"] -= amount
    return round(item["price"] * amount, 2)


def low_stock(items, threshold=5):
    result = []
    for sku, item in items.items():
        if item["qty"] <= threshold:
            result.append(sku)
    return sorted(result)


def total_value(items):
    total = 0.0
    for item in items.values():
        total += item["qty"] * item["price"]
    return round(total, 2)
'''

TESTS = '''import json

import pytest

from inventory import load_items, low_stock, restock, sell, total_value


@pytest.fixture
def items(tmp_path):
    path = tmp_path / "stock.json"
    path.write_text(json.dumps([
        {"sku": "a1", "name": "Apple", "qty": "10", "price": "0.5"},
        {"sku": "b2", "name": "Bread", "qty": "5", "price": "2.25"},
        {"sku": "c3", "name": "Cheese", "qty": "2", "price": "7.8"},
    ]))
    return load_items(path)


def test_load_items(items):
    assert items["b2"] == {"name": "Bread", "qty": 5, "price": 2.25}


def test_restock(items):
    assert restock(items, "c3", 3) == 5
    with pytest.raises(ValueError):
        restock(items, "c3", 0)
    with pytest.raises(KeyError):
        restock(items, "zz", 1)


def test_sell(items):
    assert sell(items, "a1", 4) == 2.0
    assert items["a1"]["qty"] == 6
    with pytest.raises(ValueError):
        sell(items, "c3", 3)


def test_low_stock(items):
    assert low_stock(items) == ["b2", "c3"]
    assert low_stock(items, threshold=2) == ["c3"]


def test_total_value(items):
    assert total_value(items) == 31.85
'''

# sid -> (symbol, title, instructions, replacement, imports, notes)
SUBTASKS: dict[str, tuple[str, str, str, str, list[str], str]] = {
    "s1": ("load_items", "Hint load_items",
           "Add type hints to load_items: `path` is a `str`, the result is "
           "`dict[str, dict[str, Any]]` (sku -> name, qty, price). Annotate `items` the same way. Keep the "
           "parsing, the int/float conversions and the encoding exactly as they are.",
           'def load_items(path: str) -> dict[str, dict[str, Any]]:\n'
           '    with open(path, encoding="utf-8") as f:\n'
           '        raw = json.load(f)\n'
           '    items: dict[str, dict[str, Any]] = {}\n'
           '    for row in raw:\n'
           '        items[row["sku"]] = {"name": row["name"], "qty": int(row["qty"]), "price": float(row["price"])}\n'
           '    return items',
           ["from typing import Any"],
           "Hinted path as str and the result as dict[str, dict[str, Any]]."),
    "s2": ("restock", "Hint restock",
           "Add type hints to restock: `items` is `dict[str, dict[str, Any]]`, `sku` a `str`, `amount` an "
           "`int`, and it returns the new quantity (`int`). Keep both checks and their exception types and "
           "messages unchanged.",
           'def restock(items: dict[str, dict[str, Any]], sku: str, amount: int) -> int:\n'
           '    if amount <= 0:\n'
           '        raise ValueError("amount must be positive")\n'
           '    item = items.get(sku)\n'
           '    if item is None:\n'
           '        raise KeyError(sku)\n'
           '    item["qty"] += amount\n'
           '    return item["qty"]',
           ["from typing import Any"],
           "Hinted the parameters and the int result."),
    "s3": ("sell", "Hint sell",
           "Add type hints to sell: `items` is `dict[str, dict[str, Any]]`, `sku` a `str`, `amount` an `int`; "
           "it returns the price of the sale as a `float`. Keep the stock check, its message and the rounding "
           "to two decimals.",
           'def sell(items: dict[str, dict[str, Any]], sku: str, amount: int) -> float:\n'
           '    item = items[sku]\n'
           '    if item["qty"] < amount:\n'
           '        raise ValueError(f"only {item[\'qty\']} of {sku} left")\n'
           '    item["qty"] -= amount\n'
           '    return round(item["price"] * amount, 2)',
           ["from typing import Any"],
           "Hinted the parameters and the float result."),
    "s4": ("low_stock", "Hint low_stock",
           "Add type hints to low_stock: `items` is `dict[str, dict[str, Any]]`, `threshold` an `int` "
           "(default 5), and it returns a sorted `list[str]` of skus. Annotate `result`. Keep the comparison "
           "(a quantity equal to the threshold counts as low) and the sorting.",
           'def low_stock(items: dict[str, dict[str, Any]], threshold: int = 5) -> list[str]:\n'
           '    result: list[str] = []\n'
           '    for sku, item in items.items():\n'
           '        if item["qty"] <= threshold:\n'
           '            result.append(sku)\n'
           '    return sorted(result)',
           ["from typing import Any"],
           "Hinted the parameters, result and the local list."),
    "s5": ("total_value", "Hint total_value",
           "Add type hints to total_value: `items` is `dict[str, dict[str, Any]]` and it returns the stock "
           "value as a `float`. Keep the accumulation and the rounding to two decimals exactly as they are.",
           'def total_value(items: dict[str, dict[str, Any]]) -> float:\n'
           '    total = 0.0\n'
           '    for item in items.values():\n'
           '        total += item["qty"] * item["price"]\n'
           '    return round(total, 2)',
           ["from typing import Any"],
           "Hinted the parameter and the float result."),
}
BROKEN_SID = "s4"
# Compiles (so the worker's own check passes), but `<` instead of `<=`: test_low_stock fails.
BROKEN_REPLACEMENT = SUBTASKS[BROKEN_SID][3].replace('item["qty"] <= threshold', 'item["qty"] < threshold')
REVISED_INSTRUCTIONS = ("Add type hints to low_stock exactly as before, but keep the comparison `<=`: a quantity "
                        "equal to the threshold is low stock. Change nothing but the annotations.")


def plan_text() -> str:
    subtasks = [{"id": sid, "title": title, "target": {"symbols": [symbol], "lines": []},
                 "instructions": instructions, "depends_on": []}
                for sid, (symbol, title, instructions, *_) in SUBTASKS.items()]
    notes = ("Each public function gets precise hints on its own; the items mapping is typed as "
             "dict[str, dict[str, Any]] everywhere, so the subtasks are independent and run in parallel.")
    return json.dumps({"notes": notes, "subtasks": subtasks}, indent=2)


def worker_text(sid: str, replacement: str | None = None) -> str:
    _, _, _, good, imports, notes = SUBTASKS[sid]
    return json.dumps({"replacement": good if replacement is None else replacement, "imports": imports,
                       "notes": notes})


def review_text() -> str:
    return json.dumps({"decisions": [{
        "id": BROKEN_SID, "verdict": "revise", "instructions": REVISED_INSTRUCTIONS,
        "reason": "The replacement changed `<=` to `<`, so a quantity equal to the threshold is no longer low; "
                  "test_low_stock fails."}]}, indent=2)


def reply(text: str, ttft: float, tps: float, scale: float) -> Any:
    """A streamed reply whose deltas take exactly count_tokens(text) / tps after the first one."""
    pieces = max(1, math.ceil(len(text) / CHUNK_CHARS))
    stream = count_tokens(text) / tps * scale
    return Reply(text=text, ttft=ttft * scale, chunk_chars=CHUNK_CHARS,
                 chunk_delay=stream / (pieces - 1) if pieces > 1 else 0.0)


def system_text(body: dict) -> str:
    return " ".join(block.get("text", "") for block in body.get("system") or [])


def planning(body: dict) -> bool:
    return body["model"] == PLANNER and "You plan" in system_text(body)


def reviewing(body: dict) -> bool:
    return body["model"] == PLANNER and "You review" in system_text(body)


_SUBTASK = re.compile(r"Subtask (\S+):")


def worker_sid(body: dict) -> str | None:
    if body.get("model") != WORKER:
        return None
    m = _SUBTASK.search(json.dumps(body.get("messages")))
    return m.group(1) if m else None


def worker_for(sid: str) -> Callable[[dict], bool]:
    return lambda body: worker_sid(body) == sid


def script(fake: Any, scale: float, *, broken: bool) -> None:
    fake.reset()
    fake.script(reply(plan_text(), PLAN_TTFT, PLAN_TPS, scale), match=planning)
    fake.script(reply(review_text(), PLAN_TTFT, PLAN_TPS, scale), match=reviewing)
    if broken:
        fake.script(reply(worker_text(BROKEN_SID, BROKEN_REPLACEMENT), WORKER_TTFT, WORKER_TPS, scale),
                    match=worker_for(BROKEN_SID), times=1)
    for sid in SUBTASKS:
        fake.script(reply(worker_text(sid), WORKER_TTFT, WORKER_TPS, scale), match=worker_for(sid))


def make_workspace(base: Path) -> Path:
    ws = base / "shop"
    (ws / "tests").mkdir(parents=True)
    (ws / "inventory.py").write_text(MODULE, encoding="utf-8")
    (ws / "tests" / "test_inventory.py").write_text(TESTS, encoding="utf-8")
    return ws


# --------------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------------
# One run

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
    from haiku_lsp.refactor import run_refactor

    if cached:
        fake.reset()  # no script: any request would get the fake's empty default answer, and be counted
    else:
        script(fake, scale, broken=broken)
    TOOLS.calls.clear()
    t0 = time.monotonic()
    result = await run_refactor(provider=provider, cache=cache, text=MODULE, path=ws / "inventory.py", root=ws,
                                instruction="Add type hints", planner_model=PLANNER, worker_model=WORKER,
                                timeout=60, concurrency=concurrency, test_timeout=60, python=sys.executable)
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


# --------------------------------------------------------------------------------------------------
# Tables

def s(x: float) -> str:
    return f"{x:.2f}"


def ratio(x: float) -> str:
    return f"{x:.2f}x"


SCENARIOS = {
    "pass4": "all pass, concurrency 4 (default)",
    "pass1": "all pass, concurrency 1 (workers one after another)",
    "pass5": "all pass, concurrency 5",
    "review": "one worker breaks a test, 1 review round (revise), concurrency 4",
    "cached": "cached re-run of the all-pass case",
    "plugins": "all pass, concurrency 4, pytest plugins autoloaded (once)",
}


def render(runs: dict[str, list[Run]], scale: float, reps: int, command: str, elapsed: float) -> str:
    def m(key: str, fn: Callable[[Run], float]) -> float:
        return med([fn(r) for r in runs.get(key, [])])

    k = scale
    out = [*header(START, "Whole-file refactor (`bench/refactor.py`)", command, elapsed),
           "- `run_refactor` in-process, the real provider (Anthropic SDK) over HTTP to the fake Messages API "
           "(tests/fakes/anthropic_api.py), real ruff and pytest (sandboxed copy of a temporary workspace: a "
           f"{len(MODULE.splitlines())}-line module of 5 functions and a test file importing it). Plan: 5 "
           "independent subtasks (\"Add type hints\", one per function). Simulated latency: planner (Sonnet) "
           f"{PLAN_TTFT} s to first token, {PLAN_TPS:.0f} tokens/s; workers (Haiku) {WORKER_TTFT} s, "
           f"{WORKER_TPS:.0f} tokens/s; every latency **scaled by {k}** to keep the run short. *Unscaled* figures: "
           "the time during which a model request was in flight (union of the fake's arrival..last-byte records) "
           f"divided by {k}, everything else (client work, validation) as measured. Medians of {reps} "
           "repetition(s) after one dropped warm-up run; a fresh cache each run except the cached re-run. "
           "Shared, noisy machine: compare rows within a run.",
           "- **Ideal** = planner request + slowest worker request + review request (0 when nothing fails), "
           "arrival to last byte, from the fake's records of the same run (the review case adds its review and "
           "its re-run worker). **The target (<= 1.25x the ideal, 5 subtasks) is judged on the model phases** = "
           "plan + execute + review of `phase_seconds`, i.e. without the validate phase, which the ideal leaves "
           "out; the full wall time (validation included) is reported next to it.", ""]

    p4 = runs["pass4"]
    model_ratio = m("pass4", lambda r: r.model_phases / r.ideal)
    model_ratio_u = m("pass4", lambda r: r.unscaled(r.model_phases, k) / (r.ideal / k))
    wall_ratio = m("pass4", lambda r: r.wall / r.ideal)
    wall_ratio_u = m("pass4", lambda r: r.unscaled(r.wall, k) / (r.ideal / k))

    def met(x: float) -> str:
        return "yes" if x <= TARGET else "**no**"

    def usd(key: str) -> float:
        return m(key, lambda r: sum(r.usd.values()))

    def used(key: str, model: str, what: str) -> float:
        if what == "usd":
            return m(key, lambda r: r.usd.get(model, 0.0))
        return m(key, lambda r: r.usage.get(model, {}).get(what, 0))

    def calls(key: str, model: str) -> float:
        return used(key, model, "calls")

    summary = [
        ["model phases (plan+execute+review) / ideal, 5 subtasks, concurrency 4 — scaled",
         ratio(model_ratio), f"ideal {s(m('pass4', lambda r: r.ideal))} s", "<= 1.25x", met(model_ratio)],
        ["... unscaled", ratio(model_ratio_u), f"ideal {s(m('pass4', lambda r: r.ideal / k))} s", "<= 1.25x",
         met(model_ratio_u)],
        ["full wall time (validation included) / ideal — scaled", ratio(wall_ratio),
         f"wall {s(m('pass4', lambda r: r.wall))} s", "(info)", ""],
        ["... unscaled", ratio(wall_ratio_u), f"wall {s(m('pass4', lambda r: r.unscaled(r.wall, k)))} s",
         "(info)", ""],
        ["validation's share of the gap (wall − ideal), unscaled / scaled",
         f"{m('pass4', lambda r: r.phases['validate'] / (r.unscaled(r.wall, k) - r.ideal / k)):.0%} / "
         f"{m('pass4', lambda r: r.phases['validate'] / (r.wall - r.ideal)):.0%}",
         f"validate phase {s(m('pass4', lambda r: r.phases['validate']))} s", "(info)", ""],
        ["wall, concurrency 1 / concurrency 4 — unscaled",
         ratio(m("pass1", lambda r: r.unscaled(r.wall, k)) / m("pass4", lambda r: r.unscaled(r.wall, k))),
         f"{s(m('pass1', lambda r: r.unscaled(r.wall, k)))} s vs {s(m('pass4', lambda r: r.unscaled(r.wall, k)))} s",
         "", ""],
        ["planner calls per refactor: all pass / one review round",
         f"{calls('pass4', PLANNER):.0f} / {calls('review', PLANNER):.0f}", "", "", ""],
        ["dollars per refactor: all pass / one review round",
         f"${usd('pass4'):.4f} / ${usd('review'):.4f}", "", "", ""],
        ["cached re-run: upstream requests, wall", f"{m('cached', lambda r: r.requests):.0f}, "
         f"{s(m('cached', lambda r: r.wall))} s", "", "0 requests",
         "yes" if m("cached", lambda r: r.requests) == 0 else "**no**"],
    ]
    out += ["### Summary", "", table(["Measure", "Figure", "Reference", "Target", "Met"], summary), ""]

    order = [key for key in SCENARIOS if runs.get(key)]
    rows = []
    for key in order:
        rs = runs[key]
        rows.append([SCENARIOS[key], str(len(rs)), s(m(key, lambda r: r.wall)), s(m(key, lambda r: r.phases["plan"])),
                     s(m(key, lambda r: r.phases["execute"])), s(m(key, lambda r: r.phases["validate"])),
                     s(m(key, lambda r: r.phases["review"])), s(m(key, lambda r: r.other)),
                     s(m(key, lambda r: r.ideal)) if key != "cached" else "—",
                     ratio(m(key, lambda r: r.model_phases / r.ideal)) if key != "cached" else "—",
                     ratio(m(key, lambda r: r.wall / r.ideal)) if key != "cached" else "—",
                     f"{m(key, lambda r: r.requests):.0f}"])
    out += [f"### Wall time by phase, scaled (latencies x {k}; medians, seconds)", "",
            table(["scenario", "runs", "wall", "plan", "execute", "validate", "review", "other", "ideal",
                   "model phases / ideal", "wall / ideal", "requests"], rows), "",
            "*other* = wall minus the four phases (merging, the summary and the diff after the last validation).", ""]
    if warm := runs.get("warmup"):
        w = warm[0]
        out += [f"The first run in the process (the dropped warm-up, all pass, concurrency 4) took {s(w.wall)} s: "
                f"its plan phase exceeded its planner request by {s(w.phases['plan'] - w.busy['plan'])} s (later "
                f"runs: {s(m('pass4', lambda r: r.phases['plan'] - r.busy['plan']))} s): the provider's first call "
                "imports the SDK (the server starts that import in the background at start-up), makes the client "
                f"and the first connection; and its validate phase took {s(w.phases['validate'])} s.",
                ""]

    rows = []
    for key in order:
        if key == "cached":
            continue
        rows.append([SCENARIOS[key], s(m(key, lambda r: r.unscaled(r.wall, k))),
                     s(m(key, lambda r: r.unscaled(r.model_phases, k))), s(m(key, lambda r: r.phases["validate"])),
                     s(m(key, lambda r: r.ideal / k)),
                     ratio(m(key, lambda r: r.unscaled(r.model_phases, k) / (r.ideal / k))),
                     ratio(m(key, lambda r: r.unscaled(r.wall, k) / (r.ideal / k)))])
    out += ["### Unscaled (real model latencies; seconds)", "",
            table(["scenario", "wall", "model phases", "validate", "ideal", "model phases / ideal",
                   "wall / ideal (incl. validation)"], rows), ""]

    def gap_rows(key: str, scaled: bool) -> list[list[str]]:
        f = 1.0 if scaled else 1 / k
        parts: list[tuple[str, Callable[[Run], float]]] = [
            ("plan phase − planner request (client side: prompt, HTTP, parsing, plan check, cache)",
             lambda r: r.phases["plan"] - r.busy["plan"]),
            ("worker request time beyond the slowest worker (the 5th worker waits for one of the 4 slots)",
             lambda r: (r.busy["execute"] - r.slowest_sum) * f),
            ("execute phase − worker request time (client side: prompts, compile checks, applying edits)",
             lambda r: r.phases["execute"] - r.busy["execute"]),
            ("review phase − review request (client side)", lambda r: r.phases["review"] - r.busy["review"]),
            ("validate phase (ruff, pytest, compile)", lambda r: r.phases["validate"]),
            ("other (after the phases: result, summary, diff)", lambda r: r.other),
        ]
        total = m(key, lambda r: r.unscaled(r.wall, 1 / f) - r.ideal * f)
        rows = [[name, s(value := m(key, fn)), f"{value / total:.0%}" if total else ""] for name, fn in parts]
        rows.append(["**wall − ideal** (medians of each row; the parts of one run add up exactly)", s(total),
                     "100%"])
        return rows

    out += ["### Where the gap to the ideal goes (all pass, concurrency 4; medians, seconds)", "",
            "Scaled:", "", table(["part", "seconds", "share of the gap"], gap_rows("pass4", True)), "",
            "Unscaled:", "", table(["part", "seconds", "share of the gap"], gap_rows("pass4", False)), "",
            "With 5 subtasks and the default bound of 4 workers, the 5th worker starts only when a slot frees up, "
            "so execute ≈ 2 worker requests instead of 1; the *concurrency 5* row shows the same run without "
            "that wait.", ""]

    rows = []
    for key in order:
        rows.append([SCENARIOS[key], s(m(key, lambda r: r.phases["validate"])),
                     f"{m(key, lambda r: sum(1 for n, _ in r.tools if n == 'pytest')):.0f}",
                     s(m(key, lambda r: sum(d for n, d in r.tools if n == "pytest"))),
                     f"{m(key, lambda r: sum(1 for n, _ in r.tools if n == 'ruff')):.0f}",
                     s(m(key, lambda r: sum(d for n, d in r.tools if n == "ruff"))),
                     f"{m(key, lambda r: 1000 * sum(d for n, d in r.tools if n == 'compile')):.1f}"])
    out += ["### Validation (medians; tool times are per-call sums, ruff and pytest run concurrently)", "",
            table(["scenario", "validate phase s", "pytest runs", "pytest s", "ruff runs", "ruff s",
                   "compile ms"], rows), "",
            "pytest runs in the review case: the merged text (fails), the original (the baseline, run only after a "
            "failure), each of the 5 changed subtasks alone (the failing assertion is in the test file, so the "
            "traceback names no line of the module and the culprit is found by isolation, at most `concurrency` "
            "runs at a time), and the merged text after the revision. ruff: the original once, then each "
            "validation. The other runs set PYTEST_DISABLE_PLUGIN_AUTOLOAD=1; with this venv's plugins "
            "(pytest-asyncio, pytest-lsp, hypothesis, pytest-timeout...) autoloaded, one pytest run costs the "
            "difference shown in the *plugins autoloaded* row.", ""]

    rows = []
    for key in order:
        for model in (PLANNER, WORKER):
            rows.append([SCENARIOS[key], model, f"{used(key, model, 'calls'):.0f}", f"{used(key, model, 'input'):.0f}",
                         f"{used(key, model, 'output'):.0f}", f"${used(key, model, 'usd'):.4f}"])
        rows.append([SCENARIOS[key], "**total**", "", "", "", f"**${usd(key):.4f}**"])
    out += ["### Model calls and cost per refactor (`usage_by_model`, `usd_by_model`; medians)", "",
            table(["scenario", "model", "calls", "input tokens", "output tokens", "USD"], rows), "",
            "Tokens are the fake API's count (a BPE-like stand-in for the real tokenizer); prices are the built-in "
            "list prices (Sonnet $3/$15, Haiku $1/$5 per million input/output tokens).", ""]

    rows = [
        ["planner request (plan), arrival to last byte", s(m("pass4", lambda r: r.planner_req)),
         s(m("pass4", lambda r: r.planner_req / k))],
        ["planner time to first token", s(m("pass4", lambda r: r.planner_ttft)),
         s(m("pass4", lambda r: r.planner_ttft / k))],
        ["worker request, median of the 5", s(med([x for r in p4 for x in r.worker_reqs])),
         s(med([x for r in p4 for x in r.worker_reqs]) / k)],
        ["slowest worker request", s(m("pass4", lambda r: r.slowest_worker)),
         s(m("pass4", lambda r: r.slowest_worker / k))],
        ["review request (review case)", s(m("review", lambda r: r.review_req)),
         s(m("review", lambda r: r.review_req / k))],
    ]
    eff = [f"planner {med([x for r in p4 for x in r.tokens_per_s[PLANNER]]):.0f} tokens/s",
           f"workers {med([x for r in p4 for x in r.tokens_per_s[WORKER]]):.0f} tokens/s"]
    out += ["### The simulated model calls (all pass, concurrency 4; from the fake's records)", "",
            table(["request", "scaled s", "unscaled s"], rows), "",
            f"Effective streaming rate after the first token, unscaled: {', '.join(eff)}.", ""]

    problems = [p for rs in runs.values() for r in rs for p in r.problems]
    out += ["**Problems:** " + "; ".join(sorted(set(problems))) if problems else
            "Every run ended `ok` with the expected requests (plan 1, workers 5; review case: plan 1, review 1, "
            "workers 6; cached re-run: none).", ""]
    out.append(END)
    return "\n".join(out)


# --------------------------------------------------------------------------------------------------
# Main

async def bench(reps: int, scale: float, work: Path) -> dict[str, list[Run]]:
    from haiku_lsp.llm.anthropic import AnthropicProvider
    from haiku_lsp.llm.cache import Cache

    fake = FakeAnthropic().start()
    os.environ.update({"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": API_KEY,
                       "HAIKU_LSP_CACHE_DIR": str(work / "haiku-cache"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    os.environ.pop("ANTHROPIC_AUTH_TOKEN", None)
    provider = AnthropicProvider()
    ws = make_workspace(work)
    runs: dict[str, list[Run]] = {}
    counter = 0

    def fresh() -> Any:
        nonlocal counter
        counter += 1
        return Cache(work / f"cache-{counter}")

    async def go(key: str, **kwargs: Any) -> Run:
        cache = kwargs.pop("cache", None) or fresh()
        r = await one_run(key, fake, provider, ws, cache, scale=scale, **kwargs)
        print(f"  {key:8} wall {r.wall:6.2f} s  plan {r.phases['plan']:.2f}  execute {r.phases['execute']:.2f}  "
              f"validate {r.phases['validate']:.2f}  review {r.phases['review']:.2f}  ideal {r.ideal:.2f}  "
              f"requests {r.requests}" + (f"  PROBLEMS {r.problems}" if r.problems else ""), flush=True)
        return r

    try:
        print("warm-up (dropped from the medians)", flush=True)
        runs["warmup"] = [await go("pass4", concurrency=4)]
        for rep in range(reps):
            print(f"repetition {rep + 1}/{reps}", flush=True)
            cache = fresh()
            runs.setdefault("pass4", []).append(await go("pass4", concurrency=4, cache=cache))
            runs.setdefault("cached", []).append(await go("cached", concurrency=4, cache=cache, cached=True))
            runs.setdefault("pass1", []).append(await go("pass1", concurrency=1))
            runs.setdefault("pass5", []).append(await go("pass5", concurrency=5))
            runs.setdefault("review", []).append(await go("review", concurrency=4, broken=True))
        os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        print("pytest plugins autoloaded", flush=True)
        runs["plugins"] = [await go("plugins", concurrency=4)]
    finally:
        await provider.aclose()
        fake.stop()
    return runs


def main() -> None:
    global FakeAnthropic, Reply, count_tokens
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition instead of 3")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--scale", type=float, default=0.25, help="factor applied to every simulated latency")
    args = parser.parse_args()
    for p in (str(ROOT / "server"), str(ROOT)):
        if p not in sys.path:
            sys.path.insert(0, p)
    from tests.fakes import anthropic_api

    FakeAnthropic, Reply, count_tokens = anthropic_api.FakeAnthropic, anthropic_api.Reply, anthropic_api.count_tokens
    instrument_validation()
    reps = 1 if args.quick else 3
    command = "python bench/refactor.py" + (" --quick" if args.quick else "") + (
        f" --scale {args.scale:g}" if args.scale != 0.25 else "")
    work = Path(tempfile.mkdtemp(prefix="haiku-bench-refactor-"))
    t0 = time.monotonic()
    try:
        runs = asyncio.run(bench(reps, args.scale, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - t0
    section = render(runs, args.scale, reps, command, elapsed)
    print("\n" + section, flush=True)
    print(f"\nDone in {elapsed:.0f} s.", flush=True)
    if args.no_write:
        return
    write_section(MD_PATH, START, END, section)
    print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")


if __name__ == "__main__":
    main()
