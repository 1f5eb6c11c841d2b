"""The frames between the server and its jedi worker (`jedi_worker` <-> `jedi_process`): an 8-byte
big-endian length, then a pickle."""

from __future__ import annotations

import pickle
import struct
from typing import BinaryIO

HEADER = struct.Struct(">Q")
ACK = HEADER.pack(0)  # an empty frame: "call received"


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
