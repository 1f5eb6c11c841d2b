"""How the harness starts haiku-lsp: its command line and an environment pointing it at the fake API."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

API_KEY = "sk-ant-test-key-0123456789abcdef"

# Whatever the machine's environment says about the real API stays out of the server's.
_DROPPED = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")


def haiku_command(*args: str) -> list[str]:
    """The server on stdio, run by this interpreter (so with this environment's packages)."""
    return [sys.executable, "-m", "haiku_lsp", "--stdio", *args]


def server_env(base_url: str, cache_dir: Path, *, api_key: str | None = API_KEY,
               extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a server talking to the API at `base_url` (the fake's), with its own
    cache directory, unbuffered output, the key `api_key` (none when None), then `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    env.update({"ANTHROPIC_BASE_URL": base_url, "HAIKU_LSP_CACHE_DIR": str(cache_dir), "PYTHONUNBUFFERED": "1"})
    if api_key is not None:
        env["ANTHROPIC_API_KEY"] = api_key
    env.update(extra or {})
    return env
