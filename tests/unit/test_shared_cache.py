"""The team cache's configuration, without a server: which URL counts (setting, environment, "off"), the
options read off the URL, passwords kept out of messages, and the tier following the settings. Its
behaviour against a real redis-server is in tests/e2e/test_shared_cache.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from haiku_lsp.llm import Cache, shared_cache_url
from haiku_lsp.llm.shared_cache import DEFAULT_RETRY_S, DEFAULT_TTL_S, SharedCache, shown_url, split_options
from haiku_lsp.session import Session
from haiku_lsp.settings import load_settings


def test_the_setting_wins_over_the_environment_and_off_turns_it_off(monkeypatch):
    monkeypatch.delenv("HAIKU_LSP_SHARED_CACHE", raising=False)
    assert shared_cache_url("") == ""
    monkeypatch.setenv("HAIKU_LSP_SHARED_CACHE", "redis://team:6379/1")
    assert shared_cache_url("") == "redis://team:6379/1"
    assert shared_cache_url("redis://mine:6379/0") == "redis://mine:6379/0"
    assert shared_cache_url("off") == shared_cache_url("OFF") == ""
    monkeypatch.setenv("HAIKU_LSP_SHARED_CACHE", "off")
    assert shared_cache_url("") == ""


def test_options_come_off_the_url_and_the_rest_goes_to_redis():
    url, options = split_options("redis://h:6379/2?ttl=60&retry=5&timeout_ms=3&ssl_cert_reqs=none")
    assert url == "redis://h:6379/2?ssl_cert_reqs=none" and options == {"ttl": 60, "retry": 5, "timeout_ms": 3}
    tier = SharedCache("redis://h:6379/2?ttl=60&timeout_ms=3")
    assert (tier.ttl_s, tier.retry_s, tier.timeout_s) == (60, DEFAULT_RETRY_S, 0.003)
    assert SharedCache("redis://h").ttl_s == DEFAULT_TTL_S
    for bad in ("redis://h?ttl=soon", "redis://h?retry=0"):
        with pytest.raises(ValueError):
            split_options(bad)


def test_passwords_stay_out_of_messages():
    assert shown_url("redis://user:s3cret@h:6379/0") == "redis://user:***@h:6379/0"
    assert shown_url("redis://:s3cret@h/0") == "redis://:***@h/0"
    assert shown_url("redis://h:6379/0") == "redis://h:6379/0"


def test_the_tier_follows_the_settings(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("HAIKU_LSP_SHARED_CACHE", raising=False)
    monkeypatch.setenv("HAIKU_LSP_CACHE_DIR", str(tmp_path))
    notices: list[str] = []
    session = Session(on_notice=notices.append)
    assert session.cache.shared is None
    settings, problems = load_settings({"sharedCacheUrl": "redis://127.0.0.1:6390/0"})
    assert problems == []
    session.configure(settings, None)
    tier = session.cache.shared
    assert tier is not None and tier.url == "redis://127.0.0.1:6390/0"
    session.configure(settings, None)
    assert session.cache.shared is tier  # the same URL keeps its connections
    session.configure(load_settings({"sharedCacheUrl": "off"})[0], None)
    assert session.cache.shared is None
    # A tier's notices reach whoever the session was built for.
    tier.on_notice("hello")
    assert notices == ["hello"]
    cache = Cache(tmp_path / "c", shared_url="")
    assert cache.shared is None
    session.close()


class _SlowRedis:
    """A client whose reads time out `times` times, then answer `value` (no socket: the unit guard holds)."""

    def __init__(self, times: int, value: bytes | None = None) -> None:
        self.times, self.value = times, value

    def get(self, key: str) -> bytes | None:
        import redis

        if self.times > 0:
            self.times -= 1
            raise redis.TimeoutError("Timeout reading from socket")
        return self.value


def test_a_slow_read_is_a_miss_and_only_a_streak_takes_the_tier_down():
    notices: list[str] = []
    tier = SharedCache("redis://127.0.0.1:6390/0?retry=60", on_notice=notices.append)
    tier._clients()  # the clients are made (no connection yet) ...
    tier._reader = _SlowRedis(2, b'"answer"')  # ... and the reader replaced by one that is slow twice
    assert tier.get("inline", "k") is None and tier.get("inline", "k") is None
    assert tier.available and notices == [] and tier.stats.errors == 2
    assert tier.get("inline", "k") == "answer" and tier.stats.hits == 1  # a success resets the streak
    tier._reader = _SlowRedis(3)
    assert [tier.get("inline", "k") for _ in range(3)] == [None] * 3
    assert not tier.available and len(notices) == 1 and "3 reads in a row timed out" in notices[0]
    assert tier.get("inline", "k") is None and len(notices) == 1  # down: not asked, not told again
