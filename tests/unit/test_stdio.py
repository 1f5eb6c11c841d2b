"""The stdio transport's choice of reader: which stdins are read on the event loop (haiku_lsp/lsp/stdio.py).
The transport driven through real pipes into a server subprocess is in tests/e2e/test_stdio.py."""

from __future__ import annotations

import os
import socket

from haiku_lsp.lsp.stdio import loop_readable


def test_only_pipes_and_sockets_are_read_on_the_loop(tmp_path):
    r, w = os.pipe()
    try:
        with os.fdopen(r, "rb", closefd=False) as pipe:
            assert loop_readable(pipe)
    finally:
        os.close(r)
        os.close(w)
    a, b = socket.socketpair()
    with a, b, a.makefile("rb") as sock_file:
        assert loop_readable(sock_file)
    regular = tmp_path / "f"
    regular.write_bytes(b"")
    with regular.open("rb") as f:
        assert not loop_readable(f)
    closed = regular.open("rb")
    closed.close()
    assert not loop_readable(closed)
