"""bench/inline.py, section 3: typing a 20-character burst into a shown suggestion; upstream requests
and tokens against a naive client that asks at every keystroke."""

from __future__ import annotations

import asyncio
import json
import random

from _common import med, met, ms, pct, table  # bench/ is on sys.path when run
from inline_common import BareClient, Bench, Lsp, decoder_document, input_tokens

from tests.fakes.anthropic_api import Reply
from tests.harness import item_texts

BURST_PREFIX = "            value, "
BURST_ANSWER = "end = scan_once(s, end)"


def with_typed(body: dict, typed: str) -> dict:
    """The request body for the state where `typed` was typed at the hole."""
    body = json.loads(json.dumps(body))
    user = body["messages"][0]["content"]
    body["messages"][0]["content"] = user.replace("<HOLE/>", typed + "<HOLE/>", 1)
    return body


async def typing_bursts(bench: Bench, lsp: Lsp) -> None:
    """On the restarted server (default debounce), burst after burst."""
    print(f"[typing] {bench.cfg.bursts} bursts of 20 keystrokes", flush=True)
    lsp.configure({"debounceMs": 120, "debounceMinMs": 40, "debounceMaxMs": 400})
    lines, cursor = decoder_document(occurrence=0)
    uri = (bench.ws / "burst.py").as_uri()
    lines[cursor] = BURST_PREFIX
    lsp.open(uri, "\n".join(lines))
    col = len(BURST_PREFIX)
    rng = random.Random(7)
    keys = 20
    haiku_requests = haiku_out = haiku_in = 0
    naive_bodies: list[tuple[dict, str]] = []
    keystroke_rt: list[float] = []
    wrong: list[str] = []
    for burst in range(bench.cfg.bursts):
        lsp.set_line(uri, cursor - 1, f"            # burst {burst}")
        lsp.set_line(uri, cursor, BURST_PREFIX)
        bench.holder.reply = Reply(text=BURST_ANSWER, ttft=0.25, chunk_chars=4, chunk_delay=0.01)
        await asyncio.sleep(0.5)  # a pause before the suggestion
        before = len(bench.fake.message_requests)
        _, _, texts = await lsp.complete(uri, cursor, col)
        if texts != [BURST_ANSWER]:
            wrong.append(f"burst {burst} initial: {texts!r}")
        futures = []
        for k in range(1, keys + 1):
            await asyncio.sleep(rng.uniform(0.06, 0.12))
            lsp.type(uri, cursor, col + k - 1, BURST_ANSWER[k - 1])
            futures.append((k, lsp.inline_at(uri, cursor, col + k, invoked=False)))
        for k, pending in futures:
            texts = item_texts(await pending.wait(10))
            keystroke_rt.append(pending.seconds)
            if texts != [BURST_ANSWER[k:]]:
                wrong.append(f"burst {burst} key {k}: {texts!r}")
        await asyncio.sleep(0.2)
        recs = bench.new_requests(before)
        haiku_requests += len(recs)
        haiku_out += sum(r.output_tokens for r in recs)
        haiku_in += sum(input_tokens(r) for r in recs)
        body = recs[0].body
        naive_bodies += [(with_typed(body, BURST_ANSWER[:k]), BURST_ANSWER[k:]) for k in range(keys + 1)]
    # The naive server: one request per keystroke (and the first), each with its state's prompt.
    bare = BareClient(bench.base_env)
    await bare.start()
    before = len(bench.fake.message_requests)
    for body, rest in naive_bodies:
        bench.holder.reply = Reply(text=rest, ttft=0.0, chunk_chars=4, chunk_delay=0.0)
        await bare.stream(body)
    await bare.stop()
    recs = bench.new_requests(before)
    naive_requests, naive_out = len(recs), sum(r.output_tokens for r in recs)
    naive_in = sum(input_tokens(r) for r in recs)
    if wrong:
        bench.report.notes.append("Unexpected answers while typing: " + "; ".join(wrong[:5]))
    b = bench.cfg.bursts
    extra = haiku_requests - b
    rows = [
        ["naive: a request per keystroke (bare SDK calls), baseline", f"{naive_requests / b:.1f}",
         f"{naive_requests / b - 1:.1f}", f"{naive_out / b:.0f}", f"{naive_in / b:.0f}", "", ""],
        ["haiku-lsp", f"{haiku_requests / b:.1f}", f"{extra / b:.1f}", f"{haiku_out / b:.0f}",
         f"{haiku_in / b:.0f}", "0 extra requests", met(extra == 0)],
    ]
    bench.report.goal(3, "extra upstream requests while typing 20 characters into a suggestion",
                      f"{extra / b:.1f}", f"naive: {naive_requests / b - 1:.0f}", "0", extra == 0)
    bench.report.add(
        "3. Typing a 20-character burst into a shown suggestion",
        f"{b} bursts (per-burst averages below). Each: an automatic request shows "
        f"{BURST_ANSWER!r} (ttft 250 ms, streamed), then 20 of its characters are typed at 60-120 ms "
        "a key (seeded), each keystroke a `didChange` plus an Automatic inline request; default debounce "
        "settings. The naive baseline sends the first request and one per keystroke with the prompt "
        "of that state, and reads each answer to the end.\n\n"
        + table(["Per burst", "upstream requests", "extra for the burst", "output tokens", "input tokens",
                 "Target", "Met"], rows)
        + f"\n\nhaiku-lsp answered the {len(keystroke_rt)} keystroke requests in "
        f"{ms(med(keystroke_rt))} ms median, {ms(pct(keystroke_rt, 95))} ms p95 (typed-ahead).")
