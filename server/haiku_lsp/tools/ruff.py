"""ruff on a text that may not be saved: its issues as if the text were a given file (so the project's
configuration applies), and its fixes. ruff runs from the server's own interpreter, never from the
project's, with the text on stdin: nothing is written. Nothing here knows about LSP.

A check that cannot run fails closed: a missing ruff, one that exits with an error (a broken install,
a selector it does not know) or answers what is not its JSON raises ToolUnavailable naming ruff; an
empty report is never made up.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from haiku_lsp.errors import ToolUnavailable


@dataclass(frozen=True)
class LintIssue:
    code: str
    message: str
    line: int  # 0-based
    column: int


def ruff_available() -> bool:
    """Whether ruff is installed for the server's interpreter (what ruff_check runs)."""
    return importlib.util.find_spec("ruff") is not None


def missing_ruff() -> str:
    return f"ruff is not installed for the server's Python ({sys.executable}); install haiku-lsp with its dependencies"


async def ruff_check(text: str, path: Path, root: Path | None, *, fix_code: str | None = None,
                     select: str | None = None, timeout: float = 20.0) -> tuple[list[LintIssue], str | None]:
    """ruff's issues for `text` as if it were `path` (so the project's config applies), with `select`
    (a rule code) enabled on top of the project's rules; with `fix_code`, also the text after
    `ruff --fix --select <code>`. Raises ToolUnavailable when ruff is missing or cannot run."""
    if not ruff_available():
        raise ToolUnavailable(missing_ruff())
    base = [sys.executable, "-m", "ruff", "check", "--no-cache", "--stdin-filename", str(path)]
    cwd = str(root) if root else None
    extra = ["--extend-select", select] if select else []
    report = await _run([*base, *extra, "--output-format", "json", "--exit-zero", "-"], text, cwd, timeout)
    try:
        issues = [
            LintIssue(d.get("code") or "", d.get("message", ""), d["location"]["row"] - 1,
                      d["location"]["column"] - 1)
            for d in json.loads(report)
        ]
    except (ValueError, KeyError, TypeError) as err:
        raise ToolUnavailable(f"ruff's report could not be read ({err}): {report[:200]!r}") from None
    fixed = None
    if fix_code:
        fixed = await _run([*base, "--fix", "--unsafe-fixes", "--select", fix_code, "--exit-zero", "-"],
                           text, cwd, timeout)
    return issues, fixed


async def _run(cmd: list[str], stdin: str, cwd: str | None, timeout: float) -> str:
    pipe = asyncio.subprocess.PIPE
    try:
        proc = await asyncio.create_subprocess_exec(*cmd, stdin=pipe, stdout=pipe, stderr=pipe, cwd=cwd)
    except OSError as exc:
        raise ToolUnavailable(f"ruff could not start: {exc}") from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout)
    except TimeoutError:
        proc.kill()
        raise ToolUnavailable(f"ruff did not finish within {timeout:g} s") from None
    except BaseException:
        proc.kill()
        raise
    # Every call passes --exit-zero: any other exit status is ruff failing, not ruff finding issues.
    if proc.returncode != 0:
        said = (err.decode(errors="replace").strip() or out.decode(errors="replace").strip()).splitlines()
        why = said[-1].strip() if said else "no message"  # a traceback's last line says what went wrong
        if len(said) > 1 and said[0].startswith("ruff failed"):
            why = " ".join(line.strip() for line in said)  # ruff's own "ruff failed / Cause: ..." lines
        raise ToolUnavailable(f"ruff failed (exit {proc.returncode}): {why[:300]}")
    return out.decode()
