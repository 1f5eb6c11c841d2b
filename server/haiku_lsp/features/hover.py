"""textDocument/hover: jedi's signature and docstring, at once."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from lsprotocol import types

from ..models.offline import jedi_hover
from .convert import code_point_position, split_lines

if TYPE_CHECKING:
    from ..server import HaikuLanguageServer


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
        markdown = await asyncio.get_running_loop().run_in_executor(
            ls.engine.jedi_executor, lambda: jedi_hover(source, path, root, cursor[0], cursor[1]))
        if not markdown:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown))
