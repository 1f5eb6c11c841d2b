"""One function's test through the editor's own flow (`testgen.propose_test`: the same prompt, sandboxed
pytest run, one repair, placement and cache), metered so its tokens and dollars can be reported; the
interactive mode (bounded parallel calls); and writing the passing tests (`apply_passing`)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from haiku_lsp.errors import ActionError, ProviderError
from haiku_lsp.gentests.discover import Target
from haiku_lsp.gentests.report import Outcome
from haiku_lsp.llm import Completion, ModelAccess, ModelRequest, Provider, TextStream, Usage, cost_usd
from haiku_lsp.testgen import merge_test, new_test_ids, propose_test
from haiku_lsp.tools import project_python, run_pytest


def read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


class MeteredProvider:
    """A provider that keeps the usage of each call made through it (one function's calls), and counts
    the conversations it was asked to start (a second one is the test's repair round)."""

    def __init__(self, inner: Provider) -> None:
        self.inner = inner
        self.ledger = inner.ledger
        self.usages: list[Usage] = []
        self.conversations = 0

    @property
    def available(self) -> bool:
        return self.inner.available

    async def ready(self) -> None:
        await self.inner.ready()

    @contextlib.asynccontextmanager
    async def stream(self, request: ModelRequest, *, timeout: float, inline: bool = True,
                     feature: str = "inline") -> AsyncIterator[TextStream]:
        async with self.inner.stream(request, timeout=timeout, inline=inline, feature=feature) as s:
            try:
                yield s
            finally:
                self.usages.append(s.usage)

    async def complete(self, request: ModelRequest, *, timeout: float, feature: str = "action",
                       retries: bool = True) -> Completion:
        if len(request.messages) == 1:
            self.conversations += 1  # a repair of the JSON itself continues the conversation instead
        completion = await self.inner.complete(request, timeout=timeout, feature=feature, retries=retries)
        self.usages.append(completion.usage)
        return completion


async def generate_one(llm: ModelAccess, target: Target, *, root: Path, test_timeout: float,
                       python: str | None, price_factor: float = 1.0,
                       prices: dict[str, dict[str, float]] | None = None, os_sandbox: bool = True) -> Outcome:
    """A test for `target`, generated, run and repaired once by `propose_test`. Expected failures become
    the outcome (`skipped`: no usable answer; `error`: the model could not be used); anything else,
    cancellation included, propagates."""
    meter = MeteredProvider(llm.provider)
    started = time.monotonic()
    outcome = Outcome(target.id, "skipped")
    source = read_text(target.path)
    try:
        if source is None:
            raise ActionError(f"cannot read {target.rel}")
        proposal = await propose_test(llm.through(meter), root=root, path=target.path, source=source,
                                      line=target.line, offline=False, read_text=read_text,
                                      test_timeout=test_timeout, python=python, os_sandbox=os_sandbox)
    except ActionError as err:
        outcome.reason = str(err)
    except ProviderError as err:
        outcome.status, outcome.reason = "error", f"{err.kind}: {err}"
    else:
        outcome.status = "passed" if proposal.result.ok else "failed"
        outcome.test_path = proposal.test_path.relative_to(root).as_posix()
        outcome.summary = proposal.result.summary
        outcome.origin = proposal.origin
        outcome.notes = proposal.notes
        outcome.code = proposal.code
        outcome.repaired = meter.conversations > 1
    outcome.input_tokens = sum(u.prompt_tokens for u in meter.usages)
    outcome.output_tokens = sum(u.output for u in meter.usages)
    outcome.usd = sum(cost_usd(u, prices) for u in meter.usages) * price_factor
    outcome.seconds = time.monotonic() - started
    return outcome


async def run_interactive(llm: ModelAccess, targets: list[Target], *, root: Path, concurrency: int,
                          test_timeout: float, python: str | None, prices: dict[str, dict[str, float]],
                          progress: Callable[[str], None], os_sandbox: bool = True) -> list[Outcome]:
    """Every target through `generate_one`, at most `concurrency` at a time, in the targets' order."""
    gate = asyncio.Semaphore(max(1, concurrency))
    done = 0

    async def one(target: Target) -> Outcome:
        nonlocal done
        async with gate:
            outcome = await generate_one(llm, target, root=root, test_timeout=test_timeout, python=python,
                                         prices=prices, os_sandbox=os_sandbox)
        done += 1
        progress(f"[{done}/{len(targets)}] {outcome.id}: {outcome.status} {outcome.summary or outcome.reason}")
        return outcome

    return list(await asyncio.gather(*(one(t) for t in targets)))


async def apply_passing(outcomes: list[Outcome], *, root: Path, test_timeout: float, python: str | None,
                        progress: Callable[[str], None], os_sandbox: bool = True) -> list[Path]:
    """Write the passing tests into their test files (merged as the editor merges them), each file only
    after the new tests in it passed together; a test that fails beside the others is left out (`reason`
    says so). Returns the files written."""
    interpreter = project_python(root, python)
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        if outcome.status == "passed" and outcome.code and outcome.test_path:
            groups[outcome.test_path].append(outcome)
    written: list[Path] = []
    for rel, group in sorted(groups.items()):
        path = root / rel
        existing = read_text(path)

        async def passes(before: str | None, after: str, rel: str = rel) -> bool:
            ids = new_test_ids(rel, before, after) or [rel]
            result = await run_pytest(root, {rel: after}, ids, python=interpreter, timeout_s=test_timeout,
                                      os_sandbox=os_sandbox)
            return result.ok

        content = existing
        for outcome in group:
            content = merge_test(content, outcome.code)
        if content is not None and await passes(existing, content):
            kept: list[Outcome] = group
        else:
            content, kept = existing, []
            for outcome in group:  # one at a time: keep what passes beside what is kept
                candidate = merge_test(content, outcome.code)
                if await passes(content, candidate):
                    content = candidate
                    kept.append(outcome)
                else:
                    outcome.reason = "not written: it fails beside the other new tests of this file"
        if content is None or content == existing:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
        for outcome in kept:
            outcome.applied = True
        written.append(path)
        progress(f"wrote {len(kept)} test(s) to {rel}")
    return written
