"""The services of one workspace, built from one settings snapshot (no LSP here).

`Session` owns the ledger, the provider (behind the guard every model call passes: budgets, redaction,
accounting, audit log), the usage store, the cache, the ignore rules, the jedi worker, the completion engine
and the hover explainer. `configure(settings, root)` hands a new snapshot to every one of them: values a
service holds (the budget, prices, the cache's size and switch, the ignore rules) are pushed here, in
one place; values read at use time (models, token budgets, timeouts) are read from `session.settings`
by the code that uses them. The language server (lsp/server.py) and the headless CLI both build one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from haiku_lsp.completion import CompletionEngine
from haiku_lsp.errors import ProviderError
from haiku_lsp.hover import HoverExplainer
from haiku_lsp.llm import (
    AnthropicProvider,
    AuditLog,
    Cache,
    GuardedProvider,
    Ledger,
    ModelAccess,
    Provider,
    UsageStore,
    shared_cache_url,
    usage_stats,
)
from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import JediWorker
from haiku_lsp.settings import Settings

__all__ = ["Session"]


class Session:
    def __init__(self, settings: Settings | None = None, *, root: Path | None = None,
                 provider: Provider | None = None, cache: Cache | None = None,
                 on_error: Callable[[ProviderError], None] = lambda err: None,
                 on_notice: Callable[[str], None] = lambda message: None) -> None:
        self.settings = settings or Settings()
        self.root = root
        self.cache = cache or Cache(size_mib=self.settings.cache_size_mib, enabled=self.settings.cache_enabled,
                                    shared_url=shared_cache_url(self.settings.shared_cache_url))
        self.cache.on_notice = on_notice  # e.g. the shared cache became unreachable
        # The provider as built, and the one everything else gets: every model call goes through the
        # guard (budgets, redaction, accounting, audit log).
        self.upstream: Provider = provider or AnthropicProvider(Ledger())
        self.usage = UsageStore(self.cache.directory / "usage")
        self.audit = AuditLog(self.cache.directory / "audit", enabled=self.settings.audit_log,
                              max_bytes=self.settings.audit_log_max_mib * 1024 * 1024)
        self.guard = GuardedProvider(self.upstream, self.usage, self.audit,
                                     should_redact=lambda: self.settings.redact_secrets, on_call=self.flush_counts)
        self.provider: Provider = self.guard  # batch calls use the guard's own `prepare` / `record_batch`
        self.ledger = self.provider.ledger
        self.ignore_rules = IgnoreRules()
        self.jedi = JediWorker()  # jedi runs in worker processes, started on first use (or `jedi.start()`)
        self.completions = CompletionEngine(self.provider, self.cache, lambda: self.settings,
                                            lambda: self.ignore_rules, on_error=on_error, jedi=self.jedi,
                                            budget_problem=self.budget_problem)
        self.hover = HoverExplainer(self.provider, self.cache)
        self.validation: dict[str, dict[str, int]] = {}
        self._flushed: dict[str, Any] = {}
        self.configure(self.settings, root)

    def configure(self, settings: Settings, root: Path | None) -> None:
        """Make `settings` the snapshot every service uses from now on (`root`: the workspace folder)."""
        self.settings, self.root = settings, root
        if isinstance(self.upstream, AnthropicProvider):
            self.upstream.set_platform(settings.provider)
        self.ledger.budget_usd = settings.budget_usd
        self.ledger.daily_budget_usd = settings.daily_budget_usd
        self.ledger.prices = settings.prices
        self.cache.configure(enabled=settings.cache_enabled, size_mib=settings.cache_size_mib,
                             shared_url=shared_cache_url(settings.shared_cache_url))
        self.audit.configure(enabled=settings.audit_log, max_mib=settings.audit_log_max_mib)
        self.ignore_rules = IgnoreRules.for_workspace(root, settings.ignore_patterns)

    def note_validation(self, action: str, passed: bool) -> None:
        """An action's model answer was checked (tests run, ruff, refactor validation): for the stats."""
        counts = self.validation.setdefault(action, {"passed": 0, "failed": 0})
        counts["passed" if passed else "failed"] += 1

    def flush_counts(self) -> None:
        """Add what was counted since the last flush (answer cache hits by feature, inline requests and
        typed-ahead answers, validations) to the usage store, for `haiku-lsp stats`."""
        engine = self.completions.stats
        now = {"cache": {ns: dict(c) for ns, c in self.cache.stats.namespaces.items()},
               "inline": {"requests": engine.requests, "typed_ahead": engine.typed_ahead},
               "validation": {a: dict(c) for a, c in self.validation.items()}}
        delta = _minus(now, self._flushed)
        if delta:
            self.usage.append({"kind": "counts", **delta})
        self._flushed = now

    def stats(self) -> dict[str, Any]:
        """Today's and the last 7 days' figures of every server sharing the cache dir (llm/stats.py)."""
        self.flush_counts()
        return {**usage_stats(self.usage), "budget": {
            "sessionUsd": self.ledger.budget_usd, "dailyUsd": self.ledger.daily_budget_usd,
            "spentTodayUsd": round(self.usage.spent_today(), 6), "exhausted": self.ledger.budget_problem()}}

    def offline_for(self, path: str | None) -> bool:
        """True when the model is not to be asked about this file (`path`; None: about no file in
        particular): no key, a reached budget (`budget_problem`), or an ignore rule matches. The
        features then take their offline path (jedi, ruff, doctest, hypothesis, the plain explanation)."""
        return (not self.provider.available or self.budget_problem() is not None
                or (path is not None and self.ignore_rules.is_ignored(path)))

    def budget_problem(self) -> str | None:
        """Why the model may not be called now (a budget reached), for people; None when it may."""
        return self.ledger.budget_problem() if self.provider.available else None

    def fast(self) -> ModelAccess:
        """The fast tier (completions' model, quick fixes, tests, explanations, refactor workers)."""
        return ModelAccess(self.provider, self.cache, self.settings.fast_model, self.settings.action_timeout_s)

    def planner(self) -> ModelAccess:
        """The planner tier (refactor plans and reviews)."""
        return ModelAccess(self.provider, self.cache, self.settings.planner_model, self.settings.action_timeout_s)

    def test_python(self) -> str | None:
        """The interpreter generated tests and refactor validation run with (None: the workspace's own)."""
        return self.settings.test_python or None

    def os_sandbox(self) -> bool:
        """Whether model-written code must run confined by the OS (False only when the user opted out)."""
        return self.settings.os_sandbox

    def close(self) -> None:
        self.flush_counts()
        self.completions.close()
        self.cache.close()


def _minus(now: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The nonzero differences of two nested dicts of counts."""
    out: dict[str, Any] = {}
    for key, value in now.items():
        if isinstance(value, dict):
            inner = _minus(value, before.get(key) or {})
            if inner:
                out[key] = inner
        elif value != before.get(key, 0):
            out[key] = value - before.get(key, 0)
    return out
