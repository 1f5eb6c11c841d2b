"""AI hover: a short model explanation of what a symbol does, keyed by a hash of its definition's
source, so it stays valid until that code changes. Fetched at most once per key at a time; a fetch
that outlives the hover's budget keeps running and fills the cache for the next hover."""

from __future__ import annotations

import asyncio
import logging

from haiku_lsp.errors import ActionError
from haiku_lsp.llm.cache import Cache, content_key
from haiku_lsp.llm.provider import Provider
from haiku_lsp.llm.structured import ask_json
from haiku_lsp.privacy import redact
from haiku_lsp.text import fence

log = logging.getLogger(__name__)

HOVER_VERSION = "hover-1"
HOVER_SCHEMA: dict = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}
HOVER_SYSTEM = (
    "You explain Python code to a developer hovering over a name. Answer with JSON: `summary` is one or two "
    "plain sentences (at most 60 words) saying what the symbol does and anything surprising about it "
    "(side effects, errors raised, complexity). No markdown headings, no restating the signature."
)


def _check(value: dict) -> str | None:
    text = value["summary"].strip()
    if not text:
        return "the summary is empty"
    if len(text.split()) > 90:
        return "the summary is too long: at most 60 words"
    return None


class HoverExplainer:
    def __init__(self, provider: Provider, cache: Cache) -> None:
        self.provider = provider
        self.cache = cache
        self._inflight: dict[str, asyncio.Task] = {}

    @staticmethod
    def key(model: str, definition: dict) -> str:
        return content_key(HOVER_VERSION, model, definition["name"], definition["source"])

    def cached(self, key: str) -> str | None:
        return self.cache.get("hover", key)

    def fetch(self, key: str, model: str, definition: dict, timeout: float) -> asyncio.Task:
        """The running (or a new) fetch for `key`; its result is cached when it succeeds."""
        task = self._inflight.get(key)
        if task is None or task.done():
            task = asyncio.ensure_future(self._fetch(key, model, definition, timeout))
            self._inflight[key] = task
            task.add_done_callback(lambda t: self._inflight.pop(key, None) if self._inflight.get(key) is t else None)
        return task

    async def _fetch(self, key: str, model: str, definition: dict, timeout: float) -> str | None:
        prompt, _ = redact(f"The {definition['kind']} `{definition['name']}`:\n{fence(definition['source'], 'python')}")
        try:
            answer = await ask_json(self.provider, model=model, system=HOVER_SYSTEM, user=prompt, schema=HOVER_SCHEMA,
                                    max_tokens=300, timeout=timeout, feature="hover", check=_check,
                                    what="explanation")
        except (ActionError, Exception) as err:  # a hover never fails because of the model
            log.info("hover explanation failed: %s", err)
            return None
        summary = answer.value["summary"].strip()
        self.cache.set("hover", key, summary)
        return summary
