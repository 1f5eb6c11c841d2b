"""Prices per model, usage to dollars, and the budget cap."""

from __future__ import annotations

import pytest

from haiku_lsp.llm.accounting import Ledger, Usage, cost_usd, price_of


def test_price_table_and_cache_multipliers():
    p = price_of("claude-haiku-4-5")
    assert p == {"input": 1.0, "output": 5.0, "cache_write": 1.25, "cache_read": pytest.approx(0.1)}
    assert price_of("claude-sonnet-4-6")["output"] == 15.0
    assert price_of("claude-haiku-4-5-20251001")["input"] == 1.0  # dated ids price as their family


def test_cost_of_a_call():
    usage = Usage("claude-haiku-4-5", input=1000, output=200, cache_write=4000, cache_read=10_000)
    assert cost_usd(usage) == pytest.approx((1000 * 1 + 200 * 5 + 4000 * 1.25 + 10_000 * 0.1) / 1e6)


def test_overrides_and_budget():
    ledger = Ledger(budget_usd=0.01, prices={"claude-haiku-4-5": {"input": 10, "output": 50}})
    ledger.record(Usage("claude-haiku-4-5", input=500, output=50))
    assert ledger.total_usd == pytest.approx((500 * 10 + 50 * 50) / 1e6)
    assert not ledger.over_budget()
    ledger.record(Usage("claude-haiku-4-5", input=1000, output=0), feature="action")
    assert ledger.over_budget()
    assert ledger.by_model["claude-haiku-4-5"].calls == 2 and set(ledger.by_feature) == {"inline", "action"}


def test_a_batch_call_costs_half_of_every_token_kind_also_with_overridden_prices():
    usage = Usage("claude-sonnet-4-6", input=1000, output=200, cache_write=4000, cache_read=10_000)
    standard = (1000 * 3 + 200 * 15 + 4000 * 3.75 + 10_000 * 0.3) / 1e6
    assert cost_usd(usage, batch=True) == pytest.approx(standard / 2)
    prices = {"claude-sonnet-4-6": {"input": 6, "output": 30, "cache_read": 1}}
    assert cost_usd(usage, prices, batch=True) == pytest.approx((1000 * 6 + 200 * 30 + 4000 * 7.5 + 10_000) / 1e6 / 2)
    ledger = Ledger(budget_usd=standard)
    ledger.record(usage, "testgen-batch", batch=True)
    assert ledger.total_usd == pytest.approx(standard / 2) and not ledger.over_budget()
