"""Serve LSP over stdio with stdin read by the event loop itself.

pygls reads stdin through its thread pool: every header line and every body is a `run_in_executor`
round trip (a thread wake-up, then a wake-up of the loop through its self-pipe, each waiting for the
GIL). That costs about a millisecond per request on a busy 2-core machine, which is most of what a
cache hit or typed-ahead answer costs. When stdin is a pipe or a socket (what editors give a language
server), the loop reads it directly with an `asyncio.StreamReader`; anything else (a terminal, a file,
Windows) keeps pygls' own reader.

On that path, messages that are not well-formed JSON-RPC get the specification's error responses (pygls
would only show "Error in server" and, for a request whose params do not fit, leave it unanswered):
a body that is not JSON (or not UTF-8) gets -32700 with id null, something that is not a JSON-RPC 2.0
message -32600, a request whose params do not fit its method -32602 with its id. Then reading goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import sys
import threading
from typing import Any, BinaryIO

from pygls.exceptions import JsonRpcException
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


class _Checked:
    """What pygls' message loop calls (`structure_message` as json's object_hook, then `handle_message`),
    checking each message before the server's protocol structures and handles it."""

    PARSE_ERROR, INVALID_REQUEST = -32700, -32600

    def __init__(self, server: JsonRPCServer) -> None:
        self.server = server
        self.protocol = server.protocol

    @staticmethod
    def structure_message(data: dict[str, Any]) -> dict[str, Any]:
        return data  # the whole message is structured in handle_message, once it is known to be one

    def handle_message(self, data: Any) -> None:
        msg_id = data.get("id") if isinstance(data, dict) else None
        msg_id = msg_id if isinstance(msg_id, (int, str)) and not isinstance(msg_id, bool) else None
        if (not isinstance(data, dict) or data.get("jsonrpc") != "2.0"
                or not isinstance(data.get("method", ""), str) or ("method" not in data and msg_id is None)):
            log.warning("not a JSON-RPC 2.0 message: %.200r", data)
            self.error(msg_id, self.INVALID_REQUEST, "Invalid Request: not a JSON-RPC 2.0 message")
            return
        try:
            message = self.protocol.structure_message(data)
        except JsonRpcException as err:
            log.warning("%s: %s %.200r", err.message, data.get("method"), data.get("params"))
            if "method" in data and msg_id is not None:  # a request: answered; a notification: dropped
                self.error(msg_id, err.code, f"{err.message} for {data['method']}")
            return
        self.protocol.handle_message(message)

    def on_error(self, err: Exception, source: Any) -> None:
        """The loop's error handler: a body that is not JSON or not UTF-8 is answered; the rest reported."""
        if isinstance(err, ValueError):  # json.JSONDecodeError and UnicodeDecodeError both are
            log.warning("a message that is not JSON: %s", err)
            self.error(None, self.PARSE_ERROR, f"Parse error: {err}")
        else:
            self.server.report_server_error(err, source)

    def error(self, msg_id: int | str | None, code: int, message: str) -> None:
        body = json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})
        writer = self.protocol.writer
        if writer is not None:
            writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body.encode("ascii"))


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
            checked = _Checked(server)
            await run_async(stop_event=stop, reader=_LoopReader(stream), protocol=checked,  # type: ignore[arg-type]
                            logger=logging.getLogger("pygls.io_"), error_handler=checked.on_error)
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
