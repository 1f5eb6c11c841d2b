"""Turning the model's streamed answer into the exact text to insert at the cursor (pure, no LSP, no
I/O): a `CompletionShaper` is fed the stream, says when enough has arrived, and fits the answer to the
`CursorContext` or drops it; `shape` does it for a whole answer at once.
"""

from haiku_lsp.completion.shaping.filters import ANCHOR_RE
from haiku_lsp.completion.shaping.shaper import CompletionShaper, CursorContext, shape

__all__ = ["ANCHOR_RE", "CompletionShaper", "CursorContext", "shape"]
