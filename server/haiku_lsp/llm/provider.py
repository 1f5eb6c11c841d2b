"""What every provider speaks: a request, a streamed answer, and the one error type callers catch.

Exception hierarchy (callers catch `ProviderError` only; cancellation is never converted):

    ProviderError            kind says what happened, status is the HTTP status when there was one
      kind "no_key"          no ANTHROPIC_API_KEY / ANTHROPIC_AUTH_TOKEN in the environment
      kind "auth"            401/403: the key was rejected
      kind "rate_limit"      429
      kind "overloaded"      529, or an `overloaded_error` event mid-stream
      kind "server"          other 5xx or an `error` event mid-stream
      kind "bad_request"     400/404/413/422: the request itself is wrong (a bug, or a model that
                             does not accept a feature such as prefill)
      kind "timeout"         no answer within the per-call timeout
      kind "connection"      could not connect, or the connection dropped mid-stream
      kind "incomplete"      the stream ended without `message_stop`
      kind "budget"          the dollar budget cap is reached
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ProviderError(Exception):
    def __init__(self, kind: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.status = status

    def __str__(self) -> str:
        status = f" {self.status}" if self.status else ""
        return f"{self.kind}{status}: {self.args[0]}"


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


def supports_prefill(model: str) -> bool:
    """Claude 4.6 models and later answer 400 to a conversation ending in an assistant turn."""
    import re

    m = re.search(r"-(\d+)-(\d+)(?:-|$)", model)
    if not m:
        return True
    major, minor = int(m.group(1)), int(m.group(2))
    return (major, minor) < (4, 6)
