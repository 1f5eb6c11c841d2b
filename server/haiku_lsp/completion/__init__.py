"""Inline completion: the `CompletionEngine` answers a `CompletionQuery` (a document's lines and a
cursor) with `Suggestion`s, from what was typed ahead of a shown suggestion, the cache, a running
stream, the model, or offline from jedi. It builds what the model sees (windows around the cursor,
jedi-resolved names) and shapes the answer (:mod:`haiku_lsp.completion.shaping`). No LSP. This is the
latency-critical path: nothing here imports the other capabilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from haiku_lsp import lazy

if TYPE_CHECKING:
    from haiku_lsp.completion.breaker import Breaker, Episode
    from haiku_lsp.completion.engine import CompletionEngine
    from haiku_lsp.completion.query import CompletionQuery, Suggestion
    from haiku_lsp.completion.streaming import EngineStats

# name -> submodule, imported on first use: the jedi worker process runs `completion.context`'s
# functions and must not import the engine (and the provider behind it) for that.
_WHERE = {"Breaker": "breaker", "Episode": "breaker", "CompletionEngine": "engine", "EngineStats": "streaming",
          "CompletionQuery": "query", "Suggestion": "query"}


__getattr__ = lazy.exports(__name__, _WHERE)


__all__ = ["Breaker", "CompletionEngine", "CompletionQuery", "EngineStats", "Episode", "Suggestion"]
