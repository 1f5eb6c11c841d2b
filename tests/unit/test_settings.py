"""The settings model: defaults, validation by key, and the public list of keys (pinned)."""

from __future__ import annotations

from haiku_lsp.settings import SETTING_KEYS, Settings, load_settings

PUBLIC_KEYS = {
    "fastModel", "plannerModel", "inlineEnabled", "debounceMs", "debounceMinMs", "debounceMaxMs",
    "maxPrefixTokens", "maxSuffixTokens", "maxContextTokens", "contextTimeBudgetMs", "maxLineTokens",
    "maxBlockTokens", "maxBlockLines", "inlineTimeoutMs", "actionTimeoutS", "ignorePatterns",
    "redactSecrets", "cacheEnabled", "cacheSizeMib", "prices", "budgetUsd", "testPython", "testTimeoutS",
    "hoverExplanations", "hoverBudgetMs", "dailyBudgetUsd", "auditLog", "auditLogMaxMib", "osSandbox",
    "refactorConcurrency", "sharedCacheUrl", "provider", "ruffDiagnostics",
}


def test_public_keys_are_pinned():
    assert set(SETTING_KEYS) == PUBLIC_KEYS


def test_defaults():
    s, problems = load_settings(None)
    assert s == Settings() and problems == []
    assert s.fast_model == "claude-haiku-4-5" and s.planner_model == "claude-sonnet-4-6"


def test_valid_values_and_section_unwrapping():
    s, problems = load_settings({"haiku": {"debounceMs": 200, "ignorePatterns": ["*.log"],
                                           "prices": {"my-model": {"input": 2, "output": 8}}}})
    assert problems == []
    assert s.debounce_ms == 200 and s.ignore_patterns == ("*.log",)
    assert s.prices == {"my-model": {"input": 2, "output": 8}}


def test_bad_values_fall_back_and_name_the_key():
    base = Settings(debounce_ms=90)
    s, problems = load_settings({"debounceMs": "fast", "maxPrefixTokens": -1, "inlineEnabled": "yes",
                                 "fastModel": "not a model", "budgetUsd": True, "nope": 1}, base)
    assert s.debounce_ms == 90 and s.max_prefix_tokens == Settings().max_prefix_tokens
    assert s.inline_enabled is True and s.fast_model == "claude-haiku-4-5" and s.budget_usd == 0
    joined = "\n".join(problems)
    for key in ("debounceMs", "maxPrefixTokens", "inlineEnabled", "fastModel", "budgetUsd", "nope"):
        assert f"'{key}'" in joined


def test_inconsistent_bounds_are_reset():
    s, problems = load_settings({"debounceMinMs": 500, "debounceMaxMs": 100})
    assert s.debounce_min_ms <= s.debounce_max_ms and problems


def test_not_an_object():
    s, problems = load_settings(["x"])
    assert s == Settings() and "JSON object" in problems[0]
