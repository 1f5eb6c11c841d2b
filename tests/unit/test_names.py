"""The jedi name context's bookkeeping (jedi itself replaced, and the worker process by an in-process
channel: unit tests start no process)."""

from __future__ import annotations

import asyncio
import threading
import time

from haiku_lsp.completion import CompletionQuery
from haiku_lsp.completion import names as names_module
from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import JediWorker
from tests.unit.test_jedi_worker import ThreadChannel


async def test_a_newer_open_skips_a_prefetch_still_queued(monkeypatch):
    """When an editor restores many tabs at once, only the latest opened document is resolved (besides
    one already running): the jedi thread and its parser memory are not spent on every tab."""
    calls: list[str] = []
    gate = threading.Event()

    def resolve(source, path, root, line, col, missing, ignore, positions=None):
        calls.append(path)
        gate.wait(5)
        return {n: None for n in missing}

    monkeypatch.setattr(names_module, "resolve_names", resolve)
    worker = JediWorker(ThreadChannel.start)
    context = names_module.NameContext(worker, IgnoreRules)

    def opened(i: int) -> CompletionQuery:
        return CompletionQuery(f"file:///m{i}.py", ["import os", "from shop import Cart"], 0, 0, invoked=False,
                               path=f"/ws/m{i}.py")

    try:
        context.prefetch(opened(1))
        deadline = time.monotonic() + 5
        while not calls:  # m1 is running in the jedi worker
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        context.prefetch(opened(2))  # queued behind m1 ...
        context.prefetch(opened(3))  # ... and superseded by m3
        gate.set()
        # A call queued behind them all has its turn once every earlier one has run (or been skipped).
        await worker.call(len, "", size=0, timeout=5)
        assert calls == ["/ws/m1.py", "/ws/m3.py"]
        assert worker.stats()["small"]["skipped"] == 1
    finally:
        gate.set()
        await worker.aclose()


class _KeyedProvider:
    """Just enough of a Provider for the engine's bookkeeping: it has a key, makes no call."""

    available = True


def test_only_python_documents_of_a_reasonable_size_are_resolved_on_open(tmp_path):
    from haiku_lsp.completion import CompletionEngine
    from haiku_lsp.completion.engine import MAX_PREFETCH_CHARS
    from haiku_lsp.llm.cache import Cache
    from haiku_lsp.settings import Settings

    engine = CompletionEngine(_KeyedProvider(), Cache(tmp_path / "cache"), Settings, IgnoreRules)
    opened: list[str] = []
    engine.names.prefetch = lambda q: opened.append(q.uri)
    try:
        engine.note_open("file:///a.py", "import os\n", "/ws/a.py", "/ws", "python")
        engine.note_open("file:///b.txt", "import os\n", "/ws/b.txt", "/ws", "plaintext")
        engine.note_open("file:///huge.py", "import os\n" + "x = 1\n" * (MAX_PREFETCH_CHARS // 6 + 1),
                         "/ws/huge.py", "/ws", "python")
        assert opened == ["file:///a.py"]
    finally:
        engine.close()


def test_names_at_an_edit_are_those_of_its_line_and_the_two_above():
    lines = ["import os", "total = 0  # running sum", "for item in cart.items:", "    total += price(item)", "x = 1"]
    assert names_module.names_at(lines, 3) == {
        "total": (3, 4), "item": (3, 19), "cart": (2, 12), "items": (2, 17), "price": (3, 13)}


async def test_a_refresh_resolves_the_imports_and_the_names_near_the_edits_once(monkeypatch):
    resolved: list[tuple[str, ...]] = []

    def resolve(source, path, root, line, col, missing, ignore, positions=None):
        resolved.append(tuple(sorted(missing)))
        assert positions is not None and all(n in positions for n in missing)
        return {n: None for n in missing}

    monkeypatch.setattr(names_module, "resolve_names", resolve)
    worker = JediWorker(ThreadChannel.start)
    context = names_module.NameContext(worker, IgnoreRules)
    lines = ["from shop import Cart", "", "def total(cart):", "    return cart.sum(", ""]
    q = CompletionQuery("file:///m.py", lines, 0, 0, invoked=False, path="/ws/m.py")
    try:
        context.refresh(q, [3])
        await worker.call(len, "", size=0, timeout=5)  # behind the refresh: it has run
        context.refresh(q, [3])  # nothing new: no second job
        await worker.call(len, "", size=0, timeout=5)
        assert resolved == [("Cart", "cart", "sum", "total")]
    finally:
        await worker.aclose()


# The adaptive debounce learns from how often suggestions are accepted (bookkeeping, no calls).
def test_someone_who_rarely_accepts_waits_longer_before_a_request(tmp_path):
    from haiku_lsp.completion import CompletionEngine
    from haiku_lsp.completion.debounce import ACCEPTANCE_SAMPLE
    from haiku_lsp.llm.cache import Cache
    from haiku_lsp.settings import Settings

    engine = CompletionEngine(_KeyedProvider(), Cache(tmp_path / "cache"), Settings, IgnoreRules)
    try:
        base = engine.debounce_s("file:///a.py")
        engine.note_acceptance(ACCEPTANCE_SAMPLE - 1, 0)
        assert engine.debounce_s("file:///a.py") == base  # too few suggestions to tell
        engine.note_acceptance(ACCEPTANCE_SAMPLE, ACCEPTANCE_SAMPLE // 2)
        assert engine.debounce_s("file:///a.py") == base  # accepts often: no change
        engine.note_acceptance(ACCEPTANCE_SAMPLE * 2, 1)
        slower = engine.debounce_s("file:///a.py")
        assert base < slower <= min(2 * base, Settings().debounce_max_ms / 1000)
        engine.note_acceptance(ACCEPTANCE_SAMPLE * 2, 0)
        assert engine.debounce_s("file:///a.py") >= slower  # never accepts: the longest wait
    finally:
        engine.close()


async def test_a_documents_remembered_names_are_bounded_the_least_recently_resolved_dropped(monkeypatch):
    """Every half-typed word is a name to resolve: a long session must not remember them all."""
    def resolve(source, path, root, line, col, missing, ignore, positions=None):
        return {n: None for n in missing}

    monkeypatch.setattr(names_module, "resolve_names", resolve)
    monkeypatch.setattr(names_module, "MAX_NAMES", 20)
    worker = JediWorker(ThreadChannel.start)
    context = names_module.NameContext(worker, IgnoreRules)
    try:
        for i in range(60):
            q = CompletionQuery("file:///m.py", ["import os", f"os.path{i}"], 1, len(f"os.path{i}"), invoked=False,
                                path="/ws/m.py")
            await context._resolve(q, context._known_for(q.uri), ["os", f"path{i}"])
        known = context._known_for("file:///m.py")
        assert len(known) == 20
        assert "os" in known and "path59" in known and "path0" not in known  # "os", resolved again each time, stays
    finally:
        await worker.aclose()


async def test_builtins_and_standard_library_imports_are_never_resolved(monkeypatch):
    """The model knows `len` and `os.path`, and their definitions are never sent: jedi is not asked about
    them, so the names it is asked about at a request are the project's. A builtin name the module imports
    from the project (`from .compat import open`) is resolved like any other."""
    asked: list[list[str]] = []

    def resolve(source, path, root, line, col, missing, ignore, positions=None):
        asked.append(sorted(missing))
        return {n: None for n in missing}

    monkeypatch.setattr(names_module, "resolve_names", resolve)
    worker = JediWorker(ThreadChannel.start)
    context = names_module.NameContext(worker, IgnoreRules)
    lines = ["import os", "from typing import cast as c", "from .compat import open", "from .shop import Cart", "",
             "def total(items):", "    n = len(os.listdir(c(str, open(Cart(items)))))", "    return n"]
    try:
        q = CompletionQuery("file:///m.py", lines, 7, len(lines[7]), invoked=True, path="/ws/m.py")
        await context.snippets(q, 500, 5.0)
        # (`listdir` is an attribute and `compat`, `shop` the project's modules: names as jedi sees them.)
        assert asked == [["Cart", "compat", "items", "listdir", "n", "open", "shop", "total"]]
    finally:
        await worker.aclose()


async def test_names_whose_resolution_overran_are_retried_soon_not_after_the_ttl(monkeypatch):
    """On a busy machine a cold jedi may overrun the deadline: those names are left unresolved for a short
    while (a request would only overrun again), then resolved again, not only after NAME_TTL_S."""
    asked: list[list[str]] = []
    slow = threading.Event()

    def resolve(source, path, root, line, col, missing, ignore, positions=None):
        asked.append(sorted(missing))
        if len(asked) == 1:
            slow.wait(5)  # the first resolution overruns its deadline
        return {n: None for n in missing}

    class Clock:  # the name context's clock, moved by hand (the worker keeps the real one)
        now = 1000.0

        @classmethod
        def monotonic(cls) -> float:
            return cls.now

    monkeypatch.setattr(names_module, "resolve_names", resolve)
    monkeypatch.setattr(names_module, "RESOLVE_DEADLINE_S", 0.2)
    monkeypatch.setattr(names_module, "time", Clock)
    worker = JediWorker(ThreadChannel.start)
    context = names_module.NameContext(worker, IgnoreRules)
    q = CompletionQuery("file:///m.py", ["from .shop import Cart", "Cart("], 1, 5, invoked=True, path="/ws/m.py")
    try:
        await context.snippets(q, 500, 5.0)  # overruns: Cart is marked unresolved
        slow.set()
        Clock.now += names_module.RETRY_AFTER_TIMEOUT_S - 1
        await context.snippets(q, 500, 5.0)
        assert len(asked) == 1  # not retried at once: it would only overrun again
        Clock.now += 2  # past the retry time, long before NAME_TTL_S
        await context.snippets(q, 500, 5.0)
        assert asked == [["Cart", "shop"], ["Cart", "shop"]]
    finally:
        slow.set()
        await worker.aclose()


async def test_a_request_goes_on_as_soon_as_its_names_land_not_when_the_whole_resolution_ends(monkeypatch):
    """The worker publishes each name's resolution as soon as it has it: a request that needs `Cart` (being
    resolved in the background after the document was opened) need not wait for `slow`, resolved after it."""
    from haiku_lsp.completion.context import Resolved
    from haiku_lsp.python.jedi_wire import publish

    gate = threading.Event()
    cart = Resolved("/ws/shop.py", 0, "shop.py", "class Cart:\n    def add(self, item): ...", True)

    def resolve(source, path, root, line, col, missing, ignore, positions=None):
        out = {}
        for name in missing:
            if name == "slow":
                gate.wait(10)  # a big module being parsed
            out[name] = cart if name == "Cart" else None
            publish({name: out[name]})
        return out

    monkeypatch.setattr(names_module, "resolve_names", resolve)
    worker = JediWorker(ThreadChannel.start)
    context = names_module.NameContext(worker, IgnoreRules)
    lines = ["from shop import Cart", "from big import slow", *["# ..."] * 9, "Cart("]
    try:
        context.prefetch(CompletionQuery("file:///m.py", lines, 0, 0, invoked=False, path="/ws/m.py"))
        t0 = time.monotonic()
        q = CompletionQuery("file:///m.py", lines, 11, len("Cart("), invoked=False, path="/ws/m.py")
        snippets = await context.snippets(q, max_tokens=300, wait_s=5)
        assert time.monotonic() - t0 < 2  # not the 10 s `slow` takes
        assert [s.text for s in snippets] == [cart.text]
        assert not gate.is_set() and context.jobs == 1  # answered from the prefetch still running
    finally:
        gate.set()
        await worker.aclose()
