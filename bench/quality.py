"""Completion quality benchmark for haiku-lsp: pass@1 of inline completions on HumanEval infilling, with
the model's answer scripted (perfect, or with the noise models add) so what is measured is what the server
makes of an answer.

For each task the real server (``python -m haiku_lsp``, talking to the fake Messages API of
tests/fakes/anthropic_api/) holds the task's file with the hole removed; an Invoked inline completion is
asked where the hole starts; the fake answers in the prompt's ``<COMPLETION>`` protocol with the task's
canonical middle, as is (``perfect``) or wrapped in fences (``fenced``), after a line of prose
(``prose``), followed by a copy of the code after the hole (``suffix-echo``) or by invented lines
(``run-on``). The first item is applied as an editor applies it and the file is run against the task's
tests in a subprocess. Nothing here asserts.

    python bench/quality.py                  # single-line: all 1,033; multi-line, random-span: 300 each
    python bench/quality.py --quick          # 30 tasks a set, 1-2 minutes
    python bench/quality.py --sample 1000 --variants perfect run-on --no-write

The figures land in BENCHMARKS.md between ``<!-- bench:quality:start -->`` and ``<!-- bench:quality:end -->``
(only when every set and variant ran).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from _common import MD_PATH, ROOT, arguments, header, notes_section, write_section  # bench/ is on sys.path when run
from lsprotocol import types
from quality_report import (
    END,
    START,
    Cell,
    Outcome,
    errors_table,
    examples,
    failures_table,
    modes_table,
    results_table,
    shaper_drop,
    target,
)
from quality_tasks import (
    CLOSE,
    OPEN,
    SAMPLED,
    SETS,
    VARIANTS,
    Hole,
    ProgramRunner,
    Task,
    apply_first,
    hole_of,
    load,
    reply_text,
    sample,
)

from tests.fakes.anthropic_api import FakeAnthropic, RecordedRequest, Reply, count_tokens
from tests.harness import Editor, apply_change, haiku_command, items_of, server_env, text_of

PATH_RE = re.compile(r'<file path="([^"]+)"')
DEFAULT_DATA = ROOT.parent / "shared" / "benchmarks" / "human-eval-infilling"
# Default settings but no jedi context in the prompt: the scripted answers do not read it, and its work
# (one resolution per new document, on the server's one jedi thread) would only queue up and delay the
# jedi fallback of the answers the server drops.
OPTIONS = {"maxContextTokens": 0}


@dataclass
class Config:
    data: Path
    sets: list[str]
    variants: list[str]
    sizes: dict[str, int | None]  # tasks per set (None: all)
    concurrency: int  # completions in flight at once
    tokens_per_second: float  # how fast the fake streams an answer
    test_timeout: float


class Replies:
    """The fake's reply: the answer scripted for the file the request shows (its workspace-relative path),
    streamed at `tokens_per_second`; a continuation of the `<COMPLETION>` prefill when the request has
    one, else with the opening tag."""

    def __init__(self, tokens_per_second: float) -> None:
        self.tps = tokens_per_second
        self.by_path: dict[str, str] = {}  # path -> the text the fake sends (closing tag included)
        self.lock = threading.Lock()

    def set(self, path: str, answer: str) -> None:
        with self.lock:
            self.by_path[path] = answer

    def sent(self, path: str) -> str:
        with self.lock:
            return self.by_path.get(path, "")

    def __call__(self, body: dict) -> Reply:
        messages = body.get("messages") or []
        path = request_path(body)
        with self.lock:
            answer = self.by_path.get(path or "", "pass" + CLOSE)
        prefilled = bool(messages) and messages[-1].get("role") == "assistant"
        return Reply(text=answer if prefilled else OPEN + answer, chunk_chars=8, tokens_per_second=self.tps)


def request_path(body: dict) -> str | None:
    for msg in body.get("messages") or []:
        content = msg.get("content")
        texts = [content] if isinstance(content, str) else [
            b.get("text", "") for b in content or [] if isinstance(b, dict)]
        for text in texts:
            if m := PATH_RE.search(text):
                return m.group(1)
    return None


class Run:
    """One run: the fake API, the workspace, the test runner, the replies scripted."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.tmp = Path(tempfile.mkdtemp(prefix="haiku-lsp-quality-"))
        self.ws = self.tmp / "ws"
        (self.tmp / "tests").mkdir(parents=True)
        self.ws.mkdir()
        self.fake = FakeAnthropic().start()
        self.replies = Replies(cfg.tokens_per_second)
        self.fake.script(self.replies)
        self.runner = ProgramRunner(self.tmp / "tests", workers=2, timeout=cfg.test_timeout)
        self.reference_fails: set[str] = set()
        self.unanswered = 0  # inline requests the server did not answer within 60 s
        self.first_calls: dict[str, int] = {}  # upstream calls per task file before the Tab-again probe

    def close(self) -> None:
        self.runner.close()
        self.fake.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    async def stats(self, lsp: Editor) -> dict:
        """The server's inline-completion counters (haiku.showStats)."""
        result = await lsp.command("haiku.showStats").wait(30)
        inline = result.get("inline", {}) if isinstance(result, dict) else {}
        return {k: v for k, v in inline.items() if isinstance(v, int)}

    async def run_set(self, set_name: str, tasks: list[Task]) -> list[Cell]:
        """One server for the set; its variants one after another (the server's counters read between)."""
        lsp = Editor(haiku_command(), server_env(self.fake.base_url, self.tmp / "cache" / set_name),
                     name=set_name)
        cells = []
        try:
            await lsp.start(self.ws, OPTIONS)
            uri = lsp.open(f"warmup/{set_name}.py", "def f(x):\n    return x\n\n")  # waits for the SDK import
            await lsp.inline(uri, types.Position(line=2, character=0), invoked=True).wait(60)
            lsp.close(uri)
            for variant in self.cfg.variants:
                cells.append(await self.run_cell(lsp, set_name, variant, tasks))
        except BaseException:
            print(f"--- stderr of the {set_name} server (last lines) ---\n" + "\n".join(lsp.stderr), file=sys.stderr)
            raise
        finally:
            await lsp.stop()
        return cells

    async def run_cell(self, lsp: Editor, set_name: str, variant: str, tasks: list[Task]) -> Cell:
        t0 = time.monotonic()
        before = await self.stats(lsp)
        since = len(self.fake.message_requests)
        gate = asyncio.Semaphore(self.cfg.concurrency)

        async def one(task: Task) -> Outcome:
            async with gate:  # the tests run outside it: the next completion need not wait for them
                asked = await self.ask(lsp, task, variant)
            return await self.judge(task, variant, *asked)

        cell = Cell(set_name, variant, list(await asyncio.gather(*(one(t) for t in tasks))))
        after = await self.stats(lsp)
        cell.server_stats = {k: v - before.get(k, 0) for k, v in after.items()}
        await self.account(cell, self.fake.message_requests[since:])
        cell.seconds = time.monotonic() - t0
        goal = target(set_name, variant)
        print(f"[{set_name}/{variant}] {cell.n} tasks: pass@1 {cell.pass_rate:.1f} % (target {goal:.0f}), "
              f"empty {cell.rate(cell.empty):.1f} %, {cell.seconds:.0f} s", flush=True)
        return cell

    async def ask(self, lsp: Editor, task: Task, variant: str
                  ) -> tuple[Hole, str, str, str, str | None, tuple[str, str] | None]:
        """One completion: (the hole, its file, the answer scripted, the file filled, the text inserted, what
        a second Tab adds: its text and the file with it)."""
        hole = hole_of(task)
        path = f"{task.set_name}/{variant}/{task.slug}.py"
        reply = reply_text(variant, hole)
        self.replies.set(path, reply)
        uri = lsp.open(path, hole.document)
        at = lsp.position(uri, hole.line, hole.col)
        try:
            result = await lsp.inline(uri, at, invoked=True).wait(60)
        except TimeoutError:
            result, self.unanswered = None, self.unanswered + 1
        filled, inserted = apply_first(hole, result, at)
        self.first_calls[path] = self.calls_for(path)  # what the Tab-again probe adds is not this answer's cost
        followed = await self.tab_again(lsp, uri, path, at, inserted, filled)
        lsp.close(uri)
        return hole, path, reply, filled, inserted, followed

    async def tab_again(self, lsp: Editor, uri: str, path: str, at: types.Position, inserted: str | None,
                        filled: str) -> tuple[str, str] | None:
        """After a one-line item that ends its line is accepted, the editor asks again where it ends: the
        lines the server offers there without a new upstream call (read on from the same stream), and the
        file with them accepted too; None when nothing came that way."""
        line = filled.split("\n")[at.line] if inserted else ""
        if not inserted or "\n" in inserted or not line.endswith(inserted):
            return None
        calls = self.calls_for(path)
        lsp.insert(uri, at, inserted)
        end = lsp.position(uri, at.line, len(line))
        try:
            again = await lsp.inline(uri, end, invoked=False).wait(60)
        except TimeoutError:
            return None
        if self.calls_for(path) != calls or not items_of(again):
            return None  # a new call (its scripted answer is not what the model would say here), or nothing
        lines = filled.split("\n")
        text = text_of(items_of(again)[0])
        apply_change(lines, types.Range(start=end, end=end), text)
        return text, "\n".join(lines)

    def calls_for(self, path: str) -> int:
        return sum(1 for rec in self.fake.message_requests
                   if isinstance(rec.body, dict) and request_path(rec.body) == path)

    async def judge(self, task: Task, variant: str, hole: Hole, path: str, reply: str, filled: str,
                    inserted: str | None, followed: tuple[str, str] | None) -> Outcome:
        """The filled file run against the task's tests (and the task's own middle, once; and the file with
        the lines offered after the accepted item, when some were)."""
        verdict, reference, again = await asyncio.gather(
            self.runner.check(task.program(filled)),
            self.runner.check(task.program(task.prompt + task.middle + task.suffix)),
            self.runner.check(task.program(followed[1])) if followed else asyncio.sleep(0, None))
        if not reference.passed:
            self.reference_fails.add(task.task_id)
        return Outcome(task.set_name, variant, task.task_id, path, hole.mode, hole.col, hole.next_line, hole.answer,
                       reply, inserted, verdict.passed, verdict.why,
                       drop=shaper_drop(hole.document, hole.line, hole.col, reply),
                       followed=followed[0] if followed else None,
                       passed_followed=again.passed if again is not None else None)

    async def account(self, cell: Cell, records: list[RecordedRequest]) -> None:
        """Fill in what the fake saw of each task: tokens streamed and of the whole answer, an early close."""
        by_path: dict[str, list[RecordedRequest]] = {}
        for rec in records:
            path = request_path(rec.body) if isinstance(rec.body, dict) else None
            if path is not None:
                by_path.setdefault(path, []).append(rec)
        for o in cell.outcomes:
            recs = by_path.get(o.path, [])[: self.first_calls.get(o.path)]
            o.upstream = len(recs)
            for rec in recs:
                try:
                    await self.fake.wait_until_closed_async(rec, 10)
                except TimeoutError:
                    pass
                answer = (rec.reply.text if rec.reply is not None else "").split(CLOSE, 1)[0]
                o.full_tokens += min(count_tokens(answer), int(rec.body.get("max_tokens", 1 << 30)))
                o.streamed_tokens += rec.output_tokens
                o.closed_early |= rec.client_closed_at is not None
                o.max_tokens_cut |= rec.stop_reason == "max_tokens"


async def run(cfg: Config) -> tuple[list[Cell], list[str], dict[str, int]]:
    """The cells, the notes, and how many tasks each set has."""
    bench = Run(cfg)
    cells: list[Cell] = []
    notes: list[str] = []
    totals: dict[str, int] = {}
    try:
        for set_name in cfg.sets:
            every = load(cfg.data, set_name)
            totals[set_name] = len(every)
            tasks = sample(every, cfg.sizes[set_name])
            print(f"[{set_name}] {len(tasks)} tasks x {len(cfg.variants)} answers", flush=True)
            cells += await bench.run_set(set_name, tasks)
        notes.append(f"{bench.runner.runs} distinct programs run (the same filled file is run once).")
        if bench.reference_fails:
            notes.append(f"{len(bench.reference_fails)} tasks fail with their own canonical middle (so fail "
                         "every answer): " + ", ".join(sorted(bench.reference_fails)[:8]))
        if bench.unanswered:
            notes.append(f"{bench.unanswered} inline requests got no answer within 60 s (counted as no item).")
        if bench.fake.errors:
            notes.append("Fake API internal errors: " + "; ".join(bench.fake.errors[:3]))
        extra = [f"{c.set_name}/{c.variant}: {sum(o.upstream != 1 for o in c.outcomes)}" for c in cells
                 if any(o.upstream != 1 for o in c.outcomes)]
        if extra:
            notes.append("Tasks without exactly one upstream request: " + ", ".join(extra))
    finally:
        bench.close()
    return cells, notes, totals


# --------------------------------------------------------------------------------------------------
# Report


def render(cells: list[Cell], notes: list[str], totals: dict[str, int], cfg: Config, command: str,
           elapsed: float) -> str:
    from importlib.metadata import version

    ran = {s: next(c.n for c in cells if c.set_name == s) for s in cfg.sets}
    sizes = "; ".join(f"{s}: {ran[s]:,} of {totals[s]:,} tasks" + (" (seeded sample)" if ran[s] < totals[s] else "")
                      for s in cfg.sets)
    versions = ", ".join(f"{name} {version(name)}" for name in ("pygls", "lsprotocol", "jedi"))
    lines = [
        *header(START, "Completion quality on HumanEval infilling (`bench/quality.py`)", command, elapsed, versions),
        f"- Data: HumanEval-infilling (openai/human-eval-infilling, MIT): {sizes}.",
        "- Each task: the real server holds the file with the hole removed (a hole that starts a line leaves "
        "that line holding the middle's indentation, the cursor after it); an Invoked inline completion is "
        "asked there; the fake Messages API answers after the `<COMPLETION>` prefill with the canonical middle "
        "(`perfect`), inside ```` ```python ```` fences (`fenced`), after a line `Here is the code:` (`prose`), "
        "followed by the rest of the line and the next 2 lines after the hole (`suffix-echo`), or followed by "
        "two invented lines at the indentation of the code after the hole, a TODO comment and "
        "`raise NotImplementedError` (`run-on`), closed by "
        f"`</COMPLETION>` (the request's stop sequence), streamed at {cfg.tokens_per_second:.0f} tokens/s. The "
        "first item is applied at its range, the file run with the task's `check` in a subprocess "
        f"({cfg.test_timeout:.0f} s timeout). pass@1 = share of tasks whose tests pass. `Tab again`: when the "
        "item is one line that ends its line, the file is changed as accepting it does and an Automatic "
        "completion asked where it ends, as an editor does after an accept; lines offered there with no new "
        "upstream call (read on from the same stream) are accepted too and the tests run on that file.",
        "- Server settings: the defaults, but `maxContextTokens: 0` (no jedi context in the prompt: the scripted "
        "answers do not read it). One server per set, its answers one after another.",
        "- empty % = answers that came to nothing (no item, or the server fell back to jedi: its `offline` "
        "counter); closed early % = streams the server closed before the fake had sent all of the answer; "
        "tokens = output tokens the fake sent, against the whole answer's (up to the stop sequence, capped "
        "by the request's max_tokens).",
        "",
        "### pass@1", "", results_table(cells), "",
        "### By cursor mode", "", modes_table(cells), "",
        "### Why answers fail", "",
        "Read from the inserted text against the perfect answer; `dropped (reason)` is the drop reason of the "
        "server's shaper, fed the whole answer again in the benchmark's process.", "",
        failures_table(cells), "", "How the failing files fail (the last line of the test run's stderr):", "",
        errors_table(cells), "",
        "### Examples", "", "One failed answer of each kind per set: task, expected, inserted.", "",
        "````text", *examples(cells, per_kind=1, width=100, by_set=True), "````", "",
    ]
    return "\n".join(lines + notes_section(notes) + [END])


def main() -> None:
    parser = arguments(__doc__, "30 tasks a set (a smoke run)")
    parser.add_argument("--sample", type=int, default=300, help="tasks drawn (seeded) from multi-line and "
                        "random-span (default 300; single-line runs whole unless --quick)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the human-eval-infilling folder")
    parser.add_argument("--concurrency", type=int, default=8, help="completions in flight (default 8)")
    parser.add_argument("--tokens-per-second", type=float, default=400.0, help="the fake's streaming speed")
    parser.add_argument("--test-timeout", type=float, default=6.0, help="seconds a filled program may run")
    parser.add_argument("--dump", type=Path, help="write every outcome to this JSONL file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    quick = 30 if args.quick else None
    sizes: dict[str, int | None] = {s: quick if quick else (args.sample if s in SAMPLED else None) for s in SETS}
    cfg = Config(args.data.resolve(), args.sets, args.variants, sizes, args.concurrency, args.tokens_per_second,
                 args.test_timeout)
    shown = [a for i, a in enumerate(sys.argv[1:]) if a != "--dump" and (i == 0 or sys.argv[i] != "--dump")]
    command = "python " + " ".join(["bench/quality.py", *shown])
    t0 = time.monotonic()
    cells, notes, totals = asyncio.run(run(cfg))
    elapsed = time.monotonic() - t0
    for title, text in (("pass@1", results_table(cells)), ("By cursor mode", modes_table(cells)),
                        ("Why answers fail", failures_table(cells)), ("Exceptions", errors_table(cells))):
        print(f"\n### {title}\n\n{text}")
    print("\n### Examples\n\n" + "\n".join(examples(cells)))
    if notes:
        print("\nNotes:\n" + "\n".join(f"- {n}" for n in notes))
    print(f"\nDone in {elapsed:.0f} s.")
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as f:
            for c in cells:
                for o in c.outcomes:
                    f.write(json.dumps(o.as_json()) + "\n")
    complete = set(args.sets) == set(SETS) and set(args.variants) == set(VARIANTS)
    if not args.no_write and complete:
        write_section(MD_PATH, START, END, render(cells, notes, totals, cfg, command, elapsed))
        print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")
    elif not args.no_write:
        print("Not all sets and variants ran: BENCHMARKS.md left alone.")


if __name__ == "__main__":
    main()
