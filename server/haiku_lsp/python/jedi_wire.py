"""The frames between the server and its jedi worker (`jedi_worker` <-> `jedi_process`): an 8-byte
big-endian length, then a pickle.

Server -> worker: `(call_id, fn, args)`. Worker -> server: an empty frame when a call is received, then
any number of `(call_id, PARTIAL, value)` frames (what the function `publish`ed while it ran: part of its
answer, usable at once), then `(call_id, ok, result or error message)`.
"""

from __future__ import annotations

import pickle
import struct
import threading
from collections.abc import Callable
from typing import BinaryIO

HEADER = struct.Struct(">Q")
ACK = HEADER.pack(0)  # an empty frame: "call received"
PARTIAL = "partial"  # the `ok` field of a frame carrying part of an answer

_here = threading.local()  # the publisher of the call running in this thread, if any


def publish(value: object) -> None:
    """Called by a function running in a jedi worker: send `value` (part of its answer) to the server now.
    Nothing happens outside a worker's call (a direct call in the server or a test)."""
    publisher: Callable[[object], None] | None = getattr(_here, "publisher", None)
    if publisher is not None:
        publisher(value)


def publishing(publisher: Callable[[object], None] | None) -> None:
    """Route this thread's `publish` calls to `publisher` (None: nowhere), for the call it runs next."""
    _here.publisher = publisher


def read_frame(stream: BinaryIO) -> bytes | None:
    """One frame's body; None at the end of the input (also a frame cut short)."""
    head = stream.read(HEADER.size)
    if len(head) < HEADER.size:
        return None
    (size,) = HEADER.unpack(head)
    body = stream.read(size)
    return body if len(body) == size else None


def frame(payload: object) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data
