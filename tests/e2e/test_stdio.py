"""The stdio transport: LSP framing read by the event loop (haiku_lsp/stdio.py), driven byte by byte
through real pipes into a server subprocess, and the fallback to pygls' reader for other stdins (which
stdins are read on the loop: tests/unit/test_stdio.py)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.fakes.anthropic_api import Reply
from tests.harness import API_KEY


def frame(message: dict) -> bytes:
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def initialize(msg_id: int, root: Path) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "initialize",
            "params": {"processId": None, "rootUri": root.as_uri(), "capabilities": {},
                       "clientInfo": {"name": "clïent ✓ 🐍", "version": "1"}}}


SHUTDOWN = {"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None}
EXIT = {"jsonrpc": "2.0", "method": "exit", "params": None}


def server_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["HAIKU_LSP_CACHE_DIR"] = str(tmp_path / "cache")
    return env


async def read_message(stdout: asyncio.StreamReader) -> dict:
    length = None
    while (line := await stdout.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    assert length is not None, "no Content-Length header"
    return json.loads(await stdout.readexactly(length))


async def response(stdout: asyncio.StreamReader, msg_id: int) -> dict:
    while True:  # skip notifications (window/logMessage ...) and server requests
        message = await asyncio.wait_for(read_message(stdout), 20)
        if message.get("id") == msg_id and "method" not in message:
            return message


async def responses(stdout: asyncio.StreamReader, ids: set[int]) -> dict[int, dict]:
    """The responses to `ids`, in whatever order they come."""
    got: dict[int, dict] = {}
    while set(got) != ids:
        message = await asyncio.wait_for(read_message(stdout), 20)
        if message.get("id") in ids and "method" not in message:
            got[message["id"]] = message
    return got


async def spawn(tmp_path: Path, **env: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "haiku_lsp", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, env={**server_env(tmp_path), **env})


async def send(proc: asyncio.subprocess.Process, *messages: dict | bytes) -> None:
    """One write holding all `messages` (framed unless already bytes)."""
    proc.stdin.write(b"".join(m if isinstance(m, bytes) else frame(m) for m in messages))
    await proc.stdin.drain()


async def initialized(tmp_path: Path, options: dict | None = None, **env: str) -> asyncio.subprocess.Process:
    """A server past `initialize` and `initialized`."""
    proc = await spawn(tmp_path, **env)
    message = initialize(1, tmp_path)
    message["params"]["initializationOptions"] = options or {}
    await send(proc, message, {"jsonrpc": "2.0", "method": "initialized", "params": {}})
    await response(proc.stdout, 1)
    return proc


async def test_messages_split_anywhere_and_batched_are_read_and_answered(tmp_path):
    proc = await spawn(tmp_path)
    data = frame(initialize(1, tmp_path))
    # header split inside "Content-Length", body split inside a multi-byte character
    cut_body = data.index("✓".encode()) + 1
    for piece in (data[:5], data[5:20], data[20:cut_body], data[cut_body:]):
        proc.stdin.write(piece)
        await proc.stdin.drain()
        await asyncio.sleep(0.05)
    answer = await response(proc.stdout, 1)
    assert answer["result"]["capabilities"]["inlineCompletionProvider"] == {}
    # several messages in one write
    await send(proc, {"jsonrpc": "2.0", "method": "initialized", "params": {}}, SHUTDOWN, EXIT)
    assert (await response(proc.stdout, 2))["result"] is None
    assert await asyncio.wait_for(proc.wait(), 20) == 0


async def test_exit_without_shutdown_ends_with_code_1(tmp_path):
    proc = await initialized(tmp_path)
    await send(proc, EXIT)
    assert await asyncio.wait_for(proc.wait(), 20) == 1


async def test_end_of_input_in_the_middle_of_a_message_ends_the_server(tmp_path):
    proc = await initialized(tmp_path)
    await send(proc, b"Content-Length: 500\r\n\r\n{\"jsonrpc\": \"2.0\", ")  # the client dies mid-message
    proc.stdin.close()
    assert await asyncio.wait_for(proc.wait(), 20) == 1  # no shutdown request came


async def test_a_header_line_without_end_ends_the_server_instead_of_growing(tmp_path):
    proc = await spawn(tmp_path)
    proc.stdin.write(b"X" * (2 << 20))  # 2 MiB of "header" without a line break: not LSP
    try:
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server stopped reading: what this test wants
    assert await asyncio.wait_for(proc.wait(), 20) in (0, 1)


def test_stdin_from_a_regular_file_is_served_by_pygls_reader(tmp_path):
    messages = tmp_path / "session.bin"
    messages.write_bytes(frame(initialize(1, tmp_path)) + frame(SHUTDOWN) + frame(EXIT))
    with messages.open("rb") as stdin:
        done = subprocess.run([sys.executable, "-m", "haiku_lsp", "--stdio"], stdin=stdin, capture_output=True,
                              env=server_env(tmp_path), timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout
    assert out.startswith(b"Content-Length: ")
    bodies = [json.loads(part.split(b"\r\n\r\n", 1)[1]) for part in out.split(b"Content-Length: ")[1:]]
    assert [b.get("id") for b in bodies if "id" in b] == [1, 2]
    assert "inlineCompletionProvider" in bodies[0]["result"]["capabilities"]


async def test_requests_batched_with_later_edits_are_answered_for_the_text_they_were_sent_for(
        tmp_path, fake_anthropic):
    """An editor under load can deliver several keystrokes (didChange + inline request each) in one
    read. Each request must see the document as it was when the client sent it: here every one is a
    typed-ahead answer into the shown suggestion, none is dropped as if it had been superseded."""
    fake_anthropic.script(Reply(text="ta_gamma()"))
    proc = await initialized(tmp_path, {"debounceMs": 0, "debounceMinMs": 0, "debounceMaxMs": 0},
                             ANTHROPIC_BASE_URL=fake_anthropic.base_url, ANTHROPIC_API_KEY=API_KEY)
    uri = (tmp_path / "main.py").as_uri()
    await send(proc, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": "def f():\n    return alpha_be\n"}}})

    def inline(msg_id: int, col: int) -> dict:
        return {"jsonrpc": "2.0", "id": msg_id, "method": "textDocument/inlineCompletion", "params": {
            "textDocument": {"uri": uri}, "position": {"line": 1, "character": col},
            "context": {"triggerKind": 2}}}

    def typed(version: int, col: int, ch: str) -> dict:
        at = {"line": 1, "character": col}
        return {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": at, "end": at}, "text": ch}]}}

    col = len("    return alpha_be")
    await send(proc, inline(2, col))
    shown = await response(proc.stdout, 2)
    assert [i["insertText"] for i in shown["result"]["items"]] == ["ta_gamma()"]

    # one write: the server finds all six messages in its buffer at once
    keystrokes = [(typed(2 + k, col + k, ch), inline(10 + k, col + k + 1)) for k, ch in enumerate("ta_")]
    await send(proc, *(message for pair in keystrokes for message in pair))
    answers = await responses(proc.stdout, {10, 11, 12})
    assert [[i["insertText"] for i in answers[m]["result"]["items"]] for m in (10, 11, 12)] == [
        ["a_gamma()"], ["_gamma()"], ["gamma()"]]
    assert len(fake_anthropic.message_requests) == 1
    await send(proc, SHUTDOWN, EXIT)
    assert await asyncio.wait_for(proc.wait(), 20) == 0


def test_served_over_a_socketpair_as_node_and_neovim_spawn_servers(tmp_path):
    """libuv (VS Code's Node, Neovim) gives a child UNIX socketpairs, not pipes, as stdin/stdout."""
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = subprocess.Popen([sys.executable, "-m", "haiku_lsp"], stdin=theirs.fileno(),
                                stdout=theirs.fileno(), stderr=subprocess.DEVNULL, env=server_env(tmp_path))
        theirs.close()
        try:
            ours.settimeout(30)
            ours.sendall(frame(initialize(1, tmp_path)) + frame(SHUTDOWN) + frame(EXIT))
            data = b""
            while b'"id": 2' not in data and b'"id":2' not in data:
                chunk = ours.recv(65536)
                assert chunk, "the server closed the socket before answering"
                data += chunk
            assert b"inlineCompletionProvider" in data
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
