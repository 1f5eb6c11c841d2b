"""jedi context for completions: definitions of the names used near the cursor.

Resolutions are remembered per document and name (typing rarely changes where a name is defined), so
only new names cost jedi work, on the one jedi thread. A request that needs names already being
resolved waits on that job instead of queueing the same work again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING

from haiku_lsp.completion.context import imported_names, names_near, resolve_names, select_snippets
from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import MAX_SOURCE_CHARS

if TYPE_CHECKING:
    from haiku_lsp.completion.query import CompletionQuery

log = logging.getLogger(__name__)

NAME_TTL_S = 120.0  # a remembered resolution is refreshed after this long
MAX_DOCUMENTS = 64  # documents whose resolutions are remembered (kept when a document is closed)


class NameContext:
    def __init__(self, executor: Executor, ignore: Callable[[], IgnoreRules]) -> None:
        self._executor = executor
        self._ignore = ignore
        # uri -> name -> (Resolved | None, monotonic time of the resolution)
        self._known: dict[str, dict] = {}
        # uri -> (names, future) of the resolutions running for that document
        self._running: dict[str, list[tuple[frozenset, asyncio.Future]]] = {}
        self.jobs = 0  # resolutions started on the jedi thread
        self._superseded: threading.Event | None = None  # set to skip the latest didOpen resolution

    def forget_all(self) -> None:
        """A saved file may move definitions: resolve names afresh."""
        self._known.clear()

    async def snippets(self, q: CompletionQuery, max_tokens: int, wait_s: float) -> tuple:
        """Snippets for the prompt; new names get up to `wait_s` (the debounce overlaps it) and
        otherwise fill in for the next request."""
        if max_tokens <= 0 or q.language != "python":
            return ()
        names = names_near(q.lines, q.line, q.col)[:10]
        now = time.monotonic()
        known = self._known_for(q.uri)
        missing = [n for n in names if n not in known or now - known[n][1] > NAME_TTL_S]
        if missing:
            running = self._running.get(q.uri, [])
            waits = [fut for busy, fut in running if busy.intersection(missing)]
            busy_names = set().union(*(busy for busy, _ in running))
            if new := [n for n in missing if n not in busy_names]:
                waits.append(self._resolve(q, known, new))
            both = asyncio.gather(*waits)
            both.add_done_callback(lambda f: f.cancelled() or f.exception())  # failures: logged below or moot
            try:
                await asyncio.wait_for(asyncio.shield(both), wait_s)
                await asyncio.sleep(0)  # let `remember` run
            except TimeoutError:
                log.debug("jedi context for %s over its time budget; sent without it", missing)
            except Exception as err:
                log.debug("jedi context failed: %s", err)
        resolved = {n: known[n][0] for n in names if n in known}
        return select_snippets(resolved, names, q.path, max(0, q.line - 60), q.line + 20, max_tokens)

    def prefetch(self, q: CompletionQuery) -> None:
        """Resolve what the document imports, in the background (after it is opened): the first
        completion in it then finds the definitions of the names it calls ready."""
        positions = imported_names(q.lines)
        known = self._known_for(q.uri)
        now = time.monotonic()
        busy = set().union(*(names for names, _ in self._running.get(q.uri, [])))
        missing = [n for n in positions if n not in busy and (n not in known or now - known[n][1] > NAME_TTL_S)]
        if missing:
            # One at a time: when an editor restores many tabs at once, only the latest opened document
            # is worth the jedi thread's time (and parser memory); one still queued is skipped (it resolves
            # nothing, so a request waiting on it goes on at once).
            if self._superseded is not None:
                self._superseded.set()
            self._superseded = threading.Event()
            fut = self._resolve(q, known, missing, positions, self._superseded)
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())

    def _known_for(self, uri: str) -> dict:
        known = self._known.get(uri)
        if known is None:
            known = self._known[uri] = {}
            while len(self._known) > MAX_DOCUMENTS:
                self._known.pop(next(iter(self._known)))
        return known

    def _resolve(self, q: CompletionQuery, known: dict, missing: list[str],
                 positions: dict[str, tuple[int, int]] | None = None,
                 skip: threading.Event | None = None) -> asyncio.Future:
        """Start resolving `missing` on the jedi thread; the results land in `known` when done."""
        self.jobs += 1
        source = "\n".join(q.lines)
        ignore = self._ignore()
        def work() -> dict:
            if (skip is not None and skip.is_set()) or len(source) > MAX_SOURCE_CHARS:
                return {}
            return resolve_names(source, q.path, q.root, q.line, q.col, missing, ignore, positions)

        fut = asyncio.get_running_loop().run_in_executor(self._executor, work)
        entry = (frozenset(missing), fut)
        self._running.setdefault(q.uri, []).append(entry)

        def remember(f: asyncio.Future) -> None:
            running = self._running.get(q.uri, [])
            if entry in running:
                running.remove(entry)
            if not running:
                self._running.pop(q.uri, None)
            if not f.cancelled() and f.exception() is None:
                stamp = time.monotonic()
                known.update({n: (r, stamp) for n, r in f.result().items()})

        fut.add_done_callback(remember)
        return fut
