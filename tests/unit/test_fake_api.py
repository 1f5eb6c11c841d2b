"""The fake Anthropic API's pure helpers (tests/fakes/anthropic_api/): its tokenizer and what it knows
about models. The fake served over HTTP, driven by the real SDK, is tested in tests/e2e/test_fake_api.py."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.anthropic_api import cache_minimum_tokens, count_tokens, model_version, supports_prefill

HAIKU = "claude-haiku-4-5"
ROOT = Path(__file__).resolve().parents[2]


def test_count_tokens_is_bpe_like() -> None:
    code = "".join(p.read_text() for p in sorted((ROOT / "tests" / "fakes" / "anthropic_api").glob("*.py")))
    assert 3.2 < len(code) / count_tokens(code) < 4.3
    assert count_tokens("") == 0
    assert count_tokens("hello") == 1
    assert count_tokens("def foo(bar):\n    return bar + 1") == 11
    assert count_tokens("a" * 70) == 10
    assert count_tokens("héllo wörld 你好") >= 2


def test_model_helpers() -> None:
    assert model_version("claude-sonnet-4-6") == (4, 6)
    assert model_version("claude-opus-4-7") == (4, 7)
    assert model_version("claude-haiku-4-5-20251001") == (4, 5)
    assert model_version("claude-opus-4-20250514") == (4, 0)
    assert model_version("claude-3-5-haiku-20241022") == (3, 5)
    assert not supports_prefill("claude-sonnet-4-6") and not supports_prefill("claude-opus-5")
    assert supports_prefill("claude-haiku-4-5") and supports_prefill("claude-sonnet-4-5-20250929")
    assert cache_minimum_tokens(HAIKU) == 4096 and cache_minimum_tokens("claude-sonnet-4-6") == 1024
