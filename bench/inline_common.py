"""What the sections of bench/inline.py share: the run's settings, the fake API and its scripted reply,
the servers started (haiku-lsp, the bare pygls server) driven by the test harness's Editor, the bare SDK
client in its own process, and the document most sections complete in."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Report  # bench/ is on sys.path when run; _common puts the checkout there too

from tests.fakes.anthropic_api import FakeAnthropic, Reply
from tests.harness import Editor, Pending, haiku_command, item_texts, server_env

BENCH = Path(__file__).resolve().parent
START, END = "<!-- bench:inline:start -->", "<!-- bench:inline:end -->"
API_KEY = "sk-ant-bench-0123456789abcdef"
STDLIB = Path(sysconfig.get_paths()["stdlib"])


@dataclass
class Config:
    quick: bool
    iterations: int  # section 1 (and the cache / typed-ahead samples that ride along)
    disk_hits: int
    bursts: int
    cancels: int
    spawns: int
    docs: int
    prompt_positions: int


# --------------------------------------------------------------------------------------------------
# Processes: the language servers (haiku-lsp, bare pygls) and the bare SDK client


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def descendants(pid: int) -> list[int]:
    """The child processes of `pid`, theirs, and so on (Linux)."""
    out: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            kids = [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for kid in kids:
            out += [kid, *descendants(kid)]
    return out


def memory_apart(pid: int) -> tuple[float, float]:
    """(RSS of the server process, RSS of its descendants together: the jedi workers and the interpreter
    jedi starts for its own use), MiB."""
    kids = [rss_mib(c) for c in descendants(pid)]
    return rss_mib(pid), sum(k for k in kids if k == k)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of `pid` and its descendants so far."""
    total = 0.0
    for p in (pid, *descendants(pid)):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def quiet(pid: int, timeout: float = 60.0) -> float:
    """Wait until the server and its workers use less than 10 % of a CPU over half a second (the jedi work
    queued before is done); the seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        before = cpu_seconds(pid)
        await asyncio.sleep(0.5)
        if cpu_seconds(pid) - before < 0.05:
            break
    return time.monotonic() - t0


class Lsp(Editor):
    """One language-server process driven by the harness's plain pygls client (no per-message checks on
    the client side, so the round trips measured are the server's and JSON-RPC's), plus what this
    benchmark asks: requests at (line, code point), resident memory."""

    def rss(self) -> float:
        return rss_mib(self.pid)

    def inline_at(self, uri: str, line: int, col: int, invoked: bool = False) -> Pending:
        return self.inline(uri, self.position(uri, line, col), invoked)

    async def complete(self, uri: str, line: int, col: int, invoked: bool = False) -> tuple[float, float, list[str]]:
        """(sent at, answered at, item texts) for one request, awaited."""
        pending = self.inline_at(uri, line, col, invoked)
        result = await pending.wait(30)
        return pending.sent, pending.answered, item_texts(result)


class BareClient:
    """bench/bare_client.py in a subprocess: one bare SDK streaming call per command."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, str(BENCH / "bare_client.py"), env=self.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert self.proc.stdout is not None
        await asyncio.wait_for(self.proc.stdout.readline(), 60)

    async def stream(self, body: dict) -> dict:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        body = {k: v for k, v in body.items() if k != "stream"}
        self.proc.stdin.write((json.dumps({"body": body}) + "\n").encode())
        await self.proc.stdin.drain()
        return json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))

    async def stop(self) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin is not None
        self.proc.stdin.write(b'{"quit": true}\n')
        await self.proc.stdin.drain()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()


# --------------------------------------------------------------------------------------------------
# The document of sections 1-4


# json/decoder.py with the cursor mid-identifier in JSONArray, and a comment line above the cursor that
# changes every iteration (so neither cache nor typed-ahead answers).
DECODER = STDLIB / "json" / "decoder.py"
CURSOR_LINE_TEXT = "            value, end = scan_once(s, end)"
CURSOR_PREFIX = "            value, end = scan_on"
ANSWER = "ce(s, end)"


def decoder_document(occurrence: int = 1) -> tuple[list[str], int]:
    """decoder.py's lines with a comment line inserted above the `occurrence`-th CURSOR_LINE_TEXT and
    that line cut to CURSOR_PREFIX; returns (lines, cursor line index)."""
    lines = DECODER.read_text().split("\n")
    hits = [i for i, text in enumerate(lines) if text == CURSOR_LINE_TEXT]
    at = hits[occurrence]
    lines[at] = CURSOR_PREFIX
    lines.insert(at, "            # pass 0")
    return lines, at + 1


def input_tokens(rec: Any) -> int:
    usage = rec.usage or {}
    return (usage.get("input_tokens", 0) + usage.get("cache_creation_input_tokens", 0)
            + usage.get("cache_read_input_tokens", 0))


# --------------------------------------------------------------------------------------------------
# The run


class Holder:
    """The fake's scripted reply, switched by the benchmark as it goes."""

    def __init__(self) -> None:
        self.reply: Any = None

    def __call__(self, body: dict) -> Any:
        return self.reply


@dataclass
class Interleaved:
    """What section 1 measures for section 2 (interleaved with its own samples): round trips of a no-op
    request, of the same request again, of typed-ahead; the bodies of the Automatic requests (iteration
    -> body), to tell why a cache lookup missed."""

    noop: list[float]
    repeat: list[float]
    typed: list[float]
    auto_bodies: dict[int, dict]


class Bench:
    """One run: the fake API, the workspace, the servers started, the report being written."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self.report = Report()
        self.tmp = Path(tempfile.mkdtemp(prefix="haiku-lsp-bench-"))
        self.ws = self.tmp / "ws"
        self.ws.mkdir()
        self.fake = FakeAnthropic().start()
        self.holder = Holder()
        self.fake.script(self.holder)
        # For the bare SDK client (its cache directory is never used).
        self.base_env = server_env(self.fake.base_url, self.tmp / "cache" / "sdk", api_key=API_KEY)
        self.started: list[Lsp] = []
        self.sdk_warm = Reply(text=ANSWER, ttft=0.0, chunk_chars=4, chunk_delay=0.002)

    def env(self, cache: str) -> dict[str, str]:
        return server_env(self.fake.base_url, self.tmp / "cache" / cache, api_key=API_KEY)

    def haiku(self, cache: str, name: str) -> Lsp:
        lsp = Lsp(haiku_command(), self.env(cache), name=name)
        self.started.append(lsp)
        return lsp

    def bare_server(self, name: str) -> Lsp:
        lsp = Lsp([sys.executable, str(BENCH / "bare_server.py")], self.env("bare"), name=name)
        self.started.append(lsp)
        return lsp

    async def stop(self, lsp: Lsp) -> None:
        await lsp.stop()
        self.started.remove(lsp)

    async def stop_all(self) -> None:
        for lsp in self.started:
            await lsp.stop()
        self.started.clear()

    def new_requests(self, since: int) -> list[Any]:
        return self.fake.message_requests[since:]

    async def jedi_barrier(self, lsp: Lsp, uri: str) -> None:
        """Returns once the server's jedi thread has worked through its queue: an Invoked request in
        the scratch document (edited first, so typed-ahead does not answer) waits for jedi's own
        completions, which queue behind everything submitted before (e.g. parsing opened files)."""
        lsp.set_line(uri, 1, f"# barrier {time.monotonic()}")
        await lsp.complete(uri, 4, len("    return math.sq"), invoked=True)

    async def first_completion(self, lsp: Lsp, uri: str) -> float:
        """A completion in a scratch document: waits for the SDK import started after initialize. The
        comment makes it new to the cache (a restarted server would answer it from disk without
        waiting for the import, which then runs during the measurements)."""
        self.holder.reply = self.sdk_warm
        text = f"import math\n# warm-up {time.monotonic_ns()}\n\ndef f(x):\n    return math.sq"
        lsp.open(uri, text)
        t0 = time.monotonic()
        await lsp.complete(uri, 4, len("    return math.sq"), invoked=False)
        return time.monotonic() - t0
