"""`haiku-lsp refactor FILE -m "instruction" [--diff | --apply]`: the editor's refactor pipeline,
headless (for CI helpers). Prints the unified diff and the summary; exits 1 when validation fails,
2 when it cannot run, 3 when a check could not run (no tests for the module, no ruff, no OS sandbox):
`--apply` writes the file only when validation passed, or, with `--allow-unvalidated`, when nothing
failed but something was not checked."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

EXIT_FAILED, EXIT_CANNOT_RUN, EXIT_UNVALIDATED = 1, 2, 3


def _root_of(path: Path) -> Path:
    for parent in path.parents:
        if (parent / "pyproject.toml").exists() or (parent / ".git").exists() or (parent / "setup.py").exists():
            return parent
    return path.parent


def run(file: str, instruction: str, apply: bool, planner_model: str | None, worker_model: str | None, *,
        allow_unvalidated: bool = False, os_sandbox: bool = True) -> int:
    from haiku_lsp.errors import ActionError, ProviderError
    from haiku_lsp.llm.anthropic import AnthropicProvider
    from haiku_lsp.refactor import run_refactor
    from haiku_lsp.session import Session

    path = Path(file).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        print(f"haiku-lsp refactor: cannot read {file}: {err}", file=sys.stderr)
        return 2
    session = Session(root=_root_of(path))  # the settings' defaults; -m/--planner/--worker override models
    if not session.provider.available:
        print("haiku-lsp refactor: set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) first", file=sys.stderr)
        return 2
    settings = session.settings
    planner, worker = session.planner(), session.fast()
    if planner_model:
        planner = dataclasses.replace(planner, model=planner_model)
    if worker_model:
        worker = dataclasses.replace(worker, model=worker_model)

    def report(phase: str, done: int, total: int) -> None:
        print(f"[{phase}{f' {done}/{total}' if total else ''}]", file=sys.stderr, flush=True)

    async def main():
        try:
            return await run_refactor(
                planner, worker, text=text, path=path, root=session.root, instruction=instruction,
                test_timeout=settings.test_timeout_s, python=session.test_python(),
                concurrency=settings.refactor_concurrency, os_sandbox=os_sandbox, report=report)
        finally:
            if isinstance(session.upstream, AnthropicProvider):
                await session.upstream.aclose()
            session.close()

    try:
        result = asyncio.run(main())
    except (ActionError, ProviderError) as err:
        print(f"haiku-lsp refactor: {err}", file=sys.stderr)
        return 2
    if result.diff:
        print(result.diff, end="" if result.diff.endswith("\n") else "\n")
    print(result.summary_markdown)
    if not result.ok:
        return EXIT_FAILED
    if not result.validated and result.new_text is not None:
        print(f"haiku-lsp refactor: not validated: {'; '.join(result.unchecked)}", file=sys.stderr)
        if not allow_unvalidated:
            if apply:
                print(f"not applied: pass --allow-unvalidated to write {file} anyway", file=sys.stderr)
            return EXIT_UNVALIDATED
    if apply and result.new_text is not None and result.new_text != text:
        path.write_text(result.new_text, encoding="utf-8")
        print(f"applied to {file}", file=sys.stderr)
    return 0
