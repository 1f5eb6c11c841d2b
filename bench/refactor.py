"""Whole-file refactor benchmark for haiku-lsp (`engine/refactor/pipeline.py: run_refactor`).

The engine runs in-process with the real provider (the Anthropic SDK) talking HTTP to the fake Messages
API (tests/fakes/anthropic_api/), which simulates model latency: the planner (Sonnet) 1.8 s to the
first token and 60 output tokens/s, the workers (Haiku) 0.9 s and 100 tokens/s. Every latency is
multiplied by `--scale` (default 0.25) to keep the run short; the figures are given scaled (as measured)
and unscaled (the fake's request time divided by the factor, everything else as measured). Validation
is real: ruff and pytest in a sandboxed copy of a temporary workspace holding a 5-function module and a
test file that imports it. Every run gets a fresh cache, except the cached re-run, which repeats a run on
its cache. Nothing here asserts; it prints tables.

    python bench/refactor.py            # full run, about 2 minutes; rewrites its BENCHMARKS.md section
    python bench/refactor.py --quick    # one repetition
    python bench/refactor.py --no-write # print only

Scenarios, one plan of 5 independent subtasks ("Add type hints", one subtask per function):

- all pass, default concurrency (4), the same with concurrency 1 (workers one after another) and 5;
- one worker's answer compiles but breaks the module's test; the planner's review says "revise" and
  the second answer passes (one review round);
- the cached re-run of the all-pass case (no upstream request expected);
- once, the all-pass case with pytest's plugin autoloading left on (the other runs set
  PYTEST_DISABLE_PLUGIN_AUTOLOAD=1, as the engine's tests do).

The ideal of a run = planner request time + slowest worker request time + review request time (arrival to
last byte, from the fake's own records of that run; a review round adds its review and its slowest
re-run worker). The target (within 1.25x of the ideal for 5 subtasks) is judged on the model phases
(plan + execute + review from `phase_seconds`); the full wall time, validation included, is reported too.

The figures land in BENCHMARKS.md between `<!-- bench:refactor:start -->` and `<!-- bench:refactor:end -->`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import MD_PATH, ROOT, arguments, write_section  # bench/ is on sys.path when run
from refactor_report import END, START, render
from refactor_run import Run, instrument_validation, one_run
from refactor_script import make_workspace

from tests.fakes.anthropic_api import FakeAnthropic

API_KEY = "sk-ant-bench-refactor-0123456789abcdef"

# The modules: refactor_script (the workspace and the fake's script), refactor_run (one timed run),
# refactor_report (the BENCHMARKS.md section).


async def bench(reps: int, scale: float, work: Path) -> dict[str, list[Run]]:
    from haiku_lsp.llm.anthropic import AnthropicProvider
    from haiku_lsp.llm.cache import Cache

    fake = FakeAnthropic().start()
    os.environ.update({"ANTHROPIC_BASE_URL": fake.base_url, "ANTHROPIC_API_KEY": API_KEY,
                       "HAIKU_LSP_CACHE_DIR": str(work / "haiku-cache"), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    os.environ.pop("ANTHROPIC_AUTH_TOKEN", None)
    provider = AnthropicProvider()
    ws = make_workspace(work)
    runs: dict[str, list[Run]] = {}
    counter = 0

    def fresh() -> Any:
        nonlocal counter
        counter += 1
        return Cache(work / f"cache-{counter}")

    async def go(key: str, **kwargs: Any) -> Run:
        cache = kwargs.pop("cache", None) or fresh()
        r = await one_run(key, fake, provider, ws, cache, scale=scale, **kwargs)
        print(f"  {key:8} wall {r.wall:6.2f} s  plan {r.phases['plan']:.2f}  execute {r.phases['execute']:.2f}  "
              f"validate {r.phases['validate']:.2f}  review {r.phases['review']:.2f}  ideal {r.ideal:.2f}  "
              f"requests {r.requests}" + (f"  PROBLEMS {r.problems}" if r.problems else ""), flush=True)
        return r

    try:
        print("warm-up (dropped from the medians)", flush=True)
        runs["warmup"] = [await go("pass4", concurrency=4)]
        for rep in range(reps):
            print(f"repetition {rep + 1}/{reps}", flush=True)
            cache = fresh()
            runs.setdefault("pass4", []).append(await go("pass4", concurrency=4, cache=cache))
            runs.setdefault("cached", []).append(await go("cached", concurrency=4, cache=cache, cached=True))
            runs.setdefault("pass1", []).append(await go("pass1", concurrency=1))
            runs.setdefault("pass5", []).append(await go("pass5", concurrency=5))
            runs.setdefault("review", []).append(await go("review", concurrency=4, broken=True))
        os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
        print("pytest plugins autoloaded", flush=True)
        runs["plugins"] = [await go("plugins", concurrency=4)]
    finally:
        await provider.aclose()
        fake.stop()
    return runs


def main() -> None:
    parser = arguments(__doc__, "one repetition instead of 3")
    parser.add_argument("--scale", type=float, default=0.25, help="factor applied to every simulated latency")
    args = parser.parse_args()
    instrument_validation()
    reps = 1 if args.quick else 3
    command = "python bench/refactor.py" + (" --quick" if args.quick else "") + (
        f" --scale {args.scale:g}" if args.scale != 0.25 else "")
    work = Path(tempfile.mkdtemp(prefix="haiku-bench-refactor-"))
    t0 = time.monotonic()
    try:
        runs = asyncio.run(bench(reps, args.scale, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - t0
    section = render(runs, args.scale, reps, command, elapsed)
    print("\n" + section, flush=True)
    print(f"\nDone in {elapsed:.0f} s.", flush=True)
    if args.no_write:
        return
    write_section(MD_PATH, START, END, section)
    print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")


if __name__ == "__main__":
    main()
