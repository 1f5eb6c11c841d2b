"""End to end: what the model costs. Every call accounted by model and feature (input, output, cache
write and cache read tokens) as the fake API reported it, priced from the table; the `haiku/stats`
request and the `haiku-lsp stats` command over the cache dir; the audit log; the daily budget shared
by the servers of one cache dir, kept across restarts, and the session budget on every path."""

from __future__ import annotations

import asyncio
import datetime
import json
import multiprocessing
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from haiku_lsp.llm import AuditLog, UsageStore
from tests.fakes.anthropic_api import Reply
from tests.harness import end_of, haiku_command, server_env

CALC = '''import math


def add(a, b):
    return a + b


def unused():
    x = 1
    return 2


def root(v):
    return math.sq
'''
UNUSED_X = {"range": {"start": {"line": 8, "character": 4}, "end": {"line": 8, "character": 5}},
            "message": "Local variable `x` is assigned to but never used", "source": "Ruff", "code": "F841"}
TRACEBACK = '''Traceback (most recent call last):
  File "{ws}/calc.py", line 5, in add
    return a + b
TypeError: unsupported operand type(s) for +: 'int' and 'str'
'''
PLAN = {"notes": "One subtask.", "subtasks": [
    {"id": "s1", "title": "Hint add", "target": {"symbols": ["add"], "lines": []},
     "instructions": "Add type hints.", "depends_on": []}]}
WORKER = {"replacement": "def add(a: int, b: int) -> int:\n    return a + b", "imports": [], "notes": "hinted"}
PRICES = {"claude-haiku-4-5": (1.0, 5.0), "claude-sonnet-4-6": (3.0, 15.0)}  # USD per million, in / out
CACHE_USAGE = {"cache_creation_input_tokens": 2000, "cache_read_input_tokens": 30_000}


def script(fake) -> None:
    fake.script(Reply(text=json.dumps(PLAN), usage=CACHE_USAGE), match=lambda b: b["model"] == "claude-sonnet-4-6")
    fake.script(Reply(text=json.dumps(WORKER)), match="Subtask s1:")
    fake.script(Reply(text=json.dumps({"replacement": "def unused():\n    return 2", "explanation": "Removed x."})),
                match=lambda b: "You fix one diagnostic" in json.dumps(b.get("system")))
    fake.script(Reply(text=json.dumps({"summary": "Adds two numbers."})),
                match=lambda b: "hovering over a name" in json.dumps(b.get("system")))
    fake.script(Reply(text="rt(v)", usage=CACHE_USAGE))  # inline


def expected_usd(model: str, usage: dict) -> float:
    price_in, price_out = PRICES[model]
    return (usage["input_tokens"] * price_in + usage["output_tokens"] * price_out
            + usage.get("cache_creation_input_tokens", 0) * price_in * 1.25
            + usage.get("cache_read_input_tokens", 0) * price_in * 0.1) / 1_000_000


async def usage_stats(s) -> dict:
    stats = await s.request("haiku/stats", None)
    assert isinstance(stats, dict)
    return stats


def audit_records(cache: Path) -> list[dict]:
    return [json.loads(line) for line in (cache / "audit" / "audit.jsonl").read_text().splitlines()]


async def test_every_call_is_accounted_by_model_and_feature(start_session, fake_anthropic, workspace, tmp_path):
    script(fake_anthropic)
    s = await start_session(init_options={"hoverBudgetMs": 10_000})
    uri = s.open("calc.py", CALC)
    await s.inline(uri, end_of(CALC, "math.sq"), invoked=True)
    hover = types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=end_of(CALC, "def ad"))
    assert "**Haiku:**" in (await s.client.text_document_hover_async(hover)).contents.value
    assert "**Haiku:**" in (await s.client.text_document_hover_async(hover)).contents.value  # from the cache
    assert (await s.command("haiku.fixDiagnostic", uri, UNUSED_X))["status"] == "applied"
    (workspace / "test_mod.py").write_text("from mod import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n")
    (workspace / "mod.py").write_text("def add(a, b):\n    return a + b\n")  # validated by its own tests
    result = await s.command("haiku.refactorFile", s.open("mod.py", "def add(a, b):\n    return a + b\n"),
                             "add type hints")
    assert result["status"] == "applied" and result["ok"], result

    requests = fake_anthropic.message_requests
    assert [r.model for r in requests].count("claude-sonnet-4-6") == 1 and len(requests) == 5
    stats = await usage_stats(s)
    today = stats["today"]
    assert today["requests"] == 5 and today["outcomes"] in ({"ok": 4, "stopped": 1}, {"ok": 5})
    assert set(today["features"]) == {"inline", "hover", "fix", "refactor"}
    assert today["features"]["refactor"]["calls"] == 2
    for model in PRICES:
        got = today["models"][model]
        sent = [r.usage for r in requests if r.model == model]
        assert got["calls"] == len(sent)
        assert got["input"] == sum(u["input_tokens"] for u in sent)
        assert got["cache_write"] == sum(u.get("cache_creation_input_tokens", 0) for u in sent)
        assert got["cache_read"] == sum(u.get("cache_read_input_tokens", 0) for u in sent)
    sonnet = [r.usage for r in requests if r.model == "claude-sonnet-4-6"][0]
    assert today["models"]["claude-sonnet-4-6"]["output"] == sonnet["output_tokens"]
    assert abs(today["models"]["claude-sonnet-4-6"]["usd"] - expected_usd("claude-sonnet-4-6", sonnet)) < 1e-6
    whole = [r for r in requests if "output_config" in r.body]  # read to the end: output exact too
    assert abs(sum(today["features"][f]["usd"] for f in ("hover", "fix", "refactor"))
               - sum(expected_usd(r.model, r.usage) for r in whole)) < 1e-6
    assert today["tokens"]["cache_read"] == 60_000 and today["tokens"]["cache_write"] == 4000
    assert today["cacheHitRates"]["answers"]["hover"] == 0.5
    assert today["cacheHitRates"]["promptTokensFromCache"] > 0.5
    assert today["validation"]["haiku.fixDiagnostic"] == {"passed": 1, "failed": 0, "passRate": 1.0}
    assert today["validation"]["haiku.refactorFile"]["passed"] == 1
    assert today["inline"]["requests"] >= 1
    assert today["latencyMs"]["all"]["p50"] is not None and today["latencyMs"]["fix"]["p95"] >= 0
    assert stats["last7Days"]["requests"] == 5 and stats["budget"]["exhausted"] is None

    # The audit log: one record per call, the prompt as sent, the answer, usage, cost, latency, outcome.
    cache = tmp_path / "cache"
    records = audit_records(cache)
    assert len(records) == 5
    assert {r["feature"] for r in records} == {"inline", "hover", "fix", "refactor"}
    fix = next(r for r in records if r["feature"] == "fix")
    assert "F841" in json.dumps(fix["prompt"]["messages"]) and "Removed x." in fix["output"]
    assert fix["outcome"] == "ok" and fix["latency_ms"] >= 0 and fix["usd"] > 0 and fix["model"] == "claude-haiku-4-5"
    assert set(fix["usage"]) == {"input", "output", "cache_write", "cache_read"}
    assert stat.S_IMODE((cache / "audit" / "audit.jsonl").stat().st_mode) == 0o600
    assert stat.S_IMODE((cache / "audit").stat().st_mode) == 0o700

    # A price override applies to the next call.
    s.configure({"prices": {"claude-haiku-4-5": {"input": 100, "output": 500}}})
    s.set_line(uri, 14, "    return math.sqr")
    await s.inline(uri, end_of(s.text(uri), "math.sqr"), invoked=True)
    [last] = [r for r in audit_records(cache)[5:]]
    assert last["usd"] >= last["usage"]["input"] * 100 / 1_000_000 > 0

    # The editor's "Show Usage and Cost" shows them too.
    shown = await s.command("haiku.showStats")
    assert shown["usage"]["today"]["requests"] == 6
    assert "Today: 6 model requests" in (cache / "docs" / "stats.md").read_text()

    # `haiku-lsp stats` reads the same store, from outside the server.
    env = server_env("http://127.0.0.1:9", cache, api_key=None)
    out = subprocess.run([sys.executable, "-m", "haiku_lsp", "stats", "--json"], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    cli = json.loads(out)
    assert cli["today"]["requests"] == 6 and cli["today"]["models"]["claude-sonnet-4-6"] == today["models"][
        "claude-sonnet-4-6"]
    text = subprocess.run([sys.executable, "-m", "haiku_lsp", "stats"], env=env, capture_output=True, text=True,
                          timeout=60, check=True).stdout
    assert "Today: 6 model requests" in text and "claude-sonnet-4-6: 1 calls" in text and "p95" in text


async def test_stats_command_without_a_cache_dir_says_so(tmp_path):
    env = {**os.environ, "HAIKU_LSP_CACHE_DIR": str(tmp_path / "never")}
    run = subprocess.run([*haiku_command()[:3], "stats"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "no cache directory" in run.stderr and run.stdout == ""


async def test_the_daily_budget_is_shared_kept_across_restarts_and_offline_still_works(
        start_session, fake_anthropic, workspace, tmp_path):
    # Yesterday's spending does not count today (the budget resets at local midnight).
    usage = tmp_path / "cache" / "usage"
    usage.mkdir(parents=True)
    yesterday = datetime.date.today() - datetime.timedelta(days=1)
    (usage / f"{yesterday.isoformat()}.jsonl").write_text(json.dumps(
        {"t": 0, "kind": "call", "feature": "inline", "model": "claude-haiku-4-5", "usd": 100.0}) + "\n")
    fake_anthropic.script(Reply(text="rt(v)", usage={"input_tokens": 50_000}))  # $0.05 a call
    options = {"dailyBudgetUsd": 0.04}
    a = await start_session(init_options=options)
    b = await start_session(init_options=options)  # another editor window: same cache dir
    ua, ub = a.open("calc.py", CALC), b.open("calc.py", CALC)
    where = end_of(CALC, "math.sq")
    await a.inline(ua, where, invoked=True)
    assert len(fake_anthropic.message_requests) == 1

    # Both servers now refuse to call; offline completions and hovers go on.
    for s, uri in ((a, ua), (b, ub), (b, ub), (b, ub)):
        s.set_line(uri, 14, "    return math.sqr")
        items = (await s.inline(uri, end_of(s.text(uri), "math.sqr"), invoked=True)).items
        assert "t(" in [i.insert_text for i in items]  # jedi's sqrt
        s.set_line(uri, 14, "    return math.sq")
    hover = await b.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=ub), position=end_of(CALC, "def ad")))
    assert "add(a, b)" in hover.contents.value and "Haiku" not in hover.contents.value
    result = await b.command("haiku.fixDiagnostic", ub, UNUSED_X)
    assert result["status"] == "applied" and result["origin"] == "ruff", result  # the offline fix
    assert len(fake_anthropic.message_requests) == 1
    await asyncio.sleep(0.3)
    told = [m.message for m in b.client.messages if "daily budget of $0.04 is used up" in m.message]
    assert len(told) == 1, told  # one message for the episode, not one for the completions and one for the fix
    stats = await usage_stats(b)
    assert "daily budget" in stats["budget"]["exhausted"] and stats["budget"]["spentTodayUsd"] >= 0.05
    assert stats["today"]["usd"] >= 0.05 and stats["last7Days"]["usd"] >= 100

    # A restarted server still knows what was spent today.
    await a.stop()
    c = await start_session(init_options=options)
    uc = c.open("calc.py", CALC)
    await c.inline(uc, where, invoked=True)
    assert len(fake_anthropic.message_requests) == 1
    assert (await usage_stats(c))["budget"]["exhausted"]

    # Raised, the model is back.
    c.configure({"dailyBudgetUsd": 1.0})
    c.set_line(uc, 14, "    return math.sqrt(v) + math.f")
    await c.inline(uc, end_of(c.text(uc), "math.f"), invoked=True)
    assert len(fake_anthropic.message_requests) == 2


# CALC with a doctest in `add` (which the offline test generator turns into a test).
DOCTESTED = CALC.replace("def add(a, b):\n",
                         'def add(a, b):\n    """Add two numbers.\n\n    >>> add(2, 3)\n    5\n    """\n')
X_LINE = DOCTESTED.split("\n").index("    x = 1")
X_RANGE = {"start": {"line": X_LINE, "character": 4}, "end": {"line": X_LINE, "character": 5}}
UNUSED_X_DOCTESTED = {**UNUSED_X, "range": X_RANGE}
PYRIGHT_X = {**UNUSED_X_DOCTESTED, "source": "Pylance", "code": "reportUnusedVariable",
             "message": "Variable \"x\" is not accessed"}


async def wait_for_state(s, state: str) -> dict:
    for _ in range(200):
        if s.statuses and s.statuses[-1]["state"] == state:
            return s.statuses[-1]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {state!r} status: {s.statuses[-1:]}")


async def test_under_a_reached_budget_every_feature_takes_its_offline_path(start_session, fake_anthropic, workspace):
    fake_anthropic.script(Reply(text="rt(v)", usage={"input_tokens": 50_000}), match=lambda b: "output_config" not in b)
    script(fake_anthropic)
    s = await start_session(init_options={"budgetUsd": 0.04, "hoverBudgetMs": 5000})
    (workspace / "calc.py").write_text(DOCTESTED)
    uri = s.open("calc.py", DOCTESTED)
    where = end_of(DOCTESTED, "math.sq")
    await s.inline(uri, where, invoked=True)  # $0.05 and more (the cached prompt): the cap is reached
    n = len(fake_anthropic.message_requests)
    assert n == 1
    assert "session budget of $0.04 is used up" in (await wait_for_state(s, "budget"))["message"]

    # Completions: automatic ones answer nothing, an invoked one jedi's; no error; no context resolved for a
    # prompt that cannot be sent.
    resolutions = (await s.command("haiku.showStats"))["inline"]["jedi_resolutions"]
    s.set_line(uri, X_LINE + 6, "    return math.sqr")
    assert list((await s.inline(uri, end_of(s.text(uri), "math.sqr"))).items) == []
    assert "t(" in [i.insert_text for i in (await s.inline(uri, end_of(s.text(uri), "math.sqr"), invoked=True)).items]
    assert (await s.command("haiku.showStats"))["inline"]["jedi_resolutions"] == resolutions
    s.set_line(uri, X_LINE + 6, "    return math.sq")
    hover = await s.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=end_of(DOCTESTED, "def ad")))
    assert "add(a, b)" in hover.contents.value and "Haiku" not in hover.contents.value

    # The listing still works; the fixes listed are ruff's (a diagnostic ruff cannot fix has none).
    params = types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(start=types.Position(line=X_LINE, character=4), end=types.Position(line=X_LINE, character=4)),
        context=types.CodeActionContext(diagnostics=[types.Diagnostic(
            range=types.Range(start=types.Position(line=X_LINE, character=4),
                              end=types.Position(line=X_LINE, character=5)),
            message=d["message"], source=d["source"], code=d["code"]) for d in (UNUSED_X_DOCTESTED, PYRIGHT_X)]))
    titles = [a.title for a in await s.client.text_document_code_action_async(params)]
    assert "Fix with ruff: Local variable `x` is assigned to but never used" in titles, titles
    assert not any("not accessed" in t or t.startswith("Fix with Haiku") for t in titles), titles
    assert "Generate a unit test for `unused` from its doctests or hypothesis" in titles

    result = await s.command("haiku.fixDiagnostic", uri, UNUSED_X_DOCTESTED)
    assert result["status"] == "applied" and result["origin"] == "ruff", result
    assert (await s.command("haiku.fixDiagnostic", uri, PYRIGHT_X))["status"] == "no-fix"
    result = await s.command("haiku.generateTest", uri, {"line": 3, "character": 4})
    assert result["status"] == "applied" and result["origin"] == "doctest", result
    log = s.open("crash.log", TRACEBACK.format(ws=workspace), language="log")
    result = await s.command("haiku.explainStackTrace", log, {"start": {"line": 1, "character": 0},
                                                               "end": {"line": 1, "character": 0}})
    assert result["status"] == "ok" and result["origin"] == "offline", result
    assert len(fake_anthropic.message_requests) == n
    await asyncio.sleep(0.3)
    told = [m for m in s.client.messages if "session budget of $0.04 is used up" in m.message]
    assert len(told) == 1, [m.message for m in s.client.messages]  # one message for the episode

    # The refactor has no offline path: it says why, and sends nothing.
    result = await s.command("haiku.refactorFile", uri, "add type hints")
    assert result["status"] == "error" and "session budget" in result["message"], result
    assert len(fake_anthropic.message_requests) == n

    # Raised, the model is back (and a fix is Haiku's again); reached again, a new episode is told again.
    s.configure({"budgetUsd": 1.0})
    await wait_for_state(s, "ready")
    titles = [a.title for a in await s.client.text_document_code_action_async(params)]
    assert any(t.startswith("Fix with Haiku: Variable") for t in titles), titles
    s.configure({"budgetUsd": 0.04})
    await wait_for_state(s, "budget")
    await s.inline(uri, end_of(s.text(uri), "math.sq"), invoked=True)
    await asyncio.sleep(0.3)
    told = [m for m in s.client.messages if "session budget of $0.04 is used up" in m.message]
    assert len(told) == 3 and len(fake_anthropic.message_requests) == n, [m.message for m in told]


async def test_two_servers_writing_at_once_lose_no_record(start_session, fake_anthropic, tmp_path):
    fake_anthropic.script(Reply(text="rt(v)", ttft=0.05))
    a, b = await start_session(), await start_session()

    async def complete(s, name: str) -> None:
        text = CALC.replace("math.sq", f"math.sq  # {name}")
        uri = s.open(f"{name}.py", text)
        await s.inline(uri, end_of(text, "math.sq"), invoked=True)

    await asyncio.gather(*(complete(s, f"{tag}{i}") for i in range(6) for s, tag in ((a, "a"), (b, "b"))))
    assert len(fake_anthropic.message_requests) == 12
    assert (await usage_stats(a))["today"]["requests"] == 12
    assert len(audit_records(tmp_path / "cache")) == 12


# Processes writing the store and the audit log at once (servers of one user, through the same code).

def _at_once(target, folder: Path, n: int) -> None:
    """`target(folder, tag, n)` in three processes at once (tags a, b, c); each must end cleanly."""
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded test process
    workers = [ctx.Process(target=target, args=(str(folder), tag, n)) for tag in ("a", "b", "c")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
        assert w.exitcode == 0


def _append_many(folder: str, tag: str, n: int) -> None:
    store = UsageStore(Path(folder))
    for i in range(n):
        store.append({"kind": "call", "feature": tag, "model": "m", "usd": 0.001, "pad": "x" * (i % 300)})


def test_processes_appending_at_once_lose_nothing(tmp_path):
    _at_once(_append_many, tmp_path, 400)
    [records] = UsageStore(tmp_path).read_days(1).values()  # every line whole
    assert len(records) == 1200 and {r["feature"] for r in records} == {"a", "b", "c"}
    assert UsageStore(tmp_path).spent_today() == pytest.approx(1.2)


def _audit_many(folder: str, tag: str, n: int) -> None:
    log = AuditLog(Path(folder), max_bytes=100_000, keep=3)
    for i in range(n):
        log.write({"tag": tag, "i": i, "prompt": "p" * 500})


def test_processes_writing_the_audit_log_at_once_rotate_it_without_breaking_a_line(tmp_path):
    _at_once(_audit_many, tmp_path, 200)
    files = AuditLog(tmp_path, keep=3).files()
    assert len(files) == 4 and all(p.stat().st_size <= 100_000 for p in files)
    records = [json.loads(line) for p in files for line in p.read_text().splitlines()]
    assert len(records) == 600 and {(r["tag"], r["i"]) for r in records} == {
        (tag, i) for tag in "abc" for i in range(200)}


async def test_under_a_reached_budget_hover_still_shows_an_explanation_already_cached(start_session, fake_anthropic,
                                                                                     workspace):
    fake_anthropic.script(Reply(text="rt(v)", usage={"input_tokens": 50_000}), match=lambda b: "output_config" not in b)
    script(fake_anthropic)
    s = await start_session(init_options={"budgetUsd": 0.04, "hoverBudgetMs": 5000})
    (workspace / "calc.py").write_text(DOCTESTED)
    uri = s.open("calc.py", DOCTESTED)

    async def hover(needle: str) -> str:
        result = await s.client.text_document_hover_async(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=end_of(DOCTESTED, needle)))
        return result.contents.value

    assert "**Haiku:** Adds two numbers." in await hover("def ad")  # asked once, within the budget
    await s.inline(uri, end_of(DOCTESTED, "math.sq"), invoked=True)  # the cap is reached
    await wait_for_state(s, "budget")
    n = len(fake_anthropic.message_requests)
    shown = await hover("def ad")
    assert "add(a, b)" in shown and "**Haiku:** Adds two numbers." in shown  # from the cache: no call
    other = await hover("def unus")
    assert "unused" in other and "Haiku" not in other  # not cached: jedi's part only, nothing asked
    await asyncio.sleep(0.3)  # a background fetch would have been sent by now
    assert len(fake_anthropic.message_requests) == n
