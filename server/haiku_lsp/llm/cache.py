"""Content-addressed cache: a small in-memory LRU in front of diskcache, in namespaces, and optionally a
team cache on Redis/Valkey behind both (`llm.shared_cache`).

Keys are SHA-256 hashes of exactly what was sent upstream (model, prompt version, the prompt
itself), so a hit can only return what the same request produced. Only successful results are
stored; callers never pass failures here. The disk store survives restarts and is bounded in size
(diskcache evicts least-recently-stored entries). A hit in the shared tier is kept locally too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from haiku_lsp.llm.shared_cache import SharedCache

log = logging.getLogger(__name__)

SHARED_CACHE_ENV = "HAIKU_LSP_SHARED_CACHE"
SQLITE_CACHE_PAGES = 1024  # the disk store's SQLite page cache: 4 MiB a connection (diskcache's default: 32)
_OFF = ("off", "none", "false", "0")


def shared_cache_url(setting: str = "") -> str:
    """The team cache's URL: the `sharedCacheUrl` setting, else `$HAIKU_LSP_SHARED_CACHE`; "" when neither
    is set or the one that counts says `off`."""
    url = (setting or os.environ.get(SHARED_CACHE_ENV, "")).strip()
    return "" if url.lower() in _OFF else url


def default_cache_dir() -> Path:
    """`HAIKU_LSP_CACHE_DIR`, else the platform's user cache dir + `/haiku-lsp`."""
    if env := os.environ.get("HAIKU_LSP_CACHE_DIR"):
        return Path(env).expanduser()
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif os.uname().sysname == "Darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "haiku-lsp"


# hashlib lets go of the GIL for inputs of 2,048 bytes or more; on a server whose jedi thread is busy,
# getting it back can take a whole switch interval (5 ms). Smaller pieces keep it: a key is ~20 us.
_HASH_PIECE = 2000


def content_key(*parts: Any) -> str:
    """A stable hash of JSON-serialisable parts (dict key order does not matter)."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    data = memoryview(blob.encode("utf-8"))
    digest = hashlib.sha256()
    for start in range(0, len(data), _HASH_PIECE):
        digest.update(data[start:start + _HASH_PIECE])
    return digest.hexdigest()


@dataclass
class CacheStats:
    memory_hits: int = 0
    disk_hits: int = 0
    misses: int = 0
    writes: int = 0
    shared_hits: int = 0
    # hits and misses by namespace (a namespace is a feature: "inline", "fix", "hover"...)
    namespaces: dict[str, dict[str, int]] = field(default_factory=dict)

    def count(self, namespace: str, hit: bool) -> None:
        counts = self.namespaces.setdefault(namespace, {"hits": 0, "misses": 0})
        counts["hits" if hit else "misses"] += 1


class Cache:
    """`get`/`set` by (namespace, key). Disk is opened lazily on first use, off the start-up path."""

    def __init__(self, directory: Path | None = None, *, size_mib: int = 256, memory_items: int = 1000,
                 enabled: bool = True, shared_url: str | None = None,
                 on_notice: Callable[[str], None] = lambda message: None) -> None:
        self.directory = directory or default_cache_dir()
        self.on_notice = on_notice  # told once when the shared tier becomes unusable
        self.shared: SharedCache | None = None
        self._set_shared(shared_cache_url() if shared_url is None else shared_url)
        self.size_mib = size_mib
        self.enabled = enabled
        self._memory: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._memory_items = memory_items
        self._disk: Any = None
        self._disk_failed = False
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def _open(self) -> Any:
        if self._disk is None and not self._disk_failed:
            with self._lock:
                if self._disk is None and not self._disk_failed:
                    try:
                        import diskcache

                        self.directory.mkdir(parents=True, exist_ok=True)
                        # SQLite's page cache: diskcache's default, 8,192 pages (32 MiB a connection), fills
                        # as the store grows (+0.35 MiB per 1,000 writes, resident for good); reads go through
                        # the memory map anyway, and 1,024 pages measured as fast for this cache's entries.
                        self._disk = diskcache.Cache(
                            str(self.directory / "store"), size_limit=self.size_mib * 1024 * 1024,
                            sqlite_cache_size=SQLITE_CACHE_PAGES)
                    except Exception as err:  # an unusable cache dir must not take the server down
                        log.warning("disk cache unavailable at %s: %s", self.directory, err)
                        self._disk_failed = True
        return self._disk

    def _set_shared(self, url: str) -> None:
        if (self.shared.url if self.shared else "") == url:
            return
        if self.shared is not None:
            self.shared.close()
        self.shared = SharedCache(url, on_notice=lambda message: self.on_notice(message)) if url else None

    def configure(self, *, enabled: bool, size_mib: int, shared_url: str | None = None) -> None:
        """Switch the cache on or off, bound the disk store and point the shared tier at `shared_url` ("":
        none; None: leave it); an open store takes the new bound at once (diskcache then evicts down to it
        as entries are written)."""
        self.enabled = enabled
        if shared_url is not None:
            self._set_shared(shared_url)
        with self._lock:  # not while the warm-up thread is opening the store with the old bound
            if size_mib == self.size_mib:
                return
            self.size_mib = size_mib
            if self._disk is not None:
                try:
                    self._disk.reset("size_limit", size_mib * 1024 * 1024)
                except Exception as err:
                    log.warning("disk cache resize failed: %s", err)

    def warm(self) -> None:
        """Open the disk store now (called in the background after `initialize`)."""
        if self.enabled:
            self._open()

    def get(self, namespace: str, key: str) -> Any | None:
        if not self.enabled:
            return None
        mkey = (namespace, key)
        if mkey in self._memory:
            self._memory.move_to_end(mkey)
            self.stats.memory_hits += 1
            self.stats.count(namespace, True)
            return self._memory[mkey]
        disk = self._open()
        value = None
        if disk is not None:
            try:
                value = disk.get(f"{namespace}:{key}")
            except Exception as err:
                log.warning("disk cache read failed: %s", err)
        if value is not None:
            self.stats.disk_hits += 1
            self.stats.count(namespace, True)
            self._remember(mkey, value)
            return value
        if self.shared is not None and (value := self.shared.get(namespace, key)) is not None:
            self.stats.shared_hits += 1
            self.stats.count(namespace, True)
            self._store_local(namespace, key, value)
            return value
        self.stats.misses += 1
        self.stats.count(namespace, False)
        return None

    def set(self, namespace: str, key: str, value: Any) -> None:
        if not self.enabled or value is None:
            return
        self.stats.writes += 1
        self._store_local(namespace, key, value)
        if self.shared is not None:
            self.shared.set(namespace, key, value)

    def _store_local(self, namespace: str, key: str, value: Any) -> None:
        self._remember((namespace, key), value)
        disk = self._open()
        if disk is not None:
            try:
                disk.set(f"{namespace}:{key}", value)
            except Exception as err:
                log.warning("disk cache write failed: %s", err)

    def _remember(self, mkey: tuple[str, str], value: Any) -> None:
        self._memory[mkey] = value
        self._memory.move_to_end(mkey)
        while len(self._memory) > self._memory_items:
            self._memory.popitem(last=False)

    def close(self) -> None:
        if self._disk is not None:
            self._disk.close()
        if self.shared is not None:
            self.shared.close()
