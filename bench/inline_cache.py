"""bench/inline.py, section 2: cache hits (disk, after a restart on the same cache directory; memory,
after reopening) next to the no-op, same-request and typed-ahead round trips measured in section 1."""

from __future__ import annotations

import asyncio

from _common import med, met, ms, pct, table  # bench/ is on sys.path when run
from inline_common import ANSWER, CURSOR_PREFIX, Bench, Interleaved, Lsp, decoder_document


async def cache_hits(bench: Bench, s1: Interleaved) -> Lsp:
    """Restart on the `ctx` cache dir: disk hits, then memory hits, for the states of section 1; returns
    the restarted server (sections 3 and 4 go on with it)."""
    n = min(bench.cfg.disk_hits, bench.cfg.iterations)
    print(f"[cache] restart on the same cache dir, {n} disk hits + {n} memory hits", flush=True)
    lsp = bench.haiku("ctx", "ctx2")
    await lsp.start(bench.ws, {"debounceMs": 0, "debounceMinMs": 0, "debounceMaxMs": 0})
    # First the SDK import (needed by section 3), so that it does not run during the timings; the
    # memory cache holds nothing of the decoder states after the restart.
    await bench.first_completion(lsp, (bench.ws / "scratch.py").as_uri())
    await asyncio.sleep(0.5)
    lines, cursor = decoder_document()
    uri = (bench.ws / "decoder.py").as_uri()
    col = len(CURSOR_PREFIX)
    disk: list[float] = []
    memory: list[float] = []
    wrong: list[str] = []
    misses = {"disk": 0, "memory": 0}
    context_changed = 0

    async def hit(kind: str, i: int, samples: list[float]) -> None:
        nonlocal context_changed
        before = len(bench.fake.message_requests)
        # A no-op round trip first, so the didOpen/didChange just sent is processed and the timing
        # below is the cache hit itself (the no-op baseline row shows what a round trip costs).
        await lsp.complete(uri, 10**6, 0)
        sent, answered, texts = await lsp.complete(uri, cursor, col)
        recs = bench.new_requests(before)
        if recs:  # not a cache hit: the prompt differs from the one answered before
            misses[kind] += 1
            old = s1.auto_bodies.get(i)
            context_changed += old is not None and old.get("system") != recs[0].body.get("system")
        elif texts != [ANSWER]:
            wrong.append(f"{kind} {i}: {texts!r}")
        elif i >= 0:
            samples.append(answered - sent)

    lsp.open(uri, "\n".join(lines))
    for i in range(-3, n):  # -3..-1: states of the warm-up iterations, not counted
        lsp.set_line(uri, cursor - 1, f"            # pass {i} auto")
        await hit("disk", i, disk)
        if i == -1:
            await asyncio.sleep(1.0)  # the jedi resolution the first request started ends
    text = "\n".join(lsp.lines[uri])
    for i in range(n):
        # Reopening forgets the suggestions shown in the document (typed-ahead), not the cache.
        lsp.close(uri)
        lsp.open(uri, text.replace(f"# pass {n - 1} auto", f"# pass {i} auto"))
        await hit("memory", i, memory)
    if misses["disk"] or misses["memory"]:
        bench.report.notes.append(
            f"Section 2: {misses['disk']} of {n + 3} states missed the disk cache after the restart and "
            f"{misses['memory']} of {n} the memory cache (answered upstream, not counted as hits); in "
            f"{context_changed} of them the jedi context block differed from the request that filled "
            "the cache (the context made its time budget in one request and not in the other, so the "
            "cache key changed).")
    if wrong:
        bench.report.notes.append("Unexpected cache answers (samples skipped): " + "; ".join(wrong[:5]))
    base = med(s1.noop)
    rows = [
        ["no-op: inline request outside the document (answered null at once), baseline",
         ms(base), ms(pct(s1.noop, 95)), "", ""],
    ]
    for label, values in (
        ("same request again after a completed one (typed-ahead, nothing typed)", s1.repeat),
        ("typed-ahead: 1-3 characters of the suggestion typed, request per keystroke", s1.typed),
        ("memory cache hit (document reopened, so typed-ahead cannot answer)", memory),
        ("disk cache hit (new server process on the same cache dir)", disk),
    ):
        rows.append([label, ms(med(values)), ms(pct(values, 95)), "< 5 ms median",
                     met(med(values) < 0.005)])
    for label, values in (("typed-ahead round trip, median", s1.typed),
                          ("memory cache hit round trip, median", memory),
                          ("disk cache hit round trip (after a restart), median", disk)):
        bench.report.goal(2, label, f"{ms(med(values))} ms", f"no-op request {ms(base)} ms", "< 5 ms",
                          med(values) < 0.005)
    bench.report.add(
        "2. Cache hit, typed-ahead and no-op round trips",
        f"Samples: no-op {len(s1.noop)}, same request again {len(s1.repeat)}, typed-ahead "
        f"{len(s1.typed)} (these three interleaved with section 1), memory hits {len(memory)}, "
        f"disk hits {len(disk)} (after a restart; cache misses are not counted, see the notes). "
        "Automatic trigger, same document and cursor as section 1. A cache lookup first "
        "rebuilds the prompt (jedi context included), since the key hashes what would be sent.\n\n"
        + table(["Round trip", "median ms", "p95 ms", "Target", "Met"], rows))
    return lsp
