"""bench/actions.py, section 3: `haiku.generateTest`, its wall time split into model, pytest and overhead;
the cached repeat; the offline doctest path; against the same test file run by a bare `python -m pytest`."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import Report, med, ms, pct, table  # bench/ is on sys.path when run
from actions_common import Config, Holder, Lsp, bench_env, sec, settle
from lsprotocol import types

from tests.fakes.anthropic_api import Reply

STATS_HEAD = '"""Small statistics helpers (the benchmark\'s test-generation target)."""\n\n'
STATS_FUNC = '''
def scale_N(values, factor=F):
    """Multiply every value by FACTOR; an empty list stays empty."""
    if factor == 0:
        raise ValueError("factor must not be zero")
    return [v * factor for v in values]
'''

CALC = '''def add(a, b):
    """Return a + b.

    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """
    return a + b
'''


def stats_module(n: int) -> str:
    return STATS_HEAD + "".join("\n" + STATS_FUNC.replace("_N", f"_{i}").replace("FACTOR", str(i + 2))
                                .replace("F", str(i + 2)) for i in range(n))


def generated_test(i: int) -> dict:
    """What the fake model answers for scale_i: a passing 5-test module, about 300 tokens of JSON."""
    f = i + 2
    code = (f"import pytest\n\nfrom stats import scale_{i}\n\n\n"
            f"def test_scale_{i}_multiplies_each_value():\n"
            f"    assert scale_{i}([1, 2, 3]) == [{f}, {2 * f}, {3 * f}]\n\n\n"
            f"def test_scale_{i}_empty_list():\n    assert scale_{i}([]) == []\n\n\n"
            f"def test_scale_{i}_custom_factor():\n    assert scale_{i}([1.5], factor=2) == [3.0]\n\n\n"
            f"def test_scale_{i}_negative_values():\n    assert scale_{i}([-1, 0], factor=3) == [-3, 0]\n\n\n"
            f"def test_scale_{i}_zero_factor_raises():\n    with pytest.raises(ValueError, match=\"zero\"):\n"
            f"        scale_{i}([1], factor=0)\n")
    return {"test_path": "tests/test_stats.py", "code": code, "command": "pytest tests/test_stats.py",
            "notes": f"Covers scaling by the default and a custom factor, empty input and the zero-factor error of "
                     f"scale_{i}."}


def bare_pytest(ws: Path, rel: str, content: str, work: Path) -> float:
    """Baseline: the same test file run by a bare `python -m pytest` (same flags and environment as the
    server's sandbox) in a prepared copy of the workspace; wall seconds."""
    from haiku_lsp.tools import scrubbed_env

    dest = Path(tempfile.mkdtemp(dir=work, prefix="bare-"))
    shutil.copytree(ws, dest, dirs_exist_ok=True)
    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
    (dest / rel).write_text(content, encoding="utf-8")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", rel], cwd=dest,
                          env=scrubbed_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    shutil.rmtree(dest, ignore_errors=True)
    if proc.returncode != 0:
        print(f"bare pytest failed:\n{proc.stdout[-2000:]}", flush=True)
    return elapsed


def edit_text(params: types.ApplyWorkspaceEditParams) -> str:
    out = []
    for change in params.edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            out += [e.new_text for e in change.edits]
    return "".join(out)


async def testgen_section(cfg: Config, fake: Any, holder: Holder, report: Report, work: Path) -> None:
    ws = work / "ws-testgen"
    (ws / "tests").mkdir(parents=True)
    n = cfg.testgen + 1
    source = stats_module(n)
    (ws / "stats.py").write_text(source, encoding="utf-8")
    (ws / "calc.py").write_text(CALC, encoding="utf-8")
    src_lines = source.split("\n")

    def line_of(i: int) -> int:
        return src_lines.index(f"def scale_{i}(values, factor={i + 2}):")

    def answer(body: dict) -> Any:
        text = "\n".join(str(m.get("content")) for m in body.get("messages", []))
        match = re.search(r"Write tests for the \w+ `scale_(\d+)`", text)
        i = int(match.group(1)) if match else 0
        return Reply(text=json.dumps(generated_test(i)), ttft=0.9, tokens_per_second=100)

    holder.reply = answer
    lsp = Lsp(bench_env(fake.base_url, work / "cache-testgen"))
    await lsp.start(ws)
    uri = (ws / "stats.py").as_uri()
    lsp.open(uri, source)
    await settle(lsp, uri)
    samples: list[dict] = []
    problems: list[str] = []
    try:
        for i in range(n):  # sample 0 is the warm-up (first connection, first pytest run)
            pos = {"line": line_of(i), "character": 4}
            k = len(fake.message_requests)
            rt, result = await lsp.run_command("haiku.generateTest", uri, pos)
            reqs = fake.message_requests[k:]
            if result.get("status") != "applied" or result.get("origin") != "model" or len(reqs) != 1:
                problems.append(f"scale_{i}: {result.get('status')} / {result.get('origin')} / {len(reqs)} requests"
                                f" {result.get('message', '')}")
                continue
            timings = result.get("timings") or {}
            upstream = (reqs[0].finished_at or reqs[0].arrived_at) - reqs[0].arrived_at
            k = len(fake.message_requests)
            rt2, again = await lsp.run_command("haiku.generateTest", uri, pos)
            t2 = again.get("timings") or {}
            if again.get("origin") != "cache" or len(fake.message_requests) != k or t2.get("pytest", 0) > 0:
                problems.append(f"scale_{i} repeat: {again.get('origin')}, {len(fake.message_requests) - k} requests, "
                                f"pytest {t2.get('pytest')}")
            bare = await asyncio.to_thread(bare_pytest, ws, "tests/test_stats.py", generated_test(i)["code"], work)
            samples.append({"rt": rt, "model": timings.get("model", 0.0), "pytest": timings.get("pytest", 0.0),
                            "total": timings.get("total", 0.0), "upstream": upstream,
                            "tokens": reqs[0].output_tokens, "cached_rt": rt2, "bare": bare})
    finally:
        await lsp.stop()

    # Offline: no key, the test is written from the doctests of calc.add and run.
    offline: list[dict] = []
    lsp = Lsp(bench_env(fake.base_url, work / "cache-offline", key=False))
    await lsp.start(ws)
    calc = (ws / "calc.py").as_uri()
    lsp.open(calc, CALC)
    await settle(lsp, calc)
    before = len(fake.requests)
    try:
        for _ in range(cfg.offline + 1):
            lsp.applied_edits.clear()
            rt, result = await lsp.run_command("haiku.generateTest", calc, {"line": 0, "character": 4})
            if result.get("status") != "applied" or result.get("origin") != "doctest":
                problems.append(f"offline: {result.get('status')} / {result.get('origin')} {result.get('message', '')}")
                continue
            content = edit_text(lsp.applied_edits[-1]) if lsp.applied_edits else ""
            bare = await asyncio.to_thread(bare_pytest, ws, str(result.get("path", "tests/test_calc.py")), content,
                                           work)
            timings = result.get("timings") or {}
            offline.append({"rt": rt, "pytest": timings.get("pytest", 0.0), "total": timings.get("total", 0.0),
                            "bare": bare, "summary": result.get("summary")})
        if len(fake.requests) != before:
            problems.append(f"offline path made {len(fake.requests) - before} upstream requests")
    finally:
        await lsp.stop()

    first, rest = (samples[0], samples[1:]) if samples else (None, [])
    off_first, off_rest = (offline[0], offline[1:]) if offline else (None, [])

    def col(items: list[dict], key: str, f: Callable[[dict], float] | None = None) -> list[float]:
        return [f(s) if f else s[key] for s in items]

    def overhead(s: dict) -> float:
        return s["rt"] - s["model"] - s["pytest"]

    rows = []
    if rest:
        rows += [
            ["model (server-measured)", sec(med(col(rest, "model"))), sec(pct(col(rest, "model"), 95)),
             sec(med(col(rest, "upstream"))),
             f"baseline: the fake API's own exchange, arrival to last byte (ttft 0.9 s, then the "
             f"{med(col(rest, 'tokens')):.0f}-token answer in 8-character chunks, each paced at 100 tok/s)"],
            ["pytest (server-measured, sandboxed)", sec(med(col(rest, "pytest"))), sec(pct(col(rest, "pytest"), 95)),
             sec(med(col(rest, "bare"))),
             "baseline: the same test file run by a bare `python -m pytest -q` in a ready copy"],
            ["overhead (round trip − model − pytest)", f"{med(col(rest, '', overhead)):.3f}",
             f"{pct(col(rest, '', overhead), 95):.3f}", "—",
             f"of which outside the flow (round trip − flow total): "
             f"{ms(med([s['rt'] - s['total'] for s in rest]))} ms median"],
            ["**total** (`haiku.generateTest` round trip)", sec(med(col(rest, "rt"))), sec(pct(col(rest, "rt"), 95)),
             sec(med([s["upstream"] + s["bare"] for s in rest])), "baseline: upstream exchange + bare pytest"],
            ["same command again (cached)", ms(med(col(rest, "cached_rt"))) + " ms",
             ms(pct(col(rest, "cached_rt"), 95)) + " ms", "—", "no upstream request, no pytest run"],
        ]
    if first:
        rows.append(["first run of the session (warm-up, not in the rows above)", sec(first["rt"]), "—", "—",
                     f"model {sec(first['model'])} s, pytest {sec(first['pytest'])} s"])
    if off_rest:
        rows += [
            ["offline doctest path: pytest", sec(med(col(off_rest, "pytest"))), sec(pct(col(off_rest, "pytest"), 95)),
             sec(med(col(off_rest, "bare"))), f"no key; `calc.add`'s doctests → {off_rest[0]['summary']}"],
            ["offline doctest path: total round trip", sec(med(col(off_rest, "rt"))),
             sec(pct(col(off_rest, "rt"), 95)), "—",
             f"overhead {ms(med([s['rt'] - s['pytest'] for s in off_rest]))} ms median; never cached"
             + (f"; first run {sec(off_first['rt'])} s" if off_first else "")],
        ]
    body = table(["figure", "median s", "p95 s", "baseline median s", "notes"], rows)
    body += (f"\n\n{len(rest)} generations (each for a different function of a small workspace with a `tests/` "
             f"folder, so none is a cache hit), {len(off_rest)} offline runs. Model latency simulated by the fake "
             "API as Haiku: ttft 0.9 s, 100 output tokens/s; the scripted 5-test answer passes. "
             + (f"**Problems:** {'; '.join(problems)}." if problems else
                "Every generation was applied with its pytest result; every repeat came from the cache."))
    report.add("Test generation (`haiku.generateTest`)", body)
