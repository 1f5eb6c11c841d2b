"""Python itself, without a model: what jedi says (offline completions, hovers with the definition
they point at, the size of its parser cache), run in worker processes by `JediWorker` (`await
worker.call(hover_info, ...)`: the server's event loop never waits for jedi); the defs and classes of
a source text (`symbols`, `symbol_at`), the definition enclosing a line by indentation alone
(`enclosing_definition`, cheap enough for every cursor move), and where a file is in the workspace: its
path relative to the workspace folder (`relative_to_root`, the one way that is computed), the project's
source folders and a file's import name. No LSP; jedi is imported by the worker process only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haiku_lsp import lazy

if TYPE_CHECKING:
    from haiku_lsp.python.jedi_service import MAX_SOURCE_CHARS, hover_info, jedi_inline, jedi_script, trim_parser_cache
    from haiku_lsp.python.jedi_worker import JediWorker
    from haiku_lsp.python.outline import enclosing_definition
    from haiku_lsp.python.paths import module_name, relative_to_root, source_roots
    from haiku_lsp.python.symbols import Symbol, symbol_at

# name -> submodule. Imported on first use: the jedi worker process imports this package for its own
# modules (jedi_process, jedi_service) and must not pay for the server's side (asyncio, the worker pool).
_WHERE = {"MAX_SOURCE_CHARS": "jedi_service", "hover_info": "jedi_service", "jedi_inline": "jedi_service",
          "jedi_script": "jedi_service", "trim_parser_cache": "jedi_service", "JediWorker": "jedi_worker",
          "enclosing_definition": "outline", "module_name": "paths", "relative_to_root": "paths",
          "source_roots": "paths", "Symbol": "symbols", "symbol_at": "symbols"}
# (`symbols` the function is imported from its submodule: the package attribute of that name is the module)


__getattr__ = lazy.exports(__name__, _WHERE)


__all__ = ["MAX_SOURCE_CHARS", "JediWorker", "Symbol", "enclosing_definition", "hover_info", "jedi_inline",
           "jedi_script", "module_name", "relative_to_root", "source_roots", "symbol_at",
           "trim_parser_cache"]
