"""The stream behind an inline completion (the engine's plumbing, apart from its request logic): one model
stream fed to a `Generation` through its shaper, answered as soon as the shaper has the answer, read on after a
whole line into a second generation (the lines after it, served with no new call once the line is accepted),
published (those waiting answered, where it was shown remembered, the cache written), and its outcome told
to the circuit breaker. `CompletionEngine` is built on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from haiku_lsp.completion.breaker import Breaker, Episode
from haiku_lsp.completion.generation import DocState, Generation
from haiku_lsp.completion.shaping import CursorContext
from haiku_lsp.completion.typed_ahead import Anchor, Shown
from haiku_lsp.errors import Abandoned, IncompleteAnswer, ProviderError, ProviderTimeout, Refusal
from haiku_lsp.llm.cache import Cache
from haiku_lsp.llm.provider import ModelRequest, Provider
from haiku_lsp.settings import Settings

log = logging.getLogger("haiku_lsp.completion.engine")  # one logger for the engine's whole story


@dataclass
class EngineStats:
    requests: int = 0
    upstream: int = 0
    cache_hits: int = 0
    typed_ahead: int = 0
    inflight_reuse: int = 0
    superseded: int = 0
    errors: int = 0
    offline: int = 0
    dropped: int = 0
    read_on: int = 0  # answers whose stream was read on for the lines after them
    paused: int = 0  # requests answered without a call because the breaker was open


class Streaming:
    """What streaming needs of the engine (set by `CompletionEngine.__init__`)."""

    provider: Provider
    cache: Cache
    breaker: Breaker
    stats: EngineStats
    on_episode: Callable[[Episode], None]

    async def _follow(self, gen: Generation, typed: str) -> str | None:
        """Wait on a generation until it agrees or disagrees with `typed`; the rest, or None."""
        gen.attach()
        try:
            while True:
                if gen.done.is_set() and gen.error is not None:
                    raise gen.error
                verdict = gen.agrees_with(typed)
                if verdict is False:
                    return None
                if gen.done.is_set():
                    return gen.result[len(typed):] if verdict and gen.result is not None else None
                gen.changed.clear()
                await gen.changed.wait()  # set on every chunk and when the stream ends
        finally:
            gen.release()

    async def _run(self, gen: Generation, request: ModelRequest, state: DocState,
                   settings: Settings, before: str, after_hash: int) -> None:
        """Stream one answer into *gen*. When it is a line that ended while the model went on (at the end of
        a line), the line is answered at once and the stream read on into a second generation: the lines
        that follow, offered with no new call where the line ends once the user has accepted it."""
        timeout = settings.inline_timeout_ms / 1000
        self.stats.upstream += 1
        t0 = time.monotonic()
        current = gen  # the generation being fed: the answer, then the lines after it
        try:
            # The one-off SDK import after start-up is not the model's latency: outside the deadline.
            await self.provider.ready()
            async with asyncio.timeout(timeout):
                async with self.provider.stream(request, timeout=timeout, inline=True) as stream:
                    async for chunk in stream:
                        done = current.shaper.feed(chunk)
                        if done and current is gen and (after := self._lines_after(gen, state, before,
                                                                                   after_hash)) is not None:
                            self._publish(gen, state)
                            current = after
                            done = after.shaper.feed("\n" + (gen.shaper.after_line or ""))
                        if done:
                            break  # leaving the block closes the HTTP stream: no tokens past here
                        current.changed.set()
                    complete = stream.finished or current.shaper.done
                    refused = stream.stop_reason == "refusal"
            if refused and current is gen:
                raise Refusal("the model declined to complete here")
            if not complete:
                raise IncompleteAnswer("the stream ended before message_stop")
            self._publish(current, state)
        except TimeoutError:
            current.error = ProviderTimeout(f"no completion within {timeout:.1f} s")
        except ProviderError as err:
            current.error = err
        except asyncio.CancelledError:
            current.error = Abandoned("nobody waits for this completion any more")
        finally:
            error = current.error
            if error is not None and not isinstance(error, Abandoned):
                if current is gen:
                    self.stats.errors += 1
                    log.warning("inline completion failed after %.0f ms: %s", (time.monotonic() - t0) * 1000,
                                error)
                else:  # the answer itself was served; only the lines after it are missing
                    log.debug("reading on after a completion failed: %s", error)
            current.done.set()
            current.changed.set()
            self._settle(gen, error if current is gen else None)

    def _settle(self, gen: Generation, error: ProviderError | None) -> None:
        """Tell the breaker how the call for *gen* went (the lines read on after it do not count)."""
        if error is None and gen.result is not None:
            episode = self.breaker.success()
        elif error is None or isinstance(error, Abandoned):
            self.breaker.abandoned()
            return
        else:
            episode = self.breaker.failure(error)
        if episode is not None:
            self.on_episode(episode)

    def _lines_after(self, gen: Generation, state: DocState, before: str, after_hash: int) -> Generation | None:
        """A generation for the lines after *gen*'s answer, at the end of its line once accepted; None when
        the answer is not a whole line the model went on after, or a newer request took over."""
        if gen.shaper.after_line is None or state.generation is not gen:
            return None
        line = gen.shaper.finish()
        if not line:
            return None
        c = gen.cursor
        cursor = CursorContext(c.line_prefix + line, "", c.lines_before, c.lines_after, c.max_lines, c.max_line_chars)
        after = Generation(Anchor.of(before + line, after_hash), cursor, None)
        after.task = gen.task
        state.generation = after
        self.stats.read_on += 1
        return after

    def _publish(self, gen: Generation, state: DocState) -> None:
        """The answer is complete: answer those waiting, remember where it was shown, cache it."""
        gen.result = gen.shaper.finish()
        if gen.result:
            if gen.key is not None:
                # Written after the waiting requests have been answered: the disk write is not theirs to wait on.
                asyncio.get_running_loop().call_soon(self.cache.set, "inline", gen.key, gen.result)
            state.shown.append(Shown(gen.anchor, gen.result))
        elif gen.key is not None:
            self.stats.dropped += 1
            log.debug("completion dropped: %s", gen.shaper.drop_reason)
        gen.done.set()
        gen.changed.set()
