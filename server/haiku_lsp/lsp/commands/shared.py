"""What the `haiku.*` commands share: raw JSON argument checks, the error contract (expected problems
answered as `{"status": "error"}` with a message shown, never a crash), progress with cancellation,
the open documents and a whole-file edit that touches only the lines that differ."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path

from haiku_lsp.errors import ActionError, ProviderError
from haiku_lsp.lsp.progress import Reporter, run_cancellable, work_done
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from pygls.workspace import TextDocument

    from haiku_lsp.lsp.server import HaikuLanguageServer

Command = Callable[..., Awaitable[dict]]
Work = Callable[[Reporter], Awaitable[dict]]


def argument(args: tuple, index: int, kind: type, name: str, required: bool = True) -> Any:
    """`args[index]` when it is a `kind`; None when it is missing or null and not `required`; else
    an ActionError naming the argument."""
    value = args[index] if index < len(args) else None
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise ActionError(f"argument {index + 1} ({name}) should be a {kind.__name__}, got {value!r:.60}")
    return value


def handler(fn: Command) -> Command:
    """`fn(ls, *args)` as a pygls command handler: raw JSON arguments (pygls would need exact typed
    arity), and an ActionError answered as {"status": "error"} with the message shown."""
    async def handle(ls, *args):  # noqa: ANN001 - pygls injects the server by this name
        try:
            return await fn(ls, *args)
        except ActionError as err:
            ls.show(f"Haiku: {err}", types.MessageType.Warning)
            return {"status": "error", "message": str(err)}
    handle.__name__ = fn.__name__
    return handle


async def run_action(ls: HaikuLanguageServer, title: str, work: Work) -> dict:
    """Run `work` under a cancellable `$/progress` titled `title`; its answer, or the status of a
    cancellation or an expected failure (shown to the user)."""
    ls.status.busy += 1
    try:
        async with work_done(ls, title) as reporter:
            result, cancelled = await run_cancellable(reporter, work(reporter))
    except ActionError as err:
        ls.show(f"Haiku: {err}", types.MessageType.Warning)
        return {"status": "error", "message": str(err)}
    except ProviderError as err:
        ls.report_provider_error(err, action=True)
        return {"status": "error", "message": str(err)}
    finally:
        ls.status.busy -= 1
    if cancelled:
        ls.show(f"Haiku: {title} cancelled; nothing was changed.", types.MessageType.Info)
        return {"status": "cancelled"}
    return result or {"status": "ok"}


def open_document(ls: HaikuLanguageServer, uri: str) -> TextDocument:
    document = ls.workspace.text_documents.get(uri)
    if document is None:
        raise ActionError(f"{uri} is not open in the editor")
    return document


def read_text(ls: HaikuLanguageServer, path: Path) -> str | None:
    """The editor's buffer when the file is open (it may hold unsaved changes), else the file."""
    document = ls.workspace.text_documents.get(from_fs_path(str(path)) or "")
    if document is not None:
        return document.source
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def changed(ls: HaikuLanguageServer, uri: str, version: int | None) -> bool:
    """True when the document was closed or edited since `version`."""
    document = ls.workspace.text_documents.get(uri)
    return document is None or document.version != version


def tell_changed(ls: HaikuLanguageServer, what: str) -> dict:
    ls.show(f"Haiku: {what} changed while Haiku was working; nothing was applied. Run the action again.",
            types.MessageType.Warning)
    return {"status": "stale"}


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def whole_file_edit(uri: str, version: int | None, old: str, new: str) -> types.TextDocumentEdit:
    """Replace only the lines that differ (a small edit keeps the editor's undo and folds intact)."""
    a, b = split_lines(old), split_lines(new)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    if end_a > start:
        rng = types.Range(start=types.Position(line=start, character=0),
                          end=types.Position(line=end_a - 1, character=_utf16(a[end_a - 1])))
        text = "\n".join(b[start:end_b])
    elif start < len(a):  # pure insertion before line `start`
        rng = types.Range(start=types.Position(line=start, character=0),
                          end=types.Position(line=start, character=0))
        text = "".join(line + "\n" for line in b[start:end_b])
    else:  # pure insertion after the last line (there is no line `start` to insert before)
        end = types.Position(line=start - 1, character=_utf16(a[start - 1]))
        rng = types.Range(start=end, end=end)
        text = "".join("\n" + line for line in b[start:end_b])
    if end_a > start and end_b == start:  # pure deletion: take a line break too
        if end_a < len(a):  # the one after the last line deleted
            rng = types.Range(start=types.Position(line=start, character=0),
                              end=types.Position(line=end_a, character=0))
        else:  # the last lines: the one before them (start > 0: a document has at least one line)
            rng = types.Range(start=types.Position(line=start - 1, character=_utf16(a[start - 1])),
                              end=types.Position(line=end_a - 1, character=_utf16(a[end_a - 1])))
        text = ""
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=[types.TextEdit(range=rng, new_text=text)])
