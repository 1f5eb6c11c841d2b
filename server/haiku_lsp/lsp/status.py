"""The `haiku/status` notification: what the server is doing and what it cost today, for a status bar.

Params (sent when they change, checked twice a second, so at most two a second):
`{"state": "ready" | "offline" | "busy" | "rate-limited" | "error" | "budget", "message": str,
  "models": {"fast": str, "planner": str},
  "today": {"usd": float, "inputTokens": int, "outputTokens": int, "calls": int},
  "session": {"usd": float, "calls": int}}`

"today" adds up every haiku-lsp server's usage of the day on this machine: each server appends what it
spent since its last report to `<cache dir>/usage/<YYYY-MM-DD>.tsv` (local date) and reads the sum.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from haiku_lsp.errors import ProviderError
from haiku_lsp.llm import Ledger

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

log = logging.getLogger(__name__)

METHOD = "haiku/status"
POLL_S = 0.5
RATE_LIMIT_SHOWN_S = 30.0  # "rate-limited" stays this long after a 429 / 529 unless a call succeeds
LASTING = {"auth": "the API key was rejected (401): check ANTHROPIC_API_KEY",
           "bad_request": "the model API refused a request"}


class DailyUsage:
    """Today's totals of all servers sharing a cache directory (an append-only file per day)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._booked = (0.0, 0, 0, 0)  # what this server has appended so far: usd, input, output, calls
        self._read: tuple[str, float, dict[str, Any]] | None = None  # (file, mtime, totals)

    def sync(self, ledger: Ledger) -> dict[str, Any]:
        models = ledger.by_model.values()
        now = (ledger.total_usd, sum(t.input + t.cache_write + t.cache_read for t in models),
               sum(t.output for t in models), sum(t.calls for t in models))
        path = self.folder / f"{datetime.date.today().isoformat()}.tsv"
        delta = [a - b for a, b in zip(now, self._booked, strict=True)]
        if any(delta):
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                with path.open("a", encoding="ascii") as f:
                    f.write("\t".join(f"{d:.8f}" if i == 0 else str(d) for i, d in enumerate(delta)) + "\n")
                self._booked = now
            except OSError as err:
                log.warning("cannot record today's usage in %s: %s", path, err)
        return self._totals(path)

    def _totals(self, path: Path) -> dict[str, Any]:
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return {"usd": 0.0, "inputTokens": 0, "outputTokens": 0, "calls": 0}
        if self._read and self._read[0] == str(path) and self._read[1] == mtime:
            return self._read[2]
        usd, tokens_in, tokens_out, calls = 0.0, 0, 0, 0
        for line in path.read_text(encoding="ascii", errors="replace").splitlines():
            parts = line.split("\t")
            with contextlib.suppress(ValueError, IndexError):
                usd, tokens_in = usd + float(parts[0]), tokens_in + int(parts[1])
                tokens_out, calls = tokens_out + int(parts[2]), calls + int(parts[3])
        totals = {"usd": round(usd, 6), "inputTokens": tokens_in, "outputTokens": tokens_out, "calls": calls}
        self._read = (str(path), mtime, totals)
        return totals


class Status:
    """Computes the status and notifies the client of changes."""

    def __init__(self) -> None:
        self.busy = 0  # actions running (commands)
        self._error: tuple[ProviderError, float, int] | None = None  # the error, when, calls made before it
        self._sent: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None
        self._daily: DailyUsage | None = None

    def note_error(self, err: ProviderError, calls: int) -> None:
        if err.kind not in ("cancelled", "timeout", "incomplete", "no_key"):
            self._error = (err, time.monotonic(), calls)

    def start(self, ls: HaikuLanguageServer) -> None:
        self._task = asyncio.get_running_loop().create_task(self._poll(ls))

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _poll(self, ls: HaikuLanguageServer) -> None:
        while True:
            try:
                status = self.snapshot(ls)
                if status != self._sent:
                    self._sent = status
                    ls.protocol.notify(METHOD, status)
            except Exception as err:  # a status bar is never worth the server
                log.warning("status: %s", err)
            await asyncio.sleep(POLL_S)

    def snapshot(self, ls: HaikuLanguageServer) -> dict[str, Any]:
        session = ls.session
        ledger, settings = session.ledger, session.settings
        calls = sum(t.calls for t in ledger.by_model.values())
        folder = session.cache.directory / "usage"
        if self._daily is None or self._daily.folder != folder:
            self._daily = DailyUsage(folder)
        today = self._daily.sync(ledger)
        state, message = "ready", f"Haiku ready ({settings.fast_model})"
        error = self._error
        if error is not None and calls > error[2]:
            error = self._error = None  # a call went through since
        if not session.provider.available:
            state, message = "offline", "no ANTHROPIC_API_KEY: offline suggestions (jedi) only"
        elif ledger.over_budget():
            state, message = "budget", (f"the budget of ${ledger.budget_usd:.2f} is used up; raise budgetUsd "
                                        "to continue")
        elif error is not None and error[0].kind in LASTING:
            state, message = "error", LASTING[error[0].kind]
        elif (error is not None and error[0].kind in ("rate_limit", "overloaded")
              and time.monotonic() - error[1] < RATE_LIMIT_SHOWN_S):
            state, message = "rate-limited", "the model API is rate-limited or overloaded; retrying"
        elif error is not None and error[0].kind == "connection":
            state, message = "error", f"cannot reach the model API: {error[0].args[0]}"
        elif self.busy:
            state, message = "busy", "Haiku is working"
        return {"state": state, "message": message,
                "models": {"fast": settings.fast_model, "planner": settings.planner_model},
                "today": today, "session": {"usd": round(ledger.total_usd, 6), "calls": calls}}
