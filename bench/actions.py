"""Code-action, hover and test-generation benchmark for haiku-lsp.

Everything runs locally: the real server in a subprocess (``python -m haiku_lsp --stdio``), a plain pygls
client that answers workspace/applyEdit, window/showMessageRequest, window/showDocument and progress
like an editor, and the fake Anthropic Messages API (tests/fakes/anthropic_api/) with scripted,
simulated model latency. Every figure is shown next to a baseline measured in the same run,
interleaved with it (the machine is shared and noisy). Benchmarks print tables; nothing here asserts.

    python bench/actions.py            # full run, about 2 minutes; rewrites its BENCHMARKS.md section
    python bench/actions.py --quick    # fewer samples
    python bench/actions.py --no-write # print only

Sections:

1. ``textDocument/codeAction`` listing on a 2,000-line Python module and a 2,000-line log with a
   traceback near its end: first request after open, same version, after an edit; baseline: a no-op
   request (hover outside the document). Listing must make no upstream request.
2. Hover: jedi only (baseline, ``hoverExplanations: false``), cached explanation, fresh explanation
   within the budget, explanation over the budget (and the hover after it).
3. ``haiku.generateTest``: wall time split into model / pytest / overhead; the cached repeat; the offline
   doctest path; baseline: the same test file run by a bare ``python -m pytest``.

The figures land in BENCHMARKS.md between ``<!-- bench:actions:start -->`` and ``<!-- bench:actions:end -->``.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from _common import MD_PATH, ROOT, Report, arguments, header, write_section  # bench/ is on sys.path when run
from actions_common import END, START, Config, Holder
from actions_hover import hover_section
from actions_listing import listing_section
from actions_testgen import testgen_section

from tests.fakes.anthropic_api import FakeAnthropic

# One module per section: actions_listing (1), actions_hover (2), actions_testgen (3); the documents they
# work on are generated in actions_documents, what they share is in actions_common.


def render(report: Report, command: str, elapsed: float) -> str:
    out = [*header(START, "Code actions and hover (`bench/actions.py`)", command, elapsed),
           "- Everything is local: the real server (`python -m haiku_lsp --stdio`) driven by a plain pygls client "
           "with VS Code's capabilities (it applies edits, answers message requests and progress), talking HTTP to "
           "the fake Messages API (tests/fakes/anthropic_api/) with simulated model latency. Medians and 95th "
           "percentiles; every baseline is measured in the same run, interleaved with what it is compared to. "
           "Shared, noisy 2-core machine: compare rows within a run, not across runs.", ""]
    for title, body in report.sections:
        out += [f"### {title}", "", body, ""]
    out.append(END)
    return "\n".join(out)


async def run(cfg: Config, report: Report, only: set[str]) -> None:
    fake = FakeAnthropic().start()
    holder = Holder()
    fake.script(holder)
    work = Path(tempfile.mkdtemp(prefix="haiku-bench-actions-"))
    try:
        if "listing" in only:
            await listing_section(cfg, fake, report, work)
        if "hover" in only:
            await hover_section(cfg, fake, holder, report, work)
        if "testgen" in only:
            await testgen_section(cfg, fake, holder, report, work)
    finally:
        fake.stop()
        shutil.rmtree(work, ignore_errors=True)
        if fake.errors:
            print("fake API internal errors:\n" + "\n".join(fake.errors), flush=True)


def main() -> None:
    parser = arguments(__doc__, "fewer samples (about 1 minute)")
    parser.add_argument("--only", choices=["listing", "hover", "testgen"], action="append",
                        help="run only these sections (implies --no-write)")
    args = parser.parse_args()
    if args.quick:
        cfg = Config(quick=True, positions=60, cold=4, edits=10, hover_rounds=4, over_budget=2, testgen=1, offline=1)
    else:
        cfg = Config(quick=False, positions=200, cold=8, edits=40, hover_rounds=12, over_budget=5, testgen=4,
                     offline=3)
    command = "python bench/actions.py" + (" --quick" if args.quick else "")
    report = Report()
    t0 = time.monotonic()
    asyncio.run(run(cfg, report, set(args.only or ["listing", "hover", "testgen"])))
    elapsed = time.monotonic() - t0
    print(f"\nDone in {elapsed:.0f} s.", flush=True)
    if args.no_write or args.only:
        return
    write_section(MD_PATH, START, END, render(report, command, elapsed))
    print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")


if __name__ == "__main__":
    main()
