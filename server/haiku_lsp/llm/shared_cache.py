"""The team cache: a third tier behind memory and disk, on Redis or Valkey, shared by everyone whose
haiku-lsp points at the same URL (`HAIKU_LSP_SHARED_CACHE`, or the `sharedCacheUrl` setting).

Entries are the disk cache's, under the same content-addressed keys (a hash of exactly what was sent,
prompt version included), so a teammate's identical request is a hit; they are stored as JSON (never
pickles: a shared store must not run code), namespaced `haiku-lsp:<format>:<namespace>:<key>`, each with a
TTL. Only model answers go there, never keys, settings or anything that failed.

A lookup never holds a completion back more than a few milliseconds: reads have a short socket timeout
(`timeout_ms`, 20 ms by default): a read that times out is a miss. A Redis that cannot be reached
(refused, unreachable, `TIMEOUTS_DOWN` reads in a row timed out, the `redis` package missing) is not asked
again for `retry` seconds (30 by default): local caches only meanwhile, and `on_notice` is called once per
outage. A full Redis that refuses writes (`maxmemory` with
`noeviction`) only loses the writes. URL query options: `ttl` (seconds, 7 days by default), `retry`,
`timeout_ms`; the rest of the URL goes to redis-py as it is (`redis://`, `rediss://`, `unix://`, user and
password, database number).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger(__name__)

FORMAT = "1"  # bumped when what an entry holds changes shape
DEFAULT_TTL_S = 7 * 24 * 3600
DEFAULT_RETRY_S = 30.0
DEFAULT_TIMEOUT_MS = 20.0
TIMEOUTS_DOWN = 3  # reads in a row that time out before the tier is taken for unreachable (one may be a hiccup)
_OPTIONS = ("ttl", "retry", "timeout_ms")


@dataclass
class SharedStats:
    hits: int = 0
    misses: int = 0
    writes: int = 0
    errors: int = 0  # reads or writes that failed (the tier was then skipped)


def shown_url(url: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def split_options(url: str) -> tuple[str, dict[str, float]]:
    """(the URL for redis-py, our options from its query). ValueError for a malformed option."""
    parts = urlsplit(url)
    ours: dict[str, float] = {}
    rest = []
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in _OPTIONS:
            try:
                ours[name] = float(value)
            except ValueError:
                raise ValueError(f"{name}={value!r} in the shared cache URL is not a number") from None
            if ours[name] <= 0:
                raise ValueError(f"{name} in the shared cache URL must be positive")
        else:
            rest.append((name, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment)), ours


class SharedCache:
    """`get`/`set` by (namespace, key) on Redis; every failure is a miss (or a lost write), never raised."""

    def __init__(self, url: str, *, on_notice: Callable[[str], None] = lambda message: None) -> None:
        self.url = url
        self.redis_url, options = split_options(url)
        self.ttl_s = int(options.get("ttl", DEFAULT_TTL_S))
        self.retry_s = options.get("retry", DEFAULT_RETRY_S)
        self.timeout_s = options.get("timeout_ms", DEFAULT_TIMEOUT_MS) / 1000
        self.on_notice = on_notice
        self.stats = SharedStats()
        self._reader: Any = None
        self._writer: Any = None
        self._errors: tuple[type[BaseException], ...] = ()
        self._down_until = 0.0
        self._down = False
        self._timeouts = 0  # reads in a row that timed out
        self._timeout_error: tuple[type[BaseException], ...] = ()

    def _key(self, namespace: str, key: str) -> str:
        return f"haiku-lsp:{FORMAT}:{namespace}:{key}"

    @property
    def available(self) -> bool:
        """False while an outage's retry interval runs (nothing is sent meanwhile)."""
        return time.monotonic() >= self._down_until

    def _clients(self) -> tuple[Any, Any] | None:
        if self._reader is None:
            try:
                import redis
            except ImportError:
                self._fail("the `redis` package is not installed (pip install 'haiku-lsp[redis]')", permanent=True)
                return None
            self._errors = (redis.ConnectionError, redis.TimeoutError, OSError)
            self._timeout_error = (redis.TimeoutError, TimeoutError)
            # Reads wait a few milliseconds at most; writes (off the completion path) may take longer.
            common = {"socket_connect_timeout": max(self.timeout_s * 5, 0.05), "health_check_interval": 0,
                      "retry_on_timeout": False}
            try:
                self._reader = redis.Redis.from_url(self.redis_url, socket_timeout=self.timeout_s, **common)
                self._writer = redis.Redis.from_url(self.redis_url, socket_timeout=max(self.timeout_s * 10, 0.2),
                                                    **common)
            except ValueError as err:
                self._fail(f"bad URL: {err}", permanent=True)
                return None
        return self._reader, self._writer

    def _fail(self, why: str, *, permanent: bool = False) -> None:
        self.stats.errors += 1
        self._down_until = float("inf") if permanent else time.monotonic() + self.retry_s
        if not self._down:
            self._down = True
            again = "" if permanent else f"; trying again in {self.retry_s:g} s"
            message = (f"haiku-lsp: the shared cache at {shown_url(self.url)} is not usable ({why}): "
                       f"local caches only{again}.")
            log.warning("%s", message)
            self.on_notice(message)

    def _up(self) -> None:
        self._timeouts = 0
        if self._down:
            self._down = False
            log.warning("haiku-lsp: the shared cache at %s is back", shown_url(self.url))

    def get(self, namespace: str, key: str) -> Any | None:
        if not self.available:
            return None
        clients = self._clients()
        if clients is None:
            return None
        try:
            raw = clients[0].get(self._key(namespace, key))
        except self._timeout_error as err:
            self._timeouts += 1
            if self._timeouts >= TIMEOUTS_DOWN:
                self._fail(f"{TIMEOUTS_DOWN} reads in a row timed out: {err}")
            else:
                self.stats.errors += 1
                log.info("shared cache read timed out (a miss): %s", err)
            return None
        except self._errors as err:
            self._fail(f"{type(err).__name__}: {err}")
            return None
        except Exception as err:  # a server answering something else than Redis' protocol
            self._fail(f"{type(err).__name__}: {err}")
            return None
        self._up()
        if raw is None:
            self.stats.misses += 1
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        return value

    def set(self, namespace: str, key: str, value: Any) -> None:
        if value is None or not self.available:
            return
        try:
            data = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError):
            return  # not JSON: stays local
        clients = self._clients()
        if clients is None:
            return
        try:
            clients[1].set(self._key(namespace, key), data, ex=self.ttl_s)
        except self._errors as err:
            self._fail(f"{type(err).__name__}: {err}")
            return
        except Exception as err:  # e.g. OOM with maxmemory + noeviction: the write is lost, reads go on
            self.stats.errors += 1
            log.info("shared cache write refused: %s", err)
            return
        self._up()
        self.stats.writes += 1

    def close(self) -> None:
        for client in (self._reader, self._writer):
            if client is not None:
                try:
                    client.close()
                except Exception:  # closing a broken connection
                    pass
        self._reader = self._writer = None
