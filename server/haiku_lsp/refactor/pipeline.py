"""The whole-file refactor: the planner (Sonnet) splits the instruction into subtasks, fast workers
(Haiku) do them in parallel, real tools validate the merged text, the planner reviews only what
failed (accept / reject / revise, at most MAX_REVIEW_ROUNDS rounds), and one result comes back.

Nothing is applied here: the caller applies `new_text` as one edit, or not at all. Everything runs
in the caller's task: cancelling it cancels every in-flight model call (their streams are closed)
and every test run, and CancelledError propagates without a result. Plans, worker answers and
reviews are cached by content, so re-running an unchanged refactor makes no model call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from haiku_lsp.errors import (
    FATAL_PROVIDER_ERRORS,
    ActionError,
    MergeConflict,
    ProviderError,
    SubtaskFailed,
    ToolUnavailable,
)
from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.accounting import Usage, cost_usd
from haiku_lsp.llm.provider import Completion, ModelRequest, Provider, TextStream
from haiku_lsp.python import relative_to_root
from haiku_lsp.refactor.execute import Workers, execute
from haiku_lsp.refactor.merge import Document, Edit, Merged, merge
from haiku_lsp.refactor.outcome import RefactorResult, SubtaskOutcome, resolve_instruction
from haiku_lsp.refactor.plan import Plan, make_plan, outline
from haiku_lsp.refactor.review import ReviewItem, review
from haiku_lsp.refactor.summary import render_summary, unified_diff
from haiku_lsp.refactor.validate import ValidationReport, Validator

log = logging.getLogger(__name__)

MAX_REVIEW_ROUNDS = 2
MAX_FILE_CHARS = 300_000

Report = Callable[[str, int, int], None]


class _Meter:
    """A Provider that passes calls on and keeps every whole answer's usage, also of answers that were
    then refused (the refactor asks for whole answers only; streams are passed on unmetered)."""

    def __init__(self, provider: Provider) -> None:
        self._provider = provider
        self.ledger = provider.ledger
        self.usages: list[Usage] = []

    @property
    def available(self) -> bool:
        return self._provider.available

    async def ready(self) -> None:
        await self._provider.ready()

    def stream(self, request: ModelRequest, *, timeout: float, inline: bool = True,
               feature: str = "inline") -> AbstractAsyncContextManager[TextStream]:
        return self._provider.stream(request, timeout=timeout, inline=inline, feature=feature)

    async def complete(self, request: ModelRequest, *, timeout: float, feature: str = "action",
                       retries: bool = True) -> Completion:
        completion = await self._provider.complete(request, timeout=timeout, feature=feature, retries=retries)
        self.usages.append(completion.usage)
        return completion


async def run_refactor(planner: ModelAccess, worker: ModelAccess, *, text: str, path: Path, root: Path | None,
                       instruction: str, concurrency: int = 4, test_timeout: float = 120.0, python: str | None = None,
                       os_sandbox: bool = True,
                       report: Report = lambda phase, done, total: None) -> RefactorResult:
    """Refactor `text` (the content of `path`, maybe unsaved) as `instruction` (or a PRESETS name) says.
    `report(phase, done, total)` is called with "Planning", "Executing", "Validating", "Reviewing".
    Raises ActionError when there is no usable plan, ProviderError when the model cannot be used at
    all (no key, rejected key, budget, bad request), CancelledError when cancelled."""
    instruction = resolve_instruction(instruction)
    if len(text) > MAX_FILE_CHARS:
        raise ActionError(f"the file is too large to refactor as a whole ({len(text)} characters)")
    crlf = "\r\n" in text
    run = _Run(planner, worker, text.replace("\r\n", "\n"), Path(path), root, instruction, concurrency, test_timeout,
               python, os_sandbox, report)
    return await run.go(crlf)


class _Run:
    def __init__(self, planner: ModelAccess, worker: ModelAccess, text: str, path: Path, root: Path | None,
                 instruction: str, concurrency: int, test_timeout: float, python: str | None, os_sandbox: bool,
                 report: Report) -> None:
        # Both go through one meter, so the summary counts every call, also of answers then refused.
        self.meter = _Meter(planner.provider)
        self.planner, worker = planner.through(self.meter), worker.through(self.meter)
        self.text, self.instruction = text, instruction
        self.prices = planner.provider.ledger.prices
        self.concurrency, self._report = concurrency, report
        self.shown = _shown(path, root)
        self.path, self.root = Path(path), root
        self.outline = outline(text)
        self.workers = Workers(worker, self.shown, instruction, self.outline, text)
        self.validator = Validator(original=text, path=path, root=root, python=python, test_timeout=test_timeout,
                                   concurrency=concurrency, os_sandbox=os_sandbox)
        self.phases = {"plan": 0.0, "execute": 0.0, "validate": 0.0, "review": 0.0}
        self.plan = Plan(())
        self.edits: dict[str, Edit] = {}
        self.failures: dict[str, SubtaskFailed] = {}
        self.final: dict[str, tuple[str, str]] = {}  # id -> (status, why) once rejected/dropped/failed
        self.accepted: set[str] = set()
        self.reviews: dict[str, list[str]] = {}
        self.notes: dict[str, str] = {}  # the last worker notes, kept when the edit is dropped
        self.reviewed: dict[str, list[str]] = {}  # the problems the planner last saw
        self.attempts: Counter[str] = Counter()

    def report(self, phase: str, done: int, total: int) -> None:
        try:
            self._report(phase, done, total)
        except Exception:  # progress display must not break the refactor
            log.exception("refactor progress callback failed")

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.phases[name] += time.monotonic() - started

    async def go(self, crlf: bool) -> RefactorResult:
        with self.phase("plan"):
            self.report("Planning", 0, 1)
            self.plan, _ = await make_plan(self.planner, text=self.text, shown=self.shown, instruction=self.instruction)
            self.report("Planning", 1, 1)
        if not self.plan.subtasks:
            return self.result(Merged(self.text), ValidationReport(notes=["the planner found nothing to change"]),
                               0, crlf)
        await self.execute(self.plan.order())
        rounds = 0
        while True:
            merged, validation = await self.validate()
            failing = self.failing(validation)
            if not failing or rounds == MAX_REVIEW_ROUNDS:
                break
            rounds += 1
            self.report("Reviewing", rounds, MAX_REVIEW_ROUNDS)
            with self.phase("review"):
                rerun = await self.review(failing, validation)
            if rerun:
                await self.execute(self.plan.order(rerun))
        if failing:
            leaving = set(failing).union(*(self.plan.descendants(sid) for sid in failing))
            changes = any(sid in self.edits for sid in leaving)
            for sid in failing:
                self.drop(sid, "failed", "still failing after review: " + "; ".join(self.problems(sid, validation)))
            if changes:
                merged, validation = await self.validate()
        return self.result(merged, validation, rounds, crlf)

    async def execute(self, ids: list[str]) -> None:
        with self.phase("execute"):
            self.report("Executing", 0, len(ids))
            kept = {sid: e for sid, e in self.edits.items() if sid not in ids}
            doc = Document(self.text, self.plan)
            for sid in self.plan.order(set(kept)):
                try:
                    doc.apply(sid, kept[sid])
                except MergeConflict as err:  # not expected: these merged before
                    self.drop(sid, "failed", str(err))
            results = await execute(self.plan, doc, ids, self.workers.run, prior=kept,
                                    concurrency=self.concurrency, report=self.report)
            for sid, outcome in results.items():
                if isinstance(outcome, Edit):
                    self.attempts[sid] += 1
                    self.edits[sid] = outcome
                    self.notes[sid] = outcome.notes
                    self.failures.pop(sid, None)
                else:
                    self.attempts[sid] += not outcome.blocked
                    self.edits.pop(sid, None)
                    self.failures[sid] = outcome

    async def validate(self) -> tuple[Merged, ValidationReport]:
        merged = merge(self.text, self.plan, self.edits)
        for sid, why in merged.conflicts.items():
            self.edits.pop(sid, None)
            self.failures[sid] = SubtaskFailed(why, reviewable=False)
        if not merged.changed:
            return merged, ValidationReport(notes=["no subtask changed the file"])
        if merged.import_owners:
            merged = await self.sort_added_imports(merged)

        def isolated(sid: str) -> str:
            keep = self.plan.ancestors(sid) | {sid}
            return merge(self.text, self.plan, {k: e for k, e in self.edits.items() if k in keep}).text

        with self.phase("validate"):
            self.report("Validating", 0, 1)
            validation = await self.validator.run(merged.text, merged, isolated=isolated,
                                                  ancestors=self.plan.ancestors)
            self.report("Validating", 1, 1)
        return merged, validation

    async def sort_added_imports(self, merged: Merged) -> Merged:
        """Imports the workers asked for go in after the file's own, in the order asked; only where the
        project's ruff configuration selects import sorting (I001) for this file, and the file was sorted
        to begin with, let ruff put them in place, so an import order nobody wrote is not blamed on every
        subtask. Only when it keeps the line count: the regions stay where they are."""
        from haiku_lsp.tools import ruff_check

        try:
            # Does the project sort imports? Ask ruff, with the project's configuration, about two imports
            # that are certainly out of order, as if they were this file (per-file ignores apply too).
            probe, _ = await ruff_check("import sys\nimport os\n", self.path, self.root)
            if not any(i.code == "I001" for i in probe):
                return merged
            before, _ = await ruff_check(self.text, self.path, self.root)
            if any(i.code == "I001" for i in before):
                return merged  # the file was not sorted to begin with: leave it to the project
            _, fixed = await ruff_check(merged.text, self.path, self.root, fix_code="I001")
        except ToolUnavailable as err:  # validation runs ruff again and says it could not
            log.info("import sorting skipped: %s", err)
            return merged
        if not fixed or fixed == merged.text:
            return merged
        if fixed.endswith("\n") and not merged.text.endswith("\n"):
            fixed = fixed[:-1]
        if fixed.count("\n") != merged.text.count("\n"):
            return merged
        return dataclasses.replace(merged, text=fixed)

    def failing(self, validation: ValidationReport) -> list[str]:
        """Subtasks for the planner to review: blamed by validation and not accepted, or without a usable
        edit for a reason another attempt may fix."""
        return [s.id for s in self.plan.subtasks if s.id not in self.final and (
            (s.id in validation.blame and s.id not in self.accepted)
            or (s.id in self.failures and self.failures[s.id].reviewable))]

    def problems(self, sid: str, validation: ValidationReport) -> list[str]:
        if sid in self.failures:
            return [str(self.failures[sid])]
        return list(validation.blame.get(sid, []))

    async def review(self, failing: list[str], validation: ValidationReport) -> set[str]:
        """Ask the planner about `failing`; apply its decisions; the subtasks to run again."""
        items = []
        for sid in failing:
            self.reviewed[sid] = self.problems(sid, validation)
            st, edit = self.plan.by_id[sid], self.edits.get(sid)
            seen = edit.seen if edit else "\n".join(self.text.split("\n")[st.start:st.end + 1])
            items.append(ReviewItem(st, seen, edit.replacement if edit else None,
                                    tuple(self.problems(sid, validation))))
        try:
            decisions = await review(self.planner, shown=self.shown, instruction=self.instruction, outline=self.outline,
                                     items=items, test_output=validation.test_output)
        except (ActionError, ProviderError) as err:
            if isinstance(err, FATAL_PROVIDER_ERRORS):
                raise
            for sid in failing:
                self.drop(sid, "failed", f"the review failed ({err}); left out")
            return set()
        rerun: set[str] = set()
        for sid in failing:
            decision = decisions[sid]
            self.reviews.setdefault(sid, []).append(
                f"{decision.verdict}: {decision.reason}"
                + (f" New instructions: {decision.instructions}" if decision.verdict == "revise" else ""))
            if decision.verdict == "revise":
                self.plan = self.plan.with_instructions(sid, decision.instructions)
                rerun.add(sid)
            elif decision.verdict == "accept" and sid in self.edits:
                self.accepted.add(sid)
            else:
                self.drop(sid, "rejected", f"rejected in review: {decision.reason}")
        for sid in list(rerun):
            rerun |= self.plan.descendants(sid)  # they build on what is about to change
        rerun -= set(self.final)
        self.accepted -= rerun
        return rerun

    def drop(self, sid: str, status: str, why: str) -> None:
        """Leave `sid` out with `status`, and everything that depends on it as "dropped"."""
        for other in [sid, *self.plan.order(self.plan.descendants(sid))]:
            if other not in self.final:
                self.final[other] = (status, why) if other == sid else (
                    "dropped", f"dropped: it depends on {sid}, which was {status}")
            self.edits.pop(other, None)
            self.failures.pop(other, None)
            self.accepted.discard(other)

    def result(self, merged: Merged, validation: ValidationReport, rounds: int, crlf: bool) -> RefactorResult:
        outcomes = [self.outcome(st.id, merged, validation) for st in self.plan.subtasks]
        new = merged.text if merged.changed and merged.text != self.text else None
        ok = new is not None and validation.compiles and set(validation.blame) <= self.accepted
        unchecked = validation.unchecked if new is not None else []
        validated = ok and validation.passed and not unchecked  # accepted failures still failed
        usage: dict[str, dict[str, int]] = {}
        usd: dict[str, float] = {}
        for u in self.meter.usages:
            totals = usage.setdefault(u.model, dict.fromkeys(("calls", "input", "output", "cache_write",
                                                              "cache_read"), 0))
            totals["calls"] += 1
            for name in ("input", "output", "cache_write", "cache_read"):
                totals[name] += getattr(u, name)
            usd[u.model] = usd.get(u.model, 0.0) + cost_usd(u, self.prices)
        diff = unified_diff(self.text, new, self.shown) if new is not None else ""
        phases = {k: round(v, 3) for k, v in self.phases.items()}
        summary = render_summary(shown=self.shown, instruction=self.instruction, plan_notes=self.plan.notes,
                                 outcomes=outcomes, validation=validation, usage_by_model=usage, usd_by_model=usd,
                                 phase_seconds=phases, diff=diff, ok=ok, changed=new is not None,
                                 unchecked=unchecked)
        if new is not None and crlf:
            new = new.replace("\n", "\r\n")
        return RefactorResult(new, outcomes, validation, usage, usd, phases, summary, diff, ok, self.plan.notes,
                              rounds, validated, unchecked)

    def outcome(self, sid: str, merged: Merged, validation: ValidationReport) -> SubtaskOutcome:
        st = self.plan.by_id[sid]
        edit = self.edits.get(sid)
        problems = list(validation.blame.get(sid, []))
        if sid in self.final:
            status, why = self.final[sid]
            problems = [*self.reviewed.get(sid, []), why] if status == "rejected" else [why]
        elif sid in merged.regions:
            status = "accepted" if sid in self.accepted and problems else "applied"
        elif edit is not None:
            status = "unchanged"
        else:
            failure = self.failures.get(sid)
            status = "dropped" if failure is not None and failure.blocked else "failed"
            problems = [str(failure)] if failure is not None else problems
        lines = merged.regions.get(sid)
        return SubtaskOutcome(sid, st.title, st.target, st.instructions, list(st.depends_on), status,
                              self.notes.get(sid, ""), problems, self.reviews.get(sid, []), self.attempts[sid],
                              bool(edit and edit.cached), (lines[0] + 1, lines[1] + 1) if lines else None)


def _shown(path: Path, root: Path | None) -> str:
    rel = relative_to_root(path, root)
    return rel.as_posix() if rel is not None else Path(path).name
