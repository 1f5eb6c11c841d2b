"""Talking to the model, and what it costs.

`Provider` (provider.py) is the protocol the engine depends on, with `ModelRequest` (one Messages API
call; its payload is also what cache keys hash), `Completion` and `TextStream`; `AnthropicProvider`
implements it over the anthropic SDK (imported lazily, off the start-up path). `ModelAccess` bundles
a provider, the cache, a model id and a timeout for a flow; `ask_json` asks for JSON
with a schema and repairs a bad answer once. `Ledger`, `Usage` and `cost_usd` account tokens and dollars
per model (with the budget cap); `Cache` is the memory + disk cache keyed by `content_key`, with a
team tier on Redis behind it when `shared_cache_url()` names one; `BatchClient`
sends requests through the Message Batches API (`BATCH_DISCOUNT` off the price). Errors are
`haiku_lsp.errors.ProviderError` subclasses.
"""

from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.accounting import Ledger, Usage, cost_usd, price_of
from haiku_lsp.llm.anthropic import AnthropicProvider
from haiku_lsp.llm.batches import BATCH_DISCOUNT, BatchAnswer, BatchClient, BatchStatus
from haiku_lsp.llm.cache import Cache, content_key, default_cache_dir, shared_cache_url
from haiku_lsp.llm.provider import Completion, ModelRequest, Provider, TextStream, model_version, supports_prefill
from haiku_lsp.llm.structured import JsonAnswer, ask_json

__all__ = [
    "BATCH_DISCOUNT", "AnthropicProvider", "BatchAnswer", "BatchClient", "BatchStatus",
    "Cache", "Completion", "JsonAnswer", "Ledger", "ModelAccess", "ModelRequest", "Provider",
    "TextStream", "Usage", "ask_json", "content_key", "cost_usd", "default_cache_dir", "model_version", "price_of",
    "shared_cache_url", "supports_prefill",
]
