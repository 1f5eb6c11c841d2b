"""The jedi worker's lanes: order, deadlines, crashes, cancellation, size limits. The worker process is
replaced by an in-process channel that runs each call in a thread (unit tests start no process); the
process itself is tested end to end in tests/e2e/test_jedi_worker.py."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable
from typing import Any

import pytest

from haiku_lsp.errors import JediError
from haiku_lsp.python import JediWorker
from haiku_lsp.python.jedi_channel import ChannelClosed
from haiku_lsp.python.jedi_wire import publishing

_pids = itertools.count(1000)


class ThreadChannel:
    """Stands in for a worker process: each call runs in a thread; `kill` makes it dead at once, and the
    call it was running is lost, as with a killed process."""

    def __init__(self) -> None:
        self.pid: int | None = next(_pids)
        self.dead = asyncio.Event()
        self.calls: list[str] = []

    @classmethod
    async def start(cls) -> ThreadChannel:
        return cls()

    async def request(self, call_id: int, fn: Callable[..., Any], args: tuple,
                      on_partial: Callable[[Any], None] | None = None) -> tuple[bool, Any]:
        if self.dead.is_set():
            raise ChannelClosed("gone", sent=False)
        self.calls.append(getattr(fn, "__name__", "?"))
        loop = asyncio.get_running_loop()

        def run() -> Any:  # what `fn` publishes reaches `on_partial` on the loop, as from a worker's frames
            publishing((lambda v: loop.call_soon_threadsafe(on_partial, v)) if on_partial else None)
            try:
                return fn(*args)
            finally:
                publishing(None)

        work = loop.run_in_executor(None, run)
        died = asyncio.ensure_future(self.dead.wait())
        await asyncio.wait({work, died}, return_when=asyncio.FIRST_COMPLETED)
        died.cancel()
        if self.dead.is_set():
            raise ChannelClosed("killed during the call", sent=True)
        try:
            return True, work.result()
        except Exception as err:
            return False, f"{type(err).__name__}: {err}"

    def alive(self) -> bool:
        return not self.dead.is_set()

    def kill(self) -> None:
        self.dead.set()

    async def wait(self) -> int | None:
        await self.dead.wait()
        return -9


class Gate:
    """A function that blocks (in its thread) until opened, then returns its argument."""

    def __init__(self) -> None:
        self.opened, self.entered = threading.Event(), threading.Event()
        self.__name__ = "gate"

    def __call__(self, value: Any) -> Any:
        self.entered.set()
        self.opened.wait(10)
        return value

    async def until_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 5)


def double(x: int) -> int:
    return 2 * x


def fails(x: int) -> int:
    raise ValueError(f"bad {x}")


@pytest.fixture(autouse=True)
def no_real_tidy_up(monkeypatch):
    """The in-process workers run their calls in this process: asking one to tidy up would collect the
    garbage of the whole test run (slow, and nothing the fake resident memory would show)."""
    import haiku_lsp.python.jedi_lane as jedi_lane

    monkeypatch.setattr(jedi_lane, "tidy_worker", lambda: None)


@pytest.fixture
async def worker():
    w = JediWorker(ThreadChannel.start, small_lane_chars=100, large_idle_s=60, recycle_above_mib=None)
    yield w
    await w.aclose()


async def test_calls_answer_in_order_and_huge_documents_go_to_their_own_worker(worker):
    assert await asyncio.gather(*(worker.call(double, i, size=10, timeout=5) for i in range(5))) == [0, 2, 4, 6, 8]
    assert await worker.call(double, 21, size=101, timeout=5) == 42
    small, large = worker.stats()["small"], worker.stats()["large"]
    assert (small["calls"], large["calls"]) == (5, 1)
    assert small["pid"] and large["pid"] and small["pid"] != large["pid"]


async def test_a_huge_document_being_worked_on_does_not_delay_a_small_one(worker):
    gate = Gate()
    huge = asyncio.ensure_future(worker.call(gate, "huge", size=10_000, timeout=5))
    await gate.until_entered()
    assert await worker.call(double, 1, size=10, timeout=5) == 2
    assert not huge.done()
    gate.opened.set()
    assert await huge == "huge"


async def test_a_call_over_its_deadline_fails_and_the_next_one_gets_a_fresh_worker(worker):
    gate = Gate()
    with pytest.raises(JediError) as err:
        await worker.call(gate, 1, size=10, timeout=0.2)
    assert err.value.kind == "timeout" and "overran" in str(err.value)
    first = worker.small.stats()
    assert first["timeouts"] == 1 and first["pid"] is None  # killed
    assert await worker.call(double, 2, size=10, timeout=5) == 4
    assert worker.small.stats()["starts"] == 2
    gate.opened.set()


async def test_a_worker_dying_during_a_call_fails_that_call_and_the_queue_goes_on(worker):
    gate = Gate()
    running = asyncio.ensure_future(worker.call(gate, 1, size=10, timeout=5))
    queued = asyncio.ensure_future(worker.call(double, 3, size=10, timeout=5))
    await gate.until_entered()
    pid = worker.small.stats()["pid"]
    assert worker.small.channel is not None
    worker.small.channel.kill()  # as `kill -9` would
    with pytest.raises(JediError) as err:
        await running
    assert err.value.kind == "crashed"
    assert await queued == 6
    stats = worker.small.stats()
    assert stats["crashes"] == 1 and stats["pid"] != pid
    gate.opened.set()


async def test_a_worker_found_dead_while_idle_is_replaced_and_the_call_sent_to_the_new_one(worker):
    assert await worker.call(double, 1, size=10, timeout=5) == 2
    channel = worker.small.channel
    assert channel is not None
    channel.kill()
    # What an external kill looks like before the loop has noticed it: still "alive" until a write fails.
    channel.alive = lambda: True  # type: ignore[method-assign]
    assert await worker.call(double, 2, size=10, timeout=5) == 4
    stats = worker.small.stats()
    assert stats["crashes"] == 0 and stats["starts"] == 2


async def busy_with_one_queued(worker, x: int) -> tuple[Gate, asyncio.Future, asyncio.Future]:
    """The small lane running `gate(1)` (held until the gate opens) with `double(x)` queued behind it."""
    gate = Gate()
    running = asyncio.ensure_future(worker.call(gate, 1, size=10, timeout=5))
    await gate.until_entered()
    queued = asyncio.ensure_future(worker.call(double, x, size=10, timeout=5))
    await asyncio.sleep(0)
    return gate, running, queued


async def test_a_call_cancelled_while_queued_is_never_sent(worker):
    gate, running, queued = await busy_with_one_queued(worker, 5)
    queued.cancel()
    gate.opened.set()
    assert await running == 1
    assert await worker.call(double, 6, size=10, timeout=5) == 12
    assert worker.small.channel is not None
    assert worker.small.channel.calls == ["gate", "double"]  # type: ignore[attr-defined]


async def test_an_abandoned_call_kills_the_large_worker_but_runs_on_in_the_small_one(worker):
    big, small = Gate(), Gate()
    on_large = asyncio.ensure_future(worker.call(big, 1, size=1000, timeout=30))
    on_small = asyncio.ensure_future(worker.call(small, 1, size=10, timeout=30))
    await asyncio.gather(big.until_entered(), small.until_entered())
    large_channel, small_channel = worker.large.channel, worker.small.channel
    on_large.cancel()
    on_small.cancel()
    await asyncio.sleep(0.05)
    assert large_channel is not None and not large_channel.alive()  # nobody waits: stopped at once
    assert small_channel is not None and small_channel.alive()  # its answer may still serve the next request
    assert await worker.call(double, 4, size=1000, timeout=5) == 8  # a fresh large worker
    big.opened.set()
    small.opened.set()


async def test_a_failing_function_gives_a_clear_error_and_the_worker_stays(worker):
    with pytest.raises(JediError) as err:
        await worker.call(fails, 7, size=10, timeout=5)
    assert err.value.kind == "failed" and "ValueError: bad 7" in str(err.value)
    assert await worker.call(double, 1, size=10, timeout=5) == 2
    assert worker.small.stats()["starts"] == 1


async def test_the_large_worker_ends_when_idle():
    w = JediWorker(ThreadChannel.start, small_lane_chars=100, large_idle_s=0.05)
    try:
        assert await w.call(double, 1, size=1000, timeout=5) == 2
        channel = w.large.channel
        await asyncio.sleep(0.2)
        assert channel is not None and not channel.alive() and w.large.stats()["pid"] is None
        assert await w.call(double, 2, size=1000, timeout=5) == 4
    finally:
        await w.aclose()


async def test_close_fails_what_is_queued(worker):
    gate, running, queued = await busy_with_one_queued(worker, 1)
    worker.close()
    for fut in (running, queued):
        with pytest.raises(JediError):
            await fut
    gate.opened.set()


async def test_urgent_calls_go_before_queued_background_work(worker):
    gate = Gate()
    running = asyncio.ensure_future(worker.call(gate, 0, size=10, timeout=5))
    await gate.until_entered()
    order: list[str] = []
    background = [worker.call(double, i, size=10, timeout=5) for i in range(3)]
    for fut in background:
        fut.add_done_callback(lambda f: order.append("background"))
    urgent = worker.call(double, 9, size=10, timeout=5, urgent=True)
    urgent.add_done_callback(lambda f: order.append("urgent"))
    gate.opened.set()
    await asyncio.gather(running, urgent, *background)
    assert order == ["urgent", "background", "background", "background"]


async def test_forgetting_a_closed_document_starts_no_worker_and_reaches_a_running_one(worker):
    worker.forget("/w/closed.py")
    await asyncio.sleep(0.05)
    assert worker.small.starts == 0 and worker.small.channel is None  # nothing to forget in no worker
    assert await worker.call(double, 2, size=10, timeout=5) == 4
    channel = worker.small.channel
    assert isinstance(channel, ThreadChannel)
    worker.forget("/w/closed.py")
    deadline = asyncio.get_running_loop().time() + 5
    while "forget_documents" not in channel.calls:
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    assert worker.large.starts == 0  # the large lane had no worker: left alone


class Grown:
    """Resident memory of the in-process workers, set by the test: each starts at 40 MiB."""

    def __init__(self) -> None:
        self.mib: dict[int, float] = {}

    def __call__(self, pid: int) -> float:
        return self.mib.setdefault(pid, 40.0)


class HeldSpawn:
    """Starts in-process workers; every start after the first (a recycling one) waits until `released`."""

    def __init__(self) -> None:
        self.starts: list[ThreadChannel] = []
        self.released = asyncio.Event()

    async def __call__(self) -> ThreadChannel:
        if self.starts:
            await self.released.wait()
        self.starts.append(ThreadChannel())
        return self.starts[-1]


async def grown_with_its_recycling_held() -> tuple[JediWorker, HeldSpawn]:
    """A worker that answered one call and holds 50 MiB more than when it was ready: once idle it is recycled,
    and the fresh worker's start waits until the test releases it."""
    rss, spawn = Grown(), HeldSpawn()
    w = JediWorker(spawn, recycle_above_mib=30, recycle_idle_s=0.05, rss=rss)
    assert await w.call(double, 1, size=10, timeout=5) == 2
    rss.mib[spawn.starts[0].pid] = 90.0  # type: ignore[index]
    return w, spawn


async def settle(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


async def test_an_idle_worker_that_grew_is_replaced_by_a_fresh_one_and_calls_go_on():
    rss = Grown()
    w = JediWorker(ThreadChannel.start, recycle_above_mib=30, recycle_idle_s=0.05, rss=rss)
    try:
        assert await w.call(double, 1, size=10, timeout=5) == 2
        old = w.small.channel
        assert old is not None and old.pid is not None and w.small.ready_rss == 40.0
        await asyncio.sleep(0.15)  # idle, but it has not grown: kept
        assert w.small.channel is old and w.small.recycles == 0
        rss.mib[old.pid] = 75.0
        assert await w.call(double, 2, size=10, timeout=5) == 4  # a call restarts the idle clock
        await settle(lambda: w.small.recycles == 1)
        fresh = w.small.channel
        assert fresh is not None and fresh is not old and fresh.alive() and not old.alive()
        assert await w.call(double, 3, size=10, timeout=5) == 6
        assert fresh.calls == ["double"]  # type: ignore[attr-defined]
        assert w.small.stats()["starts"] == 2 and w.small.ready_rss == 40.0
    finally:
        await w.aclose()


async def test_a_fresh_worker_ready_during_a_call_takes_over_only_once_that_call_has_its_answer():
    w, spawn = await grown_with_its_recycling_held()
    starts, spawned = spawn.starts, spawn.released
    try:
        old = starts[0]
        await settle(lambda: w.small._recycling is not None)  # idle: tidied up, still big: a fresh one starts
        assert not w.small._recycling.done()  # type: ignore[union-attr]
        gate = Gate()
        running = asyncio.ensure_future(w.call(gate, "kept", size=10, timeout=5))
        await gate.until_entered()  # on the old worker
        spawned.set()
        await settle(lambda: len(starts) == 2 and w.small._standby is starts[1])
        assert w.small.channel is old and old.alive()  # not while its call runs
        gate.opened.set()
        assert await running == "kept"
        await settle(lambda: w.small.channel is starts[1])
        assert not old.alive() and w.small.recycles == 1
        assert await w.call(double, 5, size=10, timeout=5) == 10
    finally:
        await w.aclose()


async def test_closing_while_a_fresh_worker_starts_leaves_no_worker_running():
    w, spawn = await grown_with_its_recycling_held()
    starts, spawned = spawn.starts, spawn.released
    await settle(lambda: w.small._recycling is not None)
    await w.aclose()
    spawned.set()
    await asyncio.sleep(0.05)
    assert all(not c.alive() for c in starts)
    assert w.small.recycles == 0


async def test_a_fresh_worker_that_regrows_at_once_gets_a_higher_bar_instead_of_recycling_again_and_again():
    rss = Grown()
    w = JediWorker(ThreadChannel.start, recycle_above_mib=30, recycle_idle_s=0.05, rss=rss)
    try:
        for round_, bar in enumerate((30, 60, 120, 120), 1):  # doubled each time, up to 4x
            assert await w.call(double, round_, size=10, timeout=5) == 2 * round_
            channel = w.small.channel
            assert channel is not None and channel.pid is not None
            rss.mib[channel.pid] = 40.0 + bar  # holds just as much more as its bar allows
            await settle(lambda n=round_: w.small.recycles == n)
        assert w.small.recycle_bar == 120
        channel = w.small.channel
        assert channel is not None and channel.pid is not None
        for i in range(40):  # a worker that lasts: the bar goes back down, halved, when it is recycled
            await w.call(double, i, size=10, timeout=5)
        rss.mib[channel.pid] = 40.0 + 120
        await settle(lambda: w.small.recycles == 5)
        assert w.small.recycle_bar == 60
    finally:
        await w.aclose()


async def test_a_worker_big_only_with_garbage_is_tidied_up_not_recycled_and_not_asked_after_every_call(monkeypatch):
    import haiku_lsp.python.jedi_lane as jedi_lane

    rss, tidies = Grown(), []

    def tidy_worker() -> None:  # the worker collects its garbage: down to what it really holds
        tidies.append(1)
        for pid in rss.mib:
            rss.mib[pid] = 50.0

    monkeypatch.setattr(jedi_lane, "tidy_worker", tidy_worker)
    w = JediWorker(ThreadChannel.start, recycle_above_mib=30, recycle_idle_s=0.02, rss=rss)
    try:
        assert await w.call(double, 1, size=10, timeout=5) == 2
        channel = w.small.channel
        assert channel is not None and channel.pid is not None
        rss.mib[channel.pid] = 90.0  # right after a call: its parse trees not collected yet
        assert await w.call(double, 2, size=10, timeout=5) == 4
        await settle(lambda: len(tidies) == 1)
        await asyncio.sleep(0.1)
        assert w.small.channel is channel and w.small.recycles == 0
        for i in range(jedi_lane.RECYCLE_CHECK_CALLS - 2):  # big again after each call: no check before 10 calls
            rss.mib[channel.pid] = 90.0
            await w.call(double, i, size=10, timeout=5)
            await asyncio.sleep(0.05)
        assert len(tidies) == 1
        rss.mib[channel.pid] = 90.0
        await w.call(double, 0, size=10, timeout=5)
        await settle(lambda: len(tidies) == 2)
        assert w.small.recycles == 0
    finally:
        await w.aclose()


async def test_what_a_call_publishes_arrives_before_its_answer_and_also_after_its_caller_left(worker):
    from haiku_lsp.python.jedi_wire import publish

    gate, parts = Gate(), []

    def parts_then_wait(n: int) -> int:
        publish("first")
        gate(None)
        publish("second")
        return n

    fut = worker.call(parts_then_wait, 3, size=10, timeout=5, on_partial=parts.append)
    await gate.until_entered()
    await settle(lambda: parts == ["first"])
    assert not fut.done()
    fut.cancel()  # the request that wanted it is gone: on the small lane the call runs on, its parts still land
    gate.opened.set()
    await settle(lambda: parts == ["first", "second"])
    assert await worker.call(double, 1, size=10, timeout=5) == 2
    publish("outside a worker's call: nowhere")  # a direct call in the server publishes nothing
