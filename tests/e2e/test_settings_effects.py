"""Every setting changes behaviour: one row per field of `Settings` (the table must name them all).

Each row gives a camelCase key, a value other than the default and a probe. A probe runs the code path
the setting governs in an in-process language server (the real feature and command handlers of
lsp/, the real `Session`, completion engine, hover explainer, test generation and refactor flows,
jedi, the disk cache) and returns what can be observed: the request the model provider received, the
debounce delay, the suggestion offered, the interpreter a sandboxed pytest run was given, and so on.
The test runs every probe twice, in fresh servers: once with the defaults, once with the row's value
sent as `workspace/didChangeConfiguration` (so `load_settings` reads the wire key and
`Session.configure` hands the snapshot out), and asserts that the observables differ -- and that the
changed one is the one the value asks for.

The model is an in-process recording provider (llm/provider.py's `Provider` protocol), except for
`budgetUsd`, whose cap is enforced by the real `AnthropicProvider` before any network use. Sandboxed
pytest runs are recorded at `tools.sandbox.run_in_sandbox` (the settings choose the interpreter and the
timeout; the run itself is not what they govern). No subprocess server, no network, no timed assertions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from haiku_lsp.completion import CompletionQuery
from haiku_lsp.errors import ProviderError
from haiku_lsp.llm.accounting import Ledger, Usage
from haiku_lsp.llm.anthropic import AnthropicProvider
from haiku_lsp.llm.cache import Cache
from haiku_lsp.llm.provider import Completion, ModelRequest
from haiku_lsp.llm.usage import UsageStore
from haiku_lsp.lsp.server import HaikuLanguageServer, create_server
from haiku_lsp.session import Session
from haiku_lsp.settings import SETTING_KEYS, Settings, load_settings
from haiku_lsp.text import split_lines
from haiku_lsp.tools import ProcessResult, sandbox

# --- the workspace ----------------------------------------------------------------------------------

MOD = '''\
"""Shapes."""


def area(width, height):
    """The area of a rectangle."""
    return width * height


def report(width, height):
    size = area(width, height)
    print(size)
'''
TYPING = MOD.replace("print(size)", "print(siz")  # the buffer while typing (unsaved)
LINE_CURSOR = (10, len("    print(siz"))  # line mode: code before the cursor on its line
HOVER_CURSOR = (9, len("    size = ar"))  # on the call of `area`
DEF_LINE = 3  # `def area`: where generate-test is asked for

BLOCK = "def build(n):\n    \n"
BLOCK_CURSOR = (1, 4)  # block mode: an empty (indented) line
BLOCK_REPLY = "a0 = n + 0\n" + "".join(f"    a{i} = a{i - 1} + {i}\n" for i in range(1, 9)) + "    return a8\n"

TESTS = "from mod import area\n\n\ndef test_area():\n    assert area(2, 3) == 6\n"
SECRET = "sk-ant-api03-" + "Zx9" * 12
HELPERS = 'def scale(value, factor):\n    """Multiply a value by a factor."""\n    return value * factor\n'
USES_HELPERS = "from helpers import scale\n\nprice = scale(10, 3)\nprint(pri\n"

HOVER_SUMMARY = "Multiplies width by height."
TESTGEN_ANSWER = {"test_path": "tests/test_mod.py", "code": TESTS.replace("test_area", "test_area_square"),
                  "command": "pytest tests/test_mod.py", "notes": "Checks the product."}
PLAN = {"notes": "One subtask.", "subtasks": [
    {"id": "s1", "title": "Hints for area", "target": {"symbols": ["area"], "lines": []},
     "instructions": "Add type hints.", "depends_on": []}]}
WORKER = {"replacement": 'def area(width: int, height: int) -> int:\n    """The area of a rectangle."""\n'
                         "    return width * height",
          "imports": [], "notes": "Added type hints."}


# --- an in-process provider that records what it is asked ----------------------------------------------

@dataclass
class Call:
    request: ModelRequest
    timeout: float
    feature: str

    @property
    def system(self) -> str:
        return " ".join(block["text"] for block in self.request.system)

    @property
    def user(self) -> str:
        return str(self.request.messages[0]["content"])


class _Stream:
    def __init__(self, model: str, text: str) -> None:
        self._model, self._chunks = model, text.splitlines(keepends=True)
        self.stop_reason: str | None = None
        self.finished = False

    def __aiter__(self) -> AsyncIterator[str]:
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        for chunk in self._chunks:
            await asyncio.sleep(0)
            yield chunk
        self.stop_reason, self.finished = "stop_sequence", True

    @property
    def usage(self) -> Usage:
        return Usage(self._model, 100, 10)


class RecordingProvider:
    """The `Provider` protocol in-process: answers by feature and records every call."""

    def __init__(self) -> None:
        self.ledger = Ledger()
        self.calls: list[Call] = []
        self.inline_reply = "e)"
        self.plan = PLAN
        self.in_flight = self.max_in_flight = 0  # worker calls at once

    @property
    def available(self) -> bool:
        return True

    async def ready(self) -> None:
        return None

    def of(self, feature: str) -> list[Call]:
        return [c for c in self.calls if c.feature == feature]

    def _answer(self, call: Call) -> str:
        if call.feature == "inline":
            return self.inline_reply
        if call.feature == "hover":
            return json.dumps({"summary": HOVER_SUMMARY})
        if call.feature == "testgen":
            return json.dumps(TESTGEN_ANSWER)
        if call.feature == "refactor":
            return json.dumps(self.plan if "You plan" in call.system else WORKER)
        raise AssertionError(f"unexpected model call for {call.feature}")

    def stream(self, request: ModelRequest, *, timeout: float, inline: bool = True,
               feature: str = "inline") -> contextlib.AbstractAsyncContextManager[_Stream]:
        call = Call(request, timeout, feature)
        self.calls.append(call)

        @contextlib.asynccontextmanager
        async def opened() -> AsyncIterator[_Stream]:
            stream = _Stream(request.model, self._answer(call))
            yield stream
            self.ledger.record(stream.usage, feature)

        return opened()

    async def complete(self, request: ModelRequest, *, timeout: float, feature: str = "action",
                       retries: bool = True) -> Completion:
        call = Call(request, timeout, feature)
        self.calls.append(call)
        worker = feature == "refactor" and "You plan" not in call.system
        self.in_flight += worker
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await asyncio.sleep(0.05 if worker else 0)
        self.in_flight -= worker
        usage = Usage(request.model, 100, 10)
        self.ledger.record(usage, feature)
        return Completion(self._answer(call), None, "end_turn", usage)


# --- an in-process language server ---------------------------------------------------------------------

class _Sent:
    """The server's transport: what it sends to the client, decoded."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    def write(self, data: bytes) -> None:
        self.messages.append(json.loads(data))

    def close(self) -> None:
        pass


class Env:
    """A `HaikuLanguageServer` in-process, initialized on a workspace folder, with a `Session` on the
    recording provider and a cache in a temporary directory. The client is stood in for by `_Sent`
    (notifications) and by answers to the two requests the commands send (applyEdit, showMessageRequest)."""

    def __init__(self, tmp: Path, sandbox_runs: list[tuple[str, float, bool]]) -> None:
        self.tmp = tmp
        self.sandbox_runs = sandbox_runs  # what the sandbox_runs fixture records
        self.root = tmp / "ws"
        (self.root / "tests").mkdir(parents=True)
        (self.root / "mod.py").write_text(MOD)
        (self.root / "tests" / "test_mod.py").write_text(TESTS)
        self.provider = RecordingProvider()
        self.server: HaikuLanguageServer = create_server()
        self.sent = _Sent()
        self.server.protocol.set_writer(self.sent, include_headers=False)
        self.use_provider(self.provider)
        self.applied: list[types.ApplyWorkspaceEditParams] = []

        async def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied.append(params)
            return types.ApplyWorkspaceEditResult(applied=True)

        async def message_request(params: types.ShowMessageRequestParams) -> None:
            return None  # the user dismisses it

        self.server.workspace_apply_edit_async = apply_edit  # type: ignore[method-assign]
        self.server.window_show_message_request_async = message_request  # type: ignore[method-assign]
        self._initialize()
        self.configured: dict | None = None

    @property
    def session(self) -> Session:
        return self.server.session

    def use_provider(self, provider: Any) -> None:
        """A new session on `provider`, configured as the running one: what the server builds at start-up."""
        old = self.server.session
        self.server.session = Session(provider=provider, cache=Cache(self.tmp / "cache"),
                                      on_error=self.server.report_provider_error)
        old.close()
        root = self.server.root_path()  # None before initialize
        self.session.configure(old.settings, Path(root) if root else None)

    def _initialize(self) -> None:
        params = types.InitializeParams(
            capabilities=types.ClientCapabilities(), root_uri=self.root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=self.root.as_uri(), name="ws")])
        steps = self.server.protocol.lsp_initialize(params)
        result: Any = None
        with contextlib.suppress(StopIteration):
            while True:
                handler, args, _ = steps.send(result)
                result = handler(*args)

    def feature(self, method: str) -> Callable:
        return self.server.protocol.fm.features[method]

    def configure(self, raw: dict) -> None:
        """workspace/didChangeConfiguration with `raw`; the server must accept every key."""
        before = len(self.sent.messages)
        self.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(types.DidChangeConfigurationParams(settings=raw))
        shown = [m["params"]["message"] for m in self.sent.messages[before:] if m.get("method") == "window/showMessage"]
        assert not shown, shown
        expected, problems = load_settings(raw)
        assert problems == []
        for key in raw:
            name = SETTING_KEYS[key]
            assert getattr(self.session.settings, name) == getattr(expected, name), key
        self.configured = raw

    # documents and requests, as the editor sends them

    def open(self, name: str, text: str) -> str:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        uri = path.as_uri()
        self.server.workspace.put_text_document(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text))
        return uri

    def close_document(self, uri: str) -> None:
        self.server.workspace.remove_text_document(uri)
        self.feature(types.TEXT_DOCUMENT_DID_CLOSE)(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri)))

    def query(self, uri: str, at: tuple[int, int]) -> CompletionQuery:
        """The query lsp/inline_completion.py builds for an invoked request at `at`."""
        document = self.server.workspace.get_text_document(uri)
        return CompletionQuery(uri=uri, lines=split_lines(document.source), line=at[0], col=at[1], invoked=True,
                               path=document.path, root=self.server.root_path(), version=document.version)

    async def inline(self, uri: str, at: tuple[int, int]) -> list[str]:
        """textDocument/inlineCompletion, invoked (no debounce): the texts offered."""
        result = await self.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION)(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(*at),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
        return [item.insert_text for item in result.items] if result else []

    async def hover(self, uri: str, at: tuple[int, int]) -> str:
        result = await self.feature(types.TEXT_DOCUMENT_HOVER)(types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(*at)))
        return result.contents.value if result else ""

    async def command(self, name: str, *args: Any) -> dict:
        return await self.server.protocol.fm.commands[name](*args)

    async def close(self) -> None:
        pending = [t for t in self.session.hover._inflight.values() if not t.done()]
        await asyncio.gather(*pending, return_exceptions=True)
        self.session.close()
        await self.session.jedi.aclose()  # its worker processes are reaped before the next test
        provider = self.session.provider
        if isinstance(provider, AnthropicProvider):
            await provider.aclose()


# --- probes ---------------------------------------------------------------------------------------------

Probe = Callable[[Env, dict], Awaitable[Any]]


async def inline_call(env: Env, raw: dict, text: str = TYPING, at: tuple[int, int] = LINE_CURSOR,
                      name: str = "mod.py") -> Call | None:
    """The model request of one invoked inline completion (None when there was none)."""
    env.configure(raw)
    uri = env.open(name, text)
    await env.inline(uri, at)
    calls = env.provider.of("inline")
    return calls[-1] if calls else None


async def fast_model(env: Env, raw: dict) -> tuple[str, str]:
    """The model of an inline completion and of a hover explanation."""
    inline = await inline_call(env, raw)
    await env.hover(env.open("mod.py", MOD), HOVER_CURSOR)
    return inline.request.model, env.provider.of("hover")[-1].request.model


async def offered(env: Env, raw: dict) -> list[str]:
    env.configure(raw)
    return await env.inline(env.open("mod.py", TYPING), LINE_CURSOR)


async def debounce(env: Env, raw: dict) -> float:
    """The delay before an automatic trigger goes upstream (no typing history yet)."""
    env.configure(raw)
    return env.session.completions.debounce_s(env.open("mod.py", MOD))


LONG = [f"value_{i:03d} = {i}" for i in range(200)] + ["total = value_000 + "] + \
       [f"after_{i:03d} = {i}" for i in range(200)]
LONG_CURSOR = (200, len("total = value_000 + "))


async def prefix_lines(env: Env, raw: dict) -> int:
    """Lines of the code before the cursor sent in the prompt."""
    call = await inline_call(env, raw, "\n".join(LONG) + "\n", LONG_CURSOR, "long.py")
    return call.user.split("<HOLE/>")[0].count("\n")


async def suffix_lines(env: Env, raw: dict) -> int:
    """Lines of the code after the cursor sent in the prompt."""
    call = await inline_call(env, raw, "\n".join(LONG) + "\n", LONG_CURSOR, "long.py")
    return call.user.split("<HOLE/>")[1].split("</file>")[0].count("\n") - 1


async def definitions_sent(env: Env, raw: dict) -> bool:
    """Whether the prompt carries the jedi definition of a name imported from another module. The
    resolution is made beforehand (names are remembered per document), so no time budget is involved."""
    env.configure(raw)
    (env.root / "helpers.py").write_text(HELPERS)
    uri = env.open("shop.py", USES_HELPERS)
    at = (3, len("print(pri"))
    warm = await env.session.completions.names.snippets(env.query(uri, at), 10_000, 60.0)
    assert warm, "jedi did not resolve `scale`"
    await env.inline(uri, at)
    call = env.provider.of("inline")[-1]
    return "Multiply a value by a factor" in call.system


async def context_wait(env: Env, raw: dict) -> float:
    """How long an invoked completion lets jedi resolve the names near the cursor (the budget given to
    the name context; whether jedi makes it in time is timing, not asserted here)."""
    env.configure(raw)
    names = env.session.completions.names
    waits: list[float] = []
    real = names.snippets

    async def spy(q: CompletionQuery, max_tokens: int, wait_s: float) -> tuple:
        waits.append(wait_s)
        return await real(q, max_tokens, wait_s)

    names.snippets = spy  # type: ignore[method-assign]
    await env.inline(env.open("mod.py", TYPING), LINE_CURSOR)
    return waits[-1]


async def line_max_tokens(env: Env, raw: dict) -> int:
    return (await inline_call(env, raw)).request.max_tokens


async def block_max_tokens(env: Env, raw: dict) -> int:
    env.provider.inline_reply = BLOCK_REPLY
    return (await inline_call(env, raw, BLOCK, BLOCK_CURSOR, "block.py")).request.max_tokens


async def block_lines(env: Env, raw: dict) -> int:
    """Lines of the block suggestion offered for a 10-line answer."""
    env.configure(raw)
    env.provider.inline_reply = BLOCK_REPLY
    texts = await env.inline(env.open("block.py", BLOCK), BLOCK_CURSOR)
    assert len(texts) == 1, texts
    return len(texts[0].rstrip("\n").split("\n"))


async def inline_timeout(env: Env, raw: dict) -> float:
    return (await inline_call(env, raw)).timeout


async def hover_explanation(env: Env, raw: dict) -> tuple[int, bool]:
    """(model calls for the hover, whether the hover shows the explanation)."""
    env.configure(raw)
    text = await env.hover(env.open("mod.py", MOD), HOVER_CURSOR)
    assert "The area of a rectangle." in text, text  # jedi's part is there in every case
    return len(env.provider.of("hover")), HOVER_SUMMARY in text


async def ruff_published(env: Env, raw: dict) -> list[str]:
    """The codes of the diagnostics the server published for a file with an unused import."""
    env.configure(raw)
    uri = env.open("lint.py", "import os\n\n\ndef f():\n    return 1\n")
    env.feature(types.TEXT_DOCUMENT_DID_OPEN)(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1,
                                             text=env.server.workspace.get_text_document(uri).source)))
    pending = list(env.server.diagnostics._tasks.values())
    await asyncio.gather(*pending)
    published = [m["params"] for m in env.sent.messages if m.get("method") == "textDocument/publishDiagnostics"]
    return [d["code"] for p in published if p["uri"] == uri for d in p["diagnostics"]]


async def planner_model(env: Env, raw: dict) -> str:
    env.configure(raw)
    result = await env.command("haiku.refactorFile", env.open("mod.py", MOD), "Add type hints")
    assert result["status"] == "applied", result
    return next(c for c in env.provider.of("refactor") if "You plan" in c.system).request.model


@pytest.fixture
def sandbox_runs(monkeypatch) -> list[tuple[str, float, bool]]:
    """Sandboxed processes (argv[0], timeout, os_sandbox) instead of running them: each passes one test."""
    runs: list[tuple[str, float, bool]] = []

    async def run_in_sandbox(root, overlay, argv, *, timeout_s, ignore=None, merge_stderr=True,
                             os_sandbox=True) -> ProcessResult:
        runs.append((argv[0], timeout_s, os_sandbox))
        return ProcessResult(0, "1 passed in 0.01s\n", "", False, 0.01)

    monkeypatch.setattr(sandbox, "run_in_sandbox", run_in_sandbox)
    return runs


async def tool_runs(env: Env, raw: dict) -> tuple[tuple[str, float, bool], tuple[str, float, bool]]:
    """(interpreter, timeout) of the pytest run checking a generated test, and of the one validating a
    refactor."""
    runs = env.sandbox_runs
    env.configure(raw)
    uri = env.open("mod.py", MOD)
    result = await env.command("haiku.generateTest", uri, {"line": DEF_LINE, "character": 4})
    assert result["status"] == "applied", result
    generated = runs[-1]
    result = await env.command("haiku.refactorFile", uri, "Add type hints")
    assert result["status"] == "applied", result
    return generated, runs[-1]


async def interpreters(env: Env, raw: dict) -> tuple[str | None, str, str]:
    """`Session.test_python()` and the interpreter the generate-test and refactor flows run pytest with."""
    generated, validated = await tool_runs(env, raw)
    return env.session.test_python(), generated[0], validated[0]


async def action_timeouts(env: Env, raw: dict) -> tuple[float, float, float]:
    """The timeout of the model calls behind a hover explanation, a generated test and a refactor plan."""
    await tool_runs(env, raw)
    await env.hover(env.open("mod.py", MOD), HOVER_CURSOR)
    planning = next(c for c in env.provider.of("refactor") if "You plan" in c.system)
    return env.provider.of("hover")[-1].timeout, env.provider.of("testgen")[-1].timeout, planning.timeout


async def pytest_timeouts(env: Env, raw: dict) -> tuple[float, float]:
    generated, validated = await tool_runs(env, raw)
    return generated[1], validated[1]


async def os_confined(env: Env, raw: dict) -> tuple[bool, bool]:
    """Whether generate-test's and refactor validation's pytest runs ask for the OS sandbox."""
    generated, validated = await tool_runs(env, raw)
    return generated[2], validated[2]


async def workers_at_once(env: Env, raw: dict) -> int:
    """The most refactor worker calls in flight at once, for a plan of 6 independent subtasks."""
    env.configure(raw)
    (env.root / "many.py").write_text("".join(f"def f{i}(x):\n    return x\n\n\n" for i in range(6)))
    env.provider.plan = {"notes": "", "subtasks": [
        {"id": f"s{i}", "title": f"f{i}", "target": {"symbols": [f"f{i}"], "lines": []},
         "instructions": "Add type hints.", "depends_on": []} for i in range(6)]}
    uri = env.open("many.py", (env.root / "many.py").read_text())
    await env.command("haiku.refactorFile", uri, "Add type hints")
    return env.provider.max_in_flight


async def hover_shown(env: Env, raw: dict) -> bool:
    """Whether the first hover shows the explanation (the model answers at once, in-process)."""
    return (await hover_explanation(env, raw))[1]


async def scratch_upstream(env: Env, raw: dict) -> int:
    """Model requests made for a completion in scratch_1.py."""
    await inline_call(env, raw, TYPING, LINE_CURSOR, "scratch_1.py")
    return len(env.provider.of("inline"))


async def secret_sent(env: Env, raw: dict) -> bool:
    text = TYPING.replace('"""Shapes."""', f'"""Shapes."""\nTOKEN = "{SECRET}"')
    call = await inline_call(env, raw, text, (LINE_CURSOR[0] + 1, LINE_CURSOR[1]))
    return SECRET in call.user


async def upstream_for_repeat(env: Env, raw: dict) -> int:
    """Model requests for the same completion asked twice, the document closed and reopened between
    (so the second is not answered from the suggestion shown)."""
    env.configure(raw)
    uri = env.open("mod.py", TYPING)
    first = await env.inline(uri, LINE_CURSOR)
    env.close_document(uri)
    uri = env.open("mod.py", TYPING)
    second = await env.inline(uri, LINE_CURSOR)
    assert first == second == ["e)"], (first, second)
    return len(env.provider.of("inline"))


async def disk_size_limit(env: Env, raw: dict) -> int:
    """The disk store's size limit (diskcache's `size_limit`), the store opened before the change as the
    server's warm-up does."""
    env.session.cache.warm()
    env.configure(raw)
    return env.session.cache._open().size_limit


async def platform_call(env: Env, raw: dict) -> str:
    """What the real provider answers to a call with no Anthropic key and no AWS region in the environment:
    on Anthropic's API, no key; on Bedrock, its client cannot be set up (never any network either way)."""
    env.use_provider(AnthropicProvider(Ledger()))
    env.configure(raw)
    request = ModelRequest(model="claude-haiku-4-5", messages=({"role": "user", "content": "hi"},), max_tokens=8)
    try:
        async with env.session.provider.stream(request, timeout=5):
            return "streamed"
    except ProviderError as err:
        return f"{type(err).__name__}: {err}"


async def shared_tier(env: Env, raw: dict) -> str:
    """The URL of the team cache the session's cache consults after memory and disk ("" for none); nothing
    is asked of it here (the real Redis tests are in tests/e2e/test_shared_cache.py)."""
    env.configure(raw)
    shared = env.session.cache.shared
    return shared.url if shared is not None else ""


async def cost(env: Env, raw: dict) -> float:
    """USD the ledger books for 1M input + 1M output tokens of the fast model."""
    env.configure(raw)
    return env.session.ledger.record(Usage("claude-haiku-4-5", input=1_000_000, output=1_000_000), "inline")


async def budget(env: Env, raw: dict) -> str:
    """What the real provider answers to a call after $1 was spent (no key: it never gets to the network)."""
    env.use_provider(AnthropicProvider(Ledger()))
    env.configure(raw)
    env.session.ledger.record(Usage("claude-haiku-4-5", input=1_000_000), "inline")
    request = ModelRequest(model="claude-haiku-4-5", messages=({"role": "user", "content": "hi"},), max_tokens=8)
    try:
        async with env.session.provider.stream(request, timeout=5):
            return "streamed"
    except ProviderError as err:
        return type(err).__name__


async def daily_budget(env: Env, raw: dict) -> str:
    """What a call answers after $1 was spent today by another server sharing the cache dir."""
    env.configure(raw)
    other = UsageStore(env.session.cache.directory / "usage")  # another server's view of the same store
    other.append({"kind": "call", "feature": "inline", "model": "claude-haiku-4-5", "usd": 1.0})
    request = ModelRequest(model="claude-haiku-4-5", messages=({"role": "user", "content": "hi"},), max_tokens=8)
    try:
        async with env.session.provider.stream(request, timeout=5) as stream:
            return "streamed: " + "".join([t async for t in stream])
    except ProviderError as err:
        return type(err).__name__


def audit_files(env: Env) -> list[Path]:
    return sorted((env.session.cache.directory / "audit").glob("*.jsonl"))


async def audited_calls(env: Env, raw: dict) -> int:
    """Lines in the audit log after one inline completion that went upstream."""
    call = await inline_call(env, raw)
    assert call is not None
    return sum(len(p.read_text().splitlines()) for p in audit_files(env))


async def audit_files_after_big_calls(env: Env, raw: dict) -> int:
    """Audit log files after four calls with a prompt of 280 kB each as JSON (1.1 MB in all)."""
    env.configure(raw)
    request = ModelRequest(model="claude-haiku-4-5", max_tokens=8,
                           messages=({"role": "user", "content": "x = 1\n" * 40_000},))
    for _ in range(4):
        await env.session.provider.complete(request, timeout=5, feature="hover")
    return len(audit_files(env))


# --- the table ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Row:
    key: str
    value: Any
    probe: Probe
    observes: str
    expect: Callable[[Any, Any], bool]  # (default, changed) -> is `changed` what the value asks for
    marks: tuple = ()


def equals(value: Any) -> Callable[[Any, Any], bool]:
    return lambda default, changed: changed == value


def smaller(default: Any, changed: Any) -> bool:
    return changed < default


CUSTOM_PYTHON = "/opt/custom-python/bin/python3"

ROWS = [
    Row("provider", "bedrock", platform_call, "error of a call with no key and no AWS region",
        lambda default, changed: default.startswith("NoKeyError") and "bedrock client cannot be set up" in changed),
    Row("fastModel", "claude-3-5-haiku-20241022", fast_model, "model of the inline request and of the hover one",
        equals(("claude-3-5-haiku-20241022",) * 2)),
    Row("plannerModel", "claude-opus-4-1", planner_model, "model of the refactor's planning request",
        equals("claude-opus-4-1")),
    Row("inlineEnabled", False, offered, "inline completions offered", equals([])),
    Row("debounceMs", 250, debounce, "debounce delay (s) of an automatic trigger", equals(0.25)),
    Row("debounceMinMs", 200, debounce, "debounce delay (s): raised to the minimum", equals(0.2)),
    Row("debounceMaxMs", 100, debounce, "debounce delay (s): cut to the maximum", equals(0.1)),
    Row("maxPrefixTokens", 50, prefix_lines, "lines before the cursor in the prompt", smaller),
    Row("maxSuffixTokens", 0, suffix_lines, "lines after the cursor in the prompt", equals(0)),
    Row("maxContextTokens", 0, definitions_sent, "jedi definition of an imported name in the prompt",
        equals(False)),
    Row("contextTimeBudgetMs", 1000, context_wait, "time (s) an invoked completion gives jedi for names",
        equals(1.0)),
    Row("maxLineTokens", 50, line_max_tokens, "max_tokens of a line-mode request", equals(50)),
    Row("maxBlockTokens", 1000, block_max_tokens, "max_tokens of a block-mode request", equals(1000)),
    Row("maxBlockLines", 3, block_lines, "lines of the block suggestion offered (answer: 10 lines)", equals(3)),
    Row("inlineTimeoutMs", 1000, inline_timeout, "timeout (s) passed with the inline stream", equals(1.0)),
    Row("actionTimeoutS", 30.0, action_timeouts, "timeout (s) of the model calls of hover, generate-test, refactor",
        equals((30.0,) * 3)),
    Row("testPython", CUSTOM_PYTHON, interpreters,
        "Session.test_python(), interpreter of generate-test's and of refactor validation's pytest",
        equals((CUSTOM_PYTHON,) * 3)),
    Row("testTimeoutS", 7.0, pytest_timeouts, "timeout (s) of generate-test's and refactor validation's pytest",
        equals((7.0, 7.0))),
    Row("osSandbox", False, os_confined, "generate-test's and refactor validation's runs confined by the OS",
        equals((False, False))),
    Row("refactorConcurrency", 2, workers_at_once, "refactor worker calls in flight at once (6 subtasks)",
        equals(2)),
    Row("hoverExplanations", False, hover_explanation, "(hover model calls, explanation shown)",
        equals((0, False))),
    Row("hoverBudgetMs", 0, hover_shown, "explanation shown in the first hover", equals(False)),
    Row("ruffDiagnostics", True, ruff_published, "codes of the diagnostics published for a file",
        equals(["F401"])),
    Row("ignorePatterns", ["scratch_*.py"], scratch_upstream, "model requests for a completion in scratch_1.py",
        equals(0)),
    Row("redactSecrets", False, secret_sent, "an API key in the file reaches the prompt", equals(True)),
    Row("cacheEnabled", False, upstream_for_repeat, "model requests for one completion asked twice", equals(2)),
    Row("cacheSizeMib", 64, disk_size_limit, "disk store size_limit (bytes)", equals(64 * 1024 * 1024)),
    Row("sharedCacheUrl", "redis://127.0.0.1:6390/2", shared_tier, "the team cache's URL",
        equals("redis://127.0.0.1:6390/2")),
    Row("prices", {"claude-haiku-4-5": {"input": 2, "output": 10}}, cost, "USD booked for 1M+1M tokens",
        equals(12.0)),
    Row("budgetUsd", 0.5, budget, "error of a call after $1 spent", equals("BudgetExceeded")),
    Row("dailyBudgetUsd", 0.5, daily_budget, "error of a call after another server spent $1 today",
        equals("BudgetExceeded")),
    Row("auditLog", False, audited_calls, "audit log lines after one model call", equals(0)),
    Row("auditLogMaxMib", 1, audit_files_after_big_calls, "audit log files after 1.1 MB of prompts", equals(2)),
]
TABLE = {row.key: row for row in ROWS}


def test_every_setting_has_a_row():
    assert len(TABLE) == len(ROWS)
    assert set(TABLE) == set(SETTING_KEYS)


def test_every_row_value_is_valid_and_not_the_default():
    for row in ROWS:
        settings, problems = load_settings({row.key: row.value})
        assert problems == [], row.key
        assert getattr(settings, SETTING_KEYS[row.key]) != getattr(Settings(), SETTING_KEYS[row.key]), row.key


@pytest.fixture(autouse=True)
def _environment(monkeypatch, tmp_path):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "HAIKU_LSP_SHARED_CACHE", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)  # the real provider (budgetUsd) must never call out
    monkeypatch.setenv("HAIKU_LSP_CACHE_DIR", str(tmp_path / "default-cache"))


async def observe(row: Row, tmp: Path, raw: dict, runs: list) -> Any:
    env = Env(tmp, runs)
    try:
        observed = await row.probe(env, raw)
        assert env.configured == raw, "the probe did not apply the settings"
        return observed
    finally:
        await env.close()


@pytest.mark.parametrize("row", [pytest.param(row, id=row.key, marks=row.marks) for row in ROWS])
async def test_changing_the_setting_changes_behaviour(row: Row, tmp_path: Path, sandbox_runs):
    default = await observe(row, tmp_path / "default", {}, sandbox_runs)
    changed = await observe(row, tmp_path / "changed", {row.key: row.value}, sandbox_runs)
    assert changed != default, f"{row.key} ({row.observes}): {default!r} either way"
    assert row.expect(default, changed), f"{row.key} ({row.observes}): {default!r} -> {changed!r}"
