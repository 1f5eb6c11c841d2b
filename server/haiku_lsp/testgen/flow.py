"""The "generate unit test" flow: write (model or offline), run in a sandbox, repair once, report.

A test is only ever offered with the result of running it; a passing result is cached by content hash
of everything that shaped it, a failing one never is.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haiku_lsp.errors import ActionError
from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.cache import content_key
from haiku_lsp.privacy import redact
from haiku_lsp.python import Symbol, module_name, relative_to_root, symbol_at
from haiku_lsp.testgen.layout import (
    TESTGEN_SCHEMA,
    merge_test,
    new_test_ids,
    normalise_test_path,
    test_target,
    validate_generated,
)
from haiku_lsp.testgen.writers import doctest_test, ghostwriter_test
from haiku_lsp.text import fence
from haiku_lsp.tools import RunResult, project_python, require_os_sandbox, run_pytest

TESTGEN_VERSION = "testgen-1"
TESTGEN_SYSTEM = (
    "You write pytest unit tests for Python code. Answer with JSON only: `test_path` (relative to the project "
    "root), `code` (a complete test module: imports plus test functions; import the code under test by its "
    "module name; no network, no files outside tmp_path, deterministic), `command` (how to run it), `notes` "
    "(one or two sentences: what the tests cover). Test observable behaviour, including edge cases and "
    "errors; do not test private helpers; keep it short (3-6 focused tests)."
)


@dataclass
class TestProposal:
    symbol: Symbol
    test_path: Path
    content: str  # the whole test file after the edit
    code: str  # the new test code alone
    result: RunResult
    origin: str  # model | cache | doctest | ghostwriter
    notes: str = ""
    timings: dict[str, float] = field(default_factory=dict)  # model / pytest / total seconds


def _outline(source: str, symbol: Symbol, limit: int = 400) -> str:
    lines = source.split("\n")
    if len(lines) <= limit:
        return source
    head = [ln for ln in lines[:60] if ln.startswith(("import ", "from "))]
    return "\n".join([*head, "", "# ...", symbol.source])


async def propose_test(llm: ModelAccess, *, root: Path, path: Path,
                       source: str, line: int, offline: bool, read_text: Callable[[Path], str | None],
                       test_timeout: float, python: str | None = None, ignore: Any = None,
                       os_sandbox: bool = True, report: Callable[[str], None] = lambda m: None) -> TestProposal:
    """A test for the symbol at `line`, run before it is returned. Code the model wrote runs confined
    by the OS unless `os_sandbox` is False (the user's choice); SandboxUnavailable (an ActionError)
    when it cannot be confined."""
    started = time.monotonic()
    timings = {"model": 0.0, "pytest": 0.0}
    symbol = symbol_at(source, line)
    if symbol is None:
        raise ActionError("put the cursor on a function, method or class to generate a test for it")
    module = module_name(root, path)
    rel = relative_to_root(path, root, resolve=True)
    if module is None or rel is None:
        raise ActionError(f"{path.name} is not an importable module of the workspace")
    interpreter = project_python(root, python)
    if os_sandbox:
        await require_os_sandbox()  # before paying for a test that could not be run
    rel_source = rel.as_posix()
    overlay = {rel_source: source}  # the buffer may hold unsaved changes

    async def run(test_path: Path, content: str) -> RunResult:
        report("Running pytest")
        t0 = time.monotonic()
        rel = test_path.relative_to(root).as_posix()
        # Only the new tests: a test already failing in that file says nothing about this one.
        ids = new_test_ids(rel, read_text(test_path), content) or [rel]
        result = await run_pytest(root, {**overlay, rel: content}, ids, python=interpreter,
                                  timeout_s=test_timeout, ignore=ignore, os_sandbox=os_sandbox)
        timings["pytest"] += time.monotonic() - t0
        if not result.timed_out and (result.exit_code is None or result.summary.startswith("pytest is not installed")):
            # The test could not be run at all: no repair can mend that, and it was not checked.
            raise ActionError(f"the generated test could not be run: {result.summary} (see the testPython setting)")
        return result

    if offline:
        target = test_target(root, path)
        existing = read_text(target)
        report("Writing a test from doctests")
        code, origin = doctest_test(module, symbol), "doctest"
        if code is None:
            report("Writing a property-based test (hypothesis)")
            code, origin = await ghostwriter_test(root, module, symbol, python=interpreter,
                                                  timeout_s=test_timeout, os_sandbox=os_sandbox), "ghostwriter"
        if code is None:
            raise ActionError(f"`{symbol.qualname}` has no doctests and hypothesis could not write a test for it; "
                              "set ANTHROPIC_API_KEY to let Haiku write one")
        content = merge_test(existing, code)
        result = await run(target, content)
        timings["total"] = time.monotonic() - started
        return TestProposal(symbol, target, content, code, result, origin, timings=timings)

    target = test_target(root, path)
    existing = read_text(target)
    digest = hashlib.sha256(source.encode()).hexdigest()
    key = content_key(TESTGEN_VERSION, llm.model, module, symbol.qualname, digest,
                      target.relative_to(root).as_posix(), existing or "")
    if (hit := llm.cache.get("testgen", key)) is not None:
        test_path = root / hit["test_path"]
        content = merge_test(read_text(test_path), hit["code"])
        result = RunResult(**hit["result"])
        timings["total"] = time.monotonic() - started
        return TestProposal(symbol, test_path, content, hit["code"], result, "cache", hit["notes"], timings)

    conventions = (existing or "")[:3000]
    prompt, _ = redact(
        f"Project module `{module}` (file {rel_source}):\n{fence(_outline(source, symbol), 'python')}\n\n"
        f"Write tests for the {symbol.kind} `{symbol.qualname}` (lines {symbol.start_line + 1}-"
        f"{symbol.end_line + 1}). The tests go to {target.relative_to(root).as_posix()}"
        + (", which already exists and starts like this (follow its conventions; your code is appended):\n"
           + fence(conventions, "python") if existing else ".")
    )

    async def ask(user: str) -> dict:
        t0 = time.monotonic()
        try:
            answer = await llm.ask_json(system=TESTGEN_SYSTEM, user=user,
                                    schema=TESTGEN_SCHEMA, max_tokens=4000,
                                    feature="testgen", check=validate_generated, what="test")
        finally:
            timings["model"] += time.monotonic() - t0
        return answer.value

    report(f"Writing tests for {symbol.qualname}")
    answer = await ask(prompt)
    test_path = normalise_test_path(root, answer["test_path"], path)
    existing = read_text(test_path)
    content = merge_test(existing, answer["code"])
    result = await run(test_path, content)
    if not result.ok:
        report("Repairing the failing test")
        failure = result.output[-6000:]
        answer = await ask(
            f"{prompt}\n\nYour previous test:\n{fence(answer['code'], 'python')}\nfailed when run with pytest "
            f"({result.summary}):\n{fence(failure)}\nFix the test. If the failure shows a real bug in the "
            "code under test, keep the test that exposes it but say so in `notes`."
        )
        content = merge_test(existing, answer["code"])
        result = await run(test_path, content)
    if result.ok:
        llm.cache.set("testgen", key, {"test_path": test_path.relative_to(root).as_posix(), "code": answer["code"],
                                   "notes": answer["notes"], "result": result.__dict__})
    timings["total"] = time.monotonic() - started
    return TestProposal(symbol, test_path, content, answer["code"], result, "model", answer["notes"], timings)
