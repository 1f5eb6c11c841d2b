"""Context recall benchmark for haiku-lsp: at call sites of a real package whose callee is defined in another
of its modules, does the prompt of an Invoked inline completion carry the callee's signature -- right after
the file is opened, 1 s after, and once jedi has gone idle?

The package is a pinned PyPI wheel (click 8.1.7, downloaded once with pip into a cache directory and checked
by SHA-256; bench/quality_context_sites.py). `ast` and the package-relative imports give each call site its
callee's defining module; a fixed seeded sample is spread across modules. For each site and condition, a
fresh copy of the package is written into the workspace of one running server (started with the default
settings and an API key, so the model path runs; warmed up first): no module of that copy has been parsed
before. The site's module is opened as the user has it while typing the call (the call's arguments removed,
the brackets kept, the cursor after `(`), an Invoked inline completion is asked (right after didOpen, 1 s
after, or after a request that waits for the server's jedi thread to be idle), and the request the fake
Messages API (tests/fakes/anthropic_api) recorded is read: which definitions the prompt carries, and from
where (bench/quality_context_report.py). The fake answers the call's own arguments (on one line) at once.

    python bench/quality_context.py                  # 120 sites x 3 conditions, ~8 minutes
    python bench/quality_context.py --quick          # 3 sites (a smoke run)
    python bench/quality_context.py --sites 148 --no-write --json out.json

The figures land in BENCHMARKS.md between ``<!-- bench:context:start -->`` and ``<!-- bench:context:end -->``
(not with --quick or --no-write).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import MD_PATH, ROOT, arguments, header, notes_section, write_section  # bench/ is on sys.path when run
from quality import Replies, request_path
from quality_context_report import (
    CONDITIONS,
    END,
    START,
    TARGET,
    Measure,
    forms_table,
    misses,
    model_path,
    reasons_table,
    results_table,
    snippets_of,
    summary,
)
from quality_context_sites import CLICK, Site, fetch, find_sites, sample, unpack
from quality_tasks import CLOSE

from tests.fakes.anthropic_api import FakeAnthropic
from tests.harness import Editor, haiku_command, item_texts, server_env

OPTIONS: dict = {}  # the defaults (contextTimeBudgetMs, maxContextTokens, ...)
SCRATCH = "scratch/barrier.py"


@dataclass
class Config:
    sites: int | None
    conditions: list[str]
    seed: int


class Run:
    """One server, the fake API, the workspace (a copy of the package per measurement)."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.tmp = Path(tempfile.mkdtemp(prefix="haiku-lsp-context-"))
        self.ws = self.tmp / "ws"
        self.ws.mkdir()
        self.package = unpack(fetch(CLICK), CLICK.name, self.tmp / "src")
        self.fake = FakeAnthropic().start()
        self.replies = Replies(tokens_per_second=2000.0)  # the text set for each document, streamed fast
        self.fake.script(self.replies)
        self.lsp = Editor(haiku_command(), server_env(self.fake.base_url, self.tmp / "cache"), name="context")
        self.barriers = 0

    def close(self) -> None:
        self.fake.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def is_project(self, source: str) -> bool:
        return not source.startswith("/") and source.endswith(".py") and (self.ws / source).is_file()

    async def start(self) -> None:
        await self.lsp.start(self.ws, OPTIONS)
        self.lsp.open(SCRATCH, "value = 1\n# 0\n")  # no imports: opening it starts no prefetch
        # Prose, which the server drops: an Invoked request then runs jedi's completions. (An answer of nothing
        # would not: the model said nothing goes there.)
        self.replies.set(SCRATCH, "There is nothing to add here." + CLOSE)
        await self.barrier()  # the SDK import (the first model request waits for it)

    async def barrier(self) -> None:
        """Returns once the server's jedi worker has done what was queued before. The model answers only prose
        here, so the Invoked request falls back to jedi's own completions; those go before queued background
        work (they are urgent), so the worker's own figures are then polled until it is idle."""
        self.barriers += 1
        uri = (self.ws / SCRATCH).as_uri()
        self.lsp.set_line(uri, 1, f"# {self.barriers}")  # a new prompt: no cache, no typed-ahead
        await self.lsp.inline(uri, self.lsp.position(uri, 0, len("value = 1")), invoked=True).wait(120)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            lanes = (await self.lsp.command("haiku.showStats").wait(30))["jedi"]
            if not any(lanes[lane]["busy"] or lanes[lane]["queued"] for lane in ("small", "large")):
                return
            await asyncio.sleep(0.05)

    async def measure(self, site: Site, condition: str, index: int) -> Measure:
        copy = self.ws / condition / f"{index:03d}"
        shutil.copytree(self.package, copy / CLICK.name)
        source = (self.package.parent / site.module).read_text(encoding="utf-8")
        path = f"{condition}/{index:03d}/{site.module}"
        # The call's arguments on one line: a multi-line answer at a mid-line cursor would be dropped, and the
        # request then falls back to jedi's completions (their time is not the model path's latency).
        answer = " ".join(site.arguments(source).split())
        self.replies.set(path, answer + CLOSE)
        await self.barrier()  # the previous measurement's jedi work is not this one's
        since = len(self.fake.message_requests)
        # Opened by URI: the file on disk stays as saved, the editor's buffer holds the call being typed.
        uri = self.lsp.open((copy / site.module).as_uri(), site.document(source))
        wait = CONDITIONS[condition][1]
        if wait is None:
            await self.barrier()
        elif wait:
            await asyncio.sleep(wait)
        pending = self.lsp.inline(uri, self.lsp.position(uri, site.line, site.col), invoked=True)
        result = await pending.wait(120)
        self.lsp.close(uri)
        recs = [r for r in self.fake.message_requests[since:]
                if isinstance(r.body, dict) and request_path(r.body) == path]
        snippets = snippets_of(recs[-1].body, self.is_project) if recs else []
        return Measure(site, condition, path, f"{condition}/{index:03d}/{site.callee.module}", answer,
                       pending.seconds, len(item_texts(result)), len(recs), snippets)


async def run(cfg: Config) -> tuple[list[Measure], int, list[str]]:
    """The measures, how many sites the package has, the notes."""
    bench = Run(cfg)
    notes: list[str] = []
    measures: list[Measure] = []
    try:
        every = find_sites(bench.package)
        absolute = sum(s.form == "absolute" for s in every)
        sites = sample([s for s in every if s.form != "absolute"], cfg.sites, cfg.seed)
        print(f"{len(every)} cross-module call sites in {CLICK.name} {CLICK.version}; {len(sites)} sampled, "
              f"x {len(cfg.conditions)} conditions", flush=True)
        notes.append(f"Left out: the {absolute} sites whose callee is imported as `from {CLICK.name}.m import f` "
                     f"(jedi looks `{CLICK.name}` up on its sys.path, where this interpreter's installed "
                     f"{CLICK.name} comes before the workspace copy: a figure of this layout, not of the server).")
        await bench.start()
        try:
            # Warm-up (not counted): jedi's first inferences in a process are slow.
            await bench.measure(sites[-1], "settled", 999)
            loads = [os.getloadavg()[0]]
            for i, site in enumerate(sites):
                for condition in cfg.conditions:
                    m = await bench.measure(site, condition, i)
                    measures.append(m)
                loads.append(os.getloadavg()[0])
                if (i + 1) % 10 == 0 or i + 1 == len(sites):
                    done = [f"{c} {sum(m.found for m in measures if m.condition == c)}" for c in cfg.conditions]
                    print(f"[{i + 1}/{len(sites)}] found: {', '.join(done)}", flush=True)
        except BaseException:
            print("--- server stderr (last lines) ---\n" + "\n".join(list(bench.lsp.stderr)[-30:]), file=sys.stderr)
            raise
        finally:
            await bench.lsp.stop()
        notes.append(f"1-minute load average during the run: {min(loads):.1f} to {max(loads):.1f} (median "
                     f"{statistics.median(loads):.1f}) on {len(os.sched_getaffinity(0))} CPUs: the figures right after "
                     "opening and 1 s after depend on how much CPU jedi gets; the ceiling hardly does.")
        if bench.fake.errors:
            notes.append("Fake API internal errors: " + "; ".join(bench.fake.errors[:3]))
        empty = sum(not m.answer.strip() for m in measures)
        notes.append(f"Latency is that of the {sum(map(model_path, measures))} of {len(measures)} requests answered "
                     f"by the model path; {empty} asked at calls without arguments (the fake answers nothing, and "
                     "the server offers nothing) and "
                     f"{sum(bool(m.answer.strip()) and not m.items for m in measures)} whose answer the server "
                     "dropped are left out of it.")
        odd = [m for m in measures if m.requests != 1]
        if odd:
            notes.append(f"{len(odd)} measurements without exactly one upstream request (read: the last one).")
    finally:
        bench.close()
    return measures, len(every), notes


def render(measures: list[Measure], total: int, notes: list[str], command: str, elapsed: float) -> str:
    from importlib.metadata import version

    n = len({m.site for m in measures})
    modules = len({m.site.module for m in measures})
    versions = ", ".join(f"{name} {version(name)}" for name in ("pygls", "jedi"))
    lines = [
        *header(START, "Context recall at cross-file call sites (`bench/quality_context.py`)", command, elapsed,
                versions),
        f"- Package: {CLICK.name} {CLICK.version} (the PyPI wheel, pinned by SHA-256), {total} call sites whose "
        f"callee is a def or class of another of its modules, found with `ast` from its package-relative imports; "
        f"{n} in a seeded sample spread over {modules} modules and over callees.",
        "- Each site and condition: a fresh copy of the package in the workspace of one running server (default "
        "settings, an API key: the model path runs; warmed up first), so none of its modules was parsed before; "
        "the site's module opened with the call's arguments removed and the brackets kept (`echo(|)`, as typed "
        "with auto-closed brackets), cursor after `(`; one Invoked inline completion, asked right after didOpen, "
        "1 s after, or after a request that waits until the server's jedi thread is idle (the ceiling: all it "
        "resolves after opening is there). The fake Messages API answers the call's arguments (on one line) "
        "at once.",
        "- Read from the prompt the fake received: the definitions outside the file window, by their `# source` "
        "heads. Signature in the prompt = `def name(` / `class Name` of the callee, headed by the module that "
        "defines it (the workspace copy); a signature of that name = from any source. Tokens: the fake's "
        "tokenizer; project's own = definitions from workspace files; stdlib = standard-library and builtins "
        "modules; library = the rest (installed packages). Latency: the Invoked request, sent to answered, when "
        "the model path answered it (n: how many).",
        "", results_table(measures), "",
        "### By how the callee is named", "", forms_table(measures), "",
        "### Outcomes", "", reasons_table(measures), "",
        "### Missed 1 s after opening (first of them)", "",
        *[f"- {line}" for line in misses(measures, "1s")], "",
    ]
    return "\n".join(lines + notes_section(notes) + [END])


def main() -> None:
    parser = arguments(__doc__, "3 sites (a smoke run); implies --no-write")
    parser.add_argument("--sites", type=int, default=120, help="sites in the seeded sample (default 120)")
    parser.add_argument("--conditions", nargs="+", choices=list(CONDITIONS), default=list(CONDITIONS))
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--json", type=Path, help="write the summary rows and every measure to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    cfg = Config(3 if args.quick else args.sites, args.conditions, args.seed)
    shown = [a for i, a in enumerate(sys.argv[1:]) if a != "--json" and (i == 0 or sys.argv[i] != "--json")]
    command = "python " + " ".join(["bench/quality_context.py", *shown])
    t0 = time.monotonic()
    measures, total, notes = asyncio.run(run(cfg))
    elapsed = time.monotonic() - t0
    for title, text in (("Context recall", results_table(measures)), ("By how the callee is named",
                        forms_table(measures)), ("Outcomes", reasons_table(measures))):
        print(f"\n### {title}\n\n{text}")
    for cond in ("1s", "open"):
        if missed := misses(measures, cond, 5):
            print(f"\nMissed ({CONDITIONS[cond][0]}):\n" + "\n".join(f"- {x}" for x in missed))
    if notes:
        print("\nNotes:\n" + "\n".join(f"- {n}" for n in notes))
    print(f"\nDone in {elapsed:.0f} s.")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary(measures), "sites_total": total, "measures": [
            {"site": f"{m.site.module}:{m.site.line + 1}", "callee": f"{m.site.callee.module}:{m.site.callee.name}",
             "form": m.site.form, "condition": m.condition, "outcome": m.why(), "seconds": m.seconds,
             "requests": m.requests, "items": m.items, "answer": m.answer,
             "context_tokens": m.tokens(), "sources": [s.source for s in m.snippets]} for m in measures]}, indent=1))
    complete = set(args.conditions) == set(CONDITIONS)
    if not (args.no_write or args.quick) and complete:
        write_section(MD_PATH, START, END, render(measures, total, notes, command, elapsed))
        print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")
    elif not (args.no_write or args.quick):
        print(f"Not every condition ran: BENCHMARKS.md left alone (target: >= {TARGET:.0f} % at 1 s).")


if __name__ == "__main__":
    main()
