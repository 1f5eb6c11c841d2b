"""ruff's diagnostics, published by the server itself when `ruffDiagnostics` is on.

Why: Neovim 0.11+ puts only a server's own diagnostics into a code action's context, so "Fix with
Haiku" is reachable there only for diagnostics this server published. Each check runs on the buffer's
text (saved or not) after a short pause in typing; a result for an older version is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types
from pygls.workspace import TextDocument

from haiku_lsp.lsp.convert import client_position
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer
    from haiku_lsp.tools import LintIssue

log = logging.getLogger(__name__)

TYPING_PAUSE_S = 0.3
SOURCE = "ruff"


class RuffDiagnostics:
    """One pending check per document; the newest request replaces an older one."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._published: set[str] = set()

    def schedule(self, ls: HaikuLanguageServer, uri: str, *, typing: bool = False) -> None:
        from haiku_lsp.tools import ruff_available  # not on the start-up path (the warm-up imports it)

        if not ls.session.settings.ruff_diagnostics or not ruff_available():
            return
        document = ls.workspace.text_documents.get(uri)
        if document is None or (document.language_id or "python") != "python":
            return
        old = self._tasks.pop(uri, None)
        if old is not None:
            old.cancel()
        task = asyncio.get_running_loop().create_task(self._check(ls, uri, TYPING_PAUSE_S if typing else 0.0))
        self._tasks[uri] = task
        task.add_done_callback(lambda t: self._tasks.pop(uri, None) if self._tasks.get(uri) is t else None)

    def clear(self, ls: HaikuLanguageServer, uri: str) -> None:
        task = self._tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        if uri in self._published:
            self._published.discard(uri)
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

    def reconfigure(self, ls: HaikuLanguageServer) -> None:
        """After a settings change: check every open document, or withdraw what was published."""
        for uri in list(ls.workspace.text_documents):
            if ls.session.settings.ruff_diagnostics:
                self.schedule(ls, uri)
            else:
                self.clear(ls, uri)

    async def _check(self, ls: HaikuLanguageServer, uri: str, pause: float) -> None:
        await asyncio.sleep(pause)
        document = ls.workspace.text_documents.get(uri)
        if document is None:
            return
        version, source = document.version, document.source
        path = Path(document.path) if document.path else Path("untitled.py")
        try:
            from haiku_lsp.tools import ruff_check

            issues, _ = await ruff_check(source, path, ls.root_dir())
        except Exception as err:  # ruff missing or broken: the editor keeps working without these
            log.warning("ruff diagnostics for %s failed: %s", uri, err)
            return
        current = ls.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return  # typed meanwhile: the newer check publishes
        lines = split_lines(source)
        diagnostics = [_diagnostic(document, lines, issue) for issue in issues if issue.line < len(lines)]
        self._published.add(uri)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=version))


def _diagnostic(document: TextDocument, lines: list[str], issue: LintIssue) -> types.Diagnostic:
    """The issue's range: from its column over the word there (ruff's JSON end is not carried by
    LintIssue), at least one character."""
    text = lines[issue.line]
    start = min(issue.column, len(text))
    end = start
    while end < len(text) and (text[end].isalnum() or text[end] in "_."):
        end += 1
    end = max(end, min(start + 1, len(text)))
    return types.Diagnostic(
        range=types.Range(start=client_position(document, lines, issue.line, start),
                          end=client_position(document, lines, issue.line, end)),
        message=issue.message, severity=types.DiagnosticSeverity.Warning, source=SOURCE,
        code=issue.code or None)
