"""textDocument/inlineCompletion (LSP 3.18): LSP in, engine query, LSP out."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from haiku_lsp.completion import CompletionQuery
from haiku_lsp.lsp.acceptance import ACCEPT_COMMAND
from haiku_lsp.lsp.convert import code_point_position
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

log = logging.getLogger(__name__)


def register(server: HaikuLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: HaikuLanguageServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        document = ls.workspace.text_documents.get(params.text_document.uri)
        if document is None:
            log.info("inline completion for a document that is not open: %s", params.text_document.uri)
            return None
        lines = split_lines(document.source)
        cursor = code_point_position(document, lines, params.position)
        if cursor is None:
            log.info("inline completion at %s, outside %s", params.position, params.text_document.uri)
            return None
        query = CompletionQuery(
            uri=document.uri,
            lines=lines,
            line=cursor[0],
            col=cursor[1],
            invoked=params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked,
            path=document.path,
            root=ls.root_path(),
            language=document.language_id or "python",
            version=document.version,
        )
        ls.tell_ignored(document.path)  # the engine answers offline for it; the editor learns why, once
        suggestions = await ls.session.completions.complete(query)
        ls.tidy.note_work()  # a completion's prompt, context and stream are garbage now
        # The item's range is the (empty) range at the cursor, in the client's own units.
        at = types.Range(start=params.position, end=params.position)
        if suggestions:
            ls.acceptance.offered += 1
            ls.acceptance.tell(ls)
        return types.InlineCompletionList(items=[
            types.InlineCompletionItem(insert_text=s.text, range=at, command=types.Command(
                title="Accepted", command=ACCEPT_COMMAND, arguments=[document.uri, len(s.text)]))
            for s in suggestions])
