"""textDocument/hover: jedi's signature and docstring at once, plus Haiku's explanation when it is
cached or arrives within the budget (otherwise it is fetched in the background for next time). Without the
model (no key, a reached budget), an explanation already cached is still shown; none is asked for."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from haiku_lsp.errors import JediError
from haiku_lsp.lsp.convert import code_point_position
from haiku_lsp.python import MAX_SOURCE_CHARS, hover_info
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

log = logging.getLogger(__name__)

JEDI_DEADLINE_S = 10.0  # jedi's part of a hover (in the worker): no hover after this long


def register(server: HaikuLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: HaikuLanguageServer, params: types.HoverParams) -> types.Hover | None:
        document = ls.workspace.text_documents.get(params.text_document.uri)
        if document is None:
            return None
        lines = split_lines(document.source)
        cursor = code_point_position(document, lines, params.position)
        if cursor is None:
            return None
        source, path, root = "\n".join(lines), document.path, ls.root_path()
        settings = ls.session.settings
        explain = settings.hover_explanations and not (path is not None and ls.session.ignore_rules.is_ignored(path))
        may_ask = explain and not ls.session.offline_for(None)  # a key, no budget reached: else only the cache
        if len(source) > MAX_SOURCE_CHARS:
            return None  # jedi would take longer on it than anyone waits for a hover
        try:
            markdown, definition = await ls.session.jedi.call(hover_info, source, path, root, cursor[0], cursor[1],
                                                              explain, size=len(source), timeout=JEDI_DEADLINE_S,
                                                              urgent=True)
        except JediError as err:  # the worker gave no answer (overran, crashed): no hover this time
            log.warning("hover: %s", err)
            return None
        if not markdown:
            return None
        if definition is not None and not ls.session.ignore_rules.is_ignored(definition["path"]):
            key = ls.session.hover.key(settings.fast_model, definition)
            text = ls.session.hover.cached(key)
            if text is None and may_ask:
                task = ls.session.hover.fetch(key, settings.fast_model, definition, settings.action_timeout_s)
                try:
                    text = await asyncio.wait_for(asyncio.shield(task), settings.hover_budget_ms / 1000)
                except TimeoutError:
                    text = None  # still running: cached for the next hover
            if text:
                markdown += f"\n\n---\n**Haiku:** {text}"
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))
