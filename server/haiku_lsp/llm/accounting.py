"""Tokens and dollars: usage per call priced per model, totals per model, an optional budget cap.

Prices are USD per million tokens. Cache writes cost 1.25x input and cache reads 0.1x input unless
the table gives them explicitly. Unknown models are priced as the fast tier would be, so a typo in a
model id cannot make calls look free.

The table (and a `prices` override) holds the standard price. A call through the Message Batches API
costs `BATCH_DISCOUNT` (0.5) of it, every token kind alike: the batch discount stacks with the prompt
caching multipliers, as Anthropic bills them (a batch cache read costs 0.5 x 0.1 x input).
`cost_usd(usage, prices, batch=True)` and `Ledger.record(..., batch=True)` apply it; there is no
separate batch column to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

PRICES: dict[str, dict[str, float]] = {
    "claude-haiku-4-5": {"input": 1.0, "output": 5.0},
    "claude-sonnet-4-5": {"input": 3.0, "output": 15.0},
    "claude-sonnet-4-6": {"input": 3.0, "output": 15.0},
}
FALLBACK_MODEL = "claude-haiku-4-5"
BATCH_DISCOUNT = 0.5  # the Message Batches API: half the standard price of every token kind


@dataclass(frozen=True)
class Usage:
    """Tokens of one call. `input` excludes cache writes and reads, as the API reports it."""

    model: str
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0

    @property
    def prompt_tokens(self) -> int:
        return self.input + self.cache_write + self.cache_read


def price_of(model: str, overrides: dict[str, dict[str, float]] | None = None) -> dict[str, float]:
    table = {**PRICES, **(overrides or {})}
    base = table.get(model)
    if base is None:
        # Dated ids ("claude-haiku-4-5-20251001") price as their family.
        base = next((p for m, p in table.items() if model.startswith(m)), table[FALLBACK_MODEL])
    price = {"input": base.get("input", 0.0), "output": base.get("output", 0.0)}
    price["cache_write"] = base.get("cache_write", price["input"] * 1.25)
    price["cache_read"] = base.get("cache_read", price["input"] * 0.1)
    return price


def cost_usd(usage: Usage, overrides: dict[str, dict[str, float]] | None = None, *, batch: bool = False) -> float:
    """USD of `usage` at the table's price (with `overrides`); `batch`: through the Message Batches API."""
    p = price_of(usage.model, overrides)
    return (
        usage.input * p["input"]
        + usage.output * p["output"]
        + usage.cache_write * p["cache_write"]
        + usage.cache_read * p["cache_read"]
    ) / 1_000_000 * (BATCH_DISCOUNT if batch else 1.0)


@dataclass
class ModelTotals:
    calls: int = 0
    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_read: int = 0
    usd: float = 0.0


def _nothing_spent() -> float:
    return 0.0


@dataclass
class Ledger:
    """Running totals of this process per model and feature, and the two caps: `budget_usd` for this
    session, `daily_budget_usd` for the day of every server sharing the cache dir (`spent_today` reads
    that; see llm/usage.py). A cap of 0 means none."""

    budget_usd: float = 0.0
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    by_model: dict[str, ModelTotals] = field(default_factory=dict)
    by_feature: dict[str, float] = field(default_factory=dict)
    daily_budget_usd: float = 0.0
    spent_today: Callable[[], float] = _nothing_spent

    def record(self, usage: Usage, feature: str = "inline", *, batch: bool = False) -> float:
        usd = cost_usd(usage, self.prices, batch=batch)
        t = self.by_model.setdefault(usage.model, ModelTotals())
        t.calls += 1
        t.input += usage.input
        t.output += usage.output
        t.cache_write += usage.cache_write
        t.cache_read += usage.cache_read
        t.usd += usd
        self.by_feature[feature] = self.by_feature.get(feature, 0.0) + usd
        return usd

    @property
    def total_usd(self) -> float:
        return sum(t.usd for t in self.by_model.values())

    def over_budget(self) -> bool:
        return self.budget_problem() is not None

    def budget_problem(self) -> str | None:
        """Why no model call may be made now (a cap is reached), for people; None when calls may go."""
        if self.budget_usd > 0 and self.total_usd >= self.budget_usd:
            return (f"the session budget of ${self.budget_usd:.2f} is used up (${self.total_usd:.4f} spent); "
                    "model features pause until budgetUsd is raised; offline suggestions, ruff fixes, "
                    "tests and explanations keep working")
        if self.daily_budget_usd > 0 and (today := self.spent_today()) >= self.daily_budget_usd:
            return (f"the daily budget of ${self.daily_budget_usd:.2f} is used up (${today:.4f} spent today by "
                    "every haiku-lsp server of this user); model features pause until local midnight or until "
                    "dailyBudgetUsd is raised; offline suggestions, ruff fixes, tests and explanations keep working")
        return None
