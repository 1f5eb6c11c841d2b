"""The `haiku/status` notification: what the server is doing and what it cost today, for a status bar.

Params (sent when they change, checked twice a second, so at most two a second):
`{"state": "ready" | "offline" | "busy" | "rate-limited" | "error" | "budget", "message": str,
  "retryInS": float (while inline completions are paused by upstream failures, else 0),
  "models": {"fast": str, "planner": str},
  "today": {"usd": float, "inputTokens": int, "outputTokens": int, "calls": int},
  "session": {"usd": float, "calls": int}}`

"today" adds up every haiku-lsp server's usage of the day on this machine: the session's usage store
(`<cache dir>/usage/<YYYY-MM-DD>.jsonl`, where every model call is recorded).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from haiku_lsp.errors import ProviderError

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

log = logging.getLogger(__name__)

METHOD = "haiku/status"
POLL_S = 0.5
RATE_LIMIT_SHOWN_S = 30.0  # "rate-limited" stays this long after a 429 / 529 unless a call succeeds
LASTING = {"auth": "the API key was rejected (401): check ANTHROPIC_API_KEY",
           "bad_request": "the model API refused a request"}


class Status:
    """Computes the status and notifies the client of changes."""

    def __init__(self) -> None:
        self.busy = 0  # actions running (commands)
        self._error: tuple[ProviderError, float, int] | None = None  # the error, when, calls made before it
        self._sent: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._episode: tuple[str, str, float] | None = None  # state, message, retry in s: inline paused

    def note_episode(self, ls: HaikuLanguageServer, state: str, message: str, retry_in_s: float) -> None:
        """Inline completions paused by upstream failures ("rate-limited" / "error"), or resumed ("ready"):
        told at once, not at the next poll."""
        if state == "ready":
            self._episode = self._error = None
        else:
            self._episode = (state, message, retry_in_s)
        self.refresh(ls)

    def note_error(self, err: ProviderError, calls: int) -> None:
        if err.kind not in ("cancelled", "timeout", "incomplete", "no_key"):
            self._error = (err, time.monotonic(), calls)

    def start(self, ls: HaikuLanguageServer) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll(ls))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def refresh(self, ls: HaikuLanguageServer) -> None:
        """Send the status if it changed."""
        try:
            status = self.snapshot(ls)
            if status != self._sent:
                self._sent = status
                ls.protocol.notify(METHOD, status)
        except Exception as err:  # a status bar is never worth the server
            log.warning("status: %s", err)

    async def _poll(self, ls: HaikuLanguageServer) -> None:
        while True:
            self.refresh(ls)
            await asyncio.sleep(POLL_S)

    def snapshot(self, ls: HaikuLanguageServer) -> dict[str, Any]:
        session = ls.session
        ledger, settings = session.ledger, session.settings
        calls = sum(t.calls for t in ledger.by_model.values())
        totals = session.usage.today_totals()  # incremental: only the records added since the last look
        today = {**totals, "usd": round(totals["usd"], 6)}
        state, message, retry = "ready", f"Haiku ready ({settings.fast_model})", 0.0
        error = self._error
        if error is not None and calls > error[2]:
            error = self._error = None  # a call went through since
        problem = session.budget_problem()
        ls.note_budget(problem)
        if not session.provider.available:
            state, message = "offline", "no ANTHROPIC_API_KEY: offline suggestions (jedi) only"
        elif problem is not None:
            state, message = "budget", problem
        elif self._episode is not None:
            state, message, retry = self._episode
        elif error is not None and error[0].kind in LASTING:
            state, message = "error", LASTING[error[0].kind]
        elif (error is not None and error[0].kind in ("rate_limit", "overloaded")
              and time.monotonic() - error[1] < RATE_LIMIT_SHOWN_S):
            state, message = "rate-limited", "the model API is rate-limited or overloaded; retrying"
        elif error is not None and error[0].kind == "connection":
            state, message = "error", f"cannot reach the model API: {error[0].args[0]}"
        elif self.busy:
            state, message = "busy", "Haiku is working"
        return {"state": state, "message": message, "retryInS": retry,
                "models": {"fast": settings.fast_model, "planner": settings.planner_model},
                "today": today, "session": {"usd": round(ledger.total_usd, 6), "calls": calls}}
