"""The baseline for bench/inline.py: a bare `anthropic.AsyncAnthropic` streaming call, nothing else.

Runs in its own process (like the language server), so it does not share a GIL with the fake API or
the benchmark's LSP client. Reads one JSON command per line on stdin, answers one JSON line each:

    {"body": {...}}   -> messages.create(**body, stream=True), read to the end of the stream
                         answer {"t0": ..., "t1": ..., "text": ...} (time.monotonic(), seconds)
    {"quit": true}    -> exit

ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY come from the environment, as for the server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time


async def main() -> None:
    import anthropic

    # Same client configuration as the server's inline client: no retries, per-call timeout.
    client = anthropic.AsyncAnthropic(max_retries=0)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": True}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        if command.get("quit"):
            break
        body = command["body"]
        t0 = time.monotonic()
        stream = await client.messages.create(**body, stream=True, timeout=5.0)
        parts = []
        async for event in stream:
            if event.type == "content_block_delta":
                text = getattr(event.delta, "text", None)
                if text:
                    parts.append(text)
        t1 = time.monotonic()
        print(json.dumps({"t0": t0, "t1": t1, "text": "".join(parts)}), flush=True)
    await client.close()


if __name__ == "__main__":
    asyncio.run(main())
