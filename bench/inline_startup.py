"""bench/inline.py, section 5 (run first, on a quiet machine): time from spawn to the `initialize`
answer, haiku-lsp against a bare pygls server and the interpreter alone; RSS right after initialize (for
section 6)."""

from __future__ import annotations

import asyncio
import random
import sys
import time
from typing import Any

from _common import med, met, ms, pct, table  # bench/ is on sys.path when run
from inline_common import Bench


async def startup(bench: Bench) -> dict[str, list[float]]:
    print(f"[startup] {bench.cfg.spawns} spawns each of haiku-lsp, bare pygls, python -c pass", flush=True)
    times: dict[str, list[float]] = {"haiku": [], "bare": [], "python": []}
    rss: dict[str, list[float]] = {"haiku": [], "bare": []}
    for i in range(bench.cfg.spawns + 1):
        order = ["haiku", "bare", "python"]
        random.Random(i).shuffle(order)
        for kind in order:
            if kind == "python":
                t0 = time.monotonic()
                proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass",
                                                            env=bench.env("py"))
                await proc.wait()
                elapsed = time.monotonic() - t0
            else:
                if kind == "haiku":
                    lsp = bench.haiku(f"startup-{i}", f"s{i}")
                else:
                    lsp = bench.bare_server(f"b{i}")
                await lsp.start(bench.ws, initialized=False)
                elapsed = lsp.initialized_at - lsp.spawned_at
                if i:
                    rss[kind].append(lsp.rss())
                await lsp.kill()  # only the start is measured here
                bench.started.remove(lsp)
            if i:  # the first round warms the OS page cache: not counted
                times[kind].append(elapsed)
    h, b = med(times["haiku"]), med(times["bare"])
    ratio = h / b
    best = min(times["haiku"]) / min(times["bare"])

    def row(label: str, kind: str) -> list[Any]:
        values = times[kind]
        return [label, ms(med(values)), ms(pct(values, 95)), ms(min(values)), f"{med(values) / b:.2f}x"]

    rows = [
        row("bare pygls server (bench/bare_server.py), baseline", "bare") + ["", ""],
        row("haiku-lsp (`python -m haiku_lsp`)", "haiku") + ["<= 1.2x (median)", met(ratio <= 1.2)],
        row("Python interpreter alone (`python -c pass`), reference", "python") + ["", ""],
    ]
    bench.report.goal(5, "time to `initialize`, haiku-lsp / bare pygls (medians)", f"{ratio:.2f}x",
                      f"bare pygls {ms(b)} ms", "<= 1.2x", ratio <= 1.2)
    bench.report.add(
        "5. Time to `initialize` (spawn -> initialize response)",
        f"{len(times['haiku'])} spawns each, interleaved in shuffled order (one unmeasured round "
        f"first); no `initialized` sent, the process is killed after the response. Ratio of the "
        f"fastest starts (least disturbed by other load): {best:.2f}x.\n\n"
        + table(["Server", "median ms", "p95 ms", "min ms", "vs bare (median)", "Target", "Met"], rows))
    return rss
