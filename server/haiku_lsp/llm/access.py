"""`ModelAccess`: what a model-backed flow needs to ask one model, as one typed value.

A flow (a quick fix, a generated test, a traceback explanation, a refactor's planner or workers) takes
one `ModelAccess` instead of a provider, a cache, a model id and a timeout passed one by one; the
session builds it from the current settings (`Session.fast()`, `Session.planner()`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from haiku_lsp.llm.cache import Cache
from haiku_lsp.llm.provider import Provider
from haiku_lsp.llm.structured import JsonAnswer, ask_json


@dataclass(frozen=True)
class ModelAccess:
    """`model` through `provider`, each call timed out after `timeout` seconds; answers cached in `cache`."""

    provider: Provider
    cache: Cache
    model: str
    timeout: float

    @property
    def available(self) -> bool:
        return self.provider.available

    def through(self, provider: Provider) -> ModelAccess:
        """The same access through another provider (e.g. one that meters the calls)."""
        return replace(self, provider=provider)

    async def ask_json(self, *, system: str, user: str, schema: dict[str, Any], max_tokens: int, feature: str,
                       check: Callable[[dict[str, Any]], Any] = lambda v: None, what: str = "answer") -> JsonAnswer:
        """`llm.structured.ask_json` with this model, provider and timeout."""
        return await ask_json(self.provider, model=self.model, system=system, user=user, schema=schema,
                              max_tokens=max_tokens, timeout=self.timeout, feature=feature, check=check, what=what)
