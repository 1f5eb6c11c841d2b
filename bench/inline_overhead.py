"""bench/inline.py, section 1: the server's overhead over a bare SDK streaming call (the same body, from
its own process), interleaved; with it, the no-op, same-request and typed-ahead round trips of section 2."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from _common import med, met, ms, pct, table  # bench/ is on sys.path when run
from inline_common import ANSWER, CURSOR_PREFIX, BareClient, Bench, Interleaved, decoder_document

from tests.fakes.anthropic_api import Reply


async def overhead(bench: Bench) -> Interleaved:
    """Section 1; returns what it measured for section 2."""
    n = bench.cfg.iterations
    print(f"[overhead] {n} iterations x (bare SDK, 4 haiku-lsp variants, no-op, typed-ahead)", flush=True)
    fast = {"debounceMs": 0, "debounceMinMs": 0, "debounceMaxMs": 0}
    servers = {
        "ctx": bench.haiku("ctx", "ctx"),  # default settings (jedi context on), no debounce
        "noctx": bench.haiku("noctx", "noctx"),  # jedi context off: maxContextTokens 0
    }
    options = {"ctx": fast, "noctx": {**fast, "maxContextTokens": 0}}
    await asyncio.gather(*(s.start(bench.ws, options[k]) for k, s in servers.items()))
    bare = BareClient(bench.base_env)
    await bare.start()
    lines, cursor = decoder_document()
    uri = (bench.ws / "decoder.py").as_uri()
    scratch = (bench.ws / "scratch.py").as_uri()
    warm = await asyncio.gather(*(bench.first_completion(s, scratch) for s in servers.values()))
    print(f"  first completion after initialize (waits for the SDK import): "
          f"{', '.join(ms(w) + ' ms' for w in warm)}", flush=True)
    for s in servers.values():
        s.open(uri, "\n".join(lines))
    reply = Reply(text=ANSWER, ttft=0.0, chunk_chars=4, chunk_delay=0.002)
    bench.holder.reply = reply
    col = len(CURSOR_PREFIX)

    variants = [("ctx", True), ("ctx", False), ("noctx", True), ("noctx", False)]
    lsp_rt: dict[tuple[str, bool], list[float]] = {v: [] for v in variants}
    lsp_pre: dict[tuple[str, bool], list[float]] = {v: [] for v in variants}
    lsp_post: dict[tuple[str, bool], list[float]] = {v: [] for v in variants}
    bare_rt: list[float] = []
    diffs: dict[tuple[str, bool], list[float]] = {v: [] for v in variants}
    bare_pre: list[float] = []
    bare_post: list[float] = []
    noop: list[float] = []
    repeat: list[float] = []
    typed: list[float] = []
    wrong: list[str] = []
    last_body: dict | None = None
    auto_bodies: dict[int, dict] = {}  # iteration -> body of ctx/auto (for section 2)
    warmup = 3
    ctx = servers["ctx"]
    for i in range(-warmup, n):
        jobs: list[Any] = [("bare", None), *variants, ("noop", None)]
        random.Random(1000 + i).shuffle(jobs)
        row: dict[Any, float] = {}
        for job in jobs:
            if job[0] == "bare":
                if last_body is None:
                    continue
                before = len(bench.fake.message_requests)
                answer = await bare.stream(last_body)
                [rec] = bench.new_requests(before)
                row["bare"] = answer["t1"] - answer["t0"]
                if i >= 0:
                    bare_pre.append(rec.arrived_at - answer["t0"])
                    bare_post.append(answer["t1"] - rec.finished_at)
            elif job[0] == "noop":
                sent, answered, texts = await ctx.complete(uri, 99_999, 0)
                if i >= 0:
                    noop.append(answered - sent)
            else:
                name, invoked = job
                lsp = servers[name]
                how = "invoked" if invoked else "auto"
                lsp.set_line(uri, cursor - 1, f"            # pass {i} {how}")
                before = len(bench.fake.message_requests)
                sent, answered, texts = await lsp.complete(uri, cursor, col, invoked)
                recs = bench.new_requests(before)
                if not texts or texts[0] != ANSWER or len(recs) != 1:
                    wrong.append(f"{name}/{how}: {texts!r}, {len(recs)} upstream")
                    continue
                rec = recs[0]
                row[job] = answered - sent
                if i >= 0:
                    lsp_pre[job].append(rec.arrived_at - sent)
                    lsp_post[job].append(answered - rec.finished_at)
                if name == "ctx" and invoked:
                    last_body = rec.body
                if name == "ctx" and not invoked:
                    auto_bodies[i] = rec.body
                if name == "ctx" and not invoked and i >= 0:
                    # The same spot again (answered by typed-ahead with nothing typed), then 1-3
                    # characters of the suggestion typed, each followed by a request.
                    sent, answered, texts = await lsp.complete(uri, cursor, col)
                    repeat.append(answered - sent)
                    for k in range(1, 4):
                        lsp.type(uri, cursor, col + k - 1, ANSWER[k - 1])
                        sent, answered, texts = await lsp.complete(uri, cursor, col + k)
                        if texts != [ANSWER[k:]]:
                            wrong.append(f"typed-ahead {k}: {texts!r}")
                        typed.append(answered - sent)
                    lsp.set_line(uri, cursor, CURSOR_PREFIX)
        if i >= 0 and "bare" in row:
            bare_rt.append(row["bare"])
            for v in variants:
                if v in row:
                    lsp_rt[v].append(row[v])
                    row[("diff", v)] = row[v] - row["bare"]
        for v in variants:
            if ("diff", v) in row:
                diffs[v].append(row[("diff", v)])
    await bare.stop()
    if wrong:
        bench.report.notes.append("Unexpected answers in section 1/2 (samples skipped): "
                                  + "; ".join(wrong[:5]))

    labels = {("ctx", True): "Invoked, default settings",
              ("ctx", False): "Automatic (debounce 0), default settings",
              ("noctx", True): "Invoked, jedi context off (`maxContextTokens: 0`)",
              ("noctx", False): "Automatic (debounce 0), jedi context off"}
    rows = [["bare SDK stream (`AsyncAnthropic().messages.create(stream=True)`), baseline",
             ms(med(bare_rt)), ms(pct(bare_rt, 95)), "", ""]]
    for v in variants:
        d = diffs[v]
        rows.append([f"haiku-lsp round trip, {labels[v]}", ms(med(lsp_rt[v])), ms(pct(lsp_rt[v], 95)),
                     "", ""])
        rows.append([f"**overhead** (paired difference), {labels[v]}", ms(med(d)), ms(pct(d, 95)),
                     "< 5 ms median", met(med(d) < 0.005)])
    split = [["bare SDK call", ms(med(bare_pre)), ms(med(bare_post))]]
    split += [[f"haiku-lsp, {labels[v]}", ms(med(lsp_pre[v])), ms(med(lsp_post[v]))] for v in variants]
    d = diffs[("ctx", True)]
    bench.report.goal(1, "server overhead over a bare SDK stream (Invoked, default settings), median",
                      f"{ms(med(d))} ms", f"bare SDK call {ms(med(bare_rt))} ms", "< 5 ms", med(d) < 0.005)
    d = diffs[("noctx", False)]
    bench.report.goal(1, "... the same, Automatic with debounce 0 and jedi context off (no jedi at all)",
                      f"{ms(med(d))} ms", f"bare SDK call {ms(med(bare_rt))} ms", "< 5 ms", med(d) < 0.005)
    bench.report.add(
        "1. Server overhead over a bare SDK streaming call",
        f"{len(bare_rt)} interleaved iterations (shuffled order each, 3 warm-up iterations dropped), "
        f"same fake, same scripted one-line reply ({ANSWER!r}: ttft 0, 4 characters a chunk, "
        "2 ms between chunks). The LSP request edits a comment line above the cursor first, so neither "
        "the cache nor typed-ahead answers; the cursor is mid-identifier in `json/decoder.py` (356 "
        "lines). The bare call replays the exact body haiku-lsp sent one iteration earlier, from its "
        "own process (bench/bare_client.py). Overhead = LSP round trip - bare call of the same "
        "iteration.\n\n"
        + table(["Measure", "median ms", "p95 ms", "Target", "Met"], rows)
        + "\n\nWhere the time goes (medians, ms; from the fake's arrival / end-of-stream timestamps, "
        "same monotonic clock): *before* = request sent -> request at the API; *after* = last event "
        "sent by the API -> answer received.\n\n"
        + table(["Path", "before ms", "after ms"], split))

    for s in servers.values():
        await bench.stop(s)
    return Interleaved(noop=noop, repeat=repeat, typed=typed, auto_bodies=auto_bodies)
