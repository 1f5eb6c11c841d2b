"""Validation of a merged refactor with real tools, and attribution of failures to subtasks.

Checks: the text compiles; ruff reports nothing new compared with the original (counted per code,
as quick fixes do); the workspace's tests for the module pass (`discovery.find_tests`: the files that
import it, directly or through its package; else the whole suite), run with `run_pytest` in a
temporary copy with the new text on top, in the OS sandbox. Tests already failing on the original text
do not count against the refactor. A check that did not run (no ruff, no tests, no sandbox, pytest
ran nothing or timed out before and after) is "skipped" with the reason: the report is then not
`validated`, whatever else passed.

Attribution: a compile error or a new ruff issue belongs to the subtask whose edit covers its line
(an added import line to the subtasks that asked for it). A failing test belongs to the subtasks
whose lines appear in its traceback. What cannot be located that way (a test assertion failing in
the test file, an import made unused elsewhere) is isolated: each changed subtask is checked alone
(with what it depends on), and blamed when it fails alone and nothing it depends on does. When that
finds no culprit (only the combination fails) or there are more than MAX_ISOLATED changed subtasks,
the failure is attributed to all of them and the planner's review decides.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from haiku_lsp.errors import SandboxUnavailable, ToolUnavailable
from haiku_lsp.python import module_name, relative_to_root
from haiku_lsp.refactor.discovery import TestSelection, find_tests
from haiku_lsp.refactor.merge import Merged
from haiku_lsp.refactor.tasks import bounded, run_all
from haiku_lsp.tools import (
    LintIssue,
    RunResult,
    missing_ruff,
    project_python,
    ruff_available,
    ruff_check,
    run_pytest,
)

MAX_ISOLATED = 8
_FAILED_ID = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.M)


def compile_error(text: str) -> tuple[str, int] | None:
    """None when `text` compiles, else (message, 1-based line)."""
    try:
        compile(text, "<refactored>", "exec", dont_inherit=True)
    except SyntaxError as err:
        return f"{err.msg} (line {err.lineno})", err.lineno or 0
    except ValueError as err:  # null bytes
        return str(err), 0
    return None


def _issue(i: LintIssue) -> str:
    return f"ruff {i.code} at line {i.line + 1}: {i.message}"


@dataclass
class ValidationReport:
    """What the tools said about the merged text. `lint`/`tests` are "passed", "failed", "skipped" or
    "not run"; `blame` maps subtask ids to the problems attributed to them; `notes` say how (and what
    was skipped or already failing before)."""

    ran: bool = False
    compiles: bool = True
    compile_error: str | None = None
    lint: str = "not run"
    lint_summary: str = ""  # why lint was skipped
    new_lint: list[str] = field(default_factory=list)
    tests: str = "not run"
    test_summary: str = ""
    test_files: list[str] = field(default_factory=list)
    test_output: str = ""
    blame: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Nothing failed (which is not the same as everything checked: see `validated`)."""
        return self.ran and self.compiles and self.lint != "failed" and self.tests != "failed"

    @property
    def unchecked(self) -> list[str]:
        """The checks that did not run, each with why, in the user's words."""
        out = [] if self.ran else ["validation did not run"]
        if self.ran and self.compiles and self.lint in ("skipped", "not run"):
            out.append(f"ruff: {self.lint_summary or 'not run'}")
        if self.ran and self.compiles and self.tests in ("skipped", "not run"):
            out.append(f"tests: {self.test_summary or 'not run'}")
        return out

    @property
    def validated(self) -> bool:
        """Every check ran and passed."""
        return self.passed and not self.unchecked

    def add(self, sids: list[str], problem: str) -> None:
        for sid in sids:
            if problem not in self.blame.setdefault(sid, []):
                self.blame[sid].append(problem)


class Validator:
    """Validation for one refactor of `path`; the original's ruff counts, the test files and the
    baseline test run are computed once."""

    def __init__(self, *, original: str, path: Path, root: Path | None, python: str | None, test_timeout: float,
                 concurrency: int, os_sandbox: bool = True) -> None:
        self.original, self.path, self.root = original, path, root
        rel = relative_to_root(path, root, resolve=True)
        self.rel = rel.as_posix() if rel is not None else None
        self.module = module_name(root, path) if root is not None and self.rel else None
        self.python = project_python(root, python)
        self.test_timeout, self.concurrency, self.os_sandbox = test_timeout, concurrency, os_sandbox
        self._before: list[LintIssue] | None = None
        self._tests: TestSelection | None = None
        self._baseline: RunResult | None = None

    async def run(self, text: str, merged: Merged, *, isolated: Callable[[str], str],
                  ancestors: Callable[[str], frozenset[str]]) -> ValidationReport:
        """Check `text` (= merged.text); `isolated(sid)` is the original with only that subtask (and
        what it depends on) applied."""
        report = ValidationReport(ran=True)
        changed = merged.changed

        def culprits(failing: set[str]) -> list[str]:
            return [s for s in changed if s in failing and not (ancestors(s) & failing)]

        if err := compile_error(text):
            report.compiles, report.compile_error = False, err[0]
            owners = merged.owners(err[1] - 1) or culprits({s for s in changed if compile_error(isolated(s))})
            report.add(owners or changed, f"the merged file does not compile: {err[0]}")
            return report

        async def lint() -> None:
            if not ruff_available():
                report.lint, report.lint_summary = "skipped", f"not checked: {missing_ruff()}"
                return
            if self._before is None:
                self._before = (await ruff_check(self.original, self.path, self.root))[0]
            before = Counter(i.code for i in self._before)
            issues, _ = await ruff_check(text, self.path, self.root)
            after = Counter(i.code for i in issues)
            new = {code for code, n in after.items() if n > before.get(code, 0)}
            report.lint = "failed" if new else "passed"
            # Which issues are the new ones: those whose (code, message) the original has fewer of.
            known = Counter((i.code, i.message) for i in self._before)
            fresh = []
            for i in issues:
                if known[(i.code, i.message)] > 0:
                    known[(i.code, i.message)] -= 1
                else:
                    fresh.append(i)
            unlocated = []
            for code in sorted(new):
                mine = [i for i in fresh if i.code == code] or [i for i in issues if i.code == code]
                located = [(i, merged.owners(i.line)) for i in mine if merged.owners(i.line)]
                report.new_lint += [_issue(i) for i, _ in located] or [_issue(i) for i in mine]
                for i, owners in located:
                    report.add(owners, _issue(i))
                if not located:
                    unlocated.append(code)
            if unlocated:
                alone = await self._isolate(changed, isolated, lambda t: ruff_check(t, self.path, self.root))
                failing = {s for s, (found, _) in alone.items()
                           if any(Counter(i.code for i in found)[c] > before.get(c, 0) for c in unlocated)}
                problems = [p for p in report.new_lint if any(f" {c} " in p for c in unlocated)]
                self._blame(report, culprits(failing), changed, problems, "new ruff issues")

        async def safe_lint() -> None:
            try:
                await lint()
            except ToolUnavailable as err:
                report.lint, report.lint_summary, report.new_lint = "skipped", f"not checked: {err}", []

        await run_all([safe_lint(), self._test(text, merged, changed, isolated, culprits, report)])
        return report

    async def _isolate(self, changed: list[str], isolated: Callable[[str], str], check) -> dict:
        if len(changed) > MAX_ISOLATED:
            return {}
        results = await bounded([check(isolated(s)) for s in changed], self.concurrency)
        return dict(zip(changed, results, strict=True))

    def _blame(self, report: ValidationReport, found: list[str], changed: list[str], problems: list[str],
               what: str) -> None:
        if not found:
            found = changed
            report.notes.append(f"{what} could not be traced to one subtask: attributed to all changed subtasks")
        for problem in problems:
            report.add(found, problem)

    async def _test(self, text: str, merged: Merged, changed: list[str], isolated: Callable[[str], str],
                    culprits: Callable[[set[str]], list[str]], report: ValidationReport) -> None:
        if self.root is None or self.rel is None or self.module is None:
            report.tests, report.test_summary = "skipped", "the file is not an importable module of a workspace"
            return
        if self._tests is None:
            self._tests = await asyncio.to_thread(find_tests, self.root, self.module, self.root / self.rel)
        selection = self._tests
        report.test_files = list(selection.files)
        if selection.how == "none":
            report.tests, report.test_summary = "skipped", f"not checked: {selection.why}"
            return
        if selection.how == "whole suite":
            report.notes.append(selection.why)
        try:
            run = await self._pytest(text)
            if not run.ok and self._baseline is None:
                self._baseline = await self._pytest(self.original)
        except SandboxUnavailable as err:
            report.tests, report.test_summary = "skipped", f"not checked: {err}"
            return
        report.test_summary, report.test_output = run.summary, run.output
        if run.ok:
            report.tests = "passed"
            return
        baseline = self._baseline
        if not (run.passed or run.failed or run.errors or run.timed_out):
            report.tests, report.test_summary = "skipped", f"not checked: pytest ran no test ({run.summary})"
            return
        if run.timed_out and baseline is not None and baseline.timed_out:
            report.tests = "skipped"
            report.test_summary = f"not checked: the tests {run.summary}, before the refactor too"
            return
        if not _broken(run, baseline) and not run.passed:
            report.tests = "skipped"
            report.test_summary = f"not checked: no test passes, before the refactor either ({run.summary})"
            return
        if not _broken(run, baseline):
            report.tests = "passed"
            report.notes.append(f"tests already failing before the refactor ({baseline.summary}) still fail; "
                                "no new failures")
            return
        report.tests = "failed"
        problem = f"tests fail: {run.summary}"
        frames = re.findall(rf"^{re.escape(self.rel)}:(\d+):", run.output, re.M)
        owners = sorted({o for line in frames for o in merged.owners(int(line) - 1)})
        if owners:
            report.add(owners, problem)
            return
        if len(changed) == 1:
            report.add(changed, problem)
            return
        alone = await self._isolate(changed, isolated, self._pytest)
        self._blame(report, culprits({s for s, r in alone.items() if _broken(r, baseline)}), changed, [problem],
                    "the test failures")

    async def _pytest(self, text: str) -> RunResult:
        assert self.root is not None and self.rel is not None and self._tests is not None
        return await run_pytest(self.root, {self.rel: text}, self._tests.args, python=self.python,
                                timeout_s=self.test_timeout, os_sandbox=self.os_sandbox)


def _broken(run: RunResult, baseline: RunResult | None) -> bool:
    """Whether `run` fails in a way the original (`baseline`) did not."""
    if run.ok:
        return False
    if baseline is None or baseline.ok or (run.timed_out and not baseline.timed_out):
        return True
    now, before = set(_FAILED_ID.findall(run.output)), set(_FAILED_ID.findall(baseline.output))
    return bool(now - before) if now or before else run.summary != baseline.summary
