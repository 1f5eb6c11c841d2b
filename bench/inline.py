"""Inline-completion benchmark for haiku-lsp: latency overhead, cache / typed-ahead round trips, the
upstream requests saved while typing, cancel-to-close, start-up time, memory, prompt size and stalls while
jedi works.

Everything runs locally against the fake Anthropic Messages API (tests/fakes/anthropic_api/), the
real server in a subprocess (``python -m haiku_lsp``) and a plain pygls client (the test harness's
Editor, tests/harness/); baselines (a bare SDK streaming call in its own process, a bare pygls server, a
no-op LSP request) are measured in the same run, interleaved with what they are compared to.
Benchmarks print tables; nothing here asserts.

    python bench/inline.py            # full run, about 2-3 minutes; rewrites its BENCHMARKS.md section
    python bench/inline.py --quick    # fewer samples
    python bench/inline.py --no-write # print only

The figures land in BENCHMARKS.md between ``<!-- bench:inline:start -->`` and ``<!-- bench:inline:end -->``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time

from _common import (  # bench/ is on sys.path when run
    MD_PATH,
    ROOT,
    Report,
    arguments,
    header,
    notes_section,
    table,
    write_section,
)
from inline_cache import cache_hits
from inline_cancel import cancel
from inline_common import END, START, Bench, Config
from inline_memory import memory
from inline_overhead import overhead
from inline_prompt import prompt_tokens
from inline_stall import stalls
from inline_startup import startup
from inline_typing import typing_bursts

# One module per section: inline_startup (5), inline_overhead (1), inline_cache (2), inline_typing (3),
# inline_cancel (4), inline_prompt (7), inline_memory (6), inline_stall (8); what they share is in inline_common.


async def run(bench: Bench) -> Report:
    """The sections in the order they run (5 first, on a quiet machine; 1 feeds 2; 2's restarted server
    serves 3 and 4)."""
    t0 = time.monotonic()

    def lap(name: str) -> None:
        nonlocal t0
        print(f"  ({name}: {time.monotonic() - t0:.1f} s)", flush=True)
        t0 = time.monotonic()

    try:
        init_rss = await startup(bench)
        lap("startup")
        s1 = await overhead(bench)
        lap("overhead")
        lsp = await cache_hits(bench, s1)
        lap("cache")
        await typing_bursts(bench, lsp)
        lap("typing")
        await cancel(bench, lsp)
        await bench.stop(lsp)
        lap("cancel")
        await prompt_tokens(bench)
        lap("prompt")
        await memory(bench, init_rss)
        lap("memory")
        await stalls(bench)
        lap("stall")
    except BaseException:
        for lsp in bench.started:
            if lsp.stderr:
                print(f"--- stderr of {lsp.name} (last lines) ---\n" + "\n".join(lsp.stderr), file=sys.stderr)
        raise
    finally:
        await bench.stop_all()
        bench.fake.stop()
        if bench.fake.errors:
            bench.report.notes.append("Fake API internal errors: " + "; ".join(bench.fake.errors[:3]))
        shutil.rmtree(bench.tmp, ignore_errors=True)
    return bench.report


# --------------------------------------------------------------------------------------------------
# BENCHMARKS.md


def render(report: Report, command: str, elapsed: float) -> str:
    from importlib.metadata import version

    versions = ", ".join(f"{name} {version(name)}" for name in ("anthropic", "pygls", "lsprotocol", "jedi"))
    head = [
        *header(START, "Inline completions (`bench/inline.py`)", command, elapsed, versions),
        "- Everything is local: the real server (`python -m haiku_lsp`) talks HTTP to the fake Messages API "
        "(tests/fakes/anthropic_api/); baselines are measured in the same run. Times are wall-clock "
        "on a shared, noisy machine: compare rows within a run, not across runs.",
        "",
    ]
    summary = sorted(report.summary, key=lambda row: int(row[0]))
    body = ["### Summary", "", table(["§", "Measure", "Figure", "Baseline", "Target", "Met"], summary), ""]
    for title, text in sorted(report.sections, key=lambda s: int(s[0].split(".")[0])):
        body += [f"### {title}", "", text, ""]
    body += notes_section(report.notes)
    return "\n".join(head + body + [END])


def main() -> None:
    parser = arguments(__doc__, "fewer samples (for a smoke run)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if args.quick:
        cfg = Config(quick=True, iterations=12, disk_hits=10, bursts=1, cancels=8, spawns=4, docs=20,
                     prompt_positions=10)
    else:
        cfg = Config(quick=False, iterations=40, disk_hits=30, bursts=3, cancels=20, spawns=10, docs=50,
                     prompt_positions=40)
    command = "python bench/inline.py" + (" --quick" if args.quick else "")
    t0 = time.monotonic()
    report = asyncio.run(run(Bench(cfg)))
    elapsed = time.monotonic() - t0
    section = render(report, command, elapsed)
    summary = sorted(report.summary, key=lambda row: int(row[0]))
    print("\n### Summary\n\n" + table(["§", "Measure", "Figure", "Baseline", "Target", "Met"], summary))
    if report.notes:
        print("\nNotes:\n" + "\n".join(f"- {n}" for n in report.notes))
    print(f"\nDone in {elapsed:.0f} s.")
    if not args.no_write:
        write_section(MD_PATH, START, END, section)
        print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")


if __name__ == "__main__":
    main()
