"""Code-action, hover and test-generation benchmark for haiku-lsp.

Everything runs locally: the real server in a subprocess (``python -m haiku_lsp --stdio``), a plain pygls
client that answers workspace/applyEdit, window/showMessageRequest, window/showDocument and progress
like an editor, and the fake Anthropic Messages API (tests/fakes/anthropic_api.py) with scripted,
simulated model latency. Every figure is shown next to a baseline measured in the same run,
interleaved with it (the machine is shared and noisy). Benchmarks print tables; nothing here asserts.

    python bench/actions.py            # full run, about 2 minutes; rewrites its BENCHMARKS.md section
    python bench/actions.py --quick    # fewer samples
    python bench/actions.py --no-write # print only

Sections:

1. ``textDocument/codeAction`` listing on a 2,000-line Python module and a 2,000-line log with a
   traceback near its end: first request after open, same version, after an edit; baseline: a no-op
   request (hover outside the document). Listing must make no upstream request.
2. Hover: jedi only (baseline, ``hoverExplanations: false``), cached explanation, fresh explanation
   within the budget, explanation over the budget (and the hover after it).
3. ``haiku.generateTest``: wall time split into model / pytest / overhead; the cached repeat; the offline
   doctest path; baseline: the same test file run by a bare ``python -m pytest``.

The figures land in BENCHMARKS.md between ``<!-- bench:actions:start -->`` and ``<!-- bench:actions:end -->``.
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import datetime
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import Report, header, med, ms, pct, table, utf16_len, write_section  # bench/ is on sys.path when run
from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parents[1]
MD_PATH = ROOT / "BENCHMARKS.md"
START, END = "<!-- bench:actions:start -->", "<!-- bench:actions:end -->"
API_KEY = "sk-ant-bench-actions-0123456789abcdef"

# Filled in by main() once the repo root is on sys.path.
FakeAnthropic: Any = None
Reply: Any = None


# --------------------------------------------------------------------------------------------------
# Statistics and tables


def sec(seconds: float) -> str:
    return f"{seconds:.2f}"


def ms_stats(values: list[float]) -> tuple[str, str]:
    return ms(med(values)), ms(pct(values, 95))


# --------------------------------------------------------------------------------------------------
# The client


class Lsp:
    """One haiku-lsp process driven by a plain pygls client that behaves like an editor: it applies
    edits (without writing them), answers message requests with `answer_message_request`, accepts
    showDocument and progress tokens. Round trips are measured from sending a request to the moment
    its response was read off the pipe (before the client's own scheduling)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.client = LanguageClient("haiku-lsp-bench-actions", "0")
        self.docs: dict[str, list[str]] = {}
        self.versions: dict[str, int] = {}
        self.received: dict[str, float] = {}
        self.messages: list[str] = []
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.answer_message_request: str | None = None
        self.counts: dict[str, int] = {}
        self._ids = 0
        self._stderr: list[str] = []
        from tests.conftest import fix_code_action_decoding  # the repo root is on sys.path by now

        fix_code_action_decoding(self.client)
        c = self.client

        @c.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied_edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        @c.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.messages.append(params.message)
            title = self.answer_message_request
            return types.MessageActionItem(title=title) if title else None

        @c.feature(types.WINDOW_SHOW_DOCUMENT)
        def show_document(params: types.ShowDocumentParams) -> types.ShowDocumentResult:
            return types.ShowDocumentResult(success=True)

        @c.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def progress_create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        @c.feature(types.PROGRESS)
        def progress(params: Any) -> None:
            return None

        for method in (types.WINDOW_SHOW_MESSAGE, types.WINDOW_LOG_MESSAGE):
            c.feature(method)(lambda params: self.messages.append(params.message))

        original = c.protocol._handle_response

        def stamped(msg_id: Any, result: Any = None, error: Any = None) -> Any:
            self.received[str(msg_id)] = time.monotonic()
            return original(msg_id, result, error)

        c.protocol._handle_response = stamped

    async def start(self, root: Path, init_options: dict | None = None) -> None:
        from pytest_lsp import client_capabilities

        await self.client.start_io(sys.executable, "-m", "haiku_lsp", "--stdio", env=self.env)
        self._drain = asyncio.ensure_future(self._read_stderr())
        await asyncio.wait_for(self.client.initialize_async(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"), process_id=os.getpid(),
            root_uri=root.as_uri(), workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=init_options or {})), 60)
        self.client.initialized(types.InitializedParams())
        self.initialized_at = time.monotonic()

    async def _read_stderr(self) -> None:
        stream = self.client._server.stderr
        while line := await stream.readline():
            self._stderr.append(line.decode(errors="replace").rstrip())
            del self._stderr[:-40]

    async def stop(self) -> None:
        try:
            await asyncio.wait_for(self.client.shutdown_async(None), 10)
            self.client.exit(None)
            await asyncio.wait_for(self.client._server.wait(), 10)
        except Exception:
            if self.client._server.returncode is None:
                self.client._server.kill()
        await self.client.stop()

    # --- documents ---

    def open(self, uri: str, text: str, language: str = "python") -> None:
        self.docs[uri] = text.split("\n")
        self.versions[uri] = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))

    def close(self, uri: str) -> None:
        self.docs.pop(uri, None)
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def type(self, uri: str, line: int, col: int, text: str) -> None:
        """Insert `text` (no newline) at (line, col in code points): one incremental change."""
        current = self.docs[uri][line]
        self.docs[uri][line] = current[:col] + text + current[col:]
        at = types.Position(line=line, character=utf16_len(current[:col]))
        self.versions[uri] += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at),
                                                                    text=text)]))

    def configure(self, settings: dict) -> None:
        self.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))

    # --- requests ---

    async def request(self, method: str, params: Any, timeout: float = 120) -> tuple[float, Any]:
        """(round trip seconds, result)."""
        self._ids += 1
        self.counts[method] = self.counts.get(method, 0) + 1
        msg_id = f"b{self._ids}"
        sent = time.monotonic()
        future = self.client.protocol.send_request_async(method, params, msg_id=msg_id)
        result = await asyncio.wait_for(future, timeout)
        return self.received.pop(msg_id, time.monotonic()) - sent, result

    async def code_actions(self, uri: str, line: int, col: int = 0) -> tuple[float, list]:
        text = self.docs[uri][line]
        pos = types.Position(line=line, character=utf16_len(text[:col]))
        rt, result = await self.request(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
            context=types.CodeActionContext(diagnostics=[])))
        return rt, result or []

    async def hover(self, uri: str, line: int, col: int) -> tuple[float, str | None]:
        rt, result = await self.request(types.TEXT_DOCUMENT_HOVER, types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=col)))
        return rt, (result.contents.value if result is not None else None)

    async def noop(self, uri: str) -> float:
        """The baseline round trip: a hover on a line past the end (answered null before any work)."""
        rt, result = await self.hover(uri, 10_000_000, 0)
        return rt

    async def command(self, name: str, *arguments: Any, timeout: float = 120) -> tuple[float, dict]:
        rt, result = await self.request(types.WORKSPACE_EXECUTE_COMMAND, types.ExecuteCommandParams(
            command=name, arguments=list(arguments)), timeout=timeout)
        return rt, result if isinstance(result, dict) else {"status": repr(result)}


def server_env(fake_url: str, cache_dir: Path, key: bool = True) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
    env.update({"ANTHROPIC_BASE_URL": fake_url, "HAIKU_LSP_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"})
    if key:
        env["ANTHROPIC_API_KEY"] = API_KEY
    return env


class Holder:
    """The fake's scripted reply (a Reply or a callable(body) -> Reply), switched as the benchmark goes."""

    def __init__(self) -> None:
        self.reply: Any = None

    def __call__(self, body: dict) -> Any:
        return self.reply(body) if callable(self.reply) else self.reply


# --------------------------------------------------------------------------------------------------
# Generated documents


WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "lambda_", "theta", "zeta", "rho", "tau"]
VERBS = ["load", "parse", "merge", "score", "render", "filter", "rank", "split", "encode", "check", "build", "scan"]

FUNC_DOCTEST = '''
def @NAME@(values: list[float], scale: float = @K@) -> float:
    """Return the scaled sum of the non-negative ``values``.

    >>> @NAME@([1.0, 2.0], scale=2.0)
    6.0
    >>> @NAME@([-1.0], scale=@K@)
    0.0
    """
    total = 0.0
    for value in values:
        if value < 0:
            continue
        total += value * scale
    return total
'''

FUNC_PLAIN = '''
def @NAME@(text: str, limit: int = @K@) -> list[str]:
    """Split ``text`` into at most ``limit`` stripped, non-empty words."""
    words = [w.strip() for w in text.split()]
    kept = [w for w in words if w]
    if len(kept) > limit:
        kept = kept[:limit]
    return kept
'''

FUNC_ASYNC = '''
async def @NAME@(urls: list[str], limit: int = @K@) -> list[str]:
    """Fetch (pretend) the first ``limit`` urls."""
    results: list[str] = []
    for url in urls[:limit]:
        await asyncio.sleep(0)
        results.append(url.upper())
    return results
'''

FUNC_DECORATED = '''
@functools.lru_cache(maxsize=@K@)
def @NAME@(n: int) -> int:
    """Memoised helper: the n-th number of a Fibonacci-like sequence."""
    if n < 2:
        return n
    return @NAME@(n - 1) + @NAME@(n - 2)
'''

CLASS = '''
@dataclasses.dataclass
class @NAME@:
    """A bounded store of counters keyed by name.

    >>> s = @NAME@("demo", limit=2)
    >>> s.add("a", 1)
    >>> s.total
    1
    """

    name: str
    limit: int = @K@
    _items: dict[str, int] = dataclasses.field(default_factory=dict)

    def add(self, key: str, value: int) -> None:
        """Add ``value`` under ``key``."""
        if key not in self._items and len(self._items) >= self.limit:
            raise ValueError(f"{self.name} is full")
        self._items[key] = self._items.get(key, 0) + value

    @property
    def total(self) -> int:
        return sum(self._items.values())

    def top(self, n: int = 3) -> list[tuple[str, int]]:
        """The ``n`` largest counters."""
        def weight(item: tuple[str, int]) -> int:
            return -item[1]

        return sorted(self._items.items(), key=weight)[:n]

    def merge(self, other: "@NAME@") -> "@NAME@":
        merged = @NAME@(self.name, self.limit + other.limit)
        for key, value in [*self._items.items(), *other._items.items()]:
            merged.add(key, value)
        return merged
'''

EDIT_MARK = "# --- the benchmark types at the end of this comment ---"


def python_module(lines_wanted: int = 2000, seed: int = 7) -> tuple[str, list[str]]:
    """A realistic module of about `lines_wanted` lines (functions, classes with methods, nested defs,
    decorators, doctests) ending in a main() that calls the plain functions; (text, plain names)."""
    rng = random.Random(seed)
    head = ('"""Generated module for the haiku-lsp code action benchmark."""\n\nfrom __future__ import annotations\n\n'
            "import asyncio\nimport dataclasses\nimport functools\n\nLIMIT = 10\n")
    parts, plain, used = [head], [], set()
    templates = [FUNC_DOCTEST, FUNC_PLAIN, FUNC_PLAIN, FUNC_ASYNC, FUNC_DECORATED, CLASS]
    count = 0
    while sum(p.count("\n") for p in parts) < lines_wanted - 60:
        template = templates[count % len(templates)]
        while True:
            name = f"{rng.choice(VERBS)}_{rng.choice(WORDS).rstrip('_')}_{count}"
            if name not in used:
                break
        used.add(name)
        if template is CLASS:
            name = "".join(w.capitalize() for w in name.split("_"))
        if template is FUNC_PLAIN:
            plain.append(name)
        parts.append("\n" + template.replace("@NAME@", name).replace("@K@", str(rng.randint(3, 64))))
        if count == 40:
            parts.append(f"\n{EDIT_MARK}\nEDITED = 0\n")
        count += 1
    calls = "".join(f"    r{i} = {name}('a b c', limit={i + 2})\n" for i, name in enumerate(plain))
    parts.append(f'\n\ndef main() -> None:\n    """Call every helper once."""\n{calls}    print("done")\n\n\n'
                 'if __name__ == "__main__":\n    main()\n')
    return "".join(parts), plain


def log_file(lines_wanted: int = 2000, seed: int = 11, tb_at: int = 1950, ws: str = "/srv/app") -> tuple[str, int]:
    """A service log of `lines_wanted` lines with one chained traceback starting near line `tb_at`;
    (text, 0-based line of the final exception line)."""
    rng = random.Random(seed)
    out = []
    t = datetime.datetime(2026, 11, 24, 10, 0, 0)
    levels = ["INFO"] * 12 + ["DEBUG"] * 4 + ["WARNING"]
    tb = [
        "Traceback (most recent call last):",
        f'  File "{ws}/worker/jobs.py", line 88, in run',
        "    result = handler(job.payload)",
        "             ^^^^^^^^^^^^^^^^^^^^",
        f'  File "{ws}/worker/handlers.py", line 41, in handle_report',
        "    rows = load_rows(payload['source'])",
        "           ~~~~~~~~~^^^^^^^^^^^^^^^^^^^",
        f'  File "{ws}/worker/io.py", line 17, in load_rows',
        "    return json.loads(text)['rows']",
        "           ^^^^^^^^^^^^^^^^",
        '  File "/usr/lib/python3.11/json/__init__.py", line 346, in loads',
        "    return _default_decoder.decode(s)",
        "           ^^^^^^^^^^^^^^^^^^^^^^^^^^",
        '  File "/usr/lib/python3.11/json/decoder.py", line 337, in decode',
        "    obj, end = self.raw_decode(s, idx=_w(s, 0).end())",
        "               ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^",
        '  File "/usr/lib/python3.11/json/decoder.py", line 355, in raw_decode',
        "    raise JSONDecodeError(\"Expecting value\", s, err.value) from None",
        "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        "",
        "The above exception was the direct cause of the following exception:",
        "",
        "Traceback (most recent call last):",
        f'  File "{ws}/worker/pool.py", line 120, in _loop',
        "    self._run_one(job)",
        f'  File "{ws}/worker/pool.py", line 131, in _run_one',
        "    raise JobFailed(job.id) from err",
        "worker.errors.JobFailed: job 4711 failed",
    ]
    last = 0
    while len(out) < lines_wanted:
        t += datetime.timedelta(milliseconds=rng.randint(5, 900))
        stamp = t.strftime("%Y-%m-%d %H:%M:%S") + f",{t.microsecond // 1000:03d}"
        if len(out) == tb_at:
            out.append(f"{stamp} ERROR worker.pool: job 4711 crashed")
            out += tb
            last = len(out) - 1
            continue
        level = rng.choice(levels)
        job = rng.randint(1000, 9999)
        msg = rng.choice([f"processed job {job} in {rng.randint(1, 500)} ms",
                          f"GET /api/jobs/{job} 200 {rng.randint(1, 80)}ms",
                          f"queue depth {rng.randint(0, 40)}, workers {rng.randint(1, 8)}",
                          f"retrying job {job} (attempt {rng.randint(2, 4)})",
                          f"cache miss for key report:{job}"])
        out.append(f"{stamp} {level} worker.{rng.choice(['pool', 'io', 'api', 'cache'])}: {msg}")
    return "\n".join(out) + "\n", last


def deep_traceback(frames: int = 1000, ws: str = "/srv/app") -> tuple[str, int]:
    """A 2-function mutual recursion traceback (CPython does not collapse it): about 2 lines per frame."""
    out = ["2026-11-24 10:00:00,000 ERROR worker: crashed", "Traceback (most recent call last):"]
    for i in range(frames):
        fn, line, code = (("ping", 5, "return pong(n + 1)") if i % 2 == 0 else ("pong", 9, "return ping(n + 1)"))
        out += [f'  File "{ws}/recur.py", line {line}, in {fn}', f"    {code}"]
    out.append("RecursionError: maximum recursion depth exceeded")
    return "\n".join(out) + "\n", len(out) - 1


# --------------------------------------------------------------------------------------------------
# Section 1: code action listing


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


async def settle(lsp: Lsp, uri: str) -> None:
    """Wait until the server's jedi thread is idle: a hover at the top of the file queues behind the
    warm-up parse did_open started (hover runs on the same single-thread executor)."""
    await lsp.hover(uri, 0, 0)


async def listing_section(cfg: Config, fake: Any, report: Report, work: Path) -> dict:
    ws = work / "ws-listing"
    ws.mkdir()
    text, _ = python_module()
    log_text, tb_last = log_file(ws=str(ws))
    deep_text, deep_last = deep_traceback()
    py_lines, log_lines = text.split("\n"), log_text.split("\n")
    edit_line = py_lines.index(EDIT_MARK)  # a comment: every edit keeps the module parseable
    lsp = Lsp(server_env(fake.base_url, work / "cache-listing"))
    await lsp.start(ws)
    before = len(fake.requests)
    rng = random.Random(3)
    rows: list[list[Any]] = []
    facts: dict[str, Any] = {"py_lines": len(py_lines) - 1, "log_lines": len(log_lines) - 1}
    try:
        # Warm the client/server paths (first request of a session, imports) outside the samples.
        warm_uri = (ws / "warmup.py").as_uri()
        lsp.open(warm_uri, text)
        await settle(lsp, warm_uri)
        for _ in range(5):
            await lsp.code_actions(warm_uri, 100)
            await lsp.noop(warm_uri)
        lsp.close(warm_uri)

        async def cold_samples(name: str, body: str, language: str, lines: list[str],
                               settled: bool) -> tuple[list[float], list[float]]:
            firsts, bases = [], []
            for i in range(cfg.cold):
                uri = (ws / f"{name}{'-s' if settled else ''}-{i}.{'py' if language == 'python' else 'log'}").as_uri()
                lsp.open(uri, body, language)
                if settled:
                    await settle(lsp, uri)
                line = rng.randrange(len(lines) - 1)
                rt, _ = await lsp.code_actions(uri, line, min(4, len(lines[line])))
                firsts.append(rt)
                bases.append(await lsp.noop(uri))
                await settle(lsp, uri)  # let the next sample start on an idle server
                lsp.close(uri)
            return firsts, bases

        async def same_version(uri: str, lines: list[str], positions: list[int]) -> tuple[list[float], list[float],
                                                                                          list[list]]:
            rts, bases, results = [], [], []
            for line in positions:
                bases.append(await lsp.noop(uri))
                rt, actions = await lsp.code_actions(uri, line, min(4, len(lines[line])))
                rts.append(rt)
                results.append(actions)
            return rts, bases, results

        spread = sorted(rng.sample(range(len(py_lines) - 1), cfg.positions))

        # --- Python module ---
        cold_py, cold_py_base = await cold_samples("cold", text, "python", py_lines, settled=False)
        settled_py, settled_py_base = await cold_samples("cold", text, "python", py_lines, settled=True)
        uri = (ws / "big.py").as_uri()
        lsp.open(uri, text)
        await settle(lsp, uri)
        await lsp.code_actions(uri, 0)
        warm_py, warm_py_base, results = await same_version(uri, py_lines, spread)
        with_test = sum(1 for r in results if any(a.title.startswith("Generate a unit test") for a in r))
        edit_py, edit_py_base = [], []
        for i in range(cfg.edits):
            lsp.type(uri, edit_line, len(lsp.docs[uri][edit_line]), str(i % 10))
            line = rng.choice(spread)
            rt, _ = await lsp.code_actions(uri, line, min(4, len(lsp.docs[uri][line])))
            edit_py.append(rt)
            edit_py_base.append(await lsp.noop(uri))
        lsp.close(uri)
        facts["py_with_test"] = (with_test, len(spread))
        facts["edit_py"] = edit_py
        baseline_all = cold_py_base + settled_py_base + warm_py_base + edit_py_base
        rows += [
            ["Python, 1st request right after didOpen", *ms_stats(cold_py), *ms_stats(cold_py_base),
             f"{len(cold_py)} fresh documents, requested right after didOpen"],
            ["Python, 1st request after open (jedi idle)", *ms_stats(settled_py), *ms_stats(settled_py_base),
             f"{len(settled_py)} fresh documents, after the open has settled"],
            ["Python, same version", *ms_stats(warm_py), *ms_stats(warm_py_base),
             f"{len(warm_py)} cursor positions; test action offered at {with_test}"],
            ["Python, after an edit (new version)", *ms_stats(edit_py), *ms_stats(edit_py_base),
             f"{len(edit_py)} edits (1 character typed into a comment), each followed at once by the request"],
        ]

        # --- Log file ---
        cold_log, cold_log_base = await cold_samples("cold", log_text, "log", log_lines, settled=False)
        uri = (ws / "service.log").as_uri()
        lsp.open(uri, log_text, "log")
        await lsp.code_actions(uri, 0)
        log_spread = sorted(rng.sample(range(len(log_lines) - 1), cfg.positions))
        warm_log, warm_log_base, results = await same_version(uri, log_lines, log_spread)
        explain_far = sum(1 for r in results if any(a.title.startswith("Explain") for a in r))
        tb_positions = [tb_last - k for k in range(0, 28)] * max(1, cfg.positions // 56)
        on_tb, on_tb_base, results = await same_version(uri, log_lines, tb_positions)
        explain_on = sum(1 for r in results if any(a.title.startswith("Explain") for a in r))
        edit_log, edit_log_base = [], []
        for i in range(cfg.edits):
            lsp.type(uri, 10, 0, "x")
            line = tb_last - (i % 28)
            rt, _ = await lsp.code_actions(uri, line, 0)
            edit_log.append(rt)
            edit_log_base.append(await lsp.noop(uri))
        lsp.close(uri)
        facts["log_explain"] = (explain_far, len(log_spread), explain_on, len(tb_positions))
        rows += [
            ["Log, 1st request right after didOpen", *ms_stats(cold_log), *ms_stats(cold_log_base),
             f"{len(cold_log)} fresh documents (language `log`: no test action, traceback detector only)"],
            ["Log, same version, anywhere", *ms_stats(warm_log), *ms_stats(warm_log_base),
             f"{len(warm_log)} positions; explain action offered at {explain_far} (those within 40 lines of it)"],
            ["Log, same version, on the traceback", *ms_stats(on_tb), *ms_stats(on_tb_base),
             f"{len(on_tb)} requests on its 28 lines; explain action offered at {explain_on}"],
            ["Log, after an edit, on the traceback", *ms_stats(edit_log), *ms_stats(edit_log_base),
             f"{len(edit_log)} edits (the detector has no per-version memo: same work as above)"],
        ]

        # --- Stress: a 2,000-line traceback (mutual recursion is not collapsed by CPython) ---
        uri = (ws / "recursion.log").as_uri()
        deep_lines = deep_text.split("\n")
        lsp.open(uri, deep_text, "log")
        await lsp.code_actions(uri, 0)
        stress_pos = [deep_last - k for k in range(0, 40, 2)] + [len(deep_lines) // 2 + k for k in range(0, 40, 2)]
        stress, stress_base, results = await same_version(uri, deep_lines, stress_pos)
        explain_deep = sum(1 for r in results if any(a.title.startswith("Explain") for a in r))
        lsp.close(uri)
        rows.append([f"Log, {len(deep_lines) - 1}-line traceback (stress), same version", *ms_stats(stress),
                     *ms_stats(stress_base),
                     f"{len(stress)} positions at its end and middle; explain offered at {explain_deep}"])
        baseline_all += cold_log_base + warm_log_base + on_tb_base + edit_log_base + stress_base
        facts["baseline"] = baseline_all
        facts["upstream"] = len(fake.requests) - before
        facts["listings"] = lsp.counts.get(types.TEXT_DOCUMENT_CODE_ACTION, 0)
    finally:
        await lsp.stop()

    # In-process reference: the listing finds the enclosing def/class by indentation (engine.outline)
    # instead of parsing; a full parse is what it would cost otherwise.
    from haiku_lsp.python import enclosing_definition

    parse_s, outline_s = [], []
    lines = text.split("\n")
    for i in range(20):
        variant = text + "#" * i  # a new version each time, as after an edit
        t0 = time.perf_counter()
        ast.parse(variant)
        parse_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for line in range(0, len(lines), 97):
            enclosing_definition(lines, line)
        outline_s.append((time.perf_counter() - t0) / len(range(0, len(lines), 97)))
    slow_edits = sum(1 for rt in facts["edit_py"] if rt > 2 * med(facts["edit_py"]))
    print(f"Upstream requests made while listing code actions: {facts['upstream']}", flush=True)
    body = table(["request", "median ms", "p95 ms", "baseline median ms", "baseline p95 ms", "notes"], rows)
    body += (f"\n\nDocuments: a generated {facts['py_lines']}-line Python module (functions, classes with methods, "
             "nested and async defs, decorators, doctests) and a "
             f"{facts['log_lines']}-line service log with a chained traceback near its end. Baseline: the no-op "
             "round trip (a hover on a line past the end of the document, answered null before any work), "
             "interleaved with the samples of the same row. Cursor requests with an empty range and no "
             "diagnostics, as an editor sends on every cursor move.\n\n"
             "In-process reference (this benchmark's process, the same module): the listing finds the "
             f"enclosing def/class by indentation (`engine.outline.enclosing_definition`): {ms(med(outline_s))} ms "
             f"median per cursor position, against {ms(med(parse_s))} ms for an `ast.parse` of the module (what a "
             f"parse per new version would cost on the event loop); {slow_edits} of the {len(facts['edit_py'])} "
             "after-edit samples above took more than twice their median.\n\n"
             f"**Upstream requests made while listing: {facts['upstream']}** (the fake API's request log, "
             f"over the {facts['listings']} listing requests of this section).")
    report.add("Code action listing (`textDocument/codeAction`)", body)
    return facts


# --------------------------------------------------------------------------------------------------
# Section 2: hover


HOVER_SUMMARY = ("Splits the text on whitespace, strips each word, drops empty ones and keeps at most `limit` "
                 "of them; never raises for an empty string.")


def bare_import() -> float:
    """Wall seconds of `python -c "import anthropic"` in a fresh process, minus a bare interpreter start."""
    t0 = time.monotonic()
    subprocess.run([sys.executable, "-c", "import anthropic"], check=False)
    t1 = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=False)
    return (t1 - t0) - (time.monotonic() - t1)


async def hover_section(cfg: Config, fake: Any, holder: Holder, report: Report, work: Path) -> None:
    ws = work / "ws-hover"
    ws.mkdir()
    text, plain = python_module(seed=21)
    lines = text.split("\n")
    lsp = Lsp(server_env(fake.base_url, work / "cache-hover"))
    await lsp.start(ws)
    uri = (ws / "big.py").as_uri()
    lsp.open(uri, text)
    await settle(lsp, uri)

    def call_site(name: str) -> tuple[int, int]:
        needle = f" = {name}("
        for i, line in enumerate(lines):
            if needle in line:
                return i, line.index(needle) + 3 + len(name) // 2
        raise LookupError(name)

    async def set_explanations(on: bool, budget_ms: int = 600) -> None:
        lsp.configure({"hoverExplanations": on, "hoverBudgetMs": budget_ms})
        await lsp.noop(uri)  # processed in order: the setting is in force for the next request

    fresh = Reply(text=json.dumps({"summary": HOVER_SUMMARY}), ttft=0.2, tokens_per_second=200)
    slow = Reply(text=json.dumps({"summary": HOVER_SUMMARY}), ttft=2.0, tokens_per_second=200)
    base, cached, fresh_rt, fresh_up, fresh_sent, slow_rt, after_rt = [], [], [], [], [], [], []
    problems: list[str] = []
    rng = random.Random(5)
    names = rng.sample(plain, min(len(plain), cfg.hover_rounds + cfg.over_budget + 1))
    try:
        # Warm-up on one symbol, not counted: the session's first explanation waits for the server's
        # background import of the SDK and opens the connection.
        holder.reply = fresh
        line, col = call_site(names[0])
        await set_explanations(True)
        n = len(fake.message_requests)
        t0 = time.monotonic()
        first_rt, value = await lsp.hover(uri, line, col)
        [req] = (await fake.wait_for_requests_async(n + 1, timeout=60))[n:]
        await fake.wait_until_closed_async(req, timeout=30)
        first = {"rt": first_rt, "since_start": t0 - lsp.initialized_at, "arrived": req.arrived_at - t0,
                 "had": bool(value and "**Haiku:**" in value)}
        await asyncio.sleep(0.05)
        await lsp.hover(uri, line, col)
        for i, name in enumerate(names[1:1 + cfg.hover_rounds]):
            line, col = call_site(name)

            async def baseline(line: int = line, col: int = col, name: str = name) -> None:
                await set_explanations(False)
                rt, value = await lsp.hover(uri, line, col)
                base.append(rt)
                if not value or "Haiku" in value:
                    problems.append(f"baseline hover on {name}: {value!r:.80}")

            if i % 2 == 0:
                await baseline()
            await set_explanations(True)
            n = len(fake.message_requests)
            t0 = time.monotonic()
            rt, value = await lsp.hover(uri, line, col)
            fresh_rt.append(rt)
            if not value or "**Haiku:**" not in value:
                problems.append(f"fresh hover on {name} without the explanation")
            reqs = fake.message_requests[n:]
            if len(reqs) == 1 and reqs[0].finished_at is not None:
                fresh_up.append(reqs[0].finished_at - reqs[0].arrived_at)
                fresh_sent.append(reqs[0].arrived_at - t0)
            else:
                problems.append(f"fresh hover on {name}: {len(reqs)} upstream requests")
            rt, value = await lsp.hover(uri, line, col)
            cached.append(rt)
            if not value or "**Haiku:**" not in value or len(fake.message_requests) != n + 1:
                problems.append(f"cached hover on {name} made a request or lacked the explanation")
            if i % 2 == 1:
                await baseline()

        # Over budget: answered at about the budget without it, fetched in the background.
        holder.reply = slow
        await set_explanations(True)
        for name in names[1 + cfg.hover_rounds:]:
            line, col = call_site(name)
            n = len(fake.message_requests)
            rt, value = await lsp.hover(uri, line, col)
            slow_rt.append(rt)
            if value and "**Haiku:**" in value:
                problems.append(f"over-budget hover on {name} had the explanation")
            [req] = (await fake.wait_for_requests_async(n + 1))[n:]
            await fake.wait_until_closed_async(req, timeout=30)
            await asyncio.sleep(0.05)
            rt, value = await lsp.hover(uri, line, col)
            after_rt.append(rt)
            if not value or "**Haiku:**" not in value:
                problems.append(f"hover after the background fetch on {name} lacked the explanation")
    finally:
        await lsp.stop()

    import_s = await asyncio.to_thread(bare_import)
    over = [rt - 0.6 for rt in slow_rt]
    rows = [
        ["jedi only (`hoverExplanations: false`)", *ms_stats(base), "—", f"{len(base)} symbols; baseline"],
        ["(a) cached explanation", *ms_stats(cached), f"+{ms(med(cached) - med(base))}",
         "second hover on the same symbol: no upstream request; the extra time is mostly a second jedi pass "
         "(`goto`, to find the definition whose source keys the cache)"],
        ["(b) fresh explanation within the budget", *ms_stats(fresh_rt), f"+{ms(med(fresh_rt) - med(base))}",
         f"fake ttft 0.2 s, 200 tok/s; upstream exchange median {ms(med(fresh_up))} ms, request reached the API "
         f"{ms(med(fresh_sent))} ms after the hover was sent"],
        ["(c) explanation over the budget (600 ms)", *ms_stats(slow_rt), f"+{ms(med(slow_rt) - med(base))}",
         f"fake ttft 2 s; answered without it, median {ms(med(over))} ms past the 600 ms budget (the budget "
         "starts after both jedi passes)"],
        ["(c) next hover, after the background fetch", *ms_stats(after_rt), f"+{ms(med(after_rt) - med(base))}",
         "served from the cache the background fetch filled"],
        ["first explanation of the session (1 sample)", ms(first["rt"]), "—", "—",
         f"hover sent {sec(first['since_start'])} s after `initialized`; answered "
         f"{'with' if first['had'] else 'without'} the explanation; its upstream request left "
         f"{sec(first['arrived'])} s after the hover (the server imports the SDK in the background at start-up; "
         f"baseline: `import anthropic` alone in a fresh process takes {sec(import_s)} s here)"],
    ]
    body = table(["hover", "median ms", "p95 ms", "vs jedi-only median", "notes"], rows)
    body += ("\n\nHover on call sites in `main()` of a generated 2,000-line module (the definitions are in the same "
             "file); `hoverBudgetMs` 600 (the default). The baseline is the same hover with explanations switched "
             "off, interleaved with the others (before on even rounds, after on odd ones). "
             + (f"**Problems:** {'; '.join(problems)}." if problems else
                "Every (b), (a) and next-(c) hover carried the explanation; no (c) hover did."))
    report.add("Hover", body)


# --------------------------------------------------------------------------------------------------
# Section 3: test generation


STATS_HEAD = '"""Small statistics helpers (the benchmark\'s test-generation target)."""\n\n'
STATS_FUNC = '''
def scale_N(values, factor=F):
    """Multiply every value by FACTOR; an empty list stays empty."""
    if factor == 0:
        raise ValueError("factor must not be zero")
    return [v * factor for v in values]
'''

CALC = '''def add(a, b):
    """Return a + b.

    >>> add(2, 3)
    5
    >>> add(-1, 1)
    0
    """
    return a + b
'''


def stats_module(n: int) -> str:
    return STATS_HEAD + "".join("\n" + STATS_FUNC.replace("_N", f"_{i}").replace("FACTOR", str(i + 2))
                                .replace("F", str(i + 2)) for i in range(n))


def generated_test(i: int) -> dict:
    """What the fake model answers for scale_i: a passing 5-test module, about 300 tokens of JSON."""
    f = i + 2
    code = (f"import pytest\n\nfrom stats import scale_{i}\n\n\n"
            f"def test_scale_{i}_multiplies_each_value():\n"
            f"    assert scale_{i}([1, 2, 3]) == [{f}, {2 * f}, {3 * f}]\n\n\n"
            f"def test_scale_{i}_empty_list():\n    assert scale_{i}([]) == []\n\n\n"
            f"def test_scale_{i}_custom_factor():\n    assert scale_{i}([1.5], factor=2) == [3.0]\n\n\n"
            f"def test_scale_{i}_negative_values():\n    assert scale_{i}([-1, 0], factor=3) == [-3, 0]\n\n\n"
            f"def test_scale_{i}_zero_factor_raises():\n    with pytest.raises(ValueError, match=\"zero\"):\n"
            f"        scale_{i}([1], factor=0)\n")
    return {"test_path": "tests/test_stats.py", "code": code, "command": "pytest tests/test_stats.py",
            "notes": f"Covers scaling by the default and a custom factor, empty input and the zero-factor error of "
                     f"scale_{i}."}


def bare_pytest(ws: Path, rel: str, content: str, work: Path) -> float:
    """Baseline: the same test file run by a bare `python -m pytest` (same flags and environment as the
    server's sandbox) in a prepared copy of the workspace; wall seconds."""
    from haiku_lsp.tools import scrubbed_env

    dest = Path(tempfile.mkdtemp(dir=work, prefix="bare-"))
    shutil.copytree(ws, dest, dirs_exist_ok=True)
    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
    (dest / rel).write_text(content, encoding="utf-8")
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", rel], cwd=dest,
                          env=scrubbed_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    shutil.rmtree(dest, ignore_errors=True)
    if proc.returncode != 0:
        print(f"bare pytest failed:\n{proc.stdout[-2000:]}", flush=True)
    return elapsed


def edit_text(params: types.ApplyWorkspaceEditParams) -> str:
    out = []
    for change in params.edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            out += [e.new_text for e in change.edits]
    return "".join(out)


async def testgen_section(cfg: Config, fake: Any, holder: Holder, report: Report, work: Path) -> None:
    ws = work / "ws-testgen"
    (ws / "tests").mkdir(parents=True)
    n = cfg.testgen + 1
    source = stats_module(n)
    (ws / "stats.py").write_text(source, encoding="utf-8")
    (ws / "calc.py").write_text(CALC, encoding="utf-8")
    src_lines = source.split("\n")

    def line_of(i: int) -> int:
        return src_lines.index(f"def scale_{i}(values, factor={i + 2}):")

    def answer(body: dict) -> Any:
        text = "\n".join(str(m.get("content")) for m in body.get("messages", []))
        match = re.search(r"Write tests for the \w+ `scale_(\d+)`", text)
        i = int(match.group(1)) if match else 0
        return Reply(text=json.dumps(generated_test(i)), ttft=0.9, tokens_per_second=100)

    holder.reply = answer
    lsp = Lsp(server_env(fake.base_url, work / "cache-testgen"))
    await lsp.start(ws)
    uri = (ws / "stats.py").as_uri()
    lsp.open(uri, source)
    await settle(lsp, uri)
    samples: list[dict] = []
    problems: list[str] = []
    try:
        for i in range(n):  # sample 0 is the warm-up (first connection, first pytest run)
            pos = {"line": line_of(i), "character": 4}
            k = len(fake.message_requests)
            rt, result = await lsp.command("haiku.generateTest", uri, pos)
            reqs = fake.message_requests[k:]
            if result.get("status") != "applied" or result.get("origin") != "model" or len(reqs) != 1:
                problems.append(f"scale_{i}: {result.get('status')} / {result.get('origin')} / {len(reqs)} requests"
                                f" {result.get('message', '')}")
                continue
            timings = result.get("timings") or {}
            upstream = (reqs[0].finished_at or reqs[0].arrived_at) - reqs[0].arrived_at
            k = len(fake.message_requests)
            rt2, again = await lsp.command("haiku.generateTest", uri, pos)
            t2 = again.get("timings") or {}
            if again.get("origin") != "cache" or len(fake.message_requests) != k or t2.get("pytest", 0) > 0:
                problems.append(f"scale_{i} repeat: {again.get('origin')}, {len(fake.message_requests) - k} requests, "
                                f"pytest {t2.get('pytest')}")
            bare = await asyncio.to_thread(bare_pytest, ws, "tests/test_stats.py", generated_test(i)["code"], work)
            samples.append({"rt": rt, "model": timings.get("model", 0.0), "pytest": timings.get("pytest", 0.0),
                            "total": timings.get("total", 0.0), "upstream": upstream,
                            "tokens": reqs[0].output_tokens, "cached_rt": rt2, "bare": bare})
    finally:
        await lsp.stop()

    # Offline: no key, the test is written from the doctests of calc.add and run.
    offline: list[dict] = []
    lsp = Lsp(server_env(fake.base_url, work / "cache-offline", key=False))
    await lsp.start(ws)
    calc = (ws / "calc.py").as_uri()
    lsp.open(calc, CALC)
    await settle(lsp, calc)
    before = len(fake.requests)
    try:
        for _ in range(cfg.offline + 1):
            lsp.applied_edits.clear()
            rt, result = await lsp.command("haiku.generateTest", calc, {"line": 0, "character": 4})
            if result.get("status") != "applied" or result.get("origin") != "doctest":
                problems.append(f"offline: {result.get('status')} / {result.get('origin')} {result.get('message', '')}")
                continue
            content = edit_text(lsp.applied_edits[-1]) if lsp.applied_edits else ""
            bare = await asyncio.to_thread(bare_pytest, ws, str(result.get("path", "tests/test_calc.py")), content,
                                           work)
            timings = result.get("timings") or {}
            offline.append({"rt": rt, "pytest": timings.get("pytest", 0.0), "total": timings.get("total", 0.0),
                            "bare": bare, "summary": result.get("summary")})
        if len(fake.requests) != before:
            problems.append(f"offline path made {len(fake.requests) - before} upstream requests")
    finally:
        await lsp.stop()

    first, rest = (samples[0], samples[1:]) if samples else (None, [])
    off_first, off_rest = (offline[0], offline[1:]) if offline else (None, [])

    def col(items: list[dict], key: str, f: Callable[[dict], float] | None = None) -> list[float]:
        return [f(s) if f else s[key] for s in items]

    def overhead(s: dict) -> float:
        return s["rt"] - s["model"] - s["pytest"]

    rows = []
    if rest:
        rows += [
            ["model (server-measured)", sec(med(col(rest, "model"))), sec(pct(col(rest, "model"), 95)),
             sec(med(col(rest, "upstream"))),
             f"baseline: the fake API's own exchange, arrival to last byte (ttft 0.9 s, then the "
             f"{med(col(rest, 'tokens')):.0f}-token answer in 8-character chunks, each paced at 100 tok/s)"],
            ["pytest (server-measured, sandboxed)", sec(med(col(rest, "pytest"))), sec(pct(col(rest, "pytest"), 95)),
             sec(med(col(rest, "bare"))),
             "baseline: the same test file run by a bare `python -m pytest -q` in a ready copy"],
            ["overhead (round trip − model − pytest)", f"{med(col(rest, '', overhead)):.3f}",
             f"{pct(col(rest, '', overhead), 95):.3f}", "—",
             f"of which outside the flow (round trip − flow total): "
             f"{ms(med([s['rt'] - s['total'] for s in rest]))} ms median"],
            ["**total** (`haiku.generateTest` round trip)", sec(med(col(rest, "rt"))), sec(pct(col(rest, "rt"), 95)),
             sec(med([s["upstream"] + s["bare"] for s in rest])), "baseline: upstream exchange + bare pytest"],
            ["same command again (cached)", ms(med(col(rest, "cached_rt"))) + " ms",
             ms(pct(col(rest, "cached_rt"), 95)) + " ms", "—", "no upstream request, no pytest run"],
        ]
    if first:
        rows.append(["first run of the session (warm-up, not in the rows above)", sec(first["rt"]), "—", "—",
                     f"model {sec(first['model'])} s, pytest {sec(first['pytest'])} s"])
    if off_rest:
        rows += [
            ["offline doctest path: pytest", sec(med(col(off_rest, "pytest"))), sec(pct(col(off_rest, "pytest"), 95)),
             sec(med(col(off_rest, "bare"))), f"no key; `calc.add`'s doctests → {off_rest[0]['summary']}"],
            ["offline doctest path: total round trip", sec(med(col(off_rest, "rt"))),
             sec(pct(col(off_rest, "rt"), 95)), "—",
             f"overhead {ms(med([s['rt'] - s['pytest'] for s in off_rest]))} ms median; never cached"
             + (f"; first run {sec(off_first['rt'])} s" if off_first else "")],
        ]
    body = table(["figure", "median s", "p95 s", "baseline median s", "notes"], rows)
    body += (f"\n\n{len(rest)} generations (each for a different function of a small workspace with a `tests/` "
             f"folder, so none is a cache hit), {len(off_rest)} offline runs. Model latency simulated by the fake "
             "API as Haiku: ttft 0.9 s, 100 output tokens/s; the scripted 5-test answer passes. "
             + (f"**Problems:** {'; '.join(problems)}." if problems else
                "Every generation was applied with its pytest result; every repeat came from the cache."))
    report.add("Test generation (`haiku.generateTest`)", body)


# --------------------------------------------------------------------------------------------------
# Main


def render(report: Report, command: str, elapsed: float) -> str:
    out = [*header(START, "Code actions and hover (`bench/actions.py`)", command, elapsed),
           "- Everything is local: the real server (`python -m haiku_lsp --stdio`) driven by a plain pygls client "
           "with VS Code's capabilities (it applies edits, answers message requests and progress), talking HTTP to "
           "the fake Messages API (tests/fakes/anthropic_api.py) with simulated model latency. Medians and 95th "
           "percentiles; every baseline is measured in the same run, interleaved with what it is compared to. "
           "Shared, noisy 2-core machine: compare rows within a run, not across runs.", ""]
    for title, body in report.sections:
        out += [f"### {title}", "", body, ""]
    out.append(END)
    return "\n".join(out)


async def run(cfg: Config, report: Report, only: set[str]) -> None:
    fake = FakeAnthropic().start()
    holder = Holder()
    fake.script(holder)
    work = Path(tempfile.mkdtemp(prefix="haiku-bench-actions-"))
    try:
        if "listing" in only:
            await listing_section(cfg, fake, report, work)
        if "hover" in only:
            await hover_section(cfg, fake, holder, report, work)
        if "testgen" in only:
            await testgen_section(cfg, fake, holder, report, work)
    finally:
        fake.stop()
        shutil.rmtree(work, ignore_errors=True)
        if fake.errors:
            print("fake API internal errors:\n" + "\n".join(fake.errors), flush=True)


def main() -> None:
    global FakeAnthropic, Reply
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples (about 1 minute)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    parser.add_argument("--only", choices=["listing", "hover", "testgen"], action="append",
                        help="run only these sections (implies --no-write)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.fakes.anthropic_api import FakeAnthropic as _Fake
    from tests.fakes.anthropic_api import Reply as _Reply

    FakeAnthropic, Reply = _Fake, _Reply
    if args.quick:
        cfg = Config(quick=True, positions=60, cold=4, edits=10, hover_rounds=4, over_budget=2, testgen=1, offline=1)
    else:
        cfg = Config(quick=False, positions=200, cold=8, edits=40, hover_rounds=12, over_budget=5, testgen=4,
                     offline=3)
    command = "python bench/actions.py" + (" --quick" if args.quick else "")
    report = Report()
    t0 = time.monotonic()
    asyncio.run(run(cfg, report, set(args.only or ["listing", "hover", "testgen"])))
    elapsed = time.monotonic() - t0
    print(f"\nDone in {elapsed:.0f} s.", flush=True)
    if args.no_write or args.only:
        return
    write_section(MD_PATH, START, END, render(report, command, elapsed))
    print(f"Wrote {MD_PATH.relative_to(ROOT)} ({START} ... {END}).")


if __name__ == "__main__":
    main()
