"""The team cache on a real `redis-server` started on a free port: two language servers with their own
local caches share answers through it (one pays, the other hits), Redis killed mid-session (local caches
only, one message, back once it is), and a full Redis (`maxmemory`) evicting or refusing writes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
import redis

from haiku_lsp.llm import Cache
from tests.fakes.anthropic_api import Reply
from tests.harness import API_KEY, end_of, items_of, text_of
from tests.harness.redis_server import RedisServer

SAMPLE = '''import math


def distance(a, b):
    dx = a[0] - b[0]
    dy = a[1] - b[1]
    return math.sq
'''
ANSWER = "rt(dx * dx + dy * dy)"


@pytest.fixture
def redis_server(tmp_path: Path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


def keys(server: RedisServer) -> dict[str, str]:
    with redis.Redis.from_url(server.url, decode_responses=True) as r:
        return {k: r.get(k) for k in r.scan_iter("*")}


def shown_messages(session) -> list[str]:
    return [m.message for m in session.client.messages]


async def eventually(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise TimeoutError(check)
        await asyncio.sleep(0.05)
    return value


async def test_one_server_pays_and_the_other_hits(start_session, fake_anthropic, redis_server, tmp_path):
    fake_anthropic.script(Reply(text=ANSWER))
    # Reads may take 500 ms here (20 ms by default): a loaded CI machine must not turn a hit into a miss.
    shared = {"HAIKU_LSP_SHARED_CACHE": redis_server.url + "?timeout_ms=500"}
    alice = await start_session(env={**shared, "HAIKU_LSP_CACHE_DIR": str(tmp_path / "alice-cache")})
    uri = alice.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")
    assert [text_of(i) for i in items_of(await alice.inline(uri, where, invoked=True))] == [ANSWER]
    assert len(fake_anthropic.message_requests) == 1
    stored = await eventually(lambda: keys(redis_server))
    [(key, value)] = stored.items()
    assert key.startswith("haiku-lsp:1:inline:") and json.loads(value) == ANSWER  # the answer, as JSON
    assert API_KEY not in key + value

    # Bob: another server process, with its own (empty) memory and disk caches.
    bob = await start_session(env={**shared, "HAIKU_LSP_CACHE_DIR": str(tmp_path / "bob-cache")})
    uri = bob.open("geo.py", SAMPLE)
    assert [text_of(i) for i in items_of(await bob.inline(uri, where, invoked=True))] == [ANSWER]
    assert len(fake_anthropic.message_requests) == 1  # Bob paid nothing
    stats = await bob.command("haiku.showStats")
    assert stats["cache"]["sharedHits"] == 1

    # Turned off by the setting, whatever the environment says: Carol pays again.
    carol = await start_session(env={**shared, "HAIKU_LSP_CACHE_DIR": str(tmp_path / "carol-cache")},
                                init_options={"sharedCacheUrl": "off"})
    uri = carol.open("geo.py", SAMPLE)
    assert [text_of(i) for i in items_of(await carol.inline(uri, where, invoked=True))] == [ANSWER]
    assert len(fake_anthropic.message_requests) == 2


async def test_redis_killed_mid_session(start_session, fake_anthropic, redis_server, tmp_path):
    fake_anthropic.script(lambda body: Reply(text=ANSWER))
    # Try again after 1 s (30 s by default); reads may take 200 ms (20 ms by default: a loaded CI machine).
    url = f"{redis_server.url}?retry=1&timeout_ms=200"
    s = await start_session(env={"HAIKU_LSP_SHARED_CACHE": url})
    text = SAMPLE
    uri = s.open("geo.py", text)
    where = end_of(text, "return math.sq")
    assert items_of(await s.inline(uri, where, invoked=True))
    await eventually(lambda: len(keys(redis_server)) == 1)

    redis_server.kill()
    answers = []
    for n in range(3):  # each edit is a new request: answered by the model, the shared tier skipped
        s.insert(uri, where, f"  # {n}\n")
        text = s.text(uri)
        spot = end_of(text, "return math.sq")
        answers.append([text_of(i) for i in items_of(await s.inline(uri, spot, invoked=True))])
    assert answers == [[ANSWER]] * 3
    assert len(fake_anthropic.message_requests) == 4
    warnings = [m for m in shown_messages(s) if "shared cache" in m]
    assert len(warnings) == 1 and "local caches only" in warnings[0] and str(redis_server.port) in warnings[0]

    # Back on the same port (empty): after the retry interval, answers are shared again.
    redis_server.start()
    await asyncio.sleep(1.2)
    s.insert(uri, end_of(text, "return math.sq"), "  # again\n")
    text = s.text(uri)
    assert items_of(await s.inline(uri, end_of(text, "return math.sq"), invoked=True))
    await eventually(lambda: len(keys(redis_server)) >= 1)
    assert len([m for m in shown_messages(s) if "shared cache" in m]) == 1


def test_a_full_redis_evicts_and_the_cache_goes_on(redis_server, tmp_path):
    full = RedisServer(tmp_path / "full", maxmemory="2mb", policy="allkeys-lru").start()
    notices: list[str] = []
    try:
        url = full.url + "?timeout_ms=500"  # a loaded machine's slow read must not count as a miss here
        writer = Cache(tmp_path / "w", shared_url=url, on_notice=notices.append)
        blob = "x" * 20_000
        for i in range(300):  # ~6 MB into a 2 MB Redis
            writer.set("testgen", f"key{i:03}", {"code": blob, "n": i})
        reader = Cache(tmp_path / "r", shared_url=url, on_notice=notices.append)
        assert reader.get("testgen", "key299") == {"code": blob, "n": 299}  # the newest is there
        present = [i for i in range(300) if reader.get("testgen", f"key{i:03}") is not None]
        # Redis' LRU is sampled: most of the entries are gone, the oldest above all (misses, not errors).
        assert len(present) < 150 and sum(i < 100 for i in present) < sum(i >= 200 for i in present)
        assert reader.shared.stats.misses == 300 - len(present)
        assert writer.shared.stats.errors == reader.shared.stats.errors == 0 and notices == []
        with redis.Redis.from_url(full.url) as r:
            assert r.info("stats")["evicted_keys"] > 0
            assert 0 < r.ttl("haiku-lsp:1:testgen:key299") <= 7 * 24 * 3600
    finally:
        full.stop()

    # noeviction: once full, writes are refused; what is there is still read, and the tier stays up.
    refusing = RedisServer(tmp_path / "refusing", maxmemory="2mb", policy="noeviction").start()
    try:
        url = refusing.url + "?timeout_ms=500"
        cache = Cache(tmp_path / "n", shared_url=url, on_notice=notices.append)
        cache.set("hover", "first", "the first answer")
        for i in range(300):
            cache.set("testgen", f"key{i:03}", {"code": "y" * 20_000})
        assert cache.shared.stats.errors > 0 and cache.shared.available and notices == []
        other = Cache(tmp_path / "n2", shared_url=url)
        assert other.get("hover", "first") == "the first answer"
    finally:
        refusing.stop()

    # The Redis of the fixture is untouched by all that; a wrong URL scheme is told once and never retried.
    assert keys(redis_server) == {}
    bad = Cache(tmp_path / "b", shared_url="http://127.0.0.1:1/", on_notice=notices.append)
    assert bad.get("x", "y") is None and bad.get("x", "z") is None
    assert len(notices) == 1 and "not usable" in notices[0] and not bad.shared.available
