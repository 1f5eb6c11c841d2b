"""The services of one workspace, built from one settings snapshot (no LSP here).

`Session` owns the ledger, the provider, the cache, the ignore rules, the jedi worker, the completion
engine and the hover explainer. `configure(settings, root)` hands a new snapshot to every one of them: values a
service holds (the budget, prices, the cache's size and switch, the ignore rules) are pushed here, in
one place; values read at use time (models, token budgets, timeouts) are read from `session.settings`
by the code that uses them. The language server (lsp/server.py) and the headless CLI both build one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from haiku_lsp.completion import CompletionEngine
from haiku_lsp.errors import ProviderError
from haiku_lsp.hover import HoverExplainer
from haiku_lsp.llm import AnthropicProvider, Cache, Ledger, ModelAccess, Provider
from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import JediWorker
from haiku_lsp.settings import Settings

__all__ = ["Session"]


class Session:
    def __init__(self, settings: Settings | None = None, *, root: Path | None = None,
                 provider: Provider | None = None, cache: Cache | None = None,
                 on_error: Callable[[ProviderError], None] = lambda err: None) -> None:
        self.settings = settings or Settings()
        self.root = root
        self.provider: Provider = provider or AnthropicProvider(Ledger())
        self.ledger = self.provider.ledger
        self.cache = cache or Cache(size_mib=self.settings.cache_size_mib, enabled=self.settings.cache_enabled)
        self.ignore_rules = IgnoreRules()
        self.jedi = JediWorker()  # jedi runs in worker processes, started on first use (or `jedi.start()`)
        self.completions = CompletionEngine(self.provider, self.cache, lambda: self.settings,
                                            lambda: self.ignore_rules, on_error=on_error, jedi=self.jedi)
        self.hover = HoverExplainer(self.provider, self.cache)
        self.configure(self.settings, root)

    def configure(self, settings: Settings, root: Path | None) -> None:
        """Make `settings` the snapshot every service uses from now on (`root`: the workspace folder)."""
        self.settings, self.root = settings, root
        self.ledger.budget_usd = settings.budget_usd
        self.ledger.prices = settings.prices
        self.cache.configure(enabled=settings.cache_enabled, size_mib=settings.cache_size_mib)
        self.ignore_rules = IgnoreRules.for_workspace(root, settings.ignore_patterns)

    def offline_for(self, path: str | None) -> bool:
        """True when nothing of this file may go upstream (no key, or an ignore rule matches)."""
        return not self.provider.available or (path is not None and self.ignore_rules.is_ignored(path))

    def fast(self) -> ModelAccess:
        """The fast tier (completions' model, quick fixes, tests, explanations, refactor workers)."""
        return ModelAccess(self.provider, self.cache, self.settings.fast_model, self.settings.action_timeout_s)

    def planner(self) -> ModelAccess:
        """The planner tier (refactor plans and reviews)."""
        return ModelAccess(self.provider, self.cache, self.settings.planner_model, self.settings.action_timeout_s)

    def test_python(self) -> str | None:
        """The interpreter generated tests and refactor validation run with (None: the workspace's own)."""
        return self.settings.test_python or None

    def close(self) -> None:
        self.completions.close()
        self.cache.close()
