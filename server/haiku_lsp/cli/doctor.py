"""`haiku-lsp doctor [--provider P]`: is haiku-lsp usable from here, and how do editors start it?

Prints the provider, where its calls go, the model ids it is sent, what the environment lacks, the caches,
then makes one tiny call (1 output token, with its latency; `--no-call` skips it; none without a key);
then a checklist: `haiku-lsp` on PATH (what editors start), the key, the endpoint, ruff, jedi, the OS
sandbox for model-written code (bubblewrap, sandbox-exec), the cache directory writable; and the editor
set-up to paste. Exit 0 when nothing failed (warnings allowed), 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import os
import shutil
import sys
import tempfile
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from haiku_lsp.settings import Settings

PROVIDER_ENV = "HAIKU_LSP_PROVIDER"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("doctor", help="check the provider and its endpoint, PATH, the key, ruff, jedi and the "
                                      "caches; print the editor set-up",
                       description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--provider", choices=("anthropic", "bedrock", "vertex"),
                   help=f"the provider to check (default: ${PROVIDER_ENV}, else anthropic)")
    p.add_argument("--model", help="the model to try (default: the fastModel setting)")
    p.add_argument("--no-call", action="store_true", help="check the set-up only, make no model call")


def cli_settings(provider: str | None = None) -> Settings:
    """The settings headless commands run with: the defaults, on `provider` or `$HAIKU_LSP_PROVIDER`."""
    from haiku_lsp.settings import Settings, load_settings

    chosen = provider or os.environ.get(PROVIDER_ENV)
    if not chosen:
        return Settings()
    settings, problems = load_settings({"provider": chosen})
    for problem in problems:
        print(f"haiku-lsp: {PROVIDER_ENV}: {problem}", file=sys.stderr)
    return settings


def run(args: argparse.Namespace) -> int:
    return asyncio.run(_doctor(args))


async def _doctor(args: argparse.Namespace) -> int:
    from haiku_lsp import __version__
    from haiku_lsp.errors import ProviderError
    from haiku_lsp.llm import AnthropicProvider, ModelRequest
    from haiku_lsp.llm.platforms import endpoint, missing, platform_model
    from haiku_lsp.session import Session

    settings = cli_settings(args.provider)
    session = Session(settings)
    ok = True
    platform = settings.provider
    print(f"haiku-lsp {__version__}")
    print(f"provider:     {platform}")
    print(f"endpoint:     {endpoint(platform)}")
    fast, planner = args.model or settings.fast_model, settings.planner_model
    print(f"models:       fast {fast} -> {platform_model(platform, fast)}, "
          f"planner {planner} -> {platform_model(platform, planner)}")
    lacking = missing(platform)
    for item in lacking:
        print(f"missing:      {item}")
    # Without a key the server still serves offline suggestions: a warning below, not a failure.
    ok = ok and not [x for x in lacking if not (platform == "anthropic" and "API key" in x)]
    cache = session.cache
    print(f"cache:        {cache.directory} ({'on' if cache.enabled else 'off'}, {cache.size_mib} MiB)")
    if cache.shared is None:
        print("shared cache: none (HAIKU_LSP_SHARED_CACHE / sharedCacheUrl)")
    else:
        cache.shared.get("doctor", "ping")
        usable = cache.shared.available and cache.shared.stats.errors == 0
        print(f"shared cache: {cache.shared.url}: {'reachable' if usable else 'NOT reachable'}")
        ok = ok and usable
    checks = _Checklist()
    key = os.environ.get("ANTHROPIC_API_KEY") or os.environ.get("ANTHROPIC_AUTH_TOKEN")
    try:
        if args.no_call:
            pass
        elif platform == "anthropic" and not key:
            print("call:         none (no ANTHROPIC_API_KEY)")
        else:
            request = ModelRequest(model=fast, messages=({"role": "user", "content": "Reply with the word OK."},),
                                   max_tokens=1)
            started = time.monotonic()
            try:
                answer = await session.provider.complete(request, timeout=settings.action_timeout_s,
                                                         feature="doctor")
            except ProviderError as err:
                print(f"call:         FAILED ({err.kind}): {err}")
                why = "the key was rejected (401): check ANTHROPIC_API_KEY" if err.kind == "auth" else str(err)
                checks.line("FAIL", "endpoint", why)
            else:
                ms = (time.monotonic() - started) * 1000
                print(f"call:         ok in {ms:.0f} ms: {answer.text.strip()[:40]!r} "
                      f"({answer.usage.prompt_tokens} tokens in, {answer.usage.output} out)")
                checks.line("ok", "endpoint", f"{endpoint(platform)} answered in {ms:.0f} ms "
                                              f"({answer.usage.prompt_tokens} tokens in)")
    finally:
        if isinstance(session.upstream, AnthropicProvider):
            await session.upstream.aclose()
        session.close()
    _check_machine(checks, key, platform, cache.directory)
    if not ok:
        checks.failed += 1
    print(f"\n{'all checks passed' if not checks.failed else f'{checks.failed} check(s) failed'}")
    return 1 if checks.failed else 0


class _Checklist:
    def __init__(self) -> None:
        self.failed = 0
        self.lines: list[str] = []

    def line(self, status: str, what: str, detail: str) -> None:
        self.failed += status == "FAIL"
        self.lines.append(f"  {status:<4}  {what:<10} {detail}")


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _check_machine(checks: _Checklist, key: str | None, platform: str, cache_dir: object) -> None:
    """What editors need on this machine, as a checklist, then the set-up to paste."""
    from pathlib import Path

    on_path = shutil.which("haiku-lsp")
    if on_path:
        checks.line("ok", "PATH", f"haiku-lsp is {on_path}")
    else:
        checks.line("WARN", "PATH", "haiku-lsp is not on PATH, so editors cannot start it: `pipx install .` in a "
                                    "checkout (README: Install), or give editors the full command")
    if key:
        checks.line("ok", "key", f"set ({key[:7]}…, {len(key)} characters)")
    elif platform == "anthropic":
        checks.line("WARN", "key", "no ANTHROPIC_API_KEY: the server serves offline suggestions (jedi) only")
    ruff, jedi = _version("ruff"), _version("jedi")
    checks.line("ok" if ruff else "WARN", "ruff", f"ruff {ruff}" if ruff else
                "not installed for this Python: no ruff diagnostics or checked fixes (`pipx inject haiku-lsp ruff`)")
    checks.line("ok" if jedi else "FAIL", "jedi", f"jedi {jedi}" if jedi else "not installed: reinstall haiku-lsp")
    from haiku_lsp.tools import OPT_OUT, os_sandbox_status

    confined, backend = os_sandbox_status()
    checks.line("ok" if confined else "WARN", "sandbox", f"{backend}: generated tests and refactor validation run "
                "confined" if confined else f"none ({backend}): generated tests and refactor validation will not "
                f"run; {OPT_OUT}")
    folder = Path(str(cache_dir))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
            pass
        checks.line("ok", "cache", f"{folder} is writable")
    except OSError as err:
        checks.line("FAIL", "cache", f"{folder}: {err} (set HAIKU_LSP_CACHE_DIR to a writable folder)")
    print("\nchecks:")
    print("\n".join(checks.lines))
    command = on_path or "haiku-lsp"
    print(f"""
Neovim 0.11+ (init.lua; README: Editor set-up has 0.7-0.10 and ghost text for 0.12):
  vim.lsp.config("haiku", {{ cmd = {{ "{command}" }}, filetypes = {{ "python" }},
    root_markers = {{ "pyproject.toml", ".git" }}, init_options = {{ ruffDiagnostics = true }} }})
  vim.lsp.enable("haiku")
VS Code settings.json (with the extension from vscode-extension/ installed):
  "haiku.serverCommand": ["{command}"]""")
