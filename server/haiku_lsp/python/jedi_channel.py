"""The pipe to one jedi worker process, as the server's lanes (`jedi_worker`) use it: a call sent, its answer
read back (the frames of `jedi_wire`), the process started, watched, killed and reaped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from haiku_lsp.python.jedi_wire import HEADER, PARTIAL, frame

log = logging.getLogger(__name__)

STARTUP_TIMEOUT_S = 60.0  # a worker not ready (jedi imported, builtins parsed) after this long is given up


class Channel(Protocol):
    """One worker: sends a call, returns (ok, result or error message); raises `ChannelClosed` when the
    worker is gone (`sent` on the exception: whether the call reached it)."""

    pid: int | None

    async def request(self, call_id: int, fn: Callable[..., Any], args: tuple,
                      on_partial: Callable[[Any], None] | None = None) -> tuple[bool, Any]: ...

    def alive(self) -> bool: ...

    def kill(self) -> None: ...

    async def wait(self) -> int | None: ...


class ChannelClosed(Exception):
    def __init__(self, message: str, *, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class ProcessChannel:
    """A worker process over pipes (the frames of `jedi_wire`). Started with `subprocess.Popen` and its
    pipes then watched by the event loop: asyncio's own subprocess start can hang for good when it is
    cancelled half-way (at the loop's end after an early `exit`, its pipes never connect); the process is
    reaped by polling."""

    def __init__(self, popen: subprocess.Popen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 read_transport: asyncio.BaseTransport) -> None:
        self.popen, self.reader, self.writer = popen, reader, writer
        self._read_transport = read_transport
        self.pid: int | None = popen.pid

    @classmethod
    async def start(cls) -> ProcessChannel:
        env = dict(os.environ)
        # The worker imports haiku_lsp from where this process did (a checkout run with PYTHONPATH, an install).
        here = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH", "")) if p)
        popen = subprocess.Popen([sys.executable, "-m", "haiku_lsp.python.jedi_process"], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, env=env)
        assert popen.stdin is not None and popen.stdout is not None
        loop = asyncio.get_running_loop()
        try:
            reader = asyncio.StreamReader()
            read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                             popen.stdout)
            write_transport, protocol = await loop.connect_write_pipe(
                lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()), popen.stdin)
        except BaseException:
            popen.kill()
            raise
        channel = cls(popen, reader, asyncio.StreamWriter(write_transport, protocol, None, loop), read_transport)
        try:  # an empty frame once it is ready
            ready = await asyncio.wait_for(reader.readexactly(HEADER.size), STARTUP_TIMEOUT_S)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError) as err:
            channel.kill()
            code = await channel.wait()
            raise OSError(f"the jedi worker (pid {popen.pid}) did not get ready (exit code {code})") from err
        except BaseException:
            channel.kill()
            raise
        if ready != HEADER.pack(0):  # pragma: no cover - not our worker
            channel.kill()
            raise OSError(f"the jedi worker (pid {popen.pid}) said {ready!r} instead of being ready")
        log.info("jedi worker ready (pid %d)", popen.pid)
        return channel

    async def request(self, call_id: int, fn: Callable[..., Any], args: tuple,
                      on_partial: Callable[[Any], None] | None = None) -> tuple[bool, Any]:
        """Send the call, hand what it publishes meanwhile to `on_partial`, return (ok, its answer)."""
        data = frame((call_id, fn, args))
        try:
            self.writer.write(data)
            await self.writer.drain()
        except (ConnectionError, RuntimeError) as err:  # the worker is gone (closed pipe)
            raise ChannelClosed(f"the jedi worker (pid {self.pid}) is gone: {err}", sent=False) from err
        received = False
        try:
            while True:
                while not (size := HEADER.unpack(await self.reader.readexactly(HEADER.size))[0]):
                    received = True  # the empty frame that acknowledges the call
                reply_id, ok, value = pickle.loads(await self.reader.readexactly(size))
                if ok != PARTIAL:
                    break
                if on_partial is not None and reply_id == call_id:
                    try:
                        on_partial(value)
                    except Exception:  # pragma: no cover - a bug of the caller must not lose the call
                        log.exception("jedi worker: a partial answer of %s", getattr(fn, "__name__", fn))
        except (asyncio.IncompleteReadError, ConnectionError) as err:
            code = await self._exit_code()
            when = "during the call" if received else "before it got the call"
            raise ChannelClosed(f"the jedi worker (pid {self.pid}) exited with {code} {when}",
                                sent=received) from err
        if reply_id != call_id:  # pragma: no cover - one call at a time: a bug
            raise ChannelClosed(f"the jedi worker answered call {reply_id} for {call_id}", sent=True)
        return ok, value

    async def _exit_code(self) -> int | None:
        try:
            return await asyncio.wait_for(self.wait(), 1.0)
        except TimeoutError:
            return None

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        if self.popen.poll() is None:
            try:
                self.popen.kill()
            except ProcessLookupError:
                pass
        self.writer.close()
        self._read_transport.close()

    async def wait(self) -> int | None:
        while (code := self.popen.poll()) is None:
            await asyncio.sleep(0.02)
        self.writer.close()
        self._read_transport.close()
        return code
