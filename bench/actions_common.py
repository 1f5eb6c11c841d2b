"""What the sections of bench/actions.py share: the run's settings, the fake's scripted reply, and
haiku-lsp driven by the test harness's Editor, with the measures this benchmark takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import med, ms, pct  # bench/ is on sys.path when run; _common puts the checkout there too
from lsprotocol import types

from tests.harness import Editor, Pending, haiku_command, server_env

START, END = "<!-- bench:actions:start -->", "<!-- bench:actions:end -->"
API_KEY = "sk-ant-bench-actions-0123456789abcdef"


@dataclass
class Config:
    quick: bool
    positions: int  # same-version listing samples per document
    cold: int  # first-request-after-open samples (each on a freshly opened document)
    edits: int  # after-an-edit samples
    hover_rounds: int
    over_budget: int
    testgen: int
    offline: int


def sec(seconds: float) -> str:
    return f"{seconds:.2f}"


def ms_stats(values: list[float]) -> tuple[str, str]:
    return ms(med(values)), ms(pct(values, 95))


def bench_env(fake_url: str, cache_dir: Path, key: bool = True) -> dict[str, str]:
    return server_env(fake_url, cache_dir, api_key=API_KEY if key else None)


class Lsp(Editor):
    """One haiku-lsp process driven by the harness's plain pygls client, which behaves like an editor: it
    applies edits (without writing them), answers message requests with `answer_message_request`, accepts
    showDocument and progress tokens. Each measure returns (round trip, what came back): from sending
    the request to the moment its response was read off the pipe (before the client's own scheduling)."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(haiku_command(), env, name="b")

    async def timed(self, pending: Pending, timeout: float = 120) -> tuple[float, Any]:
        result = await pending.wait(timeout)
        return pending.seconds, result

    async def list_actions(self, uri: str, line: int, col: int = 0) -> tuple[float, list]:
        """textDocument/codeAction at (line, code point col), an empty range, no diagnostics: as an editor
        asks on every cursor move."""
        rt, result = await self.timed(self.code_actions(uri, self.position(uri, line, col)))
        return rt, result or []

    async def hover_text(self, uri: str, line: int, col: int) -> tuple[float, str | None]:
        rt, result = await self.timed(self.hover(uri, types.Position(line=line, character=col)))
        return rt, (result.contents.value if result is not None else None)

    async def noop(self, uri: str) -> float:
        """The baseline round trip: a hover on a line past the end (answered null before any work)."""
        rt, _ = await self.hover_text(uri, 10_000_000, 0)
        return rt

    async def run_command(self, name: str, *arguments: Any, timeout: float = 120) -> tuple[float, dict]:
        rt, result = await self.timed(self.command(name, *arguments), timeout)
        return rt, result if isinstance(result, dict) else {"status": repr(result)}


class Holder:
    """The fake's scripted reply (a Reply or a callable(body) -> Reply), switched as the benchmark goes."""

    def __init__(self) -> None:
        self.reply: Any = None

    def __call__(self, body: dict) -> Any:
        return self.reply(body) if callable(self.reply) else self.reply


async def settle(lsp: Lsp, uri: str) -> None:
    """Wait until the server's jedi thread is idle: a hover at the top of the file queues behind the
    warm-up parse did_open started (hover runs on the same single-thread executor)."""
    await lsp.hover_text(uri, 0, 0)
