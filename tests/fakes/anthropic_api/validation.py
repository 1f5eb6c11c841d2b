"""Request validation: the checks the real API makes before answering (API key, required and known fields
and their types, message structure, cache breakpoints, prefill support), with its error messages."""

from __future__ import annotations

from .tokens import prompt_segments, supports_prefill
from .wire import ApiError

_SAMPLING_PARAMS = ("temperature", "top_p", "top_k")
_NO_SAMPLING_VERSION = "2026-10-21"
_KNOWN_FIELDS = {
    "model", "messages", "max_tokens", "system", "stream", "stop_sequences", "metadata", "tools",
    "tool_choice", "thinking", "output_config", "output_format", "cache_control", "container",
    "context_management", "diagnostics", "inference_geo", "mcp_servers", "service_tier", "speed", "betas",
    *_SAMPLING_PARAMS,
}  # fmt: skip
_MAX_CACHE_BREAKPOINTS = 4


def check_auth(headers: dict[str, str], api_key: str | None) -> None:
    """Raise the API's 401 error unless the request has an API key (``api_key``, when set)."""
    key = headers.get("x-api-key")
    auth = headers.get("authorization", "")
    if key is None and auth.lower().startswith("bearer "):
        key = auth[7:].strip()
    if not key:
        raise ApiError(401, "x-api-key header is required")
    if api_key is not None and key != api_key:
        raise ApiError(401, "invalid x-api-key")


def validate(body: dict, headers: dict[str, str], *, count_only: bool) -> None:
    """Raise the API's 400 error when a ``/v1/messages`` request (``count_only``: a
    ``/v1/messages/count_tokens`` request) is invalid."""
    version = headers.get("anthropic-version")
    if not version:
        raise ApiError(400, "anthropic-version: header is required")
    required = ("model", "messages") if count_only else ("model", "max_tokens", "messages")
    for name in required:
        if name not in body:
            raise ApiError(400, f"{name}: Field required")
    if version == _NO_SAMPLING_VERSION:
        for name in _SAMPLING_PARAMS:
            if name in body:
                raise ApiError(
                    400,
                    f"{name}: Extra inputs are not permitted (sampling parameters are not supported "
                    f"with anthropic-version {version})",
                )
    for name in body:
        if name not in _KNOWN_FIELDS or (
            count_only and name in ("max_tokens", "stream", "stop_sequences")
        ):
            raise ApiError(400, f"{name}: Extra inputs are not permitted")
    model = body["model"]
    if not isinstance(model, str) or not model:
        raise ApiError(400, "model: Input should be a valid string")
    if not count_only:
        mt = body["max_tokens"]
        if not isinstance(mt, int) or isinstance(mt, bool) or mt < 0:
            raise ApiError(400, "max_tokens: Input should be a valid non-negative integer")
        if "stream" in body and not isinstance(body["stream"], bool):
            raise ApiError(400, "stream: Input should be a valid boolean")
        stops = body.get("stop_sequences")
        if stops is not None and (
            not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)
        ):
            raise ApiError(400, "stop_sequences: Input should be a valid list of strings")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            raise ApiError(400, "system: Input should be a valid string or list of text blocks")
        for i, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise ApiError(400, f"system.{i}.type: Input should be 'text'")
            if not isinstance(block.get("text"), str):
                raise ApiError(400, f"system.{i}.text: Field required")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise ApiError(400, "messages: Input should be a valid list")
    if not messages:
        raise ApiError(400, "messages: at least one message is required")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise ApiError(400, f"messages.{i}: Input should be a valid dictionary")
        if msg.get("role") not in ("user", "assistant"):
            raise ApiError(400, f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if "content" not in msg:
            raise ApiError(400, f"messages.{i}.content: Field required")
        content = msg["content"]
        if isinstance(content, list):
            for j, block in enumerate(content):
                if not isinstance(block, dict) or "type" not in block:
                    raise ApiError(400, f"messages.{i}.content.{j}.type: Field required")
                if block["type"] == "text" and not block.get("text"):
                    raise ApiError(400, "messages: text content blocks must be non-empty")
        elif not isinstance(content, str):
            raise ApiError(400, f"messages.{i}.content: Input should be a valid string or list")
        is_final_assistant = i == len(messages) - 1 and msg["role"] == "assistant"
        if not content and not is_final_assistant:
            raise ApiError(
                400,
                f"messages.{i}: all messages must have non-empty content except for the optional "
                "final assistant message",
            )
    n_breakpoints = sum(1 for seg in prompt_segments(body) if seg[2] is not None)
    if n_breakpoints > _MAX_CACHE_BREAKPOINTS:
        raise ApiError(
            400,
            f"A maximum of {_MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {n_breakpoints}.",
        )
    if count_only:
        return
    last = messages[-1]
    if last["role"] == "assistant":
        # checked first, so it is reported for every model
        text = last["content"] if isinstance(last["content"], str) else None
        if text is None:
            texts = [b.get("text", "") for b in last["content"] if b.get("type") == "text"]
            text = texts[-1] if texts else ""
        if text and text != text.rstrip():
            raise ApiError(400, "messages: final assistant content cannot end with trailing whitespace")
        if not supports_prefill(model):
            raise ApiError(
                400,
                "This model does not support assistant message prefill. "
                "The conversation must end with a user message.",
            )


def check_model(model: str) -> None:
    """Raise the API's 404 error for an unknown model."""
    if not model.startswith("claude-"):
        raise ApiError(404, f"model: {model}")
