"""The baseline for bench/inline.py: a bare pygls language server with one feature.

Same pygls / lsprotocol stack as haiku-lsp, an inline completion handler that answers nothing, and no
other imports: what any pygls server costs to start and to hold in memory.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare-pygls", "0")


@server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
def inline_completion(ls: LanguageServer, params: types.InlineCompletionParams) -> None:
    return None


if __name__ == "__main__":
    server.start_io()
