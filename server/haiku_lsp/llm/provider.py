"""What every provider speaks: a request, a streamed or whole answer, and the `Provider` protocol.

The engine depends on `Provider`, never on a concrete class (the Anthropic one is `llm.anthropic`;
unit tests of engine logic may pass an in-process one). Failures are raised as `haiku_lsp.errors`
`ProviderError` subclasses; cancellation is never converted.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

from haiku_lsp.llm.accounting import Ledger, Usage


@dataclass(frozen=True)
class ModelRequest:
    """One Messages API call. `payload()` is exactly the JSON body sent (minus `stream`), which is
    also what cache keys are computed from."""

    model: str
    messages: tuple[dict[str, Any], ...]
    max_tokens: int
    system: tuple[dict[str, Any], ...] = ()
    stop_sequences: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # output_config, tools, tool_choice ...

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [dict(m) for m in self.messages],
        }
        if self.system:
            body["system"] = [dict(b) for b in self.system]
        if self.stop_sequences:
            body["stop_sequences"] = list(self.stop_sequences)
        body.update(self.extra)
        return body


_VERSION = re.compile(r"-(\d{1,2})(?:-(\d{1,2}))?(?=-|$)")


def model_version(model: str) -> tuple[int, int] | None:
    """(major, minor) of a Claude model id: "claude-haiku-4-5" -> (4, 5), "claude-sonnet-4-20250514" -> (4, 0),
    "claude-3-5-sonnet-20241022" -> (3, 5). A date (8 digits) is never read as a version."""
    m = _VERSION.search(model)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


def supports_prefill(model: str) -> bool:
    """Claude 4.6 models and later answer 400 to a conversation ending in an assistant turn."""
    version = model_version(model)
    return version is None or version < (4, 6)


@dataclass
class Completion:
    """A whole answer: its text, the tool input when a tool was forced, why it stopped, what it cost."""

    text: str
    tool_input: dict[str, Any] | None
    stop_reason: str | None
    usage: Usage


class TextStream(Protocol):
    """The text deltas of one streamed call; `stop_reason` and `usage` are known once it has ended, and
    `finished` says whether it ended with `message_stop`."""

    stop_reason: str | None
    finished: bool

    def __aiter__(self) -> AsyncIterator[str]: ...

    @property
    def usage(self) -> Usage: ...


class Provider(Protocol):
    """A model API as the engine sees it. Every call's usage goes into `ledger`."""

    ledger: Ledger

    @property
    def available(self) -> bool:
        """False when no call can be made (no key): callers fall back to the offline engine."""
        ...

    async def ready(self) -> None:
        """Wait until calls can be made (the SDK import); NoKeyError without a key."""
        ...

    def stream(self, request: ModelRequest, *, timeout: float, inline: bool = True,
               feature: str = "inline") -> AbstractAsyncContextManager[TextStream]:
        """A streamed call; leaving the block, however, closes the HTTP stream. `inline`: no retries."""
        ...

    async def complete(self, request: ModelRequest, *, timeout: float, feature: str = "action",
                       retries: bool = True) -> Completion:
        """A whole answer; IncompleteAnswer when the stream ended before `message_stop`."""
        ...
