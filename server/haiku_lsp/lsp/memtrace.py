"""A hidden diagnostic for memory growth: with `HAIKU_LSP_TRACEMALLOC=<folder>` in its environment the server
traces its allocations (`tracemalloc`, 12 frames) from the moment it is built, and each `SIGUSR1` writes a
snapshot (after a full collection) to `<folder>/snapshot-<pid>-<n>.tracemalloc`; `bench/soak.py --tracemalloc
DIR` takes one at each tenth of its run and prints the biggest growths. Off (and free) without the variable.
"""

from __future__ import annotations

import gc
import itertools
import logging
import os
import signal
import tracemalloc
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)

ENV = "HAIKU_LSP_TRACEMALLOC"
FRAMES = 12


def install() -> bool:
    """Start tracing when the variable is set (POSIX only); True when it did."""
    folder = os.environ.get(ENV)
    if not folder or not hasattr(signal, "SIGUSR1"):
        return False
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    counter = itertools.count()
    if not tracemalloc.is_tracing():
        tracemalloc.start(FRAMES)

    def dump(signum: int, frame: FrameType | None) -> None:
        gc.collect()
        path = out / f"snapshot-{os.getpid()}-{next(counter):02d}.tracemalloc"
        tracemalloc.take_snapshot().dump(str(path))
        log.info("tracemalloc snapshot written to %s", path)

    signal.signal(signal.SIGUSR1, dump)
    log.warning("tracing allocations (%s=%s): SIGUSR1 writes a snapshot", ENV, folder)
    return True
