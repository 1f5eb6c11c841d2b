"""The Language Server Protocol side: the only package that imports lsprotocol or pygls.

`create_server()` builds the pygls server with every feature registered (inline completion, hover,
code actions, the `haiku.*` commands in `commands/`); `serve_stdio(server)` serves it on stdin/stdout
read on the event loop. Positions are converted once, in `convert.py`; pygls internals are touched
only in `compat.py`. Everything with a decision in it lives in the LSP-free packages, reached through
the `Session` (haiku_lsp/session.py).
"""

from haiku_lsp.lsp.server import HaikuLanguageServer, create_server
from haiku_lsp.lsp.stdio import serve_stdio

__all__ = ["HaikuLanguageServer", "create_server", "serve_stdio"]
