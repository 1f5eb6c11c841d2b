"""A hidden diagnostic for memory growth: with `HAIKU_LSP_TRACEMALLOC=<folder>` in its environment the server
traces its allocations (`tracemalloc`, `HAIKU_LSP_TRACEMALLOC_FRAMES` frames, 12 by default; 0: no tracing,
the figures below only) from the moment it is built, and each `SIGUSR1` writes a snapshot (after a full collection) to
`<folder>/snapshot-<pid>-<n>.tracemalloc`, and beside it `.json` figures that tracemalloc cannot see: glibc's
`mallinfo2` (native allocations in use and free in malloc's arenas), pymalloc's arena counts and the number of
objects. `bench/soak.py --tracemalloc DIR` takes one at each tenth of its run and prints the biggest growths.
Off (and free) without the variable.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import itertools
import json
import logging
import os
import signal
import sys
import tempfile
import tracemalloc
from pathlib import Path
from types import FrameType
from typing import Any

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
    frames = int(os.environ.get(f"{ENV}_FRAMES") or FRAMES)
    if frames > 0 and not tracemalloc.is_tracing():  # 0: only the figures (tracing itself costs memory)
        tracemalloc.start(frames)

    def dump(signum: int, frame: FrameType | None) -> None:
        gc.collect()
        path = out / f"snapshot-{os.getpid()}-{next(counter):02d}.tracemalloc"
        figures = {"traced": tracemalloc.get_traced_memory()[0], "objects": len(gc.get_objects()),
                   "mallinfo2": _mallinfo2(), "pymalloc": _pymalloc()}
        if tracemalloc.is_tracing():
            tracemalloc.take_snapshot().dump(str(path))
        path.with_suffix(".json").write_text(json.dumps(figures))
        log.info("tracemalloc snapshot written to %s", path)

    signal.signal(signal.SIGUSR1, dump)
    log.warning("tracing allocations (%s=%s): SIGUSR1 writes a snapshot", ENV, folder)
    return True


MALLINFO2_FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                    "keepcost")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in MALLINFO2_FIELDS]


def _mallinfo2() -> dict[str, int]:
    """glibc's malloc figures: `arena` bytes from sbrk/arenas, `uordblks` in use, `fordblks` free in them,
    `hblkhd` in mmapped blocks. Empty where there is no glibc 2.33+."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        fn = libc.mallinfo2
    except (OSError, AttributeError):
        return {}
    fn.restype = _MallInfo2
    info = fn()
    return {name: int(getattr(info, name)) for name in MALLINFO2_FIELDS}


def _pymalloc() -> dict[str, Any]:
    """pymalloc's arena lines of `sys._debugmallocstats()` (written to fd 2: caught in a temporary file)."""
    debug = getattr(sys, "_debugmallocstats", None)
    if debug is None:
        return {}
    with tempfile.TemporaryFile() as f:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(f.fileno(), 2)
            debug()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        f.seek(0)
        text = f.read().decode("utf-8", "replace")
    keep = ("arenas allocated current", "arenas highwater", "bytes in allocated blocks", "bytes in available blocks",
            "unused pools", "bytes lost to", "Total")
    figures: dict[str, Any] = {line.split("=")[0].strip("# ").strip(): line.split("=")[-1].strip().replace(",", "")
                               for line in text.splitlines() if "=" in line and any(k in line for k in keep)}
    # size class -> [pools, blocks in use, blocks free in those pools]: a class whose pools grow while its
    # blocks in use do not is one fragmenting the arenas
    figures["classes"] = {int(row[1]): [int(row[2]), int(row[3]), int(row[4])]
                          for row in (line.split() for line in text.splitlines())
                          if len(row) == 5 and all(c.isdigit() for c in "".join(row))}
    return figures
