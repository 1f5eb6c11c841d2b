"""bench/quality.py's figures: what one completion came to (`Outcome`), why a failed one failed, and the
tables of the printout and of the BENCHMARKS.md section."""

from __future__ import annotations

import collections
from collections.abc import Sequence
from dataclasses import dataclass, field

from _common import met, table  # bench/ is on sys.path when run
from quality_tasks import CLOSE

from haiku_lsp.completion.context import cursor_context
from haiku_lsp.completion.shaping import CompletionShaper

START, END = "<!-- bench:quality:start -->", "<!-- bench:quality:end -->"
# pass@1 targets (percent) from the issue: perfect answers per set, every noise variant.
PERFECT_TARGET = {"single-line": 98.0, "multi-line": 95.0, "random-span": 95.0}
NOISE_TARGET = 90.0


def target(set_name: str, variant: str) -> float:
    return PERFECT_TARGET[set_name] if variant == "perfect" else NOISE_TARGET


@dataclass
class Outcome:
    """One task completed with one answer variant."""

    set_name: str
    variant: str
    task_id: str
    path: str  # the task's file, workspace-relative (what the request shows)
    mode: str  # "after code", "before code" (code on the cursor's line) or "empty line"
    col: int  # the cursor's column (code points)
    next_line: str  # the first non-blank line after the cursor's line (the server's "code after the hole")
    expected: str  # the perfect answer
    reply: str  # what the fake model sent in full (closing tag included)
    inserted: str | None  # the first item's text, None when no item came
    passed: bool
    why: str  # the failing program's last stderr line
    streamed_tokens: int = 0  # output tokens the fake sent before the stream ended or was closed
    full_tokens: int = 0  # output tokens of the whole answer (up to the stop sequence and max_tokens)
    closed_early: bool = False  # the server closed the stream before the fake finished it
    max_tokens_cut: bool = False  # the answer was longer than the request's max_tokens
    upstream: int = 0  # upstream requests seen for this task
    drop: str | None = None  # why the shaper (run again in this process) drops the answer, if it does
    followed: str | None = None  # lines offered where the accepted item ends, with no new upstream call
    passed_followed: bool | None = None  # the tests with those lines accepted too (None: none were offered)

    def as_json(self) -> dict:
        return dict(vars(self))


@dataclass
class Cell:
    """One set x variant: its outcomes and the server's own counters at the end."""

    set_name: str
    variant: str
    outcomes: list[Outcome] = field(default_factory=list)
    server_stats: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def n(self) -> int:
        return len(self.outcomes)

    def rate(self, count: int) -> float:
        return 100.0 * count / self.n if self.n else float("nan")

    @property
    def pass_rate(self) -> float:
        return self.rate(sum(o.passed for o in self.outcomes))

    @property
    def pass_rate_tab_again(self) -> float:
        """pass@1 when the lines the server then offers where the accepted item ends (read on from the same
        stream, no new call) are accepted too, as a second Tab in an editor does."""
        return self.rate(sum(o.passed if o.passed_followed is None else o.passed_followed for o in self.outcomes))

    @property
    def empty(self) -> int:
        """Tasks where the model's answer came to nothing: no item, or the server fell back to jedi (its
        `offline` counter; every request here is Invoked, so a dropped or failed answer goes there)."""
        offline = self.server_stats.get("offline")
        no_item = sum(o.inserted is None for o in self.outcomes)
        return max(int(offline), no_item) if offline is not None else no_item


def shaper_drop(document: str, line: int, col: int, reply: str, max_lines: int = 40) -> str | None:
    """The server's shaper, fed the whole answer in this process: its drop reason, or None when it keeps
    something (for the failure breakdown only; the measurement is the server's answer)."""
    lines = document.split("\n")
    shaper = CompletionShaper(cursor_context(lines, line, col, max_lines))
    shaper.feed(reply.split(CLOSE, 1)[0])
    return shaper.drop_reason if shaper.finish() is None else None


def failure_kind(o: Outcome) -> str:
    """Why a failed answer failed, read from what was inserted against the perfect answer."""
    ins, exp = o.inserted, o.expected
    if ins is None or o.drop is not None:
        return f"dropped ({o.drop})" if o.drop else "no item"
    if ins == exp:
        return "exact (reference fails?)"
    body = o.reply.split(CLOSE, 1)[0]
    first = ins.split("\n", 1)[0].strip()
    if first and first not in body:
        return "not from the answer (jedi fallback?)"
    if "```" in ins:
        return "fence kept"
    if "Here is the code" in ins:
        return "prose kept"
    if exp.startswith(ins):
        kept, whole = ins.count("\n") + 1, exp.count("\n") + 1
        if kept == whole:
            return "cut short within a line"
        if o.mode != "empty line" and kept == 1:
            return "cut short: first line only (code on the cursor's line)"
        lost = next((x for x in exp.split("\n")[kept:] if x.strip()), "")
        lost_col = len(lost) - len(lost.lstrip(" \t"))
        if not lost:
            return "cut short: only blank lines lost"
        if lost.rstrip() == o.next_line:
            return "cut short: block ended at a line equal to the line after the hole"
        if lost_col < o.col:
            return "cut short: block ended at a dedent (left of the cursor)"
        if lost_col == o.col and exp.split("\n", 1)[0].split("#", 1)[0].rstrip().endswith(":"):
            return "cut short: block ended after its first compound statement"
        if lost_col == o.col:
            return "cut short: block ended at a statement at the cursor's column"
        return "cut short: block ended inside the block"
    if ins.startswith(exp):
        extra = ins[len(exp):]
        if "NotImplementedError" in extra or "TODO" in extra:
            return "run-on lines kept"
        return "suffix copy kept" if o.variant == "suffix-echo" else "ran past the hole"
    if ins.strip() == exp.strip():
        return "whitespace at the ends differs"
    if [x.strip() for x in ins.split("\n")] == [x.strip() for x in exp.split("\n")]:
        return "indentation differs"
    if exp.startswith(ins.rstrip()) or ins.startswith(exp.rstrip()):
        return "cut or run-on at a space"
    return "other"


def cut_detail(o: Outcome) -> str:
    """For a block cut short: how many of the expected lines were kept, and the first one lost."""
    assert o.inserted is not None
    kept = o.inserted.split("\n")
    exp = o.expected.split("\n")
    nxt = next((x for x in exp[len(kept):] if x.strip()), exp[-1][len(kept[-1]):])
    return f"{len(kept)}/{len(exp)} lines kept, next {nxt.strip()[:40]!r}"


# --------------------------------------------------------------------------------------------------
# Tables


def results_table(cells: Sequence[Cell]) -> str:
    rows = []
    for c in cells:
        streamed = sum(o.streamed_tokens for o in c.outcomes)
        full = sum(o.full_tokens for o in c.outcomes)
        goal = target(c.set_name, c.variant)
        rows.append([c.set_name, c.variant, c.n, f"**{c.pass_rate:.1f}**", f"{c.pass_rate_tab_again:.1f}",
                     f">= {goal:.0f}", met(c.pass_rate >= goal), f"{c.rate(c.empty):.1f}",
                     f"{c.rate(sum(o.closed_early for o in c.outcomes)):.1f}",
                     f"{streamed} / {full} ({100.0 * streamed / full if full else 0:.0f} %)",
                     sum(o.max_tokens_cut for o in c.outcomes), f"{c.seconds:.0f}"])
    return table(["set", "answer", "tasks", "pass@1 %", "Tab again %", "target", "met (pass@1)", "empty %",
                  "closed early %",
                  "tokens streamed / full answer", "over max_tokens", "s"], rows)


def modes_table(cells: Sequence[Cell]) -> str:
    """pass@1 split by where the cursor is (after code on its line, before code, on an empty line)."""
    rows = []
    for c in cells:
        parts = []
        for mode in ("empty line", "before code", "after code"):
            sub = [o for o in c.outcomes if o.mode == mode]
            if sub:
                parts.append(f"{mode} {100.0 * sum(o.passed for o in sub) / len(sub):.1f} % of {len(sub)}")
        rows.append([c.set_name, c.variant, "; ".join(parts)])
    return table(["set", "answer", "pass@1 by where the cursor is"], rows)


def failures_table(cells: Sequence[Cell]) -> str:
    rows = []
    for c in cells:
        failed = [o for o in c.outcomes if not o.passed]
        kinds = collections.Counter(failure_kind(o) for o in failed)
        rows.append([c.set_name, c.variant, len(failed),
                     "; ".join(f"{k} {v}" for k, v in kinds.most_common()) or "-"])
    return table(["set", "answer", "failed", "why (from the inserted text against the perfect answer)"], rows)


def errors_table(cells: Sequence[Cell], top: int = 4) -> str:
    rows = []
    for c in cells:
        whys = collections.Counter(o.why.split(":", 1)[0] for o in c.outcomes if not o.passed)
        if whys:
            rows.append([c.set_name, c.variant, "; ".join(f"{k} {v}" for k, v in whys.most_common(top))])
    return table(["set", "answer", "how the failing programs fail (exception, count)"], rows)


def examples(cells: Sequence[Cell], per_kind: int = 2, width: int = 160, by_set: bool = False) -> list[str]:
    """A few failed answers of each kind, per cell (per set with `by_set`): task, expected, inserted."""
    out = []
    seen: collections.Counter[tuple[str, ...]] = collections.Counter()
    for c in cells:
        for o in c.outcomes:
            if o.passed:
                continue
            kind = failure_kind(o)
            key = (c.set_name, kind) if by_set else (c.set_name, c.variant, kind)
            seen[key] += 1
            if seen[key] > per_kind:
                continue
            detail = f" ({cut_detail(o)})" if kind.startswith("cut short") else ""
            out.append(f"{c.set_name}/{c.variant} {o.task_id} [{o.mode}] {kind}{detail}: expected "
                       f"{_ends(o.expected, width)}, got {_ends(o.inserted or '', width)}")
    return out


def _ends(text: str, width: int) -> str:
    """repr of text, its middle left out when it is longer than width."""
    if len(text) <= width:
        return repr(text)
    return f"{text[: width // 2]!r} ... {text[-(width // 2) :]!r}"
