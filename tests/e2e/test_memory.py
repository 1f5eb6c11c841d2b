"""Memory housekeeping: parso's parser cache stays small, what start-up imported is frozen out of
Python's full garbage collections (they stop the event loop while they scan), and a finished
completion leaves its prompt behind nowhere."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import weakref

import jedi
from parso.cache import parser_cache

from haiku_lsp.completion import CompletionEngine, CompletionQuery
from haiku_lsp.llm.cache import Cache
from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import trim_parser_cache
from haiku_lsp.settings import Settings
from tests.fakes.anthropic_api import Reply
from tests.harness import end_of


def test_the_parser_cache_keeps_two_documents_and_the_stubs_in_use(tmp_path):
    for i in range(5):
        path = tmp_path / f"m{i}.py"
        code = f"def f{i}(x):\n    return str(x).upper()\n"
        path.write_text(code)
        jedi.Script(code, path=path).infer(2, len("    return str(x).up"))
    ours = [k for items in parser_cache.values() for k in items if str(k).startswith(str(tmp_path))]
    assert len(ours) == 5
    trim_parser_cache()
    kept = [k for items in parser_cache.values() for k in items]
    assert sorted(str(k) for k in kept if str(k).startswith(str(tmp_path))) == [
        str(tmp_path / "m3.py"), str(tmp_path / "m4.py")]  # the two used last
    stubs = [k for k in kept if str(k).endswith(".pyi")]
    assert any(str(k).endswith("builtins.pyi") for k in stubs)  # the library stays
    assert all(len(items) <= 2 + 2 + 8 for items in parser_cache.values())


async def test_start_up_objects_are_frozen_once_the_sdk_is_imported(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text="rt(dx * dx + dy * dy)"))
    s = await start_session()
    text = "import math\n\n\ndef dist(dx, dy):\n    return math.sq"
    uri = s.open("geo.py", text)
    await s.inline(uri, end_of(text, "math.sq"), invoked=True)  # waits for the SDK import
    deadline = time.monotonic() + 30
    while True:
        stats = await s.command("haiku.showStats")
        if stats["process"]["gcFrozenObjects"] > 50_000 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert stats["process"]["gcFrozenObjects"] > 50_000
    assert stats["process"]["rssMiB"] > 10


class _Stream:
    def __init__(self, chunks: list[str]) -> None:
        self.chunks, self.finished = chunks, False
        self.stop_reason: str | None = None  # the Provider protocol's TextStream has one

    async def __aiter__(self):
        for chunk in self.chunks:
            yield chunk
        self.finished = True


class _Provider:
    """Answers every stream with `rt(x)` and remembers the requests it got, weakly."""

    available = True

    def __init__(self) -> None:
        self.requests: list[weakref.ref] = []

    async def ready(self) -> None:
        pass

    @contextlib.asynccontextmanager
    async def stream(self, request, *, timeout, inline=True):
        self.requests.append(weakref.ref(request))
        yield _Stream(["<COMPLETION>rt(x)</COMPLETION>"])


async def test_a_finished_completion_leaves_no_prompt_in_memory(tmp_path):
    # The prompt holds the user's code around the cursor: once answered, nothing should keep it alive.
    provider = _Provider()
    engine = CompletionEngine(provider, Cache(tmp_path / "cache"), Settings, IgnoreRules)
    try:
        lines = ["import math", "", "def root(x):", "    return math.sq"]
        items = await engine.complete(CompletionQuery("file:///m.py", lines, 3, len(lines[3]), invoked=True))
        assert [i.text for i in items] == ["rt(x)"] and len(provider.requests) == 1
        await asyncio.sleep(0)  # the cache write scheduled after the answer
        gc.collect()
        assert provider.requests[0]() is None
    finally:
        engine.close()
