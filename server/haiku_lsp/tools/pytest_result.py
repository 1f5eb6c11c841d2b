"""A pytest run read back: the counts and a short summary from its final summary line, and the part of
its output worth showing (the failures, bounded, secrets redacted). Re-exported by
:mod:`haiku_lsp.tools.sandbox`, which runs pytest. No I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from haiku_lsp.privacy import redact

if TYPE_CHECKING:
    from haiku_lsp.tools.sandbox import ProcessResult

MAX_OUTPUT_LINES = 150
_MAX_OUTPUT_CHARS = 20_000


@dataclass(frozen=True)
class RunResult:
    """A pytest run. `ok`: exit code 0 and at least one test passed."""

    ok: bool
    passed: int
    failed: int
    errors: int
    skipped: int
    summary: str  # "3 passed", "1 failed, 2 passed", "timed out after 60 s", "no tests ran", ...
    output: str  # combined stdout/stderr from the failures section on, at most ~150 lines, redacted
    duration_s: float
    timed_out: bool
    exit_code: int | None


_SUMMARY_LINE = re.compile(r"^=*\s*(?P<body>.*?)\s+in\s+[\d.]+s\b")
_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed|deselected)\b")


def pytest_result(proc: ProcessResult, *, python: str = "python", timeout_s: float = 0) -> RunResult:
    """Interpret a pytest process: counts from its final summary line, a short summary, the useful
    part of its output."""
    text = proc.stdout + (("\n" + proc.stderr) if proc.stderr else "")
    counts: dict[str, int] = {}
    for line in reversed(text.splitlines()):
        m = _SUMMARY_LINE.match(line.strip())
        if m and (_COUNT.search(m.group("body")) or "no tests ran" in m.group("body")):
            for n, word in _COUNT.findall(m.group("body")):
                counts["errors" if word.startswith("error") else word] = int(n)
            break
    passed, failed = counts.get("passed", 0), counts.get("failed", 0)
    errors, skipped = counts.get("errors", 0), counts.get("skipped", 0)
    parts = [f"{counts[k]} {k}" for k in ("failed", "passed", "skipped", "xfailed", "xpassed")
             if counts.get(k)]
    if errors:
        parts.append(f"{errors} error" + ("s" if errors > 1 else ""))
    if proc.timed_out:
        summary = f"timed out after {timeout_s:g} s"
    elif parts:
        summary = ", ".join(parts)
    elif "No module named pytest" in text:
        summary = f"pytest is not installed for {python}"
    elif proc.exit_code in (0, 5) or counts:
        summary = "no tests ran"
    else:
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        last = next((ln for ln in lines if ln.startswith("ERROR")), lines[-1] if lines else "")
        summary = f"pytest exited with code {proc.exit_code}" + (f": {last[:160]}" if last else "")
    ok = proc.exit_code == 0 and passed > 0 and not proc.timed_out
    return RunResult(ok, passed, failed, errors, skipped, summary, useful_output(text), proc.duration_s,
                     proc.timed_out, proc.exit_code)


_SECTION = re.compile(r"^=+ (FAILURES|ERRORS) =+$")


def useful_output(text: str) -> str:
    """From the first FAILURES/ERRORS section on (else all), at most MAX_OUTPUT_LINES lines (head and
    tail of a longer one), secrets redacted: what a model needs to repair a test."""
    lines = text.rstrip().splitlines()
    start = next((i for i, line in enumerate(lines) if _SECTION.match(line)), 0)
    lines = lines[start:]
    if len(lines) > MAX_OUTPUT_LINES:
        head, tail = MAX_OUTPUT_LINES * 2 // 3, MAX_OUTPUT_LINES // 3
        lines = [*lines[:head], f"... ({len(lines) - head - tail} lines omitted) ...", *lines[-tail:]]
    out = "\n".join(lines)
    if len(out) > _MAX_OUTPUT_CHARS:
        half = _MAX_OUTPUT_CHARS // 2
        out = out[:half] + "\n... (output shortened) ...\n" + out[-half:]
    return redact(out)[0]
