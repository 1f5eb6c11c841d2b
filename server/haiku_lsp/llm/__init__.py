"""Talking to the model, and what it costs.

`Provider` (provider.py) is the protocol the engine depends on, with `ModelRequest` (one Messages API
call; its payload is also what cache keys hash), `Completion` and `TextStream`; `AnthropicProvider`
implements it over the anthropic SDK (imported lazily, off the start-up path). `ModelAccess` bundles
a provider, the cache, a model id and a timeout for a flow; `ask_json` asks for JSON
with a schema and repairs a bad answer once. `Ledger`, `Usage` and `cost_usd` account tokens and dollars
per model (with the session and daily caps); `Cache` is the memory + disk cache keyed by `content_key`,
with a team tier on Redis behind it when `shared_cache_url()` names one.
`GuardedProvider` is the one door every model call of a session goes through (budgets, redaction,
accounting, audit); `UsageStore` is the per-day record of calls shared by a user's servers, `AuditLog`
the JSONL log of every call, `usage_stats`/`render_stats` the figures of `haiku-lsp stats`; `BatchClient`
sends requests through the Message Batches API (priced at `BATCH_DISCOUNT` of the standard price; the guard's
`record_batch` accounts and audits each answer). Errors are
`haiku_lsp.errors.ProviderError` subclasses.
"""

from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.accounting import BATCH_DISCOUNT, Ledger, Usage, cost_usd, price_of
from haiku_lsp.llm.anthropic import AnthropicProvider
from haiku_lsp.llm.audit import AuditLog
from haiku_lsp.llm.batches import BatchAnswer, BatchClient, BatchStatus
from haiku_lsp.llm.cache import Cache, content_key, default_cache_dir, shared_cache_url
from haiku_lsp.llm.guard import GuardedProvider, redact_request
from haiku_lsp.llm.provider import Completion, ModelRequest, Provider, TextStream, model_version, supports_prefill
from haiku_lsp.llm.stats import render as render_stats
from haiku_lsp.llm.stats import usage_stats
from haiku_lsp.llm.structured import JsonAnswer, ask_json
from haiku_lsp.llm.usage import UsageStore

__all__ = [
    "BATCH_DISCOUNT", "AnthropicProvider", "AuditLog", "BatchAnswer", "BatchClient", "BatchStatus", "Cache",
    "Completion", "GuardedProvider", "JsonAnswer", "Ledger", "ModelAccess", "ModelRequest", "Provider", "TextStream",
    "Usage", "UsageStore", "ask_json", "content_key", "cost_usd", "default_cache_dir", "model_version", "price_of",
    "redact_request", "render_stats", "shared_cache_url", "supports_prefill", "usage_stats",
]
