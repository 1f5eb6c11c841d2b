"""bench/actions.py, section 2: hover, jedi only (the baseline) against a cached explanation, a fresh one
within the budget, one over the budget and the hover after it."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import Report, med, ms, table  # bench/ is on sys.path when run
from actions_common import Config, Holder, Lsp, bench_env, ms_stats, sec, settle
from actions_documents import python_module

from tests.fakes.anthropic_api import Reply

HOVER_SUMMARY = ("Splits the text on whitespace, strips each word, drops empty ones and keeps at most `limit` "
                 "of them; never raises for an empty string.")


def bare_import() -> float:
    """Wall seconds of `python -c "import anthropic"` in a fresh process, minus a bare interpreter start."""
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "import anthropic"], check=False)
    t1 = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=False)
    return (t1 - t0) - (time.monotonic() - t1)


async def hover_section(cfg: Config, fake: Any, holder: Holder, report: Report, work: Path) -> None:
    ws = work / "ws-hover"
    ws.mkdir()
    text, plain = python_module(seed=21)
    lines = text.split("\n")
    lsp = Lsp(bench_env(fake.base_url, work / "cache-hover"))
    await lsp.start(ws)
    uri = (ws / "big.py").as_uri()
    lsp.open(uri, text)
    await settle(lsp, uri)

    def call_site(name: str) -> tuple[int, int]:
        needle = f" = {name}("
        for i, line in enumerate(lines):
            if needle in line:
                return i, line.index(needle) + 3 + len(name) // 2
        raise LookupError(name)

    async def set_explanations(on: bool, budget_ms: int = 600) -> None:
        lsp.configure({"hoverExplanations": on, "hoverBudgetMs": budget_ms})
        await lsp.noop(uri)  # processed in order: the setting is in force for the next request

    fresh = Reply(text=json.dumps({"summary": HOVER_SUMMARY}), ttft=0.2, tokens_per_second=200)
    slow = Reply(text=json.dumps({"summary": HOVER_SUMMARY}), ttft=2.0, tokens_per_second=200)
    base, cached, fresh_rt, fresh_up, fresh_sent, slow_rt, after_rt = [], [], [], [], [], [], []
    problems: list[str] = []
    rng = random.Random(5)
    names = rng.sample(plain, min(len(plain), cfg.hover_rounds + cfg.over_budget + 1))
    try:
        # Warm-up on one symbol, not counted: the session's first explanation waits for the server's
        # background import of the SDK and opens the connection.
        holder.reply = fresh
        line, col = call_site(names[0])
        await set_explanations(True)
        n = len(fake.message_requests)
        t0 = time.monotonic()
        first_rt, value = await lsp.hover_text(uri, line, col)
        [req] = (await fake.wait_for_requests_async(n + 1, timeout=60))[n:]
        await fake.wait_until_closed_async(req, timeout=30)
        first = {"rt": first_rt, "since_start": t0 - lsp.initialized_at, "arrived": req.arrived_at - t0,
                 "had": bool(value and "**Haiku:**" in value)}
        await asyncio.sleep(0.05)
        await lsp.hover_text(uri, line, col)
        for i, name in enumerate(names[1:1 + cfg.hover_rounds]):
            line, col = call_site(name)

            async def baseline(line: int = line, col: int = col, name: str = name) -> None:
                await set_explanations(False)
                rt, value = await lsp.hover_text(uri, line, col)
                base.append(rt)
                if not value or "Haiku" in value:
                    problems.append(f"baseline hover on {name}: {value!r:.80}")

            if i % 2 == 0:
                await baseline()
            await set_explanations(True)
            n = len(fake.message_requests)
            t0 = time.monotonic()
            rt, value = await lsp.hover_text(uri, line, col)
            fresh_rt.append(rt)
            if not value or "**Haiku:**" not in value:
                problems.append(f"fresh hover on {name} without the explanation")
            reqs = fake.message_requests[n:]
            if len(reqs) == 1 and reqs[0].finished_at is not None:
                fresh_up.append(reqs[0].finished_at - reqs[0].arrived_at)
                fresh_sent.append(reqs[0].arrived_at - t0)
            else:
                problems.append(f"fresh hover on {name}: {len(reqs)} upstream requests")
            rt, value = await lsp.hover_text(uri, line, col)
            cached.append(rt)
            if not value or "**Haiku:**" not in value or len(fake.message_requests) != n + 1:
                problems.append(f"cached hover on {name} made a request or lacked the explanation")
            if i % 2 == 1:
                await baseline()

        # Over budget: answered at about the budget without it, fetched in the background.
        holder.reply = slow
        await set_explanations(True)
        for name in names[1 + cfg.hover_rounds:]:
            line, col = call_site(name)
            n = len(fake.message_requests)
            rt, value = await lsp.hover_text(uri, line, col)
            slow_rt.append(rt)
            if value and "**Haiku:**" in value:
                problems.append(f"over-budget hover on {name} had the explanation")
            [req] = (await fake.wait_for_requests_async(n + 1))[n:]
            await fake.wait_until_closed_async(req, timeout=30)
            await asyncio.sleep(0.05)
            rt, value = await lsp.hover_text(uri, line, col)
            after_rt.append(rt)
            if not value or "**Haiku:**" not in value:
                problems.append(f"hover after the background fetch on {name} lacked the explanation")
    finally:
        await lsp.stop()

    import_s = await asyncio.to_thread(bare_import)
    over = [rt - 0.6 for rt in slow_rt]
    rows = [
        ["jedi only (`hoverExplanations: false`)", *ms_stats(base), "—", f"{len(base)} symbols; baseline"],
        ["(a) cached explanation", *ms_stats(cached), f"+{ms(med(cached) - med(base))}",
         "second hover on the same symbol: no upstream request; the extra time is mostly a second jedi pass "
         "(`goto`, to find the definition whose source keys the cache)"],
        ["(b) fresh explanation within the budget", *ms_stats(fresh_rt), f"+{ms(med(fresh_rt) - med(base))}",
         f"fake ttft 0.2 s, 200 tok/s; upstream exchange median {ms(med(fresh_up))} ms, request reached the API "
         f"{ms(med(fresh_sent))} ms after the hover was sent"],
        ["(c) explanation over the budget (600 ms)", *ms_stats(slow_rt), f"+{ms(med(slow_rt) - med(base))}",
         f"fake ttft 2 s; answered without it, median {ms(med(over))} ms past the 600 ms budget (the budget "
         "starts after both jedi passes)"],
        ["(c) next hover, after the background fetch", *ms_stats(after_rt), f"+{ms(med(after_rt) - med(base))}",
         "served from the cache the background fetch filled"],
        ["first explanation of the session (1 sample)", ms(first["rt"]), "—", "—",
         f"hover sent {sec(first['since_start'])} s after `initialized`; answered "
         f"{'with' if first['had'] else 'without'} the explanation; its upstream request left "
         f"{sec(first['arrived'])} s after the hover (the server imports the SDK in the background at start-up; "
         f"baseline: `import anthropic` alone in a fresh process takes {sec(import_s)} s here)"],
    ]
    body = table(["hover", "median ms", "p95 ms", "vs jedi-only median", "notes"], rows)
    body += ("\n\nHover on call sites in `main()` of a generated 2,000-line module (the definitions are in the same "
             "file); `hoverBudgetMs` 600 (the default). The baseline is the same hover with explanations switched "
             "off, interleaved with the others (before on even rounds, after on odd ones). "
             + (f"**Problems:** {'; '.join(problems)}." if problems else
                "Every (b), (a) and next-(c) hover carried the explanation; no (c) hover did."))
    report.add("Hover", body)
