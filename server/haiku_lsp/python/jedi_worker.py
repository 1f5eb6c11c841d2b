"""jedi out of the server process: `await worker.call(fn, *args, size=..., timeout=...)` runs a module-level
function of haiku_lsp (`hover_info`, `jedi_inline`, `resolve_names`) in a worker process and returns its
result; arguments and results travel pickled.

The server's event loop never waits for jedi: not for its CPU time (the GIL), not for its garbage
collections (parse trees are ~100,000 objects a file), not for parso's caches (they live in the worker).

- **Lanes by size.** Calls about documents of at most `SMALL_LANE_CHARS` characters go to the *small* lane,
  the others to the *large* lane: two processes, one call at a time each, in the order submitted. One huge
  document never delays the hover or the context of other files. The large lane's process starts on
  demand and ends after `LARGE_IDLE_S` without calls (its parse trees are big); the small one stays.
- **Priorities.** `urgent` calls (what a user waits on: hover, offline completions) go before the
  queued background ones (context resolutions), which run in the order submitted. The worker process
  runs at a lower CPU priority (nice) than the server, which must answer at once.
- **Deadlines.** A worker is ready once it has imported jedi and parsed the builtins' stubs (it says so); a
  call's `timeout` counts from when it is sent to a ready worker. A call that overruns it fails with
  `JediError("timeout")` and its worker is killed (it would go on with work nobody waits for); the next call
  starts a fresh one. A call cancelled while still queued is never sent. On the large lane, a call whose
  caller is gone (cancelled request) kills the worker at once; on the small lane it runs to its end (its
  answer fills in for the next request, see `NameContext`). A call whose `stale()` says True when its turn
  comes is skipped (`JediError("skipped")`).
- **Crashes.** A worker that dies is noticed: the call it was running fails with `JediError("crashed")`;
  one that died while idle is replaced and the call is sent again; queued calls go on in a fresh worker.
- **Recycling.** Parse trees come and go by the hundred thousand objects, and the few objects each call leaves
  behind keep Python's memory arenas from going back to the system: after completions in 50 large files
  the small lane's worker holds ~90 MiB for ~40 MiB of live objects. When the lane goes idle
  (`RECYCLE_IDLE_S`) and its worker holds `RECYCLE_ABOVE_MIB` more than when it was ready, the worker is
  asked to tidy up at once (`tidy_worker`, at most once every `RECYCLE_CHECK_CALLS` calls); if it still holds
  that much, a fresh worker is started beside it (its warm-up runs while the old one still answers) and
  takes over; the old one is stopped (after the call it is running, if any). The price: the next call about
  a document parses it afresh. A fresh worker that grows as much within `RECYCLE_REGROWN_CALLS` calls needs
  that memory (one large file being worked on): the bar is doubled for it, up to 4 times `RECYCLE_ABOVE_MIB`,
  and halved again (down to `RECYCLE_ABOVE_MIB`) each time a worker lasted longer.
- **Start and end.** Nothing starts before the first call or `start()` (start-up stays cheap); `close()`
  kills the workers; a worker also ends by itself when the server's end closes its stdin.

Processes are started as `python -m haiku_lsp.python.jedi_process` (a fresh interpreter, no fork of the
server's threads) and spoken to through `jedi_channel.ProcessChannel`. `spawn` is injectable: unit tests
give an in-process channel (they may start no process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from haiku_lsp.memory import rss_mib
from haiku_lsp.python.jedi_channel import Channel, ProcessChannel
from haiku_lsp.python.jedi_lane import RECYCLE_ABOVE_MIB, RECYCLE_IDLE_S, Call, Lane
from haiku_lsp.python.jedi_service import forget_documents

log = logging.getLogger(__name__)

T = TypeVar("T")

SMALL_LANE_CHARS = 200_000  # documents above this go to the large lane (jedi: ~3 s for 200 kB, cold)
LARGE_IDLE_S = 10.0  # the large lane's worker ends after this long without calls
FORGET_TIMEOUT_S = 5.0  # dropping a closed document's parse tree (a dict lookup; the rest is the queue)


class JediWorker:
    """The jedi lanes of one server (see the module docstring)."""

    def __init__(self, spawn: Callable[[], Awaitable[Channel]] = ProcessChannel.start, *,
                 small_lane_chars: int = SMALL_LANE_CHARS, large_idle_s: float = LARGE_IDLE_S,
                 recycle_above_mib: float | None = RECYCLE_ABOVE_MIB, recycle_idle_s: float = RECYCLE_IDLE_S,
                 rss: Callable[[int], float | None] = rss_mib) -> None:
        self.small_lane_chars = small_lane_chars
        self.small = Lane("small", spawn, idle_s=None, kill_abandoned=False, recycle_above_mib=recycle_above_mib,
                           recycle_idle_s=recycle_idle_s, rss=rss)
        self.large = Lane("large", spawn, idle_s=large_idle_s, kill_abandoned=True)

    def call(self, fn: Callable[..., T], *args: Any, size: int, timeout: float,
             stale: Callable[[], bool] | None = None, urgent: bool = False,
             on_partial: Callable[[Any], None] | None = None) -> asyncio.Future[T]:
        """`fn(*args)` in the worker of the lane for a document of `size` characters, queued now (calls
        run in the order of this method's calls; `urgent` ones, what a user waits on, before the others);
        the future fails with `JediError` when there is no answer within `timeout` seconds (from now) or
        the worker fails. Cancelling it (or a task awaiting it) takes a queued call off the queue. What `fn`
        publishes while it runs (`jedi_wire.publish`) goes to `on_partial` at once, also when nobody waits
        for the future any more. Needs a running event loop."""
        lane = self.small if size <= self.small_lane_chars else self.large
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        lane.submit(Call(fn, args, future, timeout, stale, time.monotonic(), on_partial), urgent)
        return future

    def start(self) -> None:
        """Start the small lane's worker in the background (it imports jedi and parses the builtins stubs
        there), so that the first call finds it ready. Needs a running event loop."""
        task = asyncio.ensure_future(self.small.ensure())

        def started(t: asyncio.Task) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.warning("the jedi worker did not start: %s", t.exception())

        task.add_done_callback(started)

    def forget(self, path: str) -> None:
        """The editor closed the document at `path`: the running workers drop what they keep of it (its parse
        tree), after the calls queued before. A lane with no worker running is left alone (none is started
        for this). Needs a running event loop."""
        for lane in (self.small, self.large):
            if lane.channel is not None and lane.channel.alive():
                future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
                future.add_done_callback(lambda f: f.cancelled() or f.exception())  # a failure here is moot
                lane.submit(Call(forget_documents, ([path],), future, FORGET_TIMEOUT_S, None, time.monotonic()))

    def pids(self) -> list[int]:
        return [c.pid for c in (self.small.channel, self.large.channel) if c is not None and c.pid and c.alive()]

    def stats(self) -> dict:
        return {"small": self.small.stats(), "large": self.large.stats(),
                "smallLaneChars": self.small_lane_chars}

    def close(self) -> None:
        """Kill the workers now (for synchronous shutdown paths); `aclose` also reaps them."""
        self.small.close_now()
        self.large.close_now()

    async def aclose(self) -> None:
        await asyncio.gather(self.small.aclose(), self.large.aclose())
