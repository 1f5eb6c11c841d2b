"""Work done progress (`$/progress`), cancellable from the client, and edits applied through the
client with the document version."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

log = logging.getLogger(__name__)
T = TypeVar("T")


class Reporter:
    """Reports progress; a cancel from the client cancels the work task (never the request's own
    task: pygls would then leave the request unanswered)."""

    def __init__(self, ls: HaikuLanguageServer, token: str | None) -> None:
        self._ls, self.token = ls, token
        self.cancelled = False
        self.work: asyncio.Future | None = None

    def report(self, message: str, percentage: int | None = None) -> None:
        if self.token is not None:
            value = types.WorkDoneProgressReport(message=message, percentage=percentage, cancellable=True)
            self._ls.work_done_progress.report(self.token, value)

    def cancel(self) -> None:
        self.cancelled = True
        if self.work is not None:
            self.work.cancel()


def _supports_progress(ls: HaikuLanguageServer) -> bool:
    window = ls.client_capabilities.window
    return bool(window and window.work_done_progress)


@contextlib.asynccontextmanager
async def work_done(ls: HaikuLanguageServer, title: str) -> AsyncIterator[Reporter]:
    """Begin/end a progress around the block; run the work with `run_cancellable(reporter, ...)`."""
    token: str | None = None
    if _supports_progress(ls):
        token = f"haiku-{uuid.uuid4().hex[:12]}"
        try:
            await ls.work_done_progress.create_async(token)
        except Exception as err:  # the client refused: work without progress
            log.info("progress not created: %s", err)
            token = None
    reporter = Reporter(ls, token)
    if token is not None:
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(title=title, cancellable=True,
                                                                       percentage=0))
        future = ls.work_done_progress.tokens.get(token)
        if future is not None:
            future.add_done_callback(lambda f: reporter.cancel() if f.cancelled() else None)
    try:
        yield reporter
    finally:
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(
                message="cancelled" if reporter.cancelled else "done"))
            ls.work_done_progress.tokens.pop(token, None)


async def run_cancellable(reporter: Reporter, work: Awaitable[T]) -> tuple[T | None, bool]:
    """Run `work` in its own task: (result, False), or (None, True) when a progress cancel stopped it.
    A cancel of the request itself cancels the work too and propagates."""
    inner = asyncio.ensure_future(work)
    reporter.work = inner
    try:
        return await asyncio.shield(inner), False
    except asyncio.CancelledError:
        if inner.cancelled() and reporter.cancelled:
            return None, True
        inner.cancel()
        raise


def text_edit(document: Any, lines: list[str], first: int, last: int, new_text: str) -> types.TextEdit:
    """Replace whole lines first..last (0-based, inclusive) with new_text (no trailing newline); an empty
    new_text removes the lines, their line breaks included (no empty line is left behind)."""
    from haiku_lsp.lsp.convert import client_position

    start = types.Position(line=first, character=0)
    end = client_position(document, lines, last, len(lines[last]))
    if new_text == "":
        if last + 1 < len(lines):
            end = types.Position(line=last + 1, character=0)  # through the line break after the last line
        elif first > 0:
            start = client_position(document, lines, first - 1, len(lines[first - 1]))  # the one before them
    return types.TextEdit(range=types.Range(start=start, end=end), new_text=new_text)


async def apply_document_changes(ls: HaikuLanguageServer, label: str, changes: list[Any]) -> tuple[bool, str]:
    """workspace/applyEdit with documentChanges; (applied, reason)."""
    result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
        edit=types.WorkspaceEdit(document_changes=changes), label=label))
    return bool(result.applied), result.failure_reason or ""
