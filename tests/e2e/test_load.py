"""Load: two servers side by side on one cache directory (an editor with two windows, or two editors).
The long-running soak is a benchmark: bench/soak.py."""

from __future__ import annotations

import asyncio
import re

from tests.fakes.anthropic_api import Reply
from tests.harness import end_of, items_of, text_of

N = 40  # documents, each with its own answer


def document(i: int) -> str:
    return f"import math\n\n\ndef norm{i}(x):\n    return math.sq"


def answer(body: dict) -> Reply:
    found = re.search(r"def norm(\d+)\(x\)", str(body["messages"]))
    return Reply(text=f"rt(x * {found.group(1) if found else '?'})")


async def test_two_servers_on_one_cache_dir_write_and_read_each_others_entries(start_session, fake_anthropic,
                                                                              tmp_path):
    fake_anthropic.script(answer)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    a, b = [await start_session(args=("--log-file", str(log), "-v")) for log in logs]
    where = end_of(document(0), "math.sq")

    opened: dict[tuple[int, int], str] = {}

    async def complete(s, i: int) -> str:
        if (id(s), i) not in opened:
            opened[id(s), i] = s.open(f"norm{i}.py", document(i))
        uri = opened[id(s), i]
        [item] = items_of(await s.inline(uri, where, invoked=True))
        return text_of(item)

    async def run(s, ids) -> list[str]:
        return [await complete(s, i) for i in ids]

    # Side by side: each writes half of the entries, at the same time.
    evens, odds = await asyncio.gather(run(a, range(0, N, 2)), run(b, range(1, N, 2)))
    assert evens == [f"rt(x * {i})" for i in range(0, N, 2)] and odds == [f"rt(x * {i})" for i in range(1, N, 2)]
    assert len(fake_anthropic.message_requests) == N

    # Each reads the other's entries from disk (and its own from memory), again at the same time.
    first, second = await asyncio.gather(run(a, range(N)), run(b, range(N)))
    assert first == second == [f"rt(x * {i})" for i in range(N)]
    assert len(fake_anthropic.message_requests) == N  # not one entry lost

    for log in logs:
        text = log.read_text()
        assert "disk cache" not in text and "Traceback" not in text, text[-2000:]
