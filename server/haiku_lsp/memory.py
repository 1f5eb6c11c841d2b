"""Giving freed memory back to the system: a full garbage collection, then glibc's `malloc_trim(0)`
(skipped where there is no glibc). Python keeps the heap memory it freed, so without it a process's
resident memory follows its high-water mark (the parse of a large document, a burst of requests) rather
than what it holds.

- `release_memory()`: do it now (the jedi worker calls it once it goes idle).
- `rss_mib(pid)`: a process's resident memory (Linux), for stats and for deciding to tidy up.
- `IdleTidy`: do it once a process has been idle for a while after work that churned memory (the server:
  after opening, editing, closing documents and completions), never while work comes in.
"""

from __future__ import annotations

import functools
import gc
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger(__name__)

IDLE_TIDY_S = 1.0  # the server tidies up once no work has come for this long


@functools.cache
def _libc() -> Any:
    """glibc, or None (ctypes imported here: not on the server's start-up path)."""
    import ctypes

    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018  (glibc only)
        return libc
    except (OSError, AttributeError):
        return None


releases = 0  # calls of release_memory in this process

M_ARENA_MAX = -8  # mallopt's parameter number (glibc malloc.h)


def one_heap() -> bool:
    """Have every thread allocate from glibc's main heap, before the threads that allocate much start (the
    server's background import of the SDK, its warm-up): each thread would otherwise get a heap of its own,
    whose free chunks no other thread reuses (~1 MiB more once the SDK is imported). The server's threads
    allocate little after start-up, so they do not contend for it. True when glibc took the setting."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(M_ARENA_MAX, 1))


def release_memory() -> None:
    """Collect garbage (parse trees and other cycles), then return free heap pages to the system."""
    global releases
    releases += 1
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


class IdleTidy:
    """`note_work()` after work that allocated and freed much (needs a running event loop); `release` runs
    once `delay_s` has passed without another `note_work()`."""

    def __init__(self, delay_s: float = IDLE_TIDY_S, release: Callable[[], None] = release_memory) -> None:
        self.delay_s, self._release = delay_s, release
        self._timer: asyncio.TimerHandle | None = None
        self.runs = 0

    def note_work(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        import asyncio  # here: the jedi worker process imports this module without an event loop

        self._timer = asyncio.get_running_loop().call_later(self.delay_s, self._run)

    def _run(self) -> None:
        self._timer = None
        self.runs += 1
        try:
            self._release()
        except Exception as err:  # pragma: no cover - housekeeping must never break the server
            log.warning("releasing memory failed: %s", err)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process (Linux), in MiB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None
