"""The inline completions' circuit breaker, on an injected clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from haiku_lsp.completion import Breaker, Episode
from haiku_lsp.errors import (
    Abandoned,
    AuthError,
    BudgetExceeded,
    OverloadedError,
    ProviderConnectionError,
    RateLimitError,
    Refusal,
    UpstreamServerError,
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_opens_after_threshold_failures_in_a_row_and_says_so_once(clock):
    b = Breaker(threshold=3, base_s=1.0, clock=clock)
    assert b.failure(UpstreamServerError("boom", 500)) is None
    assert b.failure(UpstreamServerError("boom", 500)) is None
    assert b.allow() and b.state == "closed"
    episode = b.failure(UpstreamServerError("boom", 500))
    assert episode is not None and not episode.recovered and episode.wait_s == 1.0
    assert b.state == "open"
    assert [b.allow() for _ in range(12)] == [False] * 12  # twelve keystrokes, no call
    assert b.refused == 12


def test_a_success_between_failures_resets_the_count(clock):
    b = Breaker(threshold=2, clock=clock)
    b.failure(UpstreamServerError("boom", 500))
    assert b.success() is None  # no episode was running: nothing to announce
    assert b.failure(UpstreamServerError("boom", 500)) is None
    assert b.state == "closed"


def test_retry_after_is_honoured_at_once(clock):
    b = Breaker(threshold=3, base_s=1.0, clock=clock)
    episode = b.failure(RateLimitError("slow down", 429, retry_after=7.5))
    assert episode is not None and episode.wait_s == 7.5
    clock.now += 7.4
    assert not b.allow()
    clock.now += 0.2
    assert b.state == "half-open"


@pytest.mark.parametrize("err", [RateLimitError("x", 429), OverloadedError("x", 529), AuthError("x", 401)])
def test_slow_down_and_lasting_errors_open_at_once(clock, err):
    b = Breaker(threshold=3, clock=clock)
    assert b.failure(err) is not None
    assert not b.allow()


def test_a_rejected_key_is_probed_at_the_longest_interval(clock):
    b = Breaker(max_s=60.0, clock=clock)
    assert b.failure(AuthError("bad key", 401)).wait_s == 60.0  # type: ignore[union-attr]


def test_half_open_lets_one_probe_through_and_its_success_ends_the_episode(clock):
    b = Breaker(threshold=1, base_s=2.0, clock=clock)
    b.failure(UpstreamServerError("boom", 500))
    clock.now += 2.0
    assert b.allow() is True  # the probe
    assert b.allow() is False  # others wait for its verdict
    episode = b.success()
    assert episode is not None and episode.recovered
    assert b.state == "closed" and b.allow()
    assert b.success() is None  # announced once


def test_a_failed_probe_reopens_for_twice_as_long_without_a_new_episode(clock):
    b = Breaker(threshold=1, base_s=2.0, max_s=5.0, clock=clock)
    b.failure(ProviderConnectionError("down"))
    waits = []
    for _ in range(4):
        clock.now += b.remaining_s()
        assert b.allow()
        assert b.failure(ProviderConnectionError("down")) is None  # the same episode
        waits.append(b.remaining_s())
    assert waits == [4.0, 5.0, 5.0, 5.0]  # doubled, capped


def test_an_abandoned_probe_frees_the_slot_without_a_verdict(clock):
    b = Breaker(threshold=1, clock=clock)
    b.failure(UpstreamServerError("boom", 500))
    clock.now += 1.0
    assert b.allow()
    b.abandoned()
    assert b.state == "half-open" and b.allow()


def test_retry_now_probes_at_once_and_the_episode_ends_only_on_success(clock):
    b = Breaker(clock=clock)
    b.failure(AuthError("bad key", 401))
    b.retry_now()
    assert b.allow() and not b.allow()  # one probe
    assert b.failure(AuthError("bad key", 401)) is None  # still the same episode
    b.retry_now()
    assert b.allow()
    assert b.success() == Episode(None, 0.0, recovered=True)


def test_a_probe_that_never_reports_back_does_not_hold_the_breaker_for_good(clock):
    b = Breaker(threshold=1, probe_s=30.0, clock=clock)
    b.failure(UpstreamServerError("boom", 500))
    clock.now += 1.0
    assert b.allow()  # the probe, whose verdict never comes (a task cancelled before it ran)
    clock.now += 29.0
    assert not b.allow()
    clock.now += 2.0
    assert b.allow()


@pytest.mark.parametrize("err", [Abandoned("gone"), BudgetExceeded("spent"), Refusal("no")])
def test_failures_that_are_not_the_upstreams_do_not_count(clock, err):
    b = Breaker(threshold=1, clock=clock)
    assert b.failure(err) is None
    assert b.state == "closed"


@given(st.lists(st.sampled_from(["ok", "500", "429", "cancel", "tick", "allow"]), max_size=60))
def test_any_sequence_keeps_the_invariants(steps):
    clock = Clock()
    b = Breaker(threshold=3, base_s=1.0, max_s=8.0, clock=clock)
    open_episode = False
    for step in steps:
        if step == "ok":
            episode = b.success()
            assert (episode is not None) == open_episode
            open_episode = False
        elif step in ("500", "429"):
            err = UpstreamServerError("x", 500) if step == "500" else RateLimitError("x", 429, retry_after=3.0)
            episode = b.failure(err)
            assert episode is None or not open_episode  # never two openings without a recovery between
            open_episode = open_episode or episode is not None
        elif step == "cancel":
            b.abandoned()
        elif step == "tick":
            clock.now += 1.5
        elif step == "allow":
            allowed = b.allow()
            assert allowed or open_episode  # calls are only held back during an episode
        assert (b.state != "closed") == open_episode
        assert b.remaining_s() <= 8.0
