"""A circuit breaker for inline completions: after upstream failures, stop calling on every keystroke.

States: *closed* (calls go through), *open* (no calls until `retry_at`), *half-open* (one probe call is
let through; its success closes the breaker, its failure opens it again for twice as long).

- It opens after `threshold` failures in a row, or at once on a failure that says how long to wait
  (a `retry-after`), that means "slow down" (429, 529), or that will not pass by itself (a rejected key).
- The wait is the larger of the server's `retry-after` and a back-off doubling from `base_s` per
  re-opening, capped at `max_s`.
- An *episode* runs from the opening to the next success. `failure` returns an `Episode` only when it
  opens the breaker from closed (the one time to tell the user), `success` only when it ends an episode
  (the one time to say it recovered): one message each way, however many keystrokes fall in between.
- `retry_now` half-opens it at once (a settings change: the user may have fixed what failed).

The clock is injected (`time.monotonic` by default), so the logic is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from haiku_lsp.errors import ProviderError

__all__ = ["Breaker", "Episode"]

_SLOW_DOWN = frozenset({"rate_limit", "overloaded"})
_LASTING = frozenset({"auth"})  # will not pass by itself: probed at the longest interval
_NOT_UPSTREAM = frozenset({"cancelled", "no_key", "budget", "refusal"})  # not the upstream failing


@dataclass(frozen=True)
class Episode:
    """An opening (`recovered` False: `error` is what opened it, `wait_s` until the probe) or its end."""

    error: ProviderError | None
    wait_s: float
    recovered: bool = False


class Breaker:
    def __init__(self, *, threshold: int = 3, base_s: float = 1.0, max_s: float = 60.0, probe_s: float = 130.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold, self.base_s, self.max_s = threshold, base_s, max_s
        self.probe_s = probe_s  # a probe with no verdict after this long is taken as lost (longer than any call)
        self._clock = clock
        self.failures = 0  # in a row
        self.openings = 0  # in this episode
        self.retry_at: float | None = None  # set while open or half-open
        self.probing = False  # a half-open probe is under way
        self._probe_at = 0.0
        self.last_error: ProviderError | None = None
        self.refused = 0  # calls not made because the breaker was open

    @property
    def state(self) -> str:
        if self.retry_at is None:
            return "closed"
        return "half-open" if self._clock() >= self.retry_at else "open"

    def allow(self) -> bool:
        """May a call go out now? In half-open, True once (the probe) until that probe has ended."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and (not self.probing or self._clock() - self._probe_at > self.probe_s):
            self.probing, self._probe_at = True, self._clock()
            return True
        self.refused += 1
        return False

    def remaining_s(self) -> float:
        return 0.0 if self.retry_at is None else max(0.0, self.retry_at - self._clock())

    def success(self) -> Episode | None:
        """A call answered. Ends the episode (returned) if one was running."""
        was_open = self.retry_at is not None
        self.failures = self.openings = 0
        self.retry_at, self.probing = None, False
        return Episode(None, 0.0, recovered=True) if was_open else None

    def retry_now(self) -> None:
        """Half-open at once, with the back-off restarted (the user changed something, e.g. the settings):
        the next request probes; the episode goes on until a call succeeds."""
        if self.retry_at is not None:
            self.retry_at, self.probing, self.openings = self._clock(), False, 0

    def abandoned(self) -> None:
        """A call ended with no verdict (cancelled): a probe slot is freed for the next request."""
        self.probing = False

    def failure(self, err: ProviderError) -> Episode | None:
        """A call failed. Returns the Episode when this failure opened a closed breaker."""
        if err.kind in _NOT_UPSTREAM:
            self.probing = False
            return None
        self.failures += 1
        self.last_error = err
        was_closed = self.retry_at is None
        if was_closed and self.failures < self.threshold and err.retry_after is None \
                and err.kind not in _SLOW_DOWN and err.kind not in _LASTING:
            return None
        wait = self.max_s if err.kind in _LASTING else min(self.max_s, self.base_s * 2 ** self.openings)
        if err.retry_after is not None:
            wait = max(wait, min(err.retry_after, self.max_s * 5))  # honoured, within reason
        self.openings += 1
        self.retry_at, self.probing = self._clock() + wait, False
        return Episode(err, wait) if was_closed else None
