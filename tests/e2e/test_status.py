"""`haiku/status`: the server tells the editor its state and today's spend, on change (a status bar)."""

from __future__ import annotations

import asyncio
import time

from tests.fakes.anthropic_api import Fault, Reply

GEO = "import math\n\n\ndef distance(dx, dy):\n    return math.sq\n"


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def spent(status: dict) -> float:
    return status["today"]["usd"]


async def test_ready_then_todays_cost_after_a_completion(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session()
    await wait_for(lambda: s.statuses)
    first = s.statuses[0]
    assert first["state"] == "ready" and first["models"]["fast"] == "claude-haiku-4-5", first
    assert first["today"] == {"usd": 0.0, "inputTokens": 0, "outputTokens": 0, "calls": 0}, first
    uri = s.open("geo.py", GEO)
    await s.inline(uri, s.position(uri, 4, len("    return math.sq")), invoked=True)
    await wait_for(lambda: spent(s.statuses[-1]) > 0)
    last = s.statuses[-1]
    [req] = fake_anthropic.message_requests
    assert last["today"]["calls"] == 1 and last["session"]["calls"] == 1, last
    assert last["today"]["outputTokens"] > 0 and last["state"] == "ready", last
    # Only changes are sent: nothing new while nothing happens.
    count = len(s.statuses)
    await asyncio.sleep(1.2)
    assert len(s.statuses) == count


async def test_todays_cost_adds_up_across_servers(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    first = await start_session()
    uri = first.open("geo.py", GEO)
    await first.inline(uri, first.position(uri, 4, len("    return math.sq")), invoked=True)
    await wait_for(lambda: first.statuses and spent(first.statuses[-1]) > 0)
    second = await start_session(init_options={"cacheEnabled": False})  # same cache dir, so the same day file
    await wait_for(lambda: second.statuses)
    assert spent(second.statuses[-1]) == spent(first.statuses[-1]) and second.statuses[-1]["session"]["calls"] == 0


async def test_offline_and_rate_limited_states(start_session, fake_anthropic):
    offline = await start_session(key=False)
    await wait_for(lambda: offline.statuses)
    assert offline.statuses[-1]["state"] == "offline" and "ANTHROPIC_API_KEY" in offline.statuses[-1]["message"]

    fake_anthropic.script(Reply(fault=Fault.status(429, retry_after=0)))
    s = await start_session()
    uri = s.open("geo.py", GEO)
    await s.inline(uri, s.position(uri, 4, len("    return math.sq")), invoked=True)
    await wait_for(lambda: s.statuses and s.statuses[-1]["state"] == "rate-limited")


async def test_acceptance_is_counted_from_the_items_command_and_copilots_notifications(start_session,
                                                                                      fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session()
    uri = s.open("geo.py", GEO)
    result = await s.inline(uri, s.position(uri, 4, len("    return math.sq")), invoked=True)
    [item] = result.items
    assert item.command is not None and item.command.command == "haiku.didAcceptCompletion"
    s.client.protocol.notify("textDocument/didShowCompletion", {"item": {"insertText": item.insert_text}})
    await s.command(item.command.command, *item.command.arguments)  # what the editor runs on accept
    s.client.protocol.notify("textDocument/didPartiallyAcceptCompletion",
                             {"item": {"insertText": item.insert_text}, "acceptedLength": 3})
    stats = await s.command("haiku.showStats")
    assert stats["acceptance"] == {"offered": 1, "shown": 1, "accepted": 1, "partiallyAccepted": 1,
                                   "acceptedChars": len("rt(dx * dx + dy * dy)") + 3, "rate": 1.0}, stats
