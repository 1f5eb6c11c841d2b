"""What every server of one user spent and did, by day: a small append-only store under the cache dir.

`<cache dir>/usage/<YYYY-MM-DD>.jsonl` (the local date) holds one JSON object a line: a model call
(`{"kind": "call", "feature", "model", "input", "output", "cache_write", "cache_read", "usd", "ms",
"outcome"}`, plus `"batch": true` for a Message Batches answer, priced at the batch price) or counters a
server adds up between calls (`{"kind": "counts", ...}`). No prompt and no answer is kept here (that is
the audit log's business), so the store stays small and is kept 35 days.

Several servers (one per editor window) share a cache dir: every append takes an exclusive `flock` on
the day's file and writes one whole line with `O_APPEND`; readers take a shared lock and read only whole
lines, so a reader never sees half a record. Today's totals (dollars, calls, tokens: `today_totals`) are
read incrementally (only the bytes added since the last look), cheap enough to check before every model
call and twice a second for the status: never the whole day's file again, which grows with every call.
A day's file starts afresh at local midnight, which is what resets the daily budget.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: appends of one line stay whole without it
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

KEEP_DAYS = 35
PROMPT_KINDS = ("input", "cache_write", "cache_read")  # the token kinds of a prompt


@contextlib.contextmanager
def locked(f: IO[Any], exclusive: bool) -> Iterator[None]:
    """`flock` the open file `f` for the block (shared or exclusive)."""
    if fcntl is None:
        yield
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
    try:
        yield
    finally:
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def local_day(t: float | None = None) -> datetime.date:
    return datetime.datetime.fromtimestamp(time.time() if t is None else t).date()


class UsageStore:
    """The day files in `folder`. Thread-safe; a failing disk is logged, never raised to a feature."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._today: tuple[datetime.date, int, dict[str, Any]] | None = None  # day, bytes read, their totals
        self._pruned: datetime.date | None = None

    def path(self, day: datetime.date) -> Path:
        return self.folder / f"{day.isoformat()}.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        """Add one record (stamped with the time `t` unless it has one) to its day's file."""
        record = {"t": round(time.time(), 3), **record}
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode("utf-8")
        day = local_day(record["t"])
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path(day), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "ab") as f, locked(f, exclusive=True):
                f.write(line)
        except OSError as err:
            log.warning("cannot record usage in %s: %s", self.folder, err)
            return
        if self._pruned != day:
            self._pruned = day
            self._prune(day)

    def _prune(self, today: datetime.date) -> None:
        oldest = today - datetime.timedelta(days=KEEP_DAYS)
        for path in self.folder.glob("*.jsonl"):
            with contextlib.suppress(ValueError, OSError):
                if datetime.date.fromisoformat(path.stem) < oldest:
                    path.unlink()

    def spent_today(self) -> float:
        """USD of every call recorded today, by any server using this folder."""
        return float(self.today_totals()["usd"])

    def today_totals(self) -> dict[str, Any]:
        """Today's calls by any server using this folder: `{"usd", "calls", "inputTokens" (input, cache writes
        and reads), "outputTokens"}` (a copy)."""
        today = local_day()
        with self._lock:
            if self._today and self._today[0] == today:
                day, offset, totals = self._today
            else:
                day, offset, totals = today, 0, {"usd": 0.0, "calls": 0, "inputTokens": 0, "outputTokens": 0}
            try:
                with open(self.path(today), "rb") as f, locked(f, exclusive=False):
                    f.seek(offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            except OSError as err:
                log.warning("cannot read today's usage: %s", err)
                data = b""
            whole = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
            for record in _parse(whole):
                if record.get("kind") == "call":
                    totals["usd"] += float(record.get("usd") or 0.0)
                    totals["calls"] += 1
                    totals["inputTokens"] += sum(int(record.get(k) or 0) for k in PROMPT_KINDS)
                    totals["outputTokens"] += int(record.get("output") or 0)
            self._today = (day, offset + len(whole), totals)
            return dict(totals)

    def read_days(self, days: int, today: datetime.date | None = None) -> dict[datetime.date, list[dict[str, Any]]]:
        """The records of the last `days` days (today included), by day; days without a file are empty."""
        today = today or local_day()
        out: dict[datetime.date, list[dict[str, Any]]] = {}
        for back in range(days):
            day = today - datetime.timedelta(days=back)
            try:
                with open(self.path(day), "rb") as f, locked(f, exclusive=False):
                    data = f.read()
            except OSError:
                data = b""
            out[day] = list(_parse(data[: data.rfind(b"\n") + 1]))
        return out


def _parse(data: bytes) -> Iterator[dict[str, Any]]:
    for line in data.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line damaged by hand or by a crash mid-write on a non-POSIX disk
        if isinstance(record, dict):
            yield record
