"""`haiku-lsp gen-tests PATH...`: unit tests for the public functions no test calls yet, headless (for CI).

Each function's test is written, run in a sandbox and repaired once by the editor's own "Generate a
unit test" flow, in parallel (`--concurrency`) or through the Message Batches API (`--batch`: half the
price, resumable). Passing tests are written only with `--apply`. The Markdown summary goes to stdout
(and to `$GITHUB_STEP_SUMMARY` when set), progress to stderr, the JSON report to `--json FILE` (`-`:
stdout instead of the Markdown). `--shard I/N` takes one deterministic part of the work; `--merge`
joins shards' JSON reports. Exit: 0 every generated test passed, 1 some failed, 2 it could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("gen-tests", help="generate, run and repair unit tests in bulk, headless (for CI)",
                       description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="files or folders to write tests for (with --merge: JSON reports to join)")
    p.add_argument("--select", action="append", default=[], metavar="NAME",
                   help="only these functions (fnmatch on qualname, module.qualname or path::qualname; repeatable), "
                        "tested already or not")
    p.add_argument("--apply", action="store_true", help="write the passing tests into the test files")
    p.add_argument("--batch", action="store_true", help="send the calls through the Message Batches API (50%% off; "
                   "results within 24 h; a re-run picks up a batch in flight)")
    p.add_argument("--concurrency", type=int, default=4, metavar="N", help="parallel model calls and test runs")
    p.add_argument("--shard", metavar="I/N", help="only shard I of N (a stable split by function id)")
    p.add_argument("--merge", action="store_true", help="join the JSON reports given as PATHs into one summary")
    p.add_argument("--json", metavar="FILE", help="write the JSON report here ('-': stdout)")
    p.add_argument("--markdown", metavar="FILE", help="also write the Markdown summary here")
    p.add_argument("--root", metavar="DIR", help="the project root (default: found above the first PATH)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N functions (after sharding)")
    p.add_argument("--model", help="the model (default: the fastModel setting)")
    p.add_argument("--python", help="the interpreter the tests run with (default: the project's .venv or this one)")
    p.add_argument("--poll-interval", type=float, default=30.0, metavar="S", help="seconds between batch polls")


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _emit(report: object, args: argparse.Namespace) -> None:
    from haiku_lsp.gentests import Report

    assert isinstance(report, Report)
    markdown = report.markdown()
    data = json.dumps(report.to_json(), indent=2)
    if args.json == "-":
        print(data)
    else:
        print(markdown, end="")
        if args.json:
            Path(args.json).write_text(data + "\n", encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(markdown, encoding="utf-8")
    if summary := os.environ.get("GITHUB_STEP_SUMMARY"):
        with open(summary, "a", encoding="utf-8") as out:
            out.write(markdown)


def run(args: argparse.Namespace) -> int:
    from haiku_lsp.gentests import Report, merge_reports, read_report

    if args.merge:
        try:
            report = merge_reports([read_report(Path(p)) for p in args.paths])
        except (OSError, ValueError) as err:
            print(f"haiku-lsp gen-tests --merge: {err}", file=sys.stderr)
            return 2
        _emit(report, args)
        return report.exit_code
    started = time.monotonic()
    report = Report("batch" if args.batch else "interactive", shard=args.shard or "")
    try:
        asyncio.run(_generate(args, report))
    except _CannotRun as err:
        report.fatal = str(err)
        print(f"haiku-lsp gen-tests: {err}", file=sys.stderr)
    except KeyboardInterrupt:
        print("haiku-lsp gen-tests: interrupted (a batch in flight is picked up by the next run)", file=sys.stderr)
        return 2
    report.seconds = time.monotonic() - started
    _emit(report, args)
    return report.exit_code


BATCH_FEATURE = "testgen-batch"  # the feature batch calls are accounted under (usage store, audit log)


class _CannotRun(Exception):
    """Nothing can be generated: a bad argument, no key, the API unreachable."""


async def _generate(args: argparse.Namespace, report: object) -> None:
    from haiku_lsp.cli.doctor import cli_settings
    from haiku_lsp.errors import ProviderError
    from haiku_lsp.gentests import (
        BatchState,
        Report,
        apply_passing,
        find_targets,
        in_shard,
        parse_shard,
        project_root,
        run_batch,
        run_interactive,
        state_path,
    )
    from haiku_lsp.llm import AnthropicProvider, BatchClient
    from haiku_lsp.session import Session

    assert isinstance(report, Report)
    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _CannotRun(f"no such file or folder: {', '.join(missing)}")
    shard = None
    if args.shard:
        try:
            shard = parse_shard(args.shard)
        except ValueError as err:
            raise _CannotRun(f"--shard: {err}") from None
    root = Path(args.root).resolve() if args.root else project_root(paths)
    session = Session(cli_settings(), root=root)
    try:
        if args.batch and session.settings.provider != "anthropic":
            raise _CannotRun("--batch needs Anthropic's Message Batches API; the provider is "
                             f"{session.settings.provider}")
        if not session.provider.available:
            raise _CannotRun("set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) first")
        targets = find_targets(root, paths, select=args.select, ignore=session.ignore_rules)
        if shard is not None:
            targets = [t for t in targets if in_shard(t, *shard)]
        if args.limit is not None:
            targets = targets[: max(0, args.limit)]
        _progress(f"{len(targets)} functions to test under {root}" + (f" (shard {args.shard})" if shard else ""))
        llm = session.fast()
        if args.model:
            llm = dataclasses.replace(llm, model=args.model)
        python = args.python or session.test_python()
        common = {"root": root, "concurrency": args.concurrency, "test_timeout": session.settings.test_timeout_s,
                  "python": python, "prices": session.settings.prices, "progress": _progress,
                  "os_sandbox": session.os_sandbox()}
        if not targets:
            return
        if args.batch:
            client = BatchClient(timeout=session.settings.action_timeout_s)
            state = BatchState.load(state_path(session.cache.directory, root))
            try:
                report.outcomes, report.batches = await run_batch(
                    llm, targets, client=client, state=state, poll_interval=args.poll_interval,
                    prepare=lambda request: session.guard.prepare(request, BATCH_FEATURE),
                    on_answer=lambda request, answer, ms: session.guard.record_batch(
                        request, BATCH_FEATURE, answer.completion,
                        "ok" if answer.kind == "succeeded" else answer.kind, ms),
                    **common)
            except ProviderError as err:
                if err.kind == "budget":  # nothing was sent: not the API's failure
                    raise _CannotRun(f"no batch sent: {err}") from err
                raise _CannotRun(f"the batch API failed: {err.kind}: {err}") from err
            finally:
                await client.aclose()
        else:
            report.outcomes = await run_interactive(llm, targets, **common)
        answered = [o for o in report.outcomes if o.status != "error"]
        if not answered and all("connection" in o.reason for o in report.outcomes):
            raise _CannotRun(f"the model API could not be reached: {report.outcomes[0].reason}")
        if args.apply:
            await apply_passing(report.outcomes, root=root, test_timeout=session.settings.test_timeout_s,
                                python=python, progress=_progress, os_sandbox=session.os_sandbox())
    finally:
        if isinstance(session.upstream, AnthropicProvider):
            await session.upstream.aclose()
        session.close()
