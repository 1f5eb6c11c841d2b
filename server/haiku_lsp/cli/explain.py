"""`haiku-lsp explain LOG [--all] [--apply]`: the editor's "Explain this stack trace", headless (for CI).

Finds the first Python traceback in a CI log (`--all`: every distinct one; `-` reads stdin; log prefixes
such as timestamps are understood), resolves its frames to the checkout (paths from the CI machine are
matched by their tail), and prints the explanation as Markdown: the frames, three hypotheses,
reproduction steps, and a patch when one applies cleanly to the current file (`--apply` writes it).
Without an API key the offline explanation is printed. Exit: 0 explained, 1 no traceback in the log,
2 it could not run (unreadable log, the model failing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from haiku_lsp.tracebacks import ParsedTraceback


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("explain", help="explain the Python traceback(s) in a CI log as Markdown",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("log", metavar="LOG", help="the log file ('-': standard input)")
    p.add_argument("--all", action="store_true", help="every distinct traceback, not only the first")
    p.add_argument("--apply", action="store_true", help="write the suggested patch when it applies cleanly")
    p.add_argument("--root", metavar="DIR", help="the checkout the frames are resolved to (default: .)")
    p.add_argument("--output", metavar="FILE", help="write the Markdown here instead of stdout")


def _read_file(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def run(args: argparse.Namespace) -> int:
    from haiku_lsp.text import split_lines
    from haiku_lsp.tracebacks import find_traceback, model_payload

    try:
        text = sys.stdin.read() if args.log == "-" else Path(args.log).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        print(f"haiku-lsp explain: cannot read {args.log}: {err}", file=sys.stderr)
        return 2
    lines = split_lines(text)
    found = []
    seen: set[str] = set()
    position = 0
    while position < len(lines):
        tb = find_traceback(lines, position, len(lines) - 1, around=0)
        if tb is None:
            break
        if (payload := model_payload(tb)) not in seen:  # CI logs print the same failure more than once
            seen.add(payload)
            found.append(tb)
        if not args.all:
            break
        position = max(tb.last_line, position) + 1
    if not found:
        print(f"haiku-lsp explain: no Python traceback in {args.log}", file=sys.stderr)
        return 1
    root = Path(args.root or os.getcwd()).resolve()
    try:
        markdown, applied = asyncio.run(_explain(found, root, args.apply))
    except _CannotRun as err:
        print(f"haiku-lsp explain: {err}", file=sys.stderr)
        return 2
    if args.output:
        Path(args.output).write_text(markdown, encoding="utf-8")
    else:
        print(markdown, end="" if markdown.endswith("\n") else "\n")
    for path in applied:
        print(f"applied the suggested fix to {path}", file=sys.stderr)
    return 0


class _CannotRun(Exception):
    pass


async def _explain(found: list[ParsedTraceback], root: Path, apply: bool) -> tuple[str, list[Path]]:
    from haiku_lsp.cli.doctor import cli_settings
    from haiku_lsp.errors import ActionError, ProviderError
    from haiku_lsp.llm import AnthropicProvider
    from haiku_lsp.session import Session
    from haiku_lsp.tracebacks import explain, resolve_frames

    session = Session(cli_settings(), root=root)
    parts: list[str] = []
    applied: list[Path] = []
    try:
        for tb in found:
            resolved = resolve_frames(tb, root, session.ignore_rules)
            try:
                result = await explain(resolved, session.fast(), root=root, offline=not session.provider.available,
                                       read_text=_read_file)
            except (ActionError, ProviderError) as err:
                raise _CannotRun(f"{tb.headline}: {err}") from err
            section = result.markdown
            fix = result.fix
            if fix is not None:
                if apply and fix.matches(_read_file(fix.path) or ""):
                    fix.path.write_text(fix.patched, encoding="utf-8")
                    applied.append(fix.path)
                    section += f"\n\n**Applied** the suggested fix to `{fix.path.relative_to(root).as_posix()}`.\n"
                elif not apply:
                    section += (f"\n\nThe suggested fix applies cleanly to "
                                f"`{fix.path.relative_to(root).as_posix()}`: run with `--apply` to write it.\n")
            parts.append(section.rstrip("\n") + "\n")
    finally:
        if isinstance(session.upstream, AnthropicProvider):
            await session.upstream.aclose()
        session.close()
    return "\n---\n\n".join(parts), applied
