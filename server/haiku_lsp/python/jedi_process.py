"""The jedi worker process: `python -m haiku_lsp.python.jedi_process`, started by `JediWorker`.

It reads calls from stdin and writes replies to stdout, one at a time, in the frames of `jedi_wire` (an
8-byte big-endian length, then a pickle); an empty frame says it is ready (jedi imported, warm), then one
acknowledges each call as soon as it is read. A call is `(call_id, function, args)` (the function pickled by
reference: a module-level function of haiku_lsp); the reply is `(call_id, True, result)` or `(call_id,
False, message)`. jedi and parso's caches live here, with their own garbage collections, so the server's
event loop never waits for them. The process ends as soon as its stdin closes (the server ended or let it
go), also in the middle of a call: no orphan outlives the server. Once idle for `IDLE_TIDY_S` after some
work, it collects its garbage and gives the memory freed back to the system (`tidy_worker`).
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import pickle
import queue
import sys
import threading
from collections.abc import Callable
from typing import BinaryIO

from haiku_lsp import memory
from haiku_lsp.python.jedi_service import tidy_worker
from haiku_lsp.python.jedi_wire import ACK, PARTIAL, frame, publishing, read_frame

log = logging.getLogger(__name__)

WARM_SOURCE = "len"  # inferring a builtin parses what every inference needs (builtins, typing), nothing more


def _warm() -> None:
    """Import jedi and infer once, so that the builtins stubs are parsed before the first real call (not
    more: a module the user's files may never import, such as `os`, would stay in memory for nothing)."""
    try:
        from haiku_lsp.python.jedi_service import jedi_script

        jedi_script(WARM_SOURCE, None, None).infer(1, len(WARM_SOURCE))
    except Exception as err:  # pragma: no cover - a broken jedi install: every call will say so
        log.warning("jedi warm-up failed: %s", err)
    # What exists now lives as long as the process: out of the full collections' way.
    gc.collect()
    gc.freeze()


def _reply(call_id: int, fn: object, args: tuple) -> bytes:
    try:
        result = fn(*args)  # type: ignore[operator]
    except Exception as err:
        return frame((call_id, False, f"{type(err).__name__}: {err}"))
    try:
        return frame((call_id, True, result))
    except Exception as err:  # a result that does not pickle is a bug of the function: say so
        return frame((call_id, False, f"unpicklable result: {type(err).__name__}: {err}"))


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    calls: queue.Queue[bytes] = queue.Queue()
    writing = threading.Lock()

    def send(data: bytes) -> None:
        """One whole frame to the server (from either thread); the server gone, the worker ends."""
        try:
            with writing:
                stdout.write(data)
                stdout.flush()
        except OSError:
            os._exit(0)

    def read() -> None:
        try:
            while (body := read_frame(stdin)) is not None:
                # Received: an empty frame says so, before the reply (the server then knows that a worker
                # dying from here on died with the call).
                send(ACK)
                calls.put(body)
        finally:  # end of input, or a pipe broken: the server is gone (or let this worker go)
            os._exit(0)  # end now, even in the middle of a call

    threading.Thread(target=read, name="jedi-calls", daemon=True).start()
    _warm()
    send(ACK)  # ready
    worked = False  # since the last tidy-up
    while True:
        try:
            body = calls.get(timeout=IDLE_TIDY_S) if worked else calls.get()
        except queue.Empty:  # idle for a while after some work: give what it freed back to the system
            tidy_worker()
            worked = False
            continue
        worked = True
        try:
            call_id, fn, args = pickle.loads(body)
        except Exception as err:
            log.error("jedi worker: an unreadable call (%s)", err)
            continue
        # What the function publishes while it runs goes out at once, each part a frame of its own.
        publishing(functools.partial(_publish_to, send, call_id))
        try:
            reply = _reply(call_id, fn, args)
        finally:
            publishing(None)
        send(reply)
        del body, fn, args, reply
        if calls.empty() and (memory.rss_mib(os.getpid()) or 0.0) > TIDY_ABOVE_MIB:
            tidy_worker()
            worked = False


def _publish_to(send: Callable[[bytes], None], call_id: int, value: object) -> None:
    send(frame((call_id, PARTIAL, value)))


IDLE_TIDY_S = 1.0  # the worker tidies up once no call has come for this long after some work
TIDY_ABOVE_MIB = 80  # resident memory above which it also tidies up between calls (~45 MiB once warm)


def worker_stats() -> dict:
    """What the worker says about itself (a call like any other; read from `haiku_lsp.memory`, not from this
    module, which runs as `__main__` and is imported again by the calls): its pid, resident memory, how often it
    tidied up, the files whose parse trees parso keeps."""
    from parso.cache import parser_cache

    return {"pid": os.getpid(), "rssMiB": memory.rss_mib(os.getpid()), "tidies": memory.releases,
            "parsed": sorted({str(key) for items in parser_cache.values() for key in items})}


NICENESS = 5  # below the server: on a busy machine the event loop gets the CPU first


def main() -> None:
    # hashlib without OpenSSL: parso hashes sources with it (sha256 of a file: well under a millisecond with
    # Python's own code too), and nothing else here needs OpenSSL; libcrypto mapped in is ~3.4 MiB resident.
    sys.modules.setdefault("_hashlib", None)  # type: ignore[arg-type]
    try:
        os.nice(NICENESS)
    except OSError:  # pragma: no cover - not permitted here: run at the server's priority
        pass
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s jedi-worker %(name)s: %(message)s")
    # Replies go to a private copy of stdout; fd 1 itself now points at stderr, so that something a library
    # prints cannot corrupt a reply.
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    serve(sys.stdin.buffer, replies)


if __name__ == "__main__":
    main()
