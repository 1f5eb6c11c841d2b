"""What bench/refactor.py runs on: the workspace (a 5-function module and its tests), and the fake API's
script for it (the plan, each worker's answer, the review), with the simulated models' latencies."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.fakes.anthropic_api import Reply, count_tokens

PLANNER, WORKER = "claude-sonnet-4-6", "claude-haiku-4-5"
PLAN_TTFT, PLAN_TPS = 1.8, 60.0
WORKER_TTFT, WORKER_TPS = 0.9, 100.0
CHUNK_CHARS = 32


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
