"""jedi context for completions: definitions of the names used near the cursor.

Resolutions are remembered per document and name (typing rarely changes where a name is defined), so
only new names cost jedi work, in the jedi worker process (`JediWorker`). A request that needs names
already being resolved waits on that job instead of queueing the same work again. Documents over
`MAX_CONTEXT_CHARS` are not resolved at all: jedi would take longer on them than any request waits.
"""

from __future__ import annotations

import asyncio
import keyword
import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from haiku_lsp.completion.context import (
    imported_names,
    known_to_the_model,
    names_near,
    resolve_names,
    select_snippets,
)
from haiku_lsp.errors import JediError
from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import JediWorker

if TYPE_CHECKING:
    from haiku_lsp.completion.query import CompletionQuery

log = logging.getLogger(__name__)

NAME_TTL_S = 120.0  # a remembered resolution is refreshed after this long
RETRY_AFTER_TIMEOUT_S = 15.0  # names whose resolution overran its deadline (a cold jedi on a busy machine)
MAX_DOCUMENTS = 64  # documents whose resolutions are remembered (kept when a document is closed)
MAX_NAMES = 512  # resolutions remembered per document: every half-typed word is a name; the oldest go first
MAX_CONTEXT_CHARS = 500_000  # larger documents get no jedi context (jedi: ~10 s a megabyte, cold)
REFRESH_LINES = 3  # edited lines whose names are resolved after an edit (the latest, in document order)
RESOLVE_DEADLINE_S = 10.0  # a resolution still running after this long is stopped (its names stay unresolved)


class NameContext:
    def __init__(self, jedi: JediWorker, ignore: Callable[[], IgnoreRules]) -> None:
        self._jedi = jedi
        self._ignore = ignore
        # uri -> name -> (Resolved | None, monotonic time of the resolution)
        self._known: dict[str, dict] = {}
        # uri -> names needing no definition (builtins, standard-library imports): never resolved
        self._skip: dict[str, frozenset[str]] = {}
        # uri -> (names, future) of the resolutions running for that document
        self._running: dict[str, list[tuple[frozenset, asyncio.Future]]] = {}
        self.jobs = 0  # resolutions sent to the jedi worker
        self._landed: asyncio.Future[None] | None = None  # done (and replaced) each time resolutions land
        self._latest_prefetch: object | None = None  # a queued prefetch is skipped once this is another's

    def forget_all(self) -> None:
        """A saved file may move definitions: resolve names afresh."""
        self._known.clear()

    async def snippets(self, q: CompletionQuery, max_tokens: int, wait_s: float) -> tuple:
        """Snippets for the prompt; new names get up to `wait_s` (the debounce overlaps it) and
        otherwise fill in for the next request."""
        if max_tokens <= 0 or q.language != "python":
            return ()
        skip = self._skip.get(q.uri)
        if skip is None:
            skip = self._skip_for(q)
        names = [n for n in names_near(q.lines, q.line, q.col) if n not in skip][:10]
        now = time.monotonic()
        known = self._known_for(q.uri)
        missing = [n for n in names if not _fresh(known, n, now)]
        if missing and _size(q.lines) > MAX_CONTEXT_CHARS:
            missing = []
        if missing:
            running = self._running.get(q.uri, [])
            waits = [fut for busy, fut in running if busy.intersection(missing)]
            busy_names = set().union(*(busy for busy, _ in running))
            if new := [n for n in missing if n not in busy_names]:
                waits.append(self._resolve(q, known, new))
            both = asyncio.gather(*waits)
            both.add_done_callback(lambda f: f.cancelled() or f.exception())  # failures: logged below or moot
            try:
                await self._until_known(known, missing, both, wait_s)
            except TimeoutError:
                log.debug("jedi context for %s over its time budget; sent without it", missing)
            except JediError as err:
                log.debug("jedi context failed: %s", err)
        resolved = {n: known[n][0] for n in names if n in known}
        return select_snippets(resolved, names, q.path, max(0, q.line - 60), q.line + 20, max_tokens)

    async def _until_known(self, known: dict, missing: list[str], running: asyncio.Future, wait_s: float) -> None:
        """Return once every name in `missing` has a fresh resolution in `known` (each lands as soon as the
        worker has it, before the rest of its call), or the resolutions `running` for them are over
        (JediError when they failed); TimeoutError after `wait_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while not running.done():
            now = time.monotonic()
            if all(_fresh(known, n, now) for n in missing):
                return
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError
            if self._landed is None or self._landed.done():
                self._landed = loop.create_future()
            await asyncio.wait({self._landed, running}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        await asyncio.sleep(0)  # let `remember` run
        running.result()

    def _wake(self) -> None:
        if self._landed is not None and not self._landed.done():
            self._landed.set_result(None)

    def prefetch(self, q: CompletionQuery) -> None:
        """Resolve what the document imports, in the background (after it is opened): the first
        completion in it then finds the definitions of the names it calls ready."""
        if _size(q.lines) <= MAX_CONTEXT_CHARS:
            self._skip_for(q)
            self._background(q, imported_names(q.lines))

    def refresh(self, q: CompletionQuery, edited: list[int]) -> None:
        """Resolve, in the background, what the document imports and the names on and just above the
        lines edited lately (0-based line numbers in `q.lines`), once edits have settled: the next
        completion near them finds their definitions ready. Known names cost nothing."""
        if _size(q.lines) > MAX_CONTEXT_CHARS:
            return
        self._skip_for(q)
        positions = imported_names(q.lines)
        for line in sorted(set(edited))[-REFRESH_LINES:]:
            if 0 <= line < len(q.lines):
                positions.update(names_at(q.lines, line))
        self._background(q, positions)

    def _background(self, q: CompletionQuery, positions: dict[str, tuple[int, int]]) -> None:
        known = self._known_for(q.uri)
        now = time.monotonic()
        busy = set().union(*(names for names, _ in self._running.get(q.uri, [])))
        missing = [n for n in positions if n not in busy and not _fresh(known, n, now)]
        if missing:
            # One at a time: when an editor restores many tabs at once, only the latest opened document
            # is worth the jedi worker's time (and parser memory); one still queued is skipped (it resolves
            # nothing, so a request waiting on it goes on at once).
            token = self._latest_prefetch = object()
            fut = self._resolve(q, known, missing, positions, lambda: self._latest_prefetch is not token)
            fut.add_done_callback(lambda f: f.cancelled() or f.exception())

    def _skip_for(self, q: CompletionQuery) -> frozenset[str]:
        """The names of `q`'s document that are never resolved, found afresh (on open, after edits settle,
        and at the first request); kept for as many documents as resolutions are."""
        skip = self._skip[q.uri] = known_to_the_model(q.lines)
        while len(self._skip) > MAX_DOCUMENTS:
            self._skip.pop(next(iter(self._skip)))
        return skip

    def _known_for(self, uri: str) -> dict:
        known = self._known.get(uri)
        if known is None:
            known = self._known[uri] = {}
            while len(self._known) > MAX_DOCUMENTS:
                self._known.pop(next(iter(self._known)))
        return known

    def _resolve(self, q: CompletionQuery, known: dict, missing: list[str],
                 positions: dict[str, tuple[int, int]] | None = None,
                 stale: Callable[[], bool] | None = None) -> asyncio.Future:
        """Start resolving `missing` in the jedi worker; the results land in `known` when done. A
        resolution that overran its deadline marks its names unresolved, retried after RETRY_AFTER_TIMEOUT_S
        (jedi is warm by then; not at once: a request would only overrun again)."""
        self.jobs += 1
        started = time.monotonic()
        source = "\n".join(q.lines)
        def landed(part: dict) -> None:  # one name's resolution, published by the worker as soon as it has it
            _remember(known, {n: (r, time.monotonic()) for n, r in part.items()})
            self._wake()

        fut = self._jedi.call(resolve_names, source, q.path, q.root, q.line, q.col, missing, self._ignore(),
                              positions, size=len(source), timeout=RESOLVE_DEADLINE_S, stale=stale,
                              on_partial=landed)
        entry = (frozenset(missing), fut)
        uri = q.uri  # not `q`: its lines would stay alive while the call waits in the queue
        self._running.setdefault(uri, []).append(entry)

        def remember(f: asyncio.Future) -> None:
            running = self._running.get(uri, [])
            if entry in running:
                running.remove(entry)
            if not running:
                self._running.pop(uri, None)
            if f.cancelled():
                return
            stamp = time.monotonic()
            err = f.exception()
            if err is None:
                _remember(known, {n: (r, stamp) for n, r in f.result().items()})
            elif isinstance(err, JediError) and err.kind == "timeout":
                aged = stamp - NAME_TTL_S + RETRY_AFTER_TIMEOUT_S  # counts as stale RETRY_AFTER_TIMEOUT_S from now
                landed_before = {n for n in missing if n in known and known[n][1] >= started}
                _remember(known, {n: (None, aged) for n in missing if n not in landed_before})
            self._wake()

        fut.add_done_callback(remember)
        return fut


def _fresh(known: dict, name: str, now: float) -> bool:
    """Whether a document's `known` resolutions hold one of `name` younger than NAME_TTL_S."""
    return name in known and now - known[name][1] <= NAME_TTL_S


def _remember(known: dict, new: dict) -> None:
    """Add `new` resolutions to a document's `known` ones (refreshed ones move to the end), keeping at most
    MAX_NAMES: the least recently resolved are dropped."""
    for name in new:
        known.pop(name, None)
    known.update(new)
    while len(known) > MAX_NAMES:
        known.pop(next(iter(known)))


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def names_at(lines: list[str], line: int, above: int = 2) -> dict[str, tuple[int, int]]:
    """The names used on `line` and the `above` lines before it, each at its last occurrence (code before a
    `#` only; keywords, `self` and `cls` left out): what an edit there is likely to call next."""
    found: dict[str, tuple[int, int]] = {}
    for i in range(max(0, line - above), line + 1):
        for m in _NAME.finditer(lines[i].split("#", 1)[0]):
            name = m.group(0)
            if not keyword.iskeyword(name) and name not in ("self", "cls"):
                found[name] = (i, m.start())
    return found


def _size(lines: list[str]) -> int:
    return sum(map(len, lines)) + len(lines)
