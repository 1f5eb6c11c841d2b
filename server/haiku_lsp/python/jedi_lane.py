"""One lane of the jedi worker pool (`jedi_worker.JediWorker` has two, by document size): a queue of calls
(urgent ones first), one worker process at a time, the calls' deadlines, crashes, the worker's start and its
recycling. What each of these does is told in `jedi_worker`'s docstring."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from haiku_lsp.errors import JediError
from haiku_lsp.memory import rss_mib
from haiku_lsp.python.jedi_channel import Channel, ChannelClosed
from haiku_lsp.python.jedi_service import tidy_worker

log = logging.getLogger(__name__)

RECYCLE_IDLE_S = 0.3  # the small lane's worker is checked once idle this long ...
RECYCLE_ABOVE_MIB = 32.0  # ... and recycled when, tidied up, it holds this much more than when ready (~41 MiB)
RECYCLE_CHECK_CALLS = 10  # calls between two checks (a check makes the worker tidy up: ~0.1 s of its time)
TIDY_TIMEOUT_S = 10.0
RECYCLE_REGROWN_CALLS = 40  # a fresh worker grown as much within this many calls holds what it needs: the
# bar is doubled (up to 4x) rather than recycling it again and again (one large file's parse tree)


@dataclass
class Call:
    fn: Callable[..., Any]
    args: tuple
    future: asyncio.Future
    timeout: float
    stale: Callable[[], bool] | None
    submitted: float
    on_partial: Callable[[Any], None] | None = None  # what the function publishes while it runs


class Lane:
    def __init__(self, name: str, spawn: Callable[[], Awaitable[Channel]], *, idle_s: float | None,
                 kill_abandoned: bool, recycle_above_mib: float | None = None,
                 recycle_idle_s: float = RECYCLE_IDLE_S, rss: Callable[[int], float | None] = rss_mib) -> None:
        self.name, self._spawn = name, spawn
        self.idle_s, self.kill_abandoned = idle_s, kill_abandoned
        self.recycle_above_mib, self.recycle_idle_s, self._rss = recycle_above_mib, recycle_idle_s, rss
        self.ready_rss: float | None = None  # the worker's resident memory when it was ready
        self.recycle_bar = recycle_above_mib  # growth over ready_rss that gets the worker recycled
        self.worker_calls = 0  # calls sent to the current worker
        self._checked_at = -RECYCLE_CHECK_CALLS  # worker_calls at the last check
        self._check: asyncio.TimerHandle | None = None  # the idle check for recycling
        self._recycling: asyncio.Task | None = None  # a fresh worker starting to take over
        self._standby: Channel | None = None  # a fresh worker ready, waiting for the running call to end
        self.closed = False
        self.queue: deque[Call] = deque()
        self.urgent: deque[Call] = deque()  # served before `queue` (what a user waits on: hover, ...)
        self.channel: Channel | None = None
        self._starting: asyncio.Task | None = None
        self._runner: asyncio.Task | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._ids = itertools.count(1)
        self._reaping: set[asyncio.Task] = set()
        self.busy_since: float | None = None
        self.calls = self.starts = self.timeouts = self.crashes = self.skipped = self.recycles = 0

    def submit(self, call: Call, urgent: bool = False) -> None:
        (self.urgent if urgent else self.queue).append(call)
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None
        if self._check is not None:
            self._check.cancel()
            self._check = None
        if self._runner is None or self._runner.done():
            self._runner = asyncio.ensure_future(self._run())

    async def ensure(self) -> Channel:
        """The running worker, started when there is none (one start at a time)."""
        if self.channel is not None and self.channel.alive():
            return self.channel
        if self.channel is not None:
            self._let_go(self.channel)
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._start())
        return await asyncio.shield(self._starting)

    async def _start(self) -> Channel:
        channel = await self._spawn()
        self._adopt(channel)
        return channel

    def _adopt(self, channel: Channel) -> None:
        """`channel`, a worker just ready, becomes the lane's: its calls and growth are counted from now."""
        self.channel = channel
        self.starts += 1
        self.worker_calls = 0
        self._checked_at = -RECYCLE_CHECK_CALLS
        self.ready_rss = self._rss(channel.pid) if self.recycle_above_mib is not None and channel.pid else None

    async def _run(self) -> None:
        while self.urgent or self.queue:
            call = (self.urgent or self.queue).popleft()
            if call.future.done():
                continue  # its caller stopped waiting before its turn: never sent
            if call.stale is not None and call.stale():
                self.skipped += 1
                call.future.set_exception(JediError("skipped", "a newer call made this one stale"))
                continue
            self.busy_since = time.monotonic()
            try:
                await self._execute(call)
            except Exception as err:  # pragma: no cover - a bug here must not stop the lane
                log.exception("jedi lane %s", self.name)
                if not call.future.done():
                    call.future.set_exception(JediError("failed", f"{type(err).__name__}: {err}"))
            finally:
                self.busy_since = None
                if self._standby is not None:
                    self._take_over(self._standby)
        if self.idle_s is not None and self.channel is not None:
            self._idle = asyncio.get_running_loop().call_later(self.idle_s, self.stop)
        elif self.recycle_above_mib is not None and self.channel is not None:
            self._check = asyncio.get_running_loop().call_later(self.recycle_idle_s, self._maybe_recycle)

    def _over_bar(self, channel: Channel | None) -> float | None:
        """How much more `channel` holds than when it was ready (MiB), when it is the lane's live worker, may be
        recycled and holds at least the bar's worth more; else None."""
        if (channel is None or channel is not self.channel or not channel.alive() or not channel.pid
                or self.ready_rss is None or self.recycle_bar is None or self.closed
                or (self._recycling is not None and not self._recycling.done())):
            return None
        now = self._rss(channel.pid)
        grown = now - self.ready_rss if now is not None else None
        return grown if grown is not None and grown >= self.recycle_bar else None

    def _maybe_recycle(self) -> None:
        """Idle for `recycle_idle_s`: when the worker holds too much, have it tidy up first (what it holds
        right after a call includes its garbage), then recycle it if it still does (see `jedi_worker`'s
        docstring)."""
        self._check = None
        old = self.channel
        if self.worker_calls - self._checked_at < RECYCLE_CHECK_CALLS or self._over_bar(old) is None:
            return
        self._checked_at = self.worker_calls
        tidied: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Skipped when other calls came meanwhile: they go first, and the next check comes later.
        self.submit(Call(tidy_worker, (), tidied, TIDY_TIMEOUT_S, lambda: bool(self.urgent or self.queue),
                          time.monotonic()))

        def then(f: asyncio.Future[None]) -> None:
            grown = None if f.cancelled() or f.exception() is not None else self._over_bar(old)
            if old is None or grown is None:
                return
            log.info("jedi lane %s: the worker holds %.0f MiB more than when ready; a fresh one takes over",
                     self.name, grown)
            self._recycling = asyncio.ensure_future(self._recycle(old))
            self._recycling.add_done_callback(_retrieved)

        tidied.add_done_callback(then)

    async def _recycle(self, old: Channel) -> None:
        try:
            fresh = await self._spawn()
        except OSError as err:
            log.warning("jedi lane %s: no fresh worker (%s); the old one goes on", self.name, err)
            return
        if self.closed or self.channel is not old or not old.alive():
            fresh.kill()  # the lane moved on meanwhile (closed, or the old worker died and was replaced)
            self._reap(fresh)
        elif self.busy_since is not None:
            self._standby = fresh  # the runner hands over once the running call has its answer
        else:
            self._take_over(fresh)

    def _take_over(self, fresh: Channel) -> None:
        """`fresh` becomes the lane's worker; the one before is stopped (no call is running on it)."""
        self._standby = None
        old = self.channel
        self.recycles += 1
        base, bar = self.recycle_above_mib, self.recycle_bar
        if base is not None and bar is not None:  # the old worker, itself fresh, regrew at once: raise the bar
            regrown = self.recycles > 1 and self.worker_calls < RECYCLE_REGROWN_CALLS
            self.recycle_bar = min(2 * bar, 4 * base) if regrown else max(bar / 2, base)
        self._adopt(fresh)
        if old is not None:
            old.kill()
            self._reap(old)

    async def _execute(self, call: Call) -> None:
        self.calls += 1
        self.worker_calls += 1
        for attempt in (1, 2):
            try:
                channel = await self.ensure()
            except OSError as err:
                self._fail(call, "crashed", f"the jedi worker could not start: {err}")
                return
            if call.future.done():
                return  # its caller stopped waiting while the worker started
            deadline = time.monotonic() + call.timeout  # the call's own time: not the worker's start
            request = asyncio.ensure_future(channel.request(next(self._ids), call.fn, call.args, call.on_partial))
            request.add_done_callback(_retrieved)  # also when the lane is closed in the middle of it
            waits: set[asyncio.Future] = {request, call.future} if self.kill_abandoned else {request}
            await asyncio.wait(waits, timeout=max(0.0, deadline - time.monotonic()),
                               return_when=asyncio.FIRST_COMPLETED)
            if not request.done():
                request.cancel()
                self._kill(channel)
                if call.future.done():
                    log.debug("jedi lane %s: %s abandoned; worker killed", self.name, call.fn.__name__)
                else:
                    self.timeouts += 1
                    self._fail(call, "timeout", f"{call.fn.__name__} overran its {call.timeout:.1f} s; the jedi "
                                                "worker was stopped (a new one starts with the next call)")
                return
            try:
                ok, value = request.result()
            except ChannelClosed as err:
                self._let_go(channel)
                if not err.sent and attempt == 1:
                    continue  # it had died while idle: a fresh one gets the call
                self.crashes += 1
                log.warning("jedi lane %s: %s", self.name, err)
                self._fail(call, "crashed", f"{err}; a new one starts with the next call")
                return
            if call.future.done():
                return
            if ok:
                call.future.set_result(value)
            else:
                self._fail(call, "failed", str(value))
            return

    def _fail(self, call: Call, kind: str, message: str) -> None:
        if not call.future.done():
            call.future.set_exception(JediError(kind, message))

    def _kill(self, channel: Channel) -> None:
        channel.kill()
        self._let_go(channel)

    def _let_go(self, channel: Channel) -> None:
        """Forget a worker (killed or dead) and reap it in the background."""
        if self.channel is channel:
            self.channel = None
        self._reap(channel)

    def _reap(self, channel: Channel) -> None:
        task = asyncio.ensure_future(channel.wait())
        self._reaping.add(task)
        task.add_done_callback(self._reaping.discard)

    def stop(self) -> None:
        """Kill the worker (the lane stays usable: the next call starts another)."""
        self._idle = None
        if self.channel is not None:
            self.channel.kill()
            self._let_go(self.channel)

    def close_now(self) -> None:
        """Fail what is queued, kill the worker (and a fresh one taking over)."""
        self.closed = True
        for timer in (self._idle, self._check):
            if timer is not None:
                timer.cancel()
        if self._recycling is not None:
            self._recycling.cancel()
        if self._standby is not None:
            standby, self._standby = self._standby, None
            standby.kill()
            try:
                self._reap(standby)
            except RuntimeError:  # no running event loop (a synchronous shutdown): the system reaps it
                pass
        for call in (*self.urgent, *self.queue):
            self._fail(call, "closed", "the jedi worker was shut down")
        self.urgent.clear()
        self.queue.clear()
        if self.channel is not None:
            self.channel.kill()

    async def aclose(self) -> None:
        self.close_now()
        if self._runner is not None:
            self._runner.cancel()
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        await asyncio.gather(*(t for t in (self._runner, self._starting, self._recycling) if t),
                             return_exceptions=True)
        self.stop()
        await asyncio.gather(*self._reaping, return_exceptions=True)

    def stats(self) -> dict:
        channel = self.channel if self.channel is not None and self.channel.alive() else None
        pid = channel.pid if channel is not None else None
        return {"pid": pid, "rssMiB": rss_mib(pid) if pid else None, "queued": len(self.queue) + len(self.urgent),
                "busy": self.busy_since is not None, "calls": self.calls, "starts": self.starts,
                "timeouts": self.timeouts, "crashes": self.crashes, "skipped": self.skipped,
                "recycles": self.recycles, "recycleBarMiB": self.recycle_bar}


def _retrieved(task: asyncio.Future) -> None:
    if not task.cancelled():
        task.exception()
