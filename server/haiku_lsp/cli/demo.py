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
import re
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
        self.diagnostics: dict[str, list[dict]] = {}  # uri -> the last textDocument/publishDiagnostics
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
                elif message["method"] == "textDocument/publishDiagnostics":
                    self.diagnostics[message["params"]["uri"]] = message["params"]["diagnostics"]
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


def _position(lines: list[str], line: int, col: int) -> dict:
    """The LSP position (UTF-16 columns) of (line, code point column)."""
    return {"line": line, "character": len(lines[line][:col].encode("utf-16-le")) // 2}


def _inline_spot(lines: list[str]) -> tuple[int, int]:
    """Where to ask for a completion: the sample's unfinished `return math.sq`, else the end of the last
    line with code."""
    for i, line in enumerate(lines):
        if line.rstrip().endswith("return math.sq"):
            return i, len(line.rstrip())
    code = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")] or [0]
    return code[-1], len(lines[code[-1]].rstrip())


def _hover_spot(lines: list[str]) -> tuple[int, int, str] | None:
    """Where to hover: the first call of a method or function defined in the file (the sample's
    `total()`), else the first name defined with `def` or `class`."""
    definition = re.compile(r"\s*(?:async\s+)?(?:def|class)\s+(\w+)")
    defined = [(i, m) for i, line in enumerate(lines) if (m := definition.match(line))]
    names = {m.group(1) for _, m in defined}
    for i, line in enumerate(lines):
        for call in re.finditer(r"\b(\w+)\(", line):
            if call.group(1) in names and not definition.match(line):
                return i, call.start(1), call.group(1)
    if defined:
        i, m = defined[0]
        return i, m.start(1), m.group(1)
    return None


async def _wait_for_diagnostics(client: _Client, uri: str, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while uri not in client.diagnostics and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return client.diagnostics.get(uri, [])


async def _session(path: Path) -> int:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "haiku_lsp", "--stdio",
                                                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    client = _Client(proc)
    t0 = time.perf_counter()
    result = await client.request("initialize", {
        "processId": None,
        "capabilities": {"textDocument": {"inlineCompletion": {}, "hover": {"contentFormat": ["markdown"]}}},
        "rootUri": path.parent.as_uri(),
        "initializationOptions": {"ruffDiagnostics": True},
        "workspaceFolders": [{"uri": path.parent.as_uri(), "name": "demo"}],
    })
    init_ms = (time.perf_counter() - t0) * 1000
    client.notify("initialized", {})
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.split("\n")
    client.notify("textDocument/didOpen",
                  {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}})
    doc = {"uri": uri}
    info = result.get("serverInfo") or {}
    print(f"server: {info.get('name')} {info.get('version')}, initialize answered in {init_ms:.0f} ms")
    print(f"inline completion advertised: {result['capabilities'].get('inlineCompletionProvider') is not None}")

    line_no, col = _inline_spot(lines)
    where = _position(lines, line_no, col)
    t0 = time.perf_counter()
    completion = await client.request("textDocument/inlineCompletion", {
        "textDocument": doc, "position": where, "context": {"triggerKind": 1}})  # 1: invoked
    ms = (time.perf_counter() - t0) * 1000
    items = completion.get("items", []) if isinstance(completion, dict) else (completion or [])
    print(f"\n--- inline completion at line {line_no + 1}, column {col + 1} ({ms:.0f} ms)")
    line = lines[line_no][:col]
    for item in items:
        insert = item["insertText"] if isinstance(item["insertText"], str) else item["insertText"]["value"]
        print(f"  {line.strip()}|{insert}   ->   {(line + insert).strip()}")
    if not items:
        print("  (no suggestion)")

    spot = _hover_spot(lines)
    if spot is not None:
        hover = await client.request("textDocument/hover", {"textDocument": doc,
                                                            "position": _position(lines, spot[0], spot[1])})
        print(f"\n--- hover on `{spot[2]}` at line {spot[0] + 1}")
        contents = hover.get("contents") if isinstance(hover, dict) else None
        if isinstance(contents, dict) and "value" in contents:
            print("  " + contents["value"].replace("\n", "\n  "))
        else:
            print("  (no hover)")

    # The server's own ruff diagnostics (ruffDiagnostics), each with the actions offered for it.
    diagnostics = await _wait_for_diagnostics(client, uri)
    print(f"\n--- ruff's diagnostics ({len(diagnostics)}), each with its code actions (listed without a model call)")
    for diagnostic in diagnostics[:5]:
        start = diagnostic["range"]["start"]
        print(f"  line {start['line'] + 1}: {diagnostic.get('code')} {diagnostic['message']}")
        actions = await client.request("textDocument/codeAction", {
            "textDocument": doc, "range": diagnostic["range"], "context": {"diagnostics": [diagnostic]}})
        for action in actions or []:
            print(f"    {action['title']}")
    if not diagnostics:
        print("  (ruff found nothing)")

    if client.messages:
        print("\n--- messages from the server")
        for m in client.messages:
            print(f"  {m}")
    await client.close()
    return 0


def run_demo(file: str | None = None) -> int:
    """The demo on `file` (a copy of it: nothing is written to it), or on the bundled sample; 2 with a message
    on stderr when the file cannot be read."""
    source = Path(file) if file else SAMPLE
    if not source.is_file():
        print(f"haiku-lsp demo: {source}: {'is a directory' if source.is_dir() else 'no such file'}", file=sys.stderr)
        return 2
    try:
        source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        print(f"haiku-lsp demo: cannot read {source}: {err}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="haiku-lsp-demo-") as tmp:
        path = Path(tmp) / (source.name if source.suffix == ".py" else source.name + ".py")
        shutil.copyfile(source, path)
        print(f"demo file: {source}")
        return asyncio.run(_session(path))
