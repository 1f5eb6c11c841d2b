"""Scripting the fake model: ``Reply`` (what it answers), ``Script`` (which requests a reply answers, and
how many), and taking the reply for a request from the scripts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Union

from .faults import Fault
from .wire import content_text


@dataclass
class Reply:
    """What the fake model answers.

    ``text`` is the generated text (a continuation, when the request ends with an assistant prefill);
    ``tool_use`` ({"name": ..., "input": {...}, optional "id"}) adds a tool_use block after the text
    (stop_reason ``tool_use``).  ``stop_sequences`` / ``max_tokens`` of the request cut the text.
    ``ttft`` is the wait before the first content_block_delta (message_start goes out at once);
    ``chunk_chars`` characters per delta; ``chunk_delay`` seconds between deltas, or, when
    ``tokens_per_second`` is set, ``count_tokens(chunk) / tokens_per_second``.  ``stop_reason``
    overrides the computed one; ``usage`` is merged over the computed usage.
    """

    text: str = ""
    tool_use: dict | None = None
    ttft: float = 0.0
    chunk_chars: int = 8
    chunk_delay: float = 0.0
    tokens_per_second: float | None = None
    stop_reason: str | None = None
    usage: dict | None = None
    fault: Fault | None = None


ReplyLike = Union[Reply, str, Callable[[dict], "Reply | str"]]
Matcher = Union[None, str, Callable[[dict], bool]]


@dataclass(eq=False)
class Script:
    """A scripted reply (returned by ``FakeAnthropic.script``); ``used`` counts the requests it answered."""

    reply: ReplyLike
    match: Matcher = None
    times: int | None = None
    used: int = 0

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.used >= self.times

    def matches(self, body: dict) -> bool:
        if self.match is None:
            return True
        if isinstance(self.match, str):
            return self.match in _search_text(body)
        return bool(self.match(body))


def _search_text(body: dict) -> str:
    """What a string ``match`` is searched in: the JSON of system + messages, and their plain text."""
    as_json = json.dumps({"system": body.get("system"), "messages": body.get("messages")}, ensure_ascii=False)
    plain = [content_text(body.get("system"))]
    for msg in body.get("messages") or []:
        if isinstance(msg, dict):
            plain.append(content_text(msg.get("content")))
    return as_json + "\n" + "\n".join(plain)


def take_script(scripts: list[Script], body: dict, errors: list[str]) -> ReplyLike | None:
    """The reply of the first script (in order) not exhausted whose ``match`` matches ``body``, counted as
    used; None when there is none.  A ``match`` predicate that raises is skipped, and reported in
    ``errors``.  The caller holds the lock guarding ``scripts`` and ``errors``."""
    for s in scripts:
        if s.exhausted:
            continue
        try:
            hit = s.matches(body)
        except Exception as exc:
            errors.append(f"script match raised {type(exc).__name__}: {exc}")
            continue
        if hit:
            s.used += 1
            return s.reply
    return None


def make_reply(chosen: ReplyLike, body: dict) -> Reply:
    """A scripted reply as a Reply: a callable is called with the request body, a string is the text."""
    if callable(chosen) and not isinstance(chosen, Reply):
        chosen = chosen(body)
    if isinstance(chosen, str):
        chosen = Reply(text=chosen)
    if not isinstance(chosen, Reply):
        raise TypeError(f"scripted reply must be a Reply or str, got {type(chosen).__name__}")
    return chosen
