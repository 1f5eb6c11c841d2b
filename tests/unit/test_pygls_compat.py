"""The pygls internals haiku-lsp relies on, all in haiku_lsp/lsp/compat.py: each private attribute it
uses still exists on a real server and its protocol, each compat function does its job, and no other
module touches pygls' private names. A pygls upgrade that breaks one fails here, not in an editor."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import threading
from importlib.metadata import version
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.server import LanguageServer

from haiku_lsp.lsp import compat
from haiku_lsp.lsp.server import HaikuLanguageServer, create_server

PACKAGE = Path(compat.__file__).resolve().parent.parent  # server/haiku_lsp


@pytest.fixture
def server(monkeypatch, tmp_path) -> HaikuLanguageServer:
    monkeypatch.setenv("HAIKU_LSP_CACHE_DIR", str(tmp_path / "cache"))
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return create_server()


def private_names_used(tree: ast.AST) -> set[str]:
    """`x._name` accesses and getattr/hasattr/setattr(x, "_name"), dunders excepted."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            names.add(node.args[1].value)
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def test_every_private_attribute_compat_uses_exists_on_a_real_server(server):
    owners = {"server": server, "protocol": server.protocol}
    assert set(compat.PRIVATE_ATTRIBUTES) <= set(owners)
    for owner, names in compat.PRIVATE_ATTRIBUTES.items():
        for name in names:
            assert hasattr(owners[owner], name), (
                f"pygls {version('pygls')}: {type(owners[owner]).__name__} has no {name} "
                f"(compat.py was checked against {compat.PYGLS_CHECKED}); update haiku_lsp/lsp/compat.py")


def test_compat_declares_every_private_name_it_reads():
    declared = {name for names in compat.PRIVATE_ATTRIBUTES.values() for name in names}
    assert private_names_used(ast.parse(inspect.getsource(compat))) == declared


def test_no_other_module_touches_pygls_private_names():
    plain = LanguageServer("plain", "1")
    pygls_private: set[str] = set()
    for obj in (plain, plain.protocol, plain.protocol.fm):
        pygls_private |= {n for n in vars(obj) if n.startswith("_") and not n.startswith("__")}
        for cls in type(obj).__mro__:
            if cls.__module__.startswith("pygls"):
                pygls_private |= {n for n in vars(cls) if n.startswith("_") and not n.startswith("__")}
    assert {"_stop_event", "_shutdown", "_converter"} <= pygls_private
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.resolve() == Path(compat.__file__).resolve():
            continue
        used = private_names_used(ast.parse(path.read_text(encoding="utf-8"))) & pygls_private
        offenders += [f"{path.relative_to(PACKAGE)}: {name}" for name in sorted(used)]
    assert offenders == [], "pygls internals outside haiku_lsp/lsp/compat.py"


def test_unstructure_gives_the_wire_form_pygls_reads_back(server):
    diagnostic = types.Diagnostic(
        range=types.Range(start=types.Position(line=15, character=4), end=types.Position(line=15, character=5)),
        message="Local variable `x` is assigned to but never used", source="Ruff", code="F841",
        code_description=types.CodeDescription(href="https://docs.astral.sh/ruff/rules/unused-variable"))
    data = compat.unstructure(server, diagnostic)
    assert data == {"range": {"start": {"line": 15, "character": 4}, "end": {"line": 15, "character": 5}},
                    "message": "Local variable `x` is assigned to but never used", "source": "Ruff",
                    "code": "F841", "codeDescription": {"href": "https://docs.astral.sh/ruff/rules/unused-variable"}}
    json.dumps(data)  # JSON-ready
    assert server.protocol.fm.converter.structure(data, types.Diagnostic) == diagnostic
    assert compat.unstructure(server, types.Position(line=1, character=4)) == {"line": 1, "character": 4}


def test_set_stop_event_is_what_server_shutdown_sets(server):
    event = threading.Event()
    compat.set_stop_event(server, event)
    server.shutdown()
    assert event.is_set()


async def test_shutdown_requested_after_a_real_shutdown_request(server):
    written: list[bytes] = []

    class Writer:
        def write(self, data: bytes) -> None:
            written.append(data)

        def close(self) -> None:
            pass

    server.protocol.set_writer(Writer())
    assert compat.shutdown_requested(server) is False
    message = json.loads(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "shutdown", "params": None}),
                         object_hook=server.protocol.structure_message)
    server.protocol.handle_message(message)
    for _ in range(100):
        if written:
            break
        await asyncio.sleep(0.01)
    assert compat.shutdown_requested(server) is True
    assert written and b'"id": 7' in written[0] and b'"result": null' in written[0]


async def test_finished_notifications_are_forgotten(server):
    """pygls keeps the future of each didOpen/didChange...; the server drops them (memory stays flat)."""
    uri = "file:///tmp/x.py"

    def notify(method: str, params: dict) -> None:
        message = json.loads(json.dumps({"jsonrpc": "2.0", "method": method, "params": params}),
                             object_hook=server.protocol.structure_message)
        server.protocol.handle_message(message)

    class Writer:
        def write(self, data: bytes) -> None:
            pass

        def close(self) -> None:
            pass

    server.protocol.set_writer(Writer())
    server.protocol.handle_message(json.loads(json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"processId": None, "capabilities": {}}}),
        object_hook=server.protocol.structure_message))
    await asyncio.sleep(0.01)
    notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": "x"}})
    for n in range(2, 202):
        notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": n},
                                          "contentChanges": [{"text": f"x = {n}"}]})
    await asyncio.sleep(0.01)
    assert server.workspace.get_text_document(uri).source == "x = 201"  # every change was applied
    futures = server.protocol._request_futures  # noqa: SLF001 - what this test is about
    assert len(futures) <= 2, len(futures)  # pygls alone keeps all 201
    compat.drop_finished_notifications(server)
    assert not futures
