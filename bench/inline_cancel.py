"""bench/inline.py, section 4: `$/cancelRequest` to the upstream stream closed (the fake's own record
of the connection's end)."""

from __future__ import annotations

import asyncio
import time

from _common import med, met, ms, pct, table  # bench/ is on sys.path when run
from inline_common import CURSOR_PREFIX, Bench, Lsp, decoder_document

from tests.fakes.anthropic_api import Reply


async def cancel(bench: Bench, lsp: Lsp) -> None:
    print(f"[cancel] {bench.cfg.cancels} cancels of a slow stream", flush=True)
    lines, cursor = decoder_document()
    uri = (bench.ws / "cancel.py").as_uri()
    lsp.open(uri, "\n".join(lines))
    col = len(CURSOR_PREFIX)
    bench.holder.reply = Reply(text="ce(s, end)" + " " * 40 + "# " + "x" * 200, ttft=0.05, chunk_chars=2,
                               chunk_delay=0.2)
    delays: list[float] = []
    missing = 0
    for i in range(bench.cfg.cancels + 2):
        lsp.set_line(uri, cursor - 1, f"            # cancel {i}")
        before = len(bench.fake.message_requests)
        pending = lsp.inline_at(uri, cursor, col, invoked=True)
        await bench.fake.wait_for_requests_async(before + 1)
        rec = bench.fake.message_requests[before]
        deadline = time.monotonic() + 5
        while rec.first_delta_at is None and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.01)
        t_cancel = time.monotonic()
        lsp.cancel(pending.msg_id)
        try:
            closed = await bench.fake.wait_until_closed_async(rec, 5)
        except TimeoutError:
            missing += 1
            closed = None
        try:
            await pending.wait(5)
        except Exception:  # noqa: S110 - a RequestCancelled error is the expected answer
            pass
        if i >= 2 and closed is not None and rec.client_closed_at is not None:
            delays.append(closed - t_cancel)
        elif i >= 2:
            missing += 1
    rows = [["`$/cancelRequest` sent -> upstream connection closed (fake's `client_closed_at`)",
             ms(med(delays)), ms(pct(delays, 95)), ms(max(delays)) if delays else "-", "< 100 ms median",
             met(bool(delays) and med(delays) < 0.1)]]
    bench.report.goal(4, "`$/cancelRequest` -> upstream stream closed, median", ms(med(delays)) + " ms",
                      "", "< 100 ms", bool(delays) and med(delays) < 0.1)
    bench.report.add(
        "4. Cancel to upstream close",
        f"{len(delays)} runs (2 warm-up runs dropped"
        f"{f', {missing} streams not closed' if missing else ''}): "
        "an Invoked request on a slow stream (2 characters every 200 ms); `$/cancelRequest` 10 ms after "
        "the first delta; both timestamps time.monotonic().\n\n"
        + table(["Measure", "median ms", "p95 ms", "max ms", "Target", "Met"], rows))
