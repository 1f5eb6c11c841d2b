"""`haiku-lsp doctor`: checks what the server needs on this machine and prints the editor set-up to paste.

Checks: `haiku-lsp` on PATH (what editors start), the API key, the endpoint (one tiny request: 1 output
token, with its latency), ruff and jedi, the cache directory. Exit 0 when nothing failed (warnings allowed),
1 otherwise.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import sys
import tempfile
import time

from haiku_lsp import __version__
from haiku_lsp.llm import default_cache_dir
from haiku_lsp.settings import Settings

PING_TIMEOUT_S = 20.0


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


class _Report:
    def __init__(self) -> None:
        self.failed = 0

    def line(self, status: str, what: str, detail: str) -> None:
        self.failed += status == "FAIL"
        print(f"  {status:<4}  {what:<10} {detail}")


def _ping(model: str) -> tuple[bool, str]:
    """One request of one output token: (ok, what happened)."""
    import anthropic  # ~3 s on small machines: only here

    client = anthropic.Anthropic(max_retries=0, timeout=PING_TIMEOUT_S)
    t0 = time.perf_counter()
    try:
        reply = client.messages.create(model=model, max_tokens=1,
                                       messages=[{"role": "user", "content": "Say OK."}])
    except anthropic.AuthenticationError:
        return False, "the key was rejected (401): check ANTHROPIC_API_KEY"
    except anthropic.APIStatusError as err:
        return False, f"the API answered {err.status_code}: {err.message}"
    except anthropic.APIConnectionError as err:
        return False, f"cannot reach {client.base_url}: {err}"
    ms = (time.perf_counter() - t0) * 1000
    return True, f"{client.base_url} answered {reply.model} in {ms:.0f} ms ({reply.usage.input_tokens} tokens in)"


def run_doctor() -> int:
    report = _Report()
    print(f"haiku-lsp {__version__} (Python {sys.version.split()[0]}, {sys.executable})")
    on_path = shutil.which("haiku-lsp")
    if on_path:
        report.line("ok", "PATH", f"haiku-lsp is {on_path}")
    else:
        report.line("WARN", "PATH", "haiku-lsp is not on PATH, so editors cannot start it: `pipx install .` in a "
                                    "checkout (README: Install), or give editors the full command")
    key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    if key:
        report.line("ok", "key", f"set ({key[:7]}…, {len(key)} characters)")
        ok, detail = _ping(Settings().fast_model)
        report.line("ok" if ok else "FAIL", "endpoint", detail)
    else:
        report.line("WARN", "key", "no ANTHROPIC_API_KEY: the server serves offline suggestions (jedi) only")
    ruff, jedi = _version("ruff"), _version("jedi")
    report.line("ok" if ruff else "WARN", "ruff", f"ruff {ruff}" if ruff else
                "not installed for this Python: no ruff diagnostics or checked fixes (`pipx inject haiku-lsp ruff`)")
    report.line("ok" if jedi else "FAIL", "jedi", f"jedi {jedi}" if jedi else "not installed: reinstall haiku-lsp")
    cache = default_cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache, prefix=".doctor-"):
            pass
        report.line("ok", "cache", f"{cache} is writable")
    except OSError as err:
        report.line("FAIL", "cache", f"{cache}: {err} (set HAIKU_LSP_CACHE_DIR to a writable folder)")
    command = on_path or "haiku-lsp"
    print(f"""
Neovim 0.11+ (init.lua; README: Editor set-up has 0.7-0.10 and ghost text for 0.12):
  vim.lsp.config("haiku", {{ cmd = {{ "{command}" }}, filetypes = {{ "python" }},
    root_markers = {{ "pyproject.toml", ".git" }}, init_options = {{ ruffDiagnostics = true }} }})
  vim.lsp.enable("haiku")
VS Code settings.json (with the extension from vscode-extension/ installed):
  "haiku.serverCommand": ["{command}"]""")
    print(f"\n{'all checks passed' if not report.failed else f'{report.failed} check(s) failed'}")
    return 1 if report.failed else 0

