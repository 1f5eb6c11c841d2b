"""The adaptive debounce learns from how often suggestions are accepted (pure bookkeeping, no calls)."""

from __future__ import annotations

from haiku_lsp.privacy import IgnoreRules


class _KeyedProvider:
    """Just enough of a Provider for the engine's bookkeeping: it has a key, makes no call."""

    available = True


def test_someone_who_rarely_accepts_waits_longer_before_a_request(tmp_path):
    from haiku_lsp.completion import CompletionEngine
    from haiku_lsp.completion.engine import ACCEPTANCE_SAMPLE
    from haiku_lsp.llm.cache import Cache
    from haiku_lsp.settings import Settings

    engine = CompletionEngine(_KeyedProvider(), Cache(tmp_path / "cache"), Settings, IgnoreRules)
    try:
        base = engine.debounce_s("file:///a.py")
        engine.note_acceptance(ACCEPTANCE_SAMPLE - 1, 0)
        assert engine.debounce_s("file:///a.py") == base  # too few suggestions to tell
        engine.note_acceptance(ACCEPTANCE_SAMPLE, ACCEPTANCE_SAMPLE // 2)
        assert engine.debounce_s("file:///a.py") == base  # accepts often: no change
        engine.note_acceptance(ACCEPTANCE_SAMPLE * 2, 1)
        slower = engine.debounce_s("file:///a.py")
        assert base < slower <= min(2 * base, Settings().debounce_max_ms / 1000)
        engine.note_acceptance(ACCEPTANCE_SAMPLE * 2, 0)
        assert engine.debounce_s("file:///a.py") >= slower  # never accepts: the longest wait
    finally:
        engine.close()
