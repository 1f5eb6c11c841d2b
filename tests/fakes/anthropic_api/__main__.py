"""``python -m tests.fakes.anthropic_api``: run the fake Anthropic API until interrupted (its base URL is
printed on stdout)."""

from __future__ import annotations

import argparse
import threading

from .scripting import Reply
from .server import FakeAnthropic


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Anthropic API until interrupted.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--text", default="", help="default reply text")
    parser.add_argument("--ttft", type=float, default=0.0)
    parser.add_argument("--chunk-chars", type=int, default=8)
    parser.add_argument("--chunk-delay", type=float, default=0.0)
    parser.add_argument("--tokens-per-second", type=float, default=None)
    parser.add_argument("--api-key", default=None, help="only accept this key")
    args = parser.parse_args(argv)
    fake = FakeAnthropic(
        api_key=args.api_key,
        host=args.host,
        port=args.port,
        default_reply=Reply(
            text=args.text,
            ttft=args.ttft,
            chunk_chars=args.chunk_chars,
            chunk_delay=args.chunk_delay,
            tokens_per_second=args.tokens_per_second,
        ),
    ).start()
    print(fake.base_url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
