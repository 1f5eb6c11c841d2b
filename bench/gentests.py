"""gen-tests benchmark: `haiku-lsp gen-tests` on real third-party code (the pinned `inflection` wheel from
PyPI), interactive (one at a time, and in parallel) against batch (the Message Batches API), and a re-run
on unchanged code.

Each run is the real entry point in a subprocess with its own cache dir, talking through the real SDK to
the fake Messages API (tests/fakes/), whose upstream answers good tests for most functions and wrong ones
for two (tests/fakes/testgen_upstream.py: one is repaired, one still fails after the repair). The fake
streams at `--tokens-per-second` after `--ttft` like a model; a batch takes `--batch-seconds` to process
(the real API: minutes to hours; results within 24 h). Each generated test really runs in the sandbox.
Token counts are the fake's tokenizer's; dollars come from the price table (Haiku 4.5: in $1 / out $5
per million; batch: half). Nothing here asserts.

    python bench/gentests.py              # every mode, 3 repetitions; writes its section of BENCHMARKS.md
    python bench/gentests.py --quick      # one repetition
    python bench/gentests.py --no-write

The figures land in BENCHMARKS.md between ``<!-- bench:gentests:start -->`` and ``<!-- bench:gentests:end -->``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import MD_PATH, ROOT, header, table, write_section  # bench/ is on sys.path when run

from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.testgen_upstream import upstream
from tests.harness import server_env
from tests.harness.pypi import INFLECTION, pinned_wheel, unpack_package

START, END = "<!-- bench:gentests:start -->", "<!-- bench:gentests:end -->"
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "haiku-lsp-bench" / "pypi"


@dataclass
class Run:
    mode: str
    functions: int
    passed: int
    failed: int
    other: int
    seconds: float
    usd: float
    calls: int  # /v1/messages requests, or requests inside batches
    batches: int

    @property
    def per_minute(self) -> float:
        return self.functions / self.seconds * 60 if self.seconds else float("nan")

    @property
    def pass_rate(self) -> float:
        return self.passed / self.functions if self.functions else float("nan")

    @property
    def usd_per_pass(self) -> float:
        return self.usd / self.passed if self.passed else float("nan")


def workspace(base: Path) -> Path:
    ws = base / "proj"
    unpack_package(pinned_wheel(*INFLECTION, CACHE), ws)
    (ws / "inflection.py").unlink()  # the 0.5.1 wheel ships a stale copy beside the package
    (ws / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    return ws


def run_once(fake: FakeAnthropic, ws: Path, cache: Path, mode: str, args: argparse.Namespace) -> Run:
    extra = {"--batch": ["--batch", "--poll-interval", "0.5"]}.get(mode, [])
    concurrency = "1" if mode == "interactive x1" else str(args.concurrency)
    before_calls = len(fake.message_requests)
    before_batches = len(fake.batches.created)
    # This checkout's server, whatever the interpreter has installed.
    path = os.pathsep.join([str(ROOT / "server"), str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = server_env(fake.base_url, cache, extra={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONPATH": path})
    t0 = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "haiku_lsp", "gen-tests", "inflection", "--json", "-",
                           "--concurrency", concurrency, *extra], cwd=ws, env=env, capture_output=True, text=True,
                          timeout=1800)
    seconds = time.monotonic() - t0
    if done.returncode not in (0, 1):
        raise RuntimeError(f"gen-tests exited {done.returncode}: {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    counts = report["counts"]
    new_batches = fake.batches.created[before_batches:]
    calls = len(fake.message_requests) - before_calls + sum(len(b.requests) for b in new_batches)
    return Run(mode, len(report["functions"]), counts["passed"], counts["failed"],
               counts["skipped"] + counts["error"], seconds, report["usd"], calls, len(new_batches))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of each mode (median reported)")
    parser.add_argument("--no-write", action="store_true", help="print the table, leave BENCHMARKS.md alone")
    parser.add_argument("--concurrency", type=int, default=4, help="--concurrency of the parallel runs")
    parser.add_argument("--ttft", type=float, default=0.5, help="the fake model's time to first token (s)")
    parser.add_argument("--tokens-per-second", type=float, default=150.0, help="the fake model's output speed")
    parser.add_argument("--batch-seconds", type=float, default=10.0, help="how long the fake takes per batch")
    args = parser.parse_args()
    repeat = 1 if args.quick else args.repeat
    t0 = time.monotonic()
    parallel = f"interactive x{args.concurrency}"
    modes = ["interactive x1", parallel, "--batch"]
    load = os.getloadavg()[0]
    results: dict[str, list[Run]] = {m: [] for m in [*modes, "re-run (cached)"]}
    with tempfile.TemporaryDirectory(prefix="bench-gentests-") as tmp, FakeAnthropic() as fake:
        fake.script(upstream(ttft=args.ttft, tokens_per_second=args.tokens_per_second))
        fake.batches.batch_seconds = args.batch_seconds
        ws = workspace(Path(tmp))
        for i in range(repeat):
            for mode in modes:
                cache = Path(tmp) / f"cache-{mode.strip('-').replace(' ', '')}-{i}"
                run = run_once(fake, ws, cache, mode, args)
                results[mode].append(run)
                print(f"{mode:16} {run.functions} functions, {run.passed} passed, {run.seconds:.1f} s, "
                      f"${run.usd:.4f}", flush=True)
                if mode == parallel:
                    again = run_once(fake, ws, cache, mode, args)
                    again.mode = "re-run (cached)"
                    results["re-run (cached)"].append(again)
    elapsed = time.monotonic() - t0

    def median_run(runs: list[Run]) -> Run:
        return sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]

    rows = []
    for mode, runs in results.items():
        r = median_run(runs)
        spread = f" ({min(x.seconds for x in runs):.1f}-{max(x.seconds for x in runs):.1f})" if len(runs) > 1 else ""
        rows.append([mode, r.functions, f"{r.passed} / {r.failed} / {r.other}", f"{r.pass_rate:.0%}",
                     f"{r.seconds:.1f}{spread}", f"{r.per_minute:.1f}", r.calls, r.batches, f"{r.usd:.4f}",
                     f"{r.usd_per_pass:.5f}" if r.passed else "-"])
    head = ["mode", "functions", "passed / failed / other", "pass rate", "wall s (range)", "functions / min",
            "model requests", "batches", "$ total", "$ / passing test"]
    body = table(head, rows)
    print("\n" + body)
    inter, batch = median_run(results[parallel]), median_run(results["--batch"])
    notes = [
        f"Code: `inflection` {INFLECTION[1]} (PyPI wheel), the public functions of `inflection/__init__.py`; every "
        "generated test runs with pytest in the sandbox (a fresh copy of the project per run).",
        f"Fake model: time to first token {args.ttft} s, {args.tokens_per_second:.0f} tokens/s; a batch takes "
        f"{args.batch_seconds:.0f} s here (the real API: minutes to hours), polled every 0.5 s.",
        "The upstream answers one wrong test that the repair fixes and one that stays wrong after the repair: "
        "the pass rate measures that the sandbox catches them, not the model's quality.",
        f"Batch vs interactive (x{args.concurrency}): {batch.usd / inter.usd:.0%} of the price for the same tests; "
        f"{batch.seconds / inter.seconds:.1f}x the wall time here, dominated by the batch processing time. "
        "The re-run on unchanged code is answered from the test cache: no model call for passing tests (the "
        "failing one is asked again: failures are never cached).",
        f"Median of {repeat} run(s) by wall time. Each run is a fresh `gen-tests` process (SDK import included). "
        f"Load average when the benchmark started: {load:.1f} on {len(os.sched_getaffinity(0))} CPUs "
        "(wall times grow with other work on the machine; prices and counts do not).",
    ]
    command = "python bench/gentests.py" + (" --quick" if args.quick else "")
    section = "\n".join([*header(START, "gen-tests: bulk unit tests, interactive vs batch", command, elapsed), "",
                         body, "", *[f"- {n}" for n in notes], END])
    if not args.no_write:
        write_section(MD_PATH, START, END, section)
        print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")


if __name__ == "__main__":
    main()
