"""The usage store (shared by processes, by day), the audit log (mode, rotation, the key scrubbed), the
guard every model call passes (budgets, redaction, accounting) and the stats figures."""

from __future__ import annotations

import asyncio
import datetime
import json
import stat
import time

import pytest

from haiku_lsp.errors import BudgetExceeded
from haiku_lsp.llm import AuditLog, GuardedProvider, Ledger, ModelRequest, Usage, UsageStore, usage_stats
from haiku_lsp.llm.provider import Completion
from haiku_lsp.llm.stats import percentile, summarise
from haiku_lsp.privacy import looks_random, redact


def test_today_is_read_incrementally_and_half_lines_wait(tmp_path):
    store = UsageStore(tmp_path)
    store.append({"kind": "call", "usd": 0.5})
    assert store.spent_today() == pytest.approx(0.5)
    other = UsageStore(tmp_path)  # another server
    other.append({"kind": "call", "usd": 0.25})
    other.append({"kind": "counts", "cache": {"inline": {"hits": 3}}})
    with open(store.path(datetime.date.today()), "ab") as f:
        f.write(b'{"kind": "call", "usd": 9')  # a line still being written
    assert store.spent_today() == pytest.approx(0.75)
    with open(store.path(datetime.date.today()), "ab") as f:
        f.write(b'}\n')
    assert store.spent_today() == pytest.approx(9.75)


def test_todays_totals_for_the_status_read_each_record_once(tmp_path, monkeypatch):
    """The status asks twice a second: re-reading the whole day (a record per call) each time made every look
    cost more than the last, and its bursts of parsed records fragmented the server's memory."""
    from haiku_lsp.llm import usage as usage_module

    parsed = []
    real = usage_module._parse
    monkeypatch.setattr(usage_module, "_parse", lambda data: [parsed.append(r) or r for r in real(data)])
    store, other = UsageStore(tmp_path), UsageStore(tmp_path)
    for i in range(50):
        (store if i % 2 else other).append({"kind": "call", "usd": 0.01, "input": 10, "cache_read": 5, "output": 2})
        store.append({"kind": "counts", "inline": {"requests": 1}})
        totals = store.today_totals()
    assert totals == {"usd": pytest.approx(0.5), "calls": 50, "inputTokens": 750, "outputTokens": 100}
    assert len(parsed) == 100 and store.spent_today() == pytest.approx(0.5)


def test_a_new_day_starts_from_nothing_and_old_days_are_dropped(tmp_path):
    store = UsageStore(tmp_path)
    yesterday = time.time() - 86_400
    store.append({"t": yesterday, "kind": "call", "usd": 5.0})
    assert store.spent_today() == 0.0
    old = tmp_path / f"{(datetime.date.today() - datetime.timedelta(days=40)).isoformat()}.jsonl"
    old.write_text('{"kind": "call", "usd": 1}\n')
    store.append({"kind": "call", "usd": 0.1})  # the first record of the day prunes
    assert not old.exists()
    days = store.read_days(7)
    assert len(days) == 7 and sum(len(r) for r in days.values()) == 2


def test_the_audit_log_is_private_rotated_and_bounded(tmp_path, monkeypatch):
    key = "sk-ant-api03-secret-key-for-the-test"
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    log = AuditLog(tmp_path / "audit", max_bytes=10_000, keep=2)
    for i in range(100):
        log.write({"i": i, "prompt": "p" * 500, "note": f"the key {key}"})
    files = log.files()
    assert [p.name for p in files] == ["audit.jsonl", "audit.1.jsonl", "audit.2.jsonl"]
    assert sum(p.stat().st_size for p in files) <= 3 * 10_000
    assert stat.S_IMODE((tmp_path / "audit").stat().st_mode) == 0o700
    lines = [json.loads(line) for p in reversed(files) for line in p.read_text().splitlines()]
    assert [r["i"] for r in lines] == list(range(100 - len(lines), 100))  # the newest kept, in order
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        assert key not in p.read_text() and "<API_KEY>" in p.read_text()


def test_an_audit_log_turned_off_writes_nothing(tmp_path):
    log = AuditLog(tmp_path / "audit", enabled=False)
    log.write({"x": 1})
    assert not (tmp_path / "audit").exists()


def test_redaction_is_idempotent_and_key_values_need_to_look_random():
    text = ('API_KEY = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345"\n'
            'STRIPE_KEY = "rk_live_51HxQ2kLmN8pZt3RvW9yB"\n'
            'sort_key = "last_name_then_first_name"\n'
            "client_secret: 'cs-61f0e4d2b8a7c9e3'\n"
            'SLACK = "xoxb-2048113377-7f3kQ9zLw2Xv"\n')
    once, n = redact(text)
    assert n == 4 and redact(once) == (once, 0)
    assert 'sort_key = "last_name_then_first_name"' in once and "<REDACTED:KEY>" in once
    assert 'API_KEY = "<REDACTED:ANTHROPIC_KEY>"' in once
    assert looks_random("9f8e7d6c5b4a39281706") and not looks_random("user_id_column_name")


class _Provider:
    def __init__(self) -> None:
        self.ledger = Ledger()
        self.sent: list[ModelRequest] = []

    @property
    def available(self) -> bool:
        return True

    async def ready(self) -> None:
        return None

    def stream(self, request, *, timeout, inline=True, feature="inline"):  # not used here
        raise NotImplementedError

    async def complete(self, request, *, timeout, feature="action", retries=True) -> Completion:
        self.sent.append(request)
        usage = Usage(request.model, 1000, 100, 2000, 4000)
        self.ledger.record(usage, feature)
        return Completion("answer", None, "end_turn", usage)


def test_the_guard_redacts_accounts_and_stops_at_the_daily_budget(tmp_path):
    inner = _Provider()
    store, audit = UsageStore(tmp_path / "usage"), AuditLog(tmp_path / "audit")
    guard = GuardedProvider(inner, store, audit)
    secret = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"
    request = ModelRequest("claude-haiku-4-5", ({"role": "user", "content": [{"type": "text", "text": secret}]},),
                           64, ({"type": "text", "text": f"token = '{secret}'"},))
    asyncio.run(guard.complete(request, timeout=5, feature="fix"))
    [sent] = inner.sent
    assert secret not in json.dumps(sent.payload()) and "<REDACTED:GITHUB_TOKEN>" in json.dumps(sent.payload())
    usd = (1000 * 1 + 100 * 5 + 2000 * 1.25 + 4000 * 0.1) / 1e6
    assert store.spent_today() == pytest.approx(usd)
    [record] = [json.loads(line) for line in audit.path.read_text().splitlines()]
    assert record["feature"] == "fix" and record["usage"]["cache_read"] == 4000 and record["outcome"] == "ok"
    assert secret not in audit.path.read_text()

    inner.ledger.daily_budget_usd = usd  # reached: nothing more goes out
    with pytest.raises(BudgetExceeded, match="daily budget"):
        asyncio.run(guard.complete(request, timeout=5, feature="fix"))
    assert len(inner.sent) == 1
    inner.ledger.daily_budget_usd, inner.ledger.budget_usd = 0, usd
    with pytest.raises(BudgetExceeded, match="session budget"):
        asyncio.run(guard.complete(request, timeout=5, feature="fix"))


def test_figures_of_a_period():
    calls = [{"kind": "call", "feature": "inline", "model": "h", "input": 10, "output": 2, "cache_write": 0,
              "cache_read": 90, "usd": 0.01, "ms": ms, "outcome": "ok"} for ms in range(1, 101)]
    calls.append({"kind": "call", "feature": "fix", "model": "s", "input": 5, "usd": 0.5, "ms": 9, "outcome": "auth"})
    counts = [{"kind": "counts", "cache": {"inline": {"hits": 1, "misses": 3}}, "inline": {"requests": 10,
               "typed_ahead": 2}, "validation": {"haiku.fixDiagnostic": {"passed": 3, "failed": 1}}}]
    s = summarise(calls + counts)
    assert s["requests"] == 101 and s["outcomes"] == {"ok": 100, "auth": 1} and s["usd"] == pytest.approx(1.5)
    assert s["latencyMs"]["inline"] == {"p50": 50, "p95": 95} and "fix" not in s["latencyMs"]  # failures apart
    assert s["cacheHitRates"]["answers"] == {"inline": 0.25}
    assert s["cacheHitRates"]["promptTokensFromCache"] == pytest.approx(9000 / 10005, abs=1e-4)
    assert s["inline"]["acceptanceRate"] == 0.2 and s["validation"]["haiku.fixDiagnostic"]["passRate"] == 0.75
    assert s["models"]["h"]["cache_read"] == 9000 and s["features"]["fix"]["calls"] == 1
    assert percentile([], 50) is None


def test_stats_cover_today_and_seven_days(tmp_path):
    store = UsageStore(tmp_path)
    for back in (0, 3, 8):
        store.append({"t": time.time() - back * 86_400, "kind": "call", "model": "m", "feature": "f", "usd": 1.0})
    stats = usage_stats(store)
    assert stats["today"]["usd"] == 1.0 and stats["last7Days"]["usd"] == 2.0 and len(stats["days"]) == 7


def test_with_redaction_off_the_secret_goes_out_but_the_audit_log_keeps_it_redacted(tmp_path):
    inner = _Provider()
    audit = AuditLog(tmp_path / "audit")
    guard = GuardedProvider(inner, UsageStore(tmp_path / "usage"), audit, should_redact=lambda: False)
    secret = "AKIAIOSFODNN7EXAMPLE"
    request = ModelRequest("claude-haiku-4-5", ({"role": "user", "content": f"key = {secret}"},), 64)
    asyncio.run(guard.complete(request, timeout=5, feature="fix"))
    assert secret in json.dumps(inner.sent[0].payload())
    logged = audit.path.read_text()
    assert secret not in logged and "<REDACTED:AWS_KEY>" in logged


def test_the_disk_stores_sqlite_page_cache_is_kept_small(tmp_path):
    """diskcache's default page cache (8,192 pages, 32 MiB a connection) fills as the store grows and stays
    resident: the server's memory grew with every answer written."""
    import contextlib
    import sqlite3

    from haiku_lsp.llm import Cache
    from haiku_lsp.llm.cache import SQLITE_CACHE_PAGES

    cache = Cache(tmp_path)
    cache.set("inline", "k", "v")
    try:
        with contextlib.closing(sqlite3.connect(tmp_path / "store" / "cache.db")) as db:
            [(pages,)] = db.execute("SELECT value FROM Settings WHERE key = 'sqlite_cache_size'").fetchall()
        assert pages == SQLITE_CACHE_PAGES <= 1024
    finally:
        cache.close()
