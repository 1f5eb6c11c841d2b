"""`haiku-lsp doctor [--provider P]`: is the chosen provider usable from here? Prints the provider, where
its calls go, the model ids it is sent, what the environment lacks, the caches, then makes one tiny call
(a few tokens; `--no-call` skips it). Exit 0 when everything checked works, 1 otherwise."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from haiku_lsp.settings import Settings

PROVIDER_ENV = "HAIKU_LSP_PROVIDER"


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("doctor", help="check the model provider (anthropic, bedrock, vertex) and the caches",
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
    ok = ok and not lacking
    cache = session.cache
    print(f"cache:        {cache.directory} ({'on' if cache.enabled else 'off'}, {cache.size_mib} MiB)")
    if cache.shared is None:
        print("shared cache: none (HAIKU_LSP_SHARED_CACHE / sharedCacheUrl)")
    else:
        cache.shared.get("doctor", "ping")
        usable = cache.shared.available and cache.shared.stats.errors == 0
        print(f"shared cache: {cache.shared.url}: {'reachable' if usable else 'NOT reachable'}")
        ok = ok and usable
    try:
        if args.no_call:
            return 0 if ok else 1
        request = ModelRequest(model=fast, messages=({"role": "user", "content": "Reply with the word OK."},),
                               max_tokens=8)
        started = time.monotonic()
        try:
            answer = await session.provider.complete(request, timeout=settings.action_timeout_s, feature="doctor")
        except ProviderError as err:
            print(f"call:         FAILED ({err.kind}): {err}")
            return 1
        ms = (time.monotonic() - started) * 1000
        print(f"call:         ok in {ms:.0f} ms: {answer.text.strip()[:40]!r} "
              f"({answer.usage.prompt_tokens} tokens in, {answer.usage.output} out)")
        return 0 if ok else 1
    finally:
        if isinstance(session.upstream, AnthropicProvider):
            await session.upstream.aclose()
        session.close()
