"""The upstream fault matrix: every fault the Messages API can throw at an inline completion, a code action
(haiku.fixDiagnostic) and a whole-file refactor, played by the fake API to the real server over LSP.

For each: every request answered exactly once, nothing applied, nothing cached (the same request after
the upstream recovered calls it again), one message per episode (not one per keystroke), inline calls
held back by the circuit breaker, and the next request works once the upstream is back."""

from __future__ import annotations

import asyncio
import itertools
import json
import time

import pytest
from lsprotocol import types

from tests.e2e.test_actions import CALC, UNUSED_X
from tests.e2e.test_inline import SAMPLE, responses_since, wait_for
from tests.e2e.test_refactor import MODULE, PLAN, TESTS, WORKERS
from tests.fakes.anthropic_api import Fault, Reply
from tests.harness import end_of, items_of, text_of

GOOD_LINE = "rt(dx * dx + dy * dy)"
FIX = {"replacement": "def unused():\n    return 2", "explanation": "Removed the unused variable."}

# name -> how the failing upstream answers (given the good answer's text), and what the inline breaker does
FAULTS = {
    "429 retry-after": lambda text: Reply(fault=Fault.status(429, retry_after=1.5)),
    "529 overloaded": lambda text: Reply(fault=Fault.status(529)),
    "500": lambda text: Reply(fault=Fault.status(500)),
    "401 bad key": lambda text: Reply(fault=Fault.status(401)),
    "stall mid-stream": lambda text: Reply(text=text, chunk_chars=4, fault=Fault.stall(4, 30.0)),
    "dropped mid-stream": lambda text: Reply(text=text, chunk_chars=4, fault=Fault.drop(4)),
    "malformed SSE": lambda text: Reply(text=text, chunk_chars=4, fault=Fault.malformed(4)),
    "error event": lambda text: Reply(text=text, chunk_chars=4, fault=Fault.error_event(4, type="api_error")),
    "max_tokens cut": lambda text: Reply(text=text[: len(text) // 2], stop_reason="max_tokens"),
    "refusal": lambda text: Reply(text=text[:3], stop_reason="refusal"),
}
# Opens the breaker at the first failure (slow down, or a key that will not pass by itself).
AT_ONCE = {"429 retry-after", "529 overloaded", "401 bad key"}
OPTIONS = {"inlineTimeoutMs": 1500, "actionTimeoutS": 2}


class Upstream:
    """The fake's replies: `bad(text)` while down, `good(body)` once recovered."""

    def __init__(self, fake, bad, good) -> None:
        self.down = True
        self.calls_while_down = 0
        fake.script(self._reply)
        self._bad, self._good = bad, good

    def _reply(self, body: dict) -> Reply:
        good = self._good(body)
        if not self.down:
            return good
        self.calls_while_down += 1
        return self._bad(good.text)


def shown(s) -> list[str]:
    return [m.message for m in s.client.messages]


async def until(predicate, timeout: float = 20.0, every: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(every)


@pytest.mark.parametrize("fault", [f for f in FAULTS if f != "max_tokens cut"])  # cut lines are a normal answer
async def test_inline_completions_through_an_upstream_fault(start_session, fake_anthropic, fault):
    upstream = Upstream(fake_anthropic, FAULTS[fault], lambda body: Reply(text=GOOD_LINE))
    s = await start_session(init_options=OPTIONS)
    before = set(s.protocol.responses)
    uri = s.open("geo.py", SAMPLE)
    where = end_of(SAMPLE, "return math.sq")

    # Twelve keystrokes' worth of requests while the upstream fails: all answered, none with an item.
    for _ in range(12):
        assert items_of(await s.inline(uri, where)) == []
    if fault == "refusal":  # not the upstream failing: no back-off, no episode, never cached
        assert upstream.calls_while_down == 12
    else:
        assert upstream.calls_while_down == (1 if fault in AT_ONCE else 3)
        await wait_for(lambda: any("paused" in m for m in shown(s)))
        [paused] = [m for m in shown(s) if "paused" in m]
        assert "inline completions paused" in paused
        state = "rate-limited" if fault in ("429 retry-after", "529 overloaded") else "error"
        # One paused state while it lasts (haiku/status also reports "ready" with the day's cost before it).
        assert [k for k, _ in itertools.groupby(st["state"] for st in s.statuses if st["state"] != "ready")] == [state]

    # The upstream recovers: the same request (so the same cache key) calls it again and gets the line.
    upstream.down = False
    calls = len(fake_anthropic.message_requests)
    if fault == "401 bad key":
        s.configure({**OPTIONS, "debounceMs": 30})  # the user fixed the key: a settings change retries at once

    async def answered():
        return items_of(await s.inline(uri, where))

    items = await until(answered)
    assert [text_of(i) for i in items] == [GOOD_LINE]
    assert len(fake_anthropic.message_requests) == calls + 1  # one probe, not one call per try
    if fault != "refusal":
        await wait_for(lambda: any("resumed" in m for m in shown(s)))
        assert sum("paused" in m for m in shown(s)) == 1 and sum("resumed" in m for m in shown(s)) == 1
        assert s.statuses[-1]["state"] == "ready"
    else:
        assert not any("paused" in m or "resumed" in m for m in shown(s))
    assert all(n == 1 for n in responses_since(s, before).values())
    assert len(responses_since(s, before)) >= 13
    # Still answering, and from the cache now that a real answer was stored.
    assert [text_of(i) for i in items_of(await s.inline(uri, where))] == [GOOD_LINE]
    assert len(fake_anthropic.message_requests) == calls + 1


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_code_action_through_an_upstream_fault(start_session, fake_anthropic, fault):
    upstream = Upstream(fake_anthropic, FAULTS[fault], lambda body: Reply(text=json.dumps(FIX)))
    s = await start_session(init_options=OPTIONS)
    before = set(s.protocol.responses)
    uri = s.open("calc.py", CALC)
    result = await s.command("haiku.fixDiagnostic", uri, UNUSED_X)
    assert result["status"] == "error", result
    assert s.applied_edits == [] and upstream.calls_while_down >= 1
    errors = [m.message for m in s.client.messages if m.type in (types.MessageType.Error, types.MessageType.Warning)]
    assert len(errors) == 1, errors
    assert "nothing was changed" in errors[0] or "JSON" in errors[0]

    upstream.down = False
    calls = len(fake_anthropic.message_requests)
    result = await s.command("haiku.fixDiagnostic", uri, UNUSED_X)
    assert result["status"] == "applied", result
    assert len(fake_anthropic.message_requests) == calls + 1  # asked again: the failure was not cached
    assert all(n == 1 for n in responses_since(s, before).values())
    [edit] = s.applied_edits
    assert edit.edit.document_changes[0].edits[0].new_text == FIX["replacement"]


@pytest.mark.parametrize("fault", list(FAULTS))
async def test_a_refactor_through_an_upstream_fault(start_session, fake_anthropic, workspace, fault):
    def good(body: dict) -> Reply:
        if body["model"] == "claude-sonnet-4-6":
            return Reply(text=json.dumps(PLAN))
        sid = "s1" if "Subtask s1:" in json.dumps(body["messages"]) else "s2"
        return Reply(text=json.dumps(WORKERS[sid]))

    upstream = Upstream(fake_anthropic, FAULTS[fault], good)
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_calc.py").write_text(TESTS)  # validated by the module's own tests
    (workspace / "calc.py").write_text(MODULE)
    s = await start_session(init_options=OPTIONS)
    before = set(s.protocol.responses)
    uri = s.open("calc.py", MODULE)
    result = await s.command("haiku.refactorFile", uri, "add type hints")
    assert result["status"] != "applied", result
    assert s.applied_edits == [] and s.text(uri) == MODULE
    errors = [m for m in s.client.messages if m.type in (types.MessageType.Error, types.MessageType.Warning)]
    assert len(errors) == 1, [m.message for m in errors]

    upstream.down = False
    calls = len(fake_anthropic.message_requests)
    result = await s.command("haiku.refactorFile", uri, "add type hints")
    assert result["status"] == "applied", result
    assert len(fake_anthropic.message_requests) == calls + 3  # planner and two workers: nothing cached
    [edit] = s.applied_edits
    assert "def add(a: int, b: int) -> int:" in "\n".join(e.new_text for e in edit.edit.document_changes[0].edits)
    assert all(n == 1 for n in responses_since(s, before).values())
