"""`haiku-lsp demo`: start the server as a subprocess, drive a real LSP session over stdio on a
sample file, and print the completion, hover and code actions it answered.

Works without an API key (the offline engine answers); with ANTHROPIC_API_KEY set, the completion
comes from Claude. The client is plain JSON-RPC (Content-Length framing, JSON dicts), so nothing
outside the server's LSP layer needs lsprotocol or pygls.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample.py"
TIMEOUT_S = 60


class DemoError(Exception):
    """The server answered a request with an error."""


class _Client:
    """A minimal LSP client over a subprocess's stdio: requests, notifications, and null answers to the
    server's own requests (progress tokens, configuration). Shown and logged messages are collected."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.messages: list[str] = []
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._reader = asyncio.ensure_future(self._read())

    def _send(self, message: dict) -> None:
        assert self.proc.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    async def request(self, method: str, params: Any) -> Any:
        msg_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting[msg_id] = future
        self._send({"id": msg_id, "method": method, "params": params})
        return await asyncio.wait_for(future, TIMEOUT_S)

    async def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            length = None
            while (line := await stdout.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length is None:
                break  # the server closed its stdout
            message = json.loads(await stdout.readexactly(length))
            if "method" in message and "id" in message:  # the server asks: nothing to add
                self._send({"id": message["id"], "result": None})
            elif "method" in message:
                if message["method"] in ("window/showMessage", "window/logMessage"):
                    self.messages.append(message["params"]["message"])
            elif (future := self._waiting.pop(message.get("id"), None)) is not None and not future.done():
                if "error" in message:
                    future.set_exception(DemoError(message["error"].get("message", "error")))
                else:
                    future.set_result(message.get("result"))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(DemoError("the server exited"))

    async def close(self) -> None:
        await self.request("shutdown", None)
        self.notify("exit", None)
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
        self._reader.cancel()


def _find(lines: list[str], needle: str, end: bool = False) -> dict:
    """The LSP position (UTF-16 columns) of `needle` in the sample, or of its end."""
    for i, line in enumerate(lines):
        if needle in line:
            col = line.index(needle) + (len(needle) if end else 0)
            return {"line": i, "character": len(line[:col].encode("utf-16-le")) // 2}
    raise ValueError(f"{needle!r} is not in the sample")


async def _session(path: Path) -> int:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "haiku_lsp", "--stdio",
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    client = _Client(proc)
    t0 = time.perf_counter()
    result = await client.request("initialize", {
        "processId": None,
        "capabilities": {"textDocument": {"inlineCompletion": {}, "hover": {"contentFormat": ["markdown"]}}},
        "rootUri": path.parent.as_uri(),
        "workspaceFolders": [{"uri": path.parent.as_uri(), "name": "demo"}],
    })
    init_ms = (time.perf_counter() - t0) * 1000
    client.notify("initialized", {})
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    client.notify("textDocument/didOpen",
                  {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    doc = {"uri": uri}
    info = result.get("serverInfo") or {}
    print(f"server: {info.get('name')} {info.get('version')}, initialize answered in {init_ms:.0f} ms")
    print(f"inline completion advertised: {result['capabilities'].get('inlineCompletionProvider') is not None}")

    where = _find(lines, "return math.sq", end=True)
    t0 = time.perf_counter()
    completion = await client.request("textDocument/inlineCompletion", {
        "textDocument": doc, "position": where, "context": {"triggerKind": 1}})  # 1: invoked
    ms = (time.perf_counter() - t0) * 1000
    items = completion.get("items", []) if isinstance(completion, dict) else (completion or [])
    print(f"\n--- inline completion at line {where['line'] + 1}, column {where['character'] + 1} ({ms:.0f} ms)")
    line = lines[where["line"]]
    for item in items:
        insert = item["insertText"] if isinstance(item["insertText"], str) else item["insertText"]["value"]
        print(f"  {line.strip()}|{insert}   ->   {(line + insert).strip()}")
    if not items:
        print("  (no suggestion)")

    where = _find(lines, "total()")
    hover = await client.request("textDocument/hover", {"textDocument": doc, "position": where})
    print(f"\n--- hover on `total` at line {where['line'] + 1}")
    contents = hover.get("contents") if isinstance(hover, dict) else None
    if isinstance(contents, dict) and "value" in contents:
        print("  " + contents["value"].replace("\n", "\n  "))
    else:
        print("  (no hover)")

    where = _find(lines, "def inventory_value")
    print(f"\n--- code actions on line {where['line'] + 1} (listed without any model call)")
    try:
        spot = {"start": where, "end": where}
        unused = {"range": spot, "source": "Ruff", "code": "F841",
                  "message": "Local variable `unused` is assigned to but never used"}
        actions = await client.request("textDocument/codeAction", {
            "textDocument": doc, "range": spot, "context": {"diagnostics": [unused]}})
        for action in actions or []:
            print(f"  {action['title']}")
        if not actions:
            print("  (none)")
    except (DemoError, TimeoutError) as err:  # the server may not offer code actions yet
        print(f"  (not available: {err})")

    if client.messages:
        print("\n--- messages from the server")
        for m in client.messages:
            print(f"  {m}")
    await client.close()
    return 0


def run_demo(file: str | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="haiku-lsp-demo-") as tmp:
        source = Path(file) if file else SAMPLE
        path = Path(tmp) / source.name
        shutil.copyfile(source, path)
        print(f"demo file: {source}")
        return asyncio.run(_session(path))
