"""An editor driving a language server subprocess over stdio: VS Code's capabilities, documents opened and
edited incrementally, requests sent with their times of sending and of answer, and the editor's side of
the server's requests (apply an edit, answer a message, show a document, accept progress)."""

from __future__ import annotations

import asyncio
import collections
import functools
import itertools
import os
import time
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pytest_lsp.client import register_lsp_features

from tests.harness.protocol import CheckedClientProtocol, ClientProtocol, ResponseLog, converter_factory
from tests.harness.text import apply_change, utf16_len


@functools.cache
def _plain(value: Any) -> Any:
    """A notification's params as dicts and lists (pygls gives named tuples for methods it does not know)."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def vscode_capabilities() -> types.ClientCapabilities:
    """VS Code's client capabilities, as pytest-lsp records them (read once: ~50 ms; shared, not to be
    changed)."""
    return pytest_lsp.client_capabilities("visual-studio-code")


class Pending:
    """A request sent: its id, when it was sent (time.monotonic()), and its answer to come. Await it (or
    `wait`) for the result; `answered` is when the answer was read off the stream."""

    def __init__(self, msg_id: str, sent: float, future: asyncio.Future, log: ResponseLog) -> None:
        self.msg_id, self.sent, self.future, self._log = msg_id, sent, future, log

    def __await__(self) -> Generator[Any, None, Any]:
        return self.future.__await__()

    async def wait(self, timeout: float | None = 30) -> Any:
        return await asyncio.wait_for(self.future, timeout)

    @property
    def answered(self) -> float:
        return self._log.received.get(self.msg_id, time.monotonic())

    @property
    def seconds(self) -> float:
        """Round trip: sent -> answer read."""
        return self.answered - self.sent


class Editor:
    """One server process, started from `command` with the environment `env` (None: this process's), and
    the editor that drives it.

    `checked=True` uses pytest-lsp's client (every request and answer checked against the LSP
    specification for the client's capabilities, the server's stderr forwarded to this process's: what
    the tests want); otherwise pygls' plain client (no per-message work on this side, so the round trips
    measured are the server's and JSON-RPC's: what the benchmarks want), and the last 40 lines of the
    server's stderr are kept in `stderr`.

    Documents are held as lists of lines (`lines[uri]`), positions given either as LSP positions or as
    (line, code point) through `position`. Requests return a `Pending` (await it for the result)."""

    def __init__(self, command: Sequence[str], env: Mapping[str, str] | None = None, *, checked: bool = False,
                 name: str = "req") -> None:
        self.server_command, self.env = list(command), dict(env or {}) or None
        self.checked, self.name = checked, name
        if checked:
            self.client: LanguageClient = pytest_lsp.LanguageClient(protocol_cls=CheckedClientProtocol,
                                                                    converter_factory=converter_factory)
            register_lsp_features(self.client)  # pytest-lsp's editor side
        else:
            self.client = LanguageClient("haiku-lsp-harness", "0", protocol_cls=ClientProtocol,
                                         converter_factory=converter_factory)
        assert isinstance(self.client.protocol, ResponseLog)
        self.protocol: ResponseLog = self.client.protocol
        self.root: Path | None = None
        self.init_result: types.InitializeResult | None = None
        self.spawned_at = self.initialized_at = 0.0
        self.lines: dict[str, list[str]] = {}
        self.versions: dict[str, int] = {}
        self.sent: collections.Counter[str] = collections.Counter()  # requests sent, by method
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.apply_edits = True  # what the "user" answers to workspace/applyEdit
        self.message_requests: list[types.ShowMessageRequestParams] = []
        # The title the "user" clicks (None: dismissed); a list: one per request, in order (then dismissed).
        self.answer_message_request: str | list[str] | None = None
        self.messages: list[str] = []  # window/showMessage and logMessage (plain client; pytest-lsp keeps its own)
        self.stderr: collections.deque[str] = collections.deque(maxlen=40)
        self.statuses: list[Any] = []  # haiku/status notifications, in order
        self._ids = itertools.count(1)
        self._stopped = False
        self._register_features()

    def _register_features(self) -> None:
        c = self.client

        @c.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied_edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=self.apply_edits)

        @c.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.message_requests.append(params)
            answer = self.answer_message_request
            title = (answer.pop(0) if answer else None) if isinstance(answer, list) else answer
            return types.MessageActionItem(title=title) if title is not None else None

        @c.feature("haiku/status")
        def status(params: Any) -> None:
            self.statuses.append(_plain(params))

        if self.checked:
            return  # pytest-lsp answers the rest and records it (client.messages, progress_reports...)

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

    # --- the process ---

    def _spawned(self) -> asyncio.subprocess.Process | None:
        # pygls keeps the process in `JsonRPCClient._server` with no public accessor: the one place that
        # reads it (pytest-lsp's client does the same).
        return self.client._server

    @property
    def process(self) -> asyncio.subprocess.Process:
        """The server process."""
        process = self._spawned()
        assert process is not None, "not spawned"
        return process

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        process = self._spawned()
        return process is not None and process.returncode is None

    async def spawn(self) -> None:
        self.spawned_at = time.monotonic()
        await self.client.start_io(*self.server_command, env=self.env)
        if not self.checked:  # pytest-lsp's client forwards stderr itself
            self._stderr_task = asyncio.ensure_future(self._read_stderr())

    async def _read_stderr(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        while line := await stream.readline():
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def initialize(self, root: Path, options: dict | None = None, *, initialized: bool = True,
                         timeout: float = 60) -> types.InitializeResult:
        """`initialize` with VS Code's capabilities, `root` as the root and only workspace folder, `options`
        as initializationOptions; then `initialized` unless told not to."""
        caps = vscode_capabilities()
        if isinstance(self.client, pytest_lsp.LanguageClient):
            self.client.capabilities = caps  # what pytest-lsp checks against (as its initialize_session does)
        self.root = root
        self.init_result = await asyncio.wait_for(self.client.initialize_async(types.InitializeParams(
            capabilities=caps, process_id=os.getpid(), root_uri=root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=options or {})), timeout)
        self.initialized_at = time.monotonic()
        if initialized:
            self.send_initialized()
        return self.init_result

    def send_initialized(self) -> None:
        self.client.initialized(types.InitializedParams())

    async def start(self, root: Path, options: dict | None = None, *, initialized: bool = True
                    ) -> types.InitializeResult:
        """Spawn and initialize (`initialized_at - spawned_at`: spawn to the initialize answer)."""
        vscode_capabilities()  # read before the clock starts
        await self.spawn()
        return await self.initialize(root, options, initialized=initialized)

    async def stop(self, timeout: float = 10, *, strict: bool = False) -> None:
        """End the session as an editor does (shutdown, exit, the process ends); when that fails the
        process is killed, and with `strict` the failure raised. Then the client stops. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        fatal = getattr(self.client, "error", None) is not None  # pytest-lsp: the server broke the protocol
        try:
            if self.running and not fatal:
                await asyncio.wait_for(self.client.shutdown_async(None), timeout)
                self.client.exit(None)
                await asyncio.wait_for(self.process.wait(), timeout)
        except Exception:
            if strict:
                raise
        finally:
            if self.running:
                self.process.kill()
                await self.process.wait()
            await self.client.stop()

    async def kill(self) -> None:
        """End the process without a word (as a crashing editor would)."""
        self._stopped = True
        if self.running:
            self.process.kill()
            await self.process.wait()
        await self.client.stop()

    # --- documents ---

    def open(self, doc: str | Path, text: str, language: str = "python") -> str:
        """didOpen; returns the URI. A URI is opened as it is; a Path, or a path relative to the workspace
        root, is first written with `text` (a file the editor opened from disk)."""
        if isinstance(doc, str) and "://" in doc:
            uri = doc
        else:
            if isinstance(doc, Path):
                path = doc
            else:
                assert self.root is not None, "a relative path needs the workspace root (initialize first)"
                path = self.root / doc
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            uri = path.as_uri()
        self.lines[uri] = text.split("\n")
        self.versions[uri] = self.versions.get(uri, 0) + 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=self.versions[uri],
                                                 text=text)))
        return uri

    def close(self, uri: str) -> None:
        self.lines.pop(uri, None)
        self.client.text_document_did_close(types.DidCloseTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri)))

    def text(self, uri: str) -> str:
        return "\n".join(self.lines[uri])

    def position(self, uri: str, line: int, col: int) -> types.Position:
        """The LSP position of code point `col` of `line` (past the document's end: taken as it is)."""
        lines = self.lines.get(uri)
        character = utf16_len(lines[line][:col]) if lines is not None and line < len(lines) else col
        return types.Position(line=line, character=character)

    def change(self, uri: str, rng: types.Range, text: str) -> None:
        """One incremental didChange replacing `rng` with `text`, as an editor sends while typing."""
        apply_change(self.lines[uri], rng, text)
        self.versions[uri] += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangePartial(range=rng, text=text)]))

    def insert(self, uri: str, position: types.Position, text: str) -> None:
        self.change(uri, types.Range(start=position, end=position), text)

    def type(self, uri: str, line: int, col: int, text: str) -> None:
        """Insert `text` at (line, code point col)."""
        self.insert(uri, self.position(uri, line, col), text)

    def set_line(self, uri: str, line: int, text: str) -> None:
        """Replace one line's text."""
        old = self.lines[uri][line]
        self.change(uri, types.Range(start=types.Position(line=line, character=0),
                                     end=types.Position(line=line, character=utf16_len(old))), text)

    def configure(self, settings: dict) -> None:
        self.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=settings))

    # --- requests ---

    def request(self, method: str, params: Any, *, msg_id: str | None = None) -> Pending:
        """Send a request now (with pytest-lsp's client: on the loop's next turn, after its checks)."""
        msg_id = msg_id or f"{self.name}-{next(self._ids)}"
        self.sent[method] += 1
        sent = time.monotonic()
        future = asyncio.ensure_future(self.client.protocol.send_request_async(method, params, msg_id=msg_id))
        return Pending(msg_id, sent, future, self.protocol)

    def cancel(self, msg_id: str) -> None:
        self.client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))

    def inline(self, uri: str, position: types.Position, invoked: bool = False, *,
               msg_id: str | None = None) -> Pending:
        """textDocument/inlineCompletion, triggered Automatic (as typing does) or Invoked (a key press)."""
        kinds = types.InlineCompletionTriggerKind
        return self.request(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position,
            context=types.InlineCompletionContext(trigger_kind=kinds.Invoked if invoked else kinds.Automatic)),
            msg_id=msg_id)

    def code_actions(self, uri: str, where: types.Range | types.Position,
                     diagnostics: Sequence[types.Diagnostic] = ()) -> Pending:
        rng = where if isinstance(where, types.Range) else types.Range(start=where, end=where)
        return self.request(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), range=rng,
            context=types.CodeActionContext(diagnostics=list(diagnostics))))

    def hover(self, uri: str, position: types.Position) -> Pending:
        return self.request(types.TEXT_DOCUMENT_HOVER, types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position))

    def command(self, name: str, *arguments: Any) -> Pending:
        return self.request(types.WORKSPACE_EXECUTE_COMMAND,
                            types.ExecuteCommandParams(command=name, arguments=list(arguments)))
