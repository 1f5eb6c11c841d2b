"""The audit log: one JSON line per model call, under `<cache dir>/audit/`, readable by its owner only.

A record holds the time, the server's pid, the feature, the model, the prompt as sent (redacted, also
when `redactSecrets` is off and the secrets went out), the answer (redacted too), the token usage, the
cost, the latency and the outcome. Files are created with mode 0600 in a 0700 folder. `audit.jsonl`
is rotated to `audit.1.jsonl` (and on to `audit.<keep>.jsonl`, the oldest dropped) once it passes
`max_bytes`, so the log never holds more than `(keep + 1) x max_bytes`. Servers sharing the cache dir
write and rotate under one `flock`. The API key is scrubbed from every record, whatever it came in.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

from haiku_lsp.llm.usage import locked

log = logging.getLogger(__name__)

KEEP = 3


def _api_keys() -> list[str]:
    return [v for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN") if len(v := os.environ.get(k, "")) >= 8]


def scrub(text: str) -> str:
    """`text` without the API key."""
    for key in _api_keys():
        text = text.replace(key, "<API_KEY>")
    return text


class AuditLog:
    def __init__(self, folder: Path, *, enabled: bool = True, max_bytes: int = 10 * 1024 * 1024,
                 keep: int = KEEP) -> None:
        self.folder = folder
        self.enabled = enabled
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.folder / "audit.jsonl"

    def configure(self, *, enabled: bool, max_mib: int) -> None:
        self.enabled, self.max_bytes = enabled, max_mib * 1024 * 1024

    def write(self, record: dict[str, Any]) -> None:
        """Append `record` (rotating first when the file is full); a failing disk is logged, not raised."""
        if not self.enabled:
            return
        line = scrub(json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)) + "\n"
        data = line.encode("utf-8")
        try:
            with self._lock:
                self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                lock_fd = os.open(self.folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
                with os.fdopen(lock_fd, "wb") as lock, locked(lock, exclusive=True):
                    self._rotate_if_full(len(data))
                    fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                    try:
                        os.fchmod(fd, 0o600)  # also a file made by hand or by an older version
                        os.write(fd, data)
                    finally:
                        os.close(fd)
        except OSError as err:
            log.warning("cannot write the audit log in %s: %s", self.folder, err)

    def _rotate_if_full(self, adding: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size == 0 or size + adding <= self.max_bytes:
            return
        oldest = self.folder / f"audit.{self.keep}.jsonl"
        if oldest.exists():
            oldest.unlink()
        for n in range(self.keep - 1, 0, -1):
            older = self.folder / f"audit.{n}.jsonl"
            if older.exists():
                older.rename(self.folder / f"audit.{n + 1}.jsonl")
        self.path.rename(self.folder / "audit.1.jsonl")

    def files(self) -> list[Path]:
        """The log's files, newest first."""
        names = [self.path, *(self.folder / f"audit.{n}.jsonl" for n in range(1, self.keep + 1))]
        return [p for p in names if p.exists()]
