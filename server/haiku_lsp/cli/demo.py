"""`haiku-lsp demo`: start the server as a subprocess, drive a real LSP session over stdio on a
sample file, and print the completion, hover and code actions it answered.

Works without an API key (the offline engine answers); with ANTHROPIC_API_KEY set, the completion
comes from Claude.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types

SAMPLE = Path(__file__).with_name("data") / "sample.py"


def _find(lines: list[str], needle: str, end: bool = False) -> types.Position:
    for i, line in enumerate(lines):
        if needle in line:
            col = line.index(needle) + (len(needle) if end else 0)
            return types.Position(line=i, character=len(line[:col].encode("utf-16-le")) // 2)
    raise ValueError(f"{needle!r} is not in the sample")


async def _session(path: Path) -> int:
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("haiku-lsp-demo", "1")
    messages: list[str] = []

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        messages.append(params.message)

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def log_message(params: types.LogMessageParams) -> None:
        messages.append(params.message)

    await client.start_io(sys.executable, "-m", "haiku_lsp", "--stdio")
    t0 = time.perf_counter()
    result = await client.initialize_async(types.InitializeParams(
        capabilities=types.ClientCapabilities(
            text_document=types.TextDocumentClientCapabilities(
                inline_completion=types.InlineCompletionClientCapabilities(),
                hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            )),
        root_uri=path.parent.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=path.parent.as_uri(), name="demo")],
    ))
    init_ms = (time.perf_counter() - t0) * 1000
    client.initialized(types.InitializedParams())
    uri = path.as_uri()
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=text)))
    doc = types.TextDocumentIdentifier(uri=uri)
    print(f"server: {result.server_info.name} {result.server_info.version}, "
          f"initialize answered in {init_ms:.0f} ms")
    print(f"inline completion advertised: {result.capabilities.inline_completion_provider is not None}")

    where = _find(lines, "return math.sq", end=True)
    t0 = time.perf_counter()
    completion = await client.text_document_inline_completion_async(types.InlineCompletionParams(
        text_document=doc, position=where,
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
    ms = (time.perf_counter() - t0) * 1000
    items = completion.items if isinstance(completion, types.InlineCompletionList) else (completion or [])
    print(f"\n--- inline completion at line {where.line + 1}, column {where.character + 1} ({ms:.0f} ms)")
    line = lines[where.line]
    for item in items:
        insert = item.insert_text if isinstance(item.insert_text, str) else item.insert_text.value
        print(f"  {line.strip()}|{insert}   ->   {(line + insert).strip()}")
    if not items:
        print("  (no suggestion)")

    where = _find(lines, "total()")
    hover = await client.text_document_hover_async(types.HoverParams(text_document=doc, position=where))
    print(f"\n--- hover on `total` at line {where.line + 1}")
    if hover is not None and isinstance(hover.contents, types.MarkupContent):
        print("  " + hover.contents.value.replace("\n", "\n  "))
    else:
        print("  (no hover)")

    where = _find(lines, "def inventory_value")
    print(f"\n--- code actions on line {where.line + 1} (listed without any model call)")
    try:
        unused = types.Diagnostic(range=types.Range(start=where, end=where), source="Ruff", code="F841",
                                  message="Local variable `unused` is assigned to but never used")
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            text_document=doc, range=types.Range(start=where, end=where),
            context=types.CodeActionContext(diagnostics=[unused])))
        for action in actions or []:
            print(f"  {action.title}")
        if not actions:
            print("  (none)")
    except Exception as err:  # the server may not offer code actions yet
        print(f"  (not available: {err})")

    if messages:
        print("\n--- messages from the server")
        for m in messages:
            print(f"  {m}")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return 0


def run_demo(file: str | None = None) -> int:
    with tempfile.TemporaryDirectory(prefix="haiku-lsp-demo-") as tmp:
        source = Path(file) if file else SAMPLE
        path = Path(tmp) / source.name
        shutil.copyfile(source, path)
        print(f"demo file: {source}")
        return asyncio.run(_session(path))
