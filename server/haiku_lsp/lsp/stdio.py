"""Serve LSP over stdio with stdin read by the event loop itself.

pygls reads stdin through its thread pool: every header line and every body is a `run_in_executor`
round trip (a thread wake-up, then a wake-up of the loop through its self-pipe, each waiting for the
GIL). That costs about a millisecond per request on a busy 2-core machine, which is most of what a
cache hit or typed-ahead answer costs. When stdin is a pipe or a socket (what editors give a language
server), the loop reads it directly with an `asyncio.StreamReader`; anything else (a terminal, a file,
Windows) keeps pygls' own reader.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import sys
import threading
from typing import BinaryIO

from pygls.io_ import StdoutWriter, run_async
from pygls.server import JsonRPCServer

from haiku_lsp.lsp.compat import set_stop_event, shutdown_requested

log = logging.getLogger(__name__)

# Header lines are short; a body is read with readexactly, which has no limit.
_LINE_LIMIT = 1 << 20


def loop_readable(stdin: BinaryIO) -> bool:
    """True when the event loop can watch this stdin: a pipe or a socket, on a POSIX system."""
    if os.name != "posix":
        return False
    try:
        mode = os.fstat(stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class _LoopReader:
    """pygls' reader interface (readline / readexactly) over an asyncio.StreamReader. End of input,
    also in the middle of a message, reads as b"", which ends pygls' message loop."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self._stream = stream

    async def readline(self) -> bytes:
        # Let the handlers of the message just read start before the next one is applied: a request
        # takes its snapshot of the document in the state the client sent it for, also when later
        # changes already wait in the buffer (pygls' threaded reader yielded on every read as well).
        await asyncio.sleep(0)
        try:
            return await self._stream.readline()
        except ValueError:  # a "header" line longer than the limit: not LSP framing
            log.error("stdin: a header line longer than %d bytes; closing", _LINE_LIMIT)
            return b""

    async def readexactly(self, n: int) -> bytes:
        try:
            return await self._stream.readexactly(n)
        except asyncio.IncompleteReadError:
            return b""


def serve_stdio(server: JsonRPCServer, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> int:
    """Like `server.start_io()`, reading stdin on the event loop when it can. Returns the exit code
    LSP asks for: 0 after a `shutdown` request, 1 when the session ended without one."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    if not loop_readable(stdin):
        server.start_io(stdin, stdout)
        return _exit_code(server)

    stop = threading.Event()
    set_stop_event(server, stop)  # server.shutdown() ends the loop
    server.protocol.set_writer(StdoutWriter(stdout))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stream = asyncio.StreamReader(limit=_LINE_LIMIT)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), stdin)
        try:
            await run_async(stop_event=stop, reader=_LoopReader(stream), protocol=server.protocol,
                            logger=logging.getLogger("pygls.io_"), error_handler=server.report_server_error)
        finally:
            transport.close()

    try:
        asyncio.run(main())
    except BrokenPipeError:
        log.error("the connection to the client is lost; shutting down")
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
    return _exit_code(server)


def _exit_code(server: JsonRPCServer) -> int:
    return 0 if shutdown_requested(server) else 1
