"""Shared fixtures: the fake Anthropic API (tests/fakes) and a factory for LSP sessions against the
real server in a subprocess, driven by pytest-lsp with VS Code's client capabilities (so every
response is checked against the spec)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Union

import pytest
import pytest_asyncio
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytest_plugins = ["tests.fakes.plugin"]

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, tests/unit/ or tests/e2e/: `pytest -m unit` is `pytest tests/unit`."""
    for item in items:
        if item.path.is_relative_to(HERE):
            folder = item.path.relative_to(HERE).parts[0]
            if folder in ("unit", "e2e"):
                item.add_marker(folder)

API_KEY = "sk-ant-test-key-0123456789abcdef"


class Session:
    """A started server and its client, plus helpers for documents in a temporary workspace."""

    def __init__(self, client: LanguageClient, workspace: Path) -> None:
        self.client = client
        self.workspace = workspace
        self.versions: dict[str, int] = {}
        self.texts: dict[str, str] = {}
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.answer_message_request: str | None = None  # the title the "user" clicks
        self.apply_edits = True
        fix_code_action_decoding(client)

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied_edits.append(params)
            return types.ApplyWorkspaceEditResult(applied=self.apply_edits)

        @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def message_request(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            self.message_requests.append(params)
            if self.answer_message_request is None:
                return None
            return types.MessageActionItem(title=self.answer_message_request)

    async def command(self, name: str, *arguments):
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(arguments)))

    def open(self, name: str, text: str, language: str = "python") -> str:
        path = self.workspace / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        uri = path.as_uri()
        self.versions[uri] = 1
        self.texts[uri] = text
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)))
        return uri

    def type_text(self, uri: str, position: types.Position, text: str) -> None:
        """An incremental change inserting `text` at `position` (as an editor sends while typing)."""
        self.versions[uri] += 1
        self.texts[uri] = apply_insert(self.texts[uri], position, text)
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=position, end=position), text=text)]))

    async def inline(self, uri: str, position: types.Position, invoked: bool = False):
        kinds = types.InlineCompletionTriggerKind
        kind = kinds.Invoked if invoked else kinds.Automatic
        return await self.client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position,
            context=types.InlineCompletionContext(trigger_kind=kind)))

    def inline_request(self, uri: str, position: types.Position, invoked: bool = False,
                       msg_id: str | None = None) -> asyncio.Future:
        """Send without awaiting: returns the future (cancel it to send $/cancelRequest)."""
        kinds = types.InlineCompletionTriggerKind
        kind = kinds.Invoked if invoked else kinds.Automatic
        return asyncio.ensure_future(self.client.protocol.send_request_async(
            types.TEXT_DOCUMENT_INLINE_COMPLETION,
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position,
                context=types.InlineCompletionContext(trigger_kind=kind)), msg_id=msg_id))


def fix_code_action_decoding(client: LanguageClient) -> None:
    """lsprotocol decodes every CodeAction that carries a command as a bare Command (it only checks
    that a "command" key exists); VS Code tells them apart by the key's type. Do the same here."""
    converter = client.protocol._converter

    def hook(obj, _type):
        kind = types.Command if isinstance(obj.get("command"), str) else types.CodeAction
        return converter.structure(obj, kind)

    converter.register_structure_hook(Union[types.Command, types.CodeAction], hook)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def apply_insert(text: str, position: types.Position, insert: str) -> str:
    """Insert at an LSP position (UTF-16 character offset), as an editor applies an edit."""
    lines = text.split("\n")
    line = lines[position.line]
    units = 0
    col = 0
    for ch in line:
        if units >= position.character:
            break
        units += 2 if ord(ch) > 0xFFFF else 1
        col += 1
    lines[position.line] = line[:col] + insert + line[col:]
    return "\n".join(lines)


def end_of(text: str, needle: str) -> types.Position:
    """The position just after the first occurrence of `needle`."""
    index = text.index(needle) + len(needle)
    before = text[:index]
    line = before.count("\n")
    return types.Position(line=line, character=utf16_len(before.rsplit("\n", 1)[-1]))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest_asyncio.fixture
async def start_session(fake_anthropic, workspace: Path, tmp_path: Path):
    """`await start_session(key=True, init_options=None)` -> Session; every session is shut down at
    the end of the test."""
    started: list[LanguageClient] = []

    async def start(*, key: bool = True, init_options: dict | None = None,
                    env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Session:
        server_env = {k: v for k, v in os.environ.items()
                      if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
        server_env.update({
            "ANTHROPIC_BASE_URL": fake_anthropic.base_url,
            "HAIKU_LSP_CACHE_DIR": str(tmp_path / "cache"),
            "PYTHONUNBUFFERED": "1",
        })
        if key:
            server_env["ANTHROPIC_API_KEY"] = API_KEY
        server_env.update(env or {})
        config = ClientServerConfig(server_command=[sys.executable, "-m", "haiku_lsp", "--stdio", *args],
                                    server_env=server_env)
        client = await config.start()
        started.append(client)
        # Generous timeouts: CI machines are shared; tests assert behaviour, not speed.
        options = {"debounceMs": 30, "debounceMinMs": 10, "debounceMaxMs": 60, "inlineTimeoutMs": 30000,
                   **(init_options or {})}
        result = await client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="ws")],
            initialization_options=options,
        ))
        session = Session(client, workspace)
        session.init_result = result
        return session

    yield start
    for client in started:
        try:
            await asyncio.wait_for(client.shutdown_session(), 10)
        finally:
            await client.stop()


@pytest.fixture
def sandbox_env(monkeypatch, tmp_path_factory):
    """For tests that run the sandboxed pytest in-process."""
    # The sandboxed pytest would load every installed plugin (pygls via pytest-lsp...): seconds a run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # Not the user's cache; hypothesis's unicode tables (seconds to build) are kept between sessions.
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("HAIKU_LSP_CACHE_DIR", str(base / "haiku-lsp-cache"))
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(base.parent / "hypothesis"))
