"""Inline completion sessions: typed-ahead reuse, in-flight reuse, cache, debounce, streaming.

For each request, in order, the first that answers wins:
1. typed-ahead: the user typed the start of a suggestion shown (or still streaming) at this spot;
   the answer is the rest of it, no upstream request;
2. cache: the same prompt (content hash) was answered before, in memory or on disk;
3. debounce (automatic triggers only, adaptive to typing speed), then one upstream stream, shaped
   as it arrives and closed at the first useful boundary -- unless a budget is reached (then not even the
   context is gathered) or the circuit breaker is open after upstream failures
   (:mod:`haiku_lsp.completion.breaker`): then no call, and no items (Invoked: offline).

A newer request for the same document supersedes the older one, which is answered at once with no
items. A stream nobody waits for any more is closed after a short grace (a request arriving just
after a cancel may still reuse it). Failures and refusals are never cached. Nothing here knows about LSP.
`on_error` hears of the failures the breaker does not count (a used-up budget, a refusal); `on_episode`
of the breaker opening and of the recovery, once each.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from haiku_lsp.completion.breaker import Breaker, Episode
from haiku_lsp.completion.context import build_context, cursor_context
from haiku_lsp.completion.debounce import adaptive_debounce_s
from haiku_lsp.completion.generation import DocState, Generation
from haiku_lsp.completion.names import NameContext
from haiku_lsp.completion.prompts import PROMPT_VERSION, answer_tokens, completion_request
from haiku_lsp.completion.query import CompletionQuery, Suggestion
from haiku_lsp.completion.streaming import EngineStats, Streaming
from haiku_lsp.completion.typed_ahead import Anchor, Shown, digest
from haiku_lsp.errors import BudgetExceeded, JediError, ProviderError
from haiku_lsp.llm.cache import Cache, content_key
from haiku_lsp.llm.provider import ModelRequest, Provider
from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import MAX_SOURCE_CHARS, JediWorker, jedi_inline, relative_to_root
from haiku_lsp.settings import Settings
from haiku_lsp.text import split_lines

log = logging.getLogger(__name__)

INVOKED_CONTEXT_WAIT_S = 0.5  # how long an Invoked request waits for jedi context (Automatic: the setting)
MAX_PREFETCH_CHARS = 500_000  # documents larger than this are not resolved on open
CHANGE_SETTLE_S = 0.5  # edits pause this long before the names near them are resolved in the background
OFFLINE_DEADLINE_S = 5.0  # jedi's own completions (offline engine): the worker's deadline


class CompletionEngine(Streaming):
    def __init__(self, provider: Provider, cache: Cache, settings: Callable[[], Settings],
                 ignore: Callable[[], IgnoreRules],
                 on_error: Callable[[ProviderError], None] = lambda err: None,
                 on_episode: Callable[[Episode], None] = lambda episode: None,
                 jedi: JediWorker | None = None,
                 budget_problem: Callable[[], str | None] = lambda: None) -> None:
        self.provider = provider
        self.cache = cache
        self._settings = settings
        self._ignore = ignore
        self._on_error = on_error
        self._budget_problem = budget_problem  # why the model may not be called now (a budget reached), or None
        self.on_episode = on_episode  # public: the language server sets it after building the session
        self.breaker = Breaker()
        self._docs: dict[str, DocState] = {}
        self.jedi = jedi or JediWorker()
        self.names = NameContext(self.jedi, ignore)
        self.stats = EngineStats()
        self._shown = self._accepted = 0  # suggestions shown / accepted, as the editor reports them

    # --- document events ---------------------------------------------------------------------

    def note_change(self, uri: str, edited: Sequence[int] = (),
                    snapshot: Callable[[], CompletionQuery | None] | None = None) -> None:
        """Called on every edit (`edited`: the lines it ended on): the gaps between edits drive the adaptive
        debounce. Once edits pause for CHANGE_SETTLE_S, what the document imports and the names near the
        lines edited are resolved in the background (`snapshot` then gives the document, or None once
        closed), so that the next completion there finds them ready."""
        state = self._docs.setdefault(uri, DocState())
        now = time.monotonic()
        if state.last_change and now - state.last_change < 2.0:
            state.gaps.append(now - state.last_change)
        state.last_change = now
        if snapshot is not None:
            state.edited.extend(edited)
            if state.settle is not None:
                state.settle.cancel()
            state.settle = asyncio.get_running_loop().call_later(CHANGE_SETTLE_S, self._settled, uri, snapshot)

    def _settled(self, uri: str, snapshot: Callable[[], CompletionQuery | None]) -> None:
        state = self._docs.get(uri)
        if state is None:
            return
        state.settle = None
        edited = list(state.edited)
        state.edited.clear()
        q = snapshot()
        if q is not None and self._wants_context(q.language, q.path, sum(map(len, q.lines))):
            self.names.refresh(q, edited)

    def _wants_context(self, language: str, path: str | None, size: int) -> bool:
        """Whether jedi context would be sent for this document at all (and it is not huge)."""
        settings = self._settings()
        return (language == "python" and size <= MAX_PREFETCH_CHARS and settings.max_context_tokens > 0
                and self.provider.available and not (path is not None and self._ignore().is_ignored(path)))

    def note_save(self) -> None:
        self.names.forget_all()

    def note_open(self, uri: str, text: str, path: str | None, root: str | None, language: str) -> None:
        """A document was opened: resolve what it imports in the background, so that its first
        completion finds the definitions ready. Only where context would be sent at all, and not for
        huge documents (jedi would hold its worker for seconds); nothing is split before that."""
        if not self._wants_context(language, path, len(text)):
            return
        self.names.prefetch(CompletionQuery(uri, split_lines(text), 0, 0, invoked=False, path=path, root=root,
                                            language=language))

    def forget(self, uri: str) -> None:
        state = self._docs.pop(uri, None)
        if state and state.settle is not None:
            state.settle.cancel()
        if state and state.pending and not state.pending.done():
            state.pending.set_result(None)

    def note_acceptance(self, shown: int, accepted: int) -> None:
        """How many suggestions the user was shown (or offered) and accepted so far (the editor reports
        accepts): the debounce waits longer for someone who rarely accepts."""
        self._shown, self._accepted = shown, accepted

    def debounce_s(self, uri: str) -> float:
        state = self._docs.get(uri)
        return adaptive_debounce_s(state.gaps if state is not None else (), self._settings(), self._shown,
                                   self._accepted)

    # --- requests ----------------------------------------------------------------------------

    async def complete(self, q: CompletionQuery) -> list[Suggestion]:
        """Suggestions for q; [] when superseded by a newer request for the same document."""
        self.stats.requests += 1
        state = self._docs.setdefault(q.uri, DocState())
        signal = asyncio.get_running_loop().create_future()
        previous, state.pending = state.pending, signal
        if previous is not None and not previous.done():
            previous.set_result(None)
        work = asyncio.ensure_future(self._complete(q, state))
        t0 = time.perf_counter()
        try:
            await asyncio.wait({work, signal}, return_when=asyncio.FIRST_COMPLETED)
            if work.done():
                items = work.result()
                log.debug("inline completion %s:%d:%d: %s in %.1f ms", q.uri, q.line + 1, q.col + 1,
                          ", ".join(f"{s.source} {len(s.text)} chars" for s in items) or "nothing",
                          (time.perf_counter() - t0) * 1000)
                return items
            self.stats.superseded += 1
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            return []
        except asyncio.CancelledError:
            work.cancel()
            raise
        finally:
            if state.pending is signal:
                state.pending = None

    async def _complete(self, q: CompletionQuery, state: DocState) -> list[Suggestion]:
        settings = self._settings()
        ignored = q.path is not None and self._ignore().is_ignored(q.path)
        if not settings.inline_enabled:
            return []
        if not self.provider.available or ignored:
            return await self._offline(q)
        before, after_hash = q.before(), digest(q.after())

        # 1. typed-ahead into a suggestion already shown here
        memo: dict[int, int] = {}
        if (rest := state.rest_shown(before, after_hash, memo)) is not None:
            self.stats.typed_ahead += 1
            return [Suggestion(rest, "typed-ahead")]
        # ... or into one still streaming
        gen = state.generation
        typed = gen.anchor.typed(before, after_hash, memo) if gen is not None and not gen.done.is_set() else None
        if gen is not None and typed is not None:
            try:
                text = await self._follow(gen, typed)
            except ProviderError:
                text = None  # reported by the request that started it; try afresh below
            if text is not None:
                self.stats.inflight_reuse += 1
                return [Suggestion(text, "in-flight")]

        if (problem := self._budget_problem()) is not None:  # no context gathered for a call that cannot be made
            self._on_error(BudgetExceeded(problem))
            return await self._offline(q) if q.invoked else []

        # 2. cache (the context must be built first: the key is the hash of what would be sent)
        debounce = 0.0 if q.invoked else self.debounce_s(q.uri)
        started = time.monotonic()
        # Invoked: the user asked and waits anyway, so jedi gets longer to find the definitions.
        budget = settings.context_time_budget_ms / 1000
        wait = max(budget, INVOKED_CONTEXT_WAIT_S) if q.invoked else budget
        snippets = await self.names.snippets(q, settings.max_context_tokens, max(debounce, wait))
        request = self._request(q, snippets, settings)
        key = content_key(PROMPT_VERSION, request.payload())
        if (hit := self.cache.get("inline", key)) is not None:
            self.stats.cache_hits += 1
            state.shown.append(Shown(Anchor.of(before, after_hash), hit))
            return [Suggestion(hit, "cache")]

        # 3. debounce, then one stream (unless the upstream is failing: no call on every keystroke)
        remaining = debounce - (time.monotonic() - started)
        if remaining > 0:
            await asyncio.sleep(remaining)
        if not self.breaker.allow():
            self.stats.paused += 1
            return await self._offline(q) if q.invoked else []
        cursor = cursor_context(q.lines, q.line, q.col, settings.max_block_lines)
        gen = Generation(Anchor.of(before, after_hash), cursor, key)
        old, state.generation = state.generation, gen
        if old is not None and old.key is None and old.consumers <= 0 and old.task is not None:
            old.task.cancel()  # lines read on after an answer nobody accepted: no more tokens for them
        gen.task = asyncio.ensure_future(self._run(gen, request, state, settings, before, after_hash))
        try:
            text = await self._follow(gen, "")
        except ProviderError as err:
            if err.kind in ("budget", "no_key", "refusal"):  # the rest: the breaker's episodes
                self._on_error(err)
            text = None
        if text:
            return [Suggestion(text, "model")]
        if gen.error is None and gen.shaper.drop_reason in ("blank", "eol"):
            return []  # the model found nothing to add here (on this line): a guess of jedi's would contradict it
        # Invoked and the model had nothing (or failed): the offline engine may still help. Not run in
        # parallel with the stream: its CPU time would slow the common case down.
        return await self._offline(q) if q.invoked else []

    def _request(self, q: CompletionQuery, snippets: tuple, settings: Settings) -> ModelRequest:
        rel = relative_to_root(q.path, q.root)
        shown_path = rel.as_posix() if rel is not None else q.path or q.uri
        ctx = build_context(
            lines=q.lines, line=q.line, col=q.col, path=shown_path, language=q.language,
            max_prefix_tokens=settings.max_prefix_tokens, max_suffix_tokens=settings.max_suffix_tokens,
            max_lines=settings.max_block_lines, snippets=snippets, redact_secrets=settings.redact_secrets)
        max_tokens = answer_tokens(ctx, settings.max_line_tokens, settings.max_block_tokens)
        return completion_request(ctx, model=settings.fast_model, max_tokens=max_tokens)

    async def _offline(self, q: CompletionQuery) -> list[Suggestion]:
        if q.language != "python":
            return []
        self.stats.offline += 1
        source = "\n".join(q.lines)
        if len(source) > MAX_SOURCE_CHARS:
            return []
        limit = 5 if q.invoked else 1
        try:
            texts = await self.jedi.call(jedi_inline, source, q.path, q.root, q.line, q.col, limit, size=len(source),
                                         timeout=OFFLINE_DEADLINE_S, urgent=True)
        except JediError as err:
            log.info("offline completion: %s", err)
            return []
        return [Suggestion(t, "offline") for t in texts]

    def close(self) -> None:
        self.jedi.close()

