"""Token counting and model facts, and the prompt's token accounting with the prompt cache.

``count_tokens`` is a deterministic stand-in for the model's tokenizer.  A request's prompt is seen as
``prompt_segments`` in cache-prefix order (tools, system, messages); ``PromptCache.input_usage`` turns
them into the API's input-token usage, writing and reading cache entries like the real API.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from typing import Any

# --------------------------------------------------------------------------------------------------
# Tokenizer


# A run of up to 7 letters (with one leading space/tab glued on, as BPE does), up to 3 digits, an
# underscore, 1-2 punctuation characters (also with a leading space/tab), or up to 8 whitespace
# characters.  Every character is in exactly one token; about 3.5-3.9 characters per token on Python
# source and ~4.5-5 on English prose, close to the real tokenizer.
_TOKEN_RE = re.compile(r"[ \t]?[^\W\d_]{1,7}|\d{1,3}|_|[ \t]?[^\w\s]{1,2}|\s{1,8}")


def count_tokens(text: str) -> int:
    """Deterministic stand-in for the model's tokenizer (BPE-like: ~3.5-4 characters per token of code)."""
    return len(_TOKEN_RE.findall(text))


def cut_tokens(text: str, n: int) -> str:
    """The longest prefix of ``text`` made of its first ``n`` tokens."""
    if n <= 0:
        return ""
    end = 0
    for i, m in enumerate(_TOKEN_RE.finditer(text)):
        if i >= n:
            break
        end = m.end()
    return text[:end]


# --------------------------------------------------------------------------------------------------
# Models


_VERSION_RE = re.compile(r"claude-(?:[a-z]+-)?(\d+)(?:[-.](\d{1,2})(?!\d))?")


def model_version(model: str) -> tuple[int, int] | None:
    """``claude-sonnet-4-6`` -> (4, 6); ``claude-3-5-haiku-20241022`` -> (3, 5); ``claude-opus-4-20250514``
    -> (4, 0); None when the id has no version."""
    m = _VERSION_RE.search(model)
    if not m:
        return None
    return int(m.group(1)), int(m.group(2) or 0)


def supports_prefill(model: str) -> bool:
    """Models 4.6 and later reject a conversation that ends with an assistant message."""
    version = model_version(model)
    return version is None or version < (4, 6)


def cache_minimum_tokens(model: str) -> int:
    """Smallest cacheable prefix: 4096 tokens for Haiku models, 1024 for Sonnet / Opus."""
    return 4096 if "haiku" in model else 1024


# --------------------------------------------------------------------------------------------------
# Prompt segments (for token counting and caching)


def _strip_cache_control(block: dict) -> dict:
    return {k: v for k, v in block.items() if k != "cache_control"}


def _ttl(block: Any) -> str | None:
    """The cache ttl of a block with ``cache_control`` ("5m" / "1h"), else None."""
    if isinstance(block, dict) and isinstance(block.get("cache_control"), dict):
        return str(block["cache_control"].get("ttl") or "5m")
    return None


def _block_tokens(block: Any) -> int:
    if isinstance(block, str):
        return count_tokens(block)
    if not isinstance(block, dict):
        return count_tokens(json.dumps(block))
    kind = block.get("type")
    if kind == "text":
        return count_tokens(str(block.get("text", "")))
    if kind == "tool_use":
        return count_tokens(str(block.get("name", ""))) + count_tokens(json.dumps(block.get("input", {})))
    if kind == "tool_result":
        content = block.get("content")
        if isinstance(content, list):
            return sum(_block_tokens(b) for b in content)
        return count_tokens(str(content or ""))
    if kind == "image":
        return 1000
    return count_tokens(json.dumps(_strip_cache_control(block), ensure_ascii=False))


def prompt_segments(body: dict) -> list[tuple[str, int, str | None]]:
    """The prompt as (canonical key, tokens, cache ttl or None) in cache-prefix order: tools, system,
    messages.  A top-level ``cache_control`` marks the last block."""
    segs: list[tuple[str, int, str | None]] = []
    for tool in body.get("tools") or []:
        clean = _strip_cache_control(tool) if isinstance(tool, dict) else tool
        text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
        segs.append(("tool:" + text, count_tokens(text), _ttl(tool)))
    system = body.get("system")
    if isinstance(system, str):
        if system:
            segs.append(("system:" + json.dumps(system), count_tokens(system), None))
    elif isinstance(system, list):
        for block in system:
            clean = _strip_cache_control(block) if isinstance(block, dict) else block
            segs.append(("system:" + json.dumps(clean, sort_keys=True), _block_tokens(clean), _ttl(block)))
    for i, msg in enumerate(body.get("messages") or []):
        if not isinstance(msg, dict):
            continue
        role = msg.get("role")
        content = msg.get("content")
        blocks = [content] if isinstance(content, str) else content if isinstance(content, list) else []
        for block in blocks:
            clean = _strip_cache_control(block) if isinstance(block, dict) else block
            key = f"msg{i}:{role}:" + json.dumps(clean, sort_keys=True)
            segs.append((key, _block_tokens(clean), _ttl(block)))
    top = body.get("cache_control")
    if isinstance(top, dict) and segs:
        key, tokens, ttl = segs[-1]
        segs[-1] = (key, tokens, ttl or str(top.get("ttl") or "5m"))
    return segs


# --------------------------------------------------------------------------------------------------
# Prompt cache


class PromptCache:
    """The prompt cache shared by all requests: prefix hash -> expiry (monotonic).  ``lock`` guards it."""

    def __init__(self, lock: threading.Condition) -> None:
        self._lock = lock
        self._entries: dict[str, float] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def input_usage(self, body: dict, min_tokens: int | None = None) -> dict:
        """Input-token accounting with prompt caching (a cache entry per eligible breakpoint; reads look
        back up to 20 blocks before each breakpoint, like the real API).  ``min_tokens`` overrides the
        model's minimum cacheable prefix."""
        segments = prompt_segments(body)
        model = body["model"]
        minimum = min_tokens if min_tokens is not None else cache_minimum_tokens(model)
        prefix_tokens: list[int] = []
        keys: list[str] = []
        h = hashlib.sha256(("model:" + model).encode())
        running = 0
        for key, tokens, _ttl in segments:
            h.update(key.encode())
            running += tokens
            keys.append(h.copy().hexdigest())
            prefix_tokens.append(running)
        total = running
        breakpoints = [i for i, seg in enumerate(segments) if seg[2] is not None]
        now = time.monotonic()
        read_pos = -1
        with self._lock:
            for b in breakpoints:
                for p in range(b, max(-1, b - 20), -1):
                    expiry = self._entries.get(keys[p])
                    if expiry is not None and expiry > now and p > read_pos:
                        read_pos = p
                        break
            eligible = [b for b in breakpoints if prefix_tokens[b] >= minimum]
            write_pos = eligible[-1] if eligible else -1
            for b in eligible:
                ttl = 3600.0 if segments[b][2] == "1h" else 300.0
                self._entries[keys[b]] = max(self._entries.get(keys[b], 0.0), now + ttl)
            if read_pos >= 0:
                self._entries[keys[read_pos]] = max(self._entries[keys[read_pos]], now + 300.0)
        read = prefix_tokens[read_pos] if read_pos >= 0 else 0
        creation = prefix_tokens[write_pos] - read if write_pos > read_pos else 0
        creation_1h = 0
        if creation and segments[write_pos][2] == "1h":
            creation_1h = creation
        return {
            "input_tokens": total - read - creation,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": creation - creation_1h,
                "ephemeral_1h_input_tokens": creation_1h,
            },
        }
