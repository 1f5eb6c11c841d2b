"""One upstream stream of inline completions, shared by every request that agrees with it (no LSP here).

A :class:`Generation` is shaped as it streams (:class:`~haiku_lsp.completion.shaping.CompletionShaper`); requests
follow it while what the user typed agrees with it; once nobody waits on it, it is closed after a short grace.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field

from haiku_lsp.completion.shaping import CompletionShaper, CursorContext
from haiku_lsp.completion.typed_ahead import Anchor
from haiku_lsp.errors import ProviderError

CANCEL_GRACE_S = 0.03  # a request following a cancel within this time may reuse the stream


class Generation:
    """One upstream stream shared by every request that agrees with it."""

    def __init__(self, anchor: Anchor, cursor: CursorContext, key: str | None) -> None:
        self.anchor, self.key = anchor, key  # key None: the lines after an answer, not a request's own
        self.cursor = cursor
        self.shaper = CompletionShaper(cursor)
        self.result: str | None = None
        self.error: ProviderError | None = None
        self.done = asyncio.Event()
        self.changed = asyncio.Event()
        self.consumers = 0
        self.task: asyncio.Task | None = None

    def attach(self) -> None:
        self.consumers += 1

    def release(self) -> None:
        self.consumers -= 1
        if self.consumers <= 0 and not self.done.is_set():
            asyncio.get_running_loop().call_later(CANCEL_GRACE_S, self._close_if_orphaned)

    def _close_if_orphaned(self) -> None:
        if self.consumers <= 0 and self.task is not None and not self.task.done():
            self.task.cancel()

    def agrees_with(self, typed: str) -> bool | None:
        """True/False once decided; None while the stream has not said enough yet."""
        if self.done.is_set():
            return self.result is not None and self.result.startswith(typed) and len(self.result) > len(typed)
        partial = self.shaper.partial
        if len(partial) >= len(typed):
            return True if partial.startswith(typed) else False
        return None if typed.startswith(partial) else False


@dataclass
class DocState:
    """What the engine keeps per document: typing rhythm, the pending request, suggestions shown, the stream."""

    gaps: deque = field(default_factory=lambda: deque(maxlen=30))
    last_change: float = 0.0
    pending: asyncio.Future | None = None
    shown: deque = field(default_factory=lambda: deque(maxlen=8))
    generation: Generation | None = None
    edited: deque = field(default_factory=lambda: deque(maxlen=16))  # lines edited since the last refresh
    settle: asyncio.TimerHandle | None = None  # the refresh of the context once edits pause

    def rest_shown(self, before: str, after_hash: int, memo: dict[int, int]) -> str | None:
        """The rest of a suggestion shown here whose start the user has typed since (typed-ahead), or None."""
        for shown in reversed(self.shown):
            typed = shown.anchor.typed(before, after_hash, memo)
            if typed is not None and shown.text.startswith(typed) and len(shown.text) > len(typed):
                return str(shown.text[len(typed):])
        return None
