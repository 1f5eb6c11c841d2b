"""ruff on a text that may not be saved: its issues as if the text were a given file (so the project's
configuration applies), and its fixes. ruff runs from the server's own interpreter, never from the
project's, with the text on stdin: nothing is written. Nothing here knows about LSP.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LintIssue:
    code: str
    message: str
    line: int  # 0-based
    column: int


def ruff_available() -> bool:
    """Whether ruff is installed for the server's interpreter (what ruff_check runs)."""
    return importlib.util.find_spec("ruff") is not None


async def ruff_check(text: str, path: Path, root: Path | None, *, fix_code: str | None = None,
                     timeout: float = 20.0) -> tuple[list[LintIssue], str | None]:
    """ruff's issues for `text` as if it were `path` (so the project's config applies); with
    `fix_code`, also the text after `ruff --fix --select <code>`."""
    base = [sys.executable, "-m", "ruff", "check", "--no-cache", "--stdin-filename", str(path)]
    cwd = str(root) if root else None
    report = await _run([*base, "--output-format", "json", "--exit-zero", "-"], text, cwd, timeout)
    issues = [
        LintIssue(d.get("code") or "", d.get("message", ""), d["location"]["row"] - 1,
                  d["location"]["column"] - 1)
        for d in json.loads(report or "[]")
    ]
    fixed = None
    if fix_code:
        fixed = await _run([*base, "--fix", "--unsafe-fixes", "--select", fix_code, "--exit-zero", "-"],
                           text, cwd, timeout)
    return issues, fixed


async def _run(cmd: list[str], stdin: str, cwd: str | None, timeout: float) -> str:
    pipe = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=pipe, stdout=pipe, stderr=pipe, cwd=cwd)
    try:
        out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout)
    except BaseException:
        proc.kill()
        raise
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"ruff failed: {err.decode(errors='replace').strip()[:300]}")
    return out.decode()
