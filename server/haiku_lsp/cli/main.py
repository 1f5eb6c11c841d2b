"""Command line: `haiku-lsp` serves LSP on stdio (default) or TCP; `haiku-lsp demo` drives a real
session against the server and prints what it got; `haiku-lsp stats` prints today's and the last 7
days' usage and cost from the cache dir."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys

from haiku_lsp import __version__


class _SecretFilter(logging.Filter):
    """Keeps the API key out of every log line, whoever logs it."""

    def __init__(self) -> None:
        super().__init__()
        # Short values (test keys like "k") would mangle every log line and cannot be real keys.
        self.secrets = [v for k in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
                        if (v := os.environ.get(k)) and len(v) >= 8]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for s in self.secrets:
                    message = message.replace(s, "***")
                record.msg, record.args = message, ()
        return True


def setup_logging(verbosity: int, log_file: str | None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.addFilter(_SecretFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG)
    # The SDK's and transport's debug logs carry request headers: never below INFO.
    for name in ("anthropic", "httpx2", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(max(logging.INFO, root.level))


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host or "127.0.0.1", int(port)


# Sub-commands whose modules add their own parsers: imported only when the command line may name them (or asks
# for help), so that serving, the default, does not import them (importlib.metadata and more: ~15 ms of start-up).
PLUGGED = {"gen-tests": "gen_tests", "explain": "explain", "doctor": "doctor"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `argv`, the plugged-in sub-commands only when it names one of them
    or asks for help (None: all of them)."""
    p = argparse.ArgumentParser(prog="haiku-lsp", description="Claude Haiku pair-programming language server")
    p.add_argument("--version", action="version", version=f"haiku-lsp {__version__}")
    p.add_argument("--stdio", action="store_true", help="serve LSP on stdin/stdout (the default)")
    p.add_argument("--tcp", type=_host_port, metavar="HOST:PORT", help="serve LSP on a TCP socket")
    p.add_argument("--log-file", help="write logs here instead of stderr")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logs (-vv for debug)")
    sub = p.add_subparsers(dest="command")
    sub.add_parser("serve", help="serve LSP (the default)")
    demo = sub.add_parser("demo", help="run a real LSP session on a sample file and print the results")
    demo.add_argument("file", nargs="?", help="a Python file (default: a bundled sample)")
    refactor = sub.add_parser("refactor", help="plan + parallel workers + validation on one file, headless")
    refactor.add_argument("file", help="the Python file to refactor")
    refactor.add_argument("-m", "--message", required=True, help="the instruction, e.g. 'add type hints'")
    mode = refactor.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print the diff only (the default)")
    mode.add_argument("--apply", action="store_true", help="write the result when validation passed")
    refactor.add_argument("--planner-model", help="override the planner model")
    refactor.add_argument("--worker-model", help="override the worker model")
    refactor.add_argument("--allow-unvalidated", action="store_true",
                          help="with --apply, write a result that failed nothing but was not fully checked "
                               "(e.g. no tests for the module); without it such a result exits 3")
    refactor.add_argument("--no-os-sandbox", action="store_true",
                          help="run the validation tests without the OS sandbox (bubblewrap, sandbox-exec) "
                               "when none is available")
    stats = sub.add_parser("stats", help="usage and cost of today and the last 7 days (every server of this user)")
    stats.add_argument("--cache-dir", help="the cache directory to read (default: HAIKU_LSP_CACHE_DIR or the "
                                           "platform's user cache dir + /haiku-lsp)")
    stats.add_argument("--json", action="store_true", help="print JSON (what the haiku/stats request answers)")
    words = set(argv) if argv is not None else None
    if words is None or words & {*PLUGGED, "-h", "--help"}:
        import importlib

        for module in PLUGGED.values():
            importlib.import_module(f"haiku_lsp.cli.{module}").add_parser(sub)
    return p


def run_stats(cache_dir: str | None, as_json: bool) -> int:
    import json
    from pathlib import Path

    from haiku_lsp.llm import UsageStore, default_cache_dir, render_stats, usage_stats

    folder = Path(cache_dir).expanduser() if cache_dir else default_cache_dir()
    if not folder.is_dir():
        print(f"haiku-lsp stats: no cache directory at {folder} (no server has run with it yet)", file=sys.stderr)
        return 2
    figures = usage_stats(UsageStore(folder / "usage"))
    print(json.dumps(figures, indent=2) if as_json else render_stats(figures), end="\n" if as_json else "")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser(sys.argv[1:] if argv is None else argv).parse_args(argv)
    setup_logging(args.verbose, args.log_file)
    if args.command == "refactor":
        from haiku_lsp.cli.refactor import run

        return run(args.file, args.message, args.apply, args.planner_model, args.worker_model,
                   allow_unvalidated=args.allow_unvalidated, os_sandbox=not args.no_os_sandbox)
    if args.command == "stats":
        return run_stats(args.cache_dir, args.json)
    if args.command == "doctor":
        from haiku_lsp.cli.doctor import run as doctor_run

        return doctor_run(args)
    if args.command == "explain":
        from haiku_lsp.cli.explain import run as explain_log

        return explain_log(args)
    if args.command == "gen-tests":
        from haiku_lsp.cli.gen_tests import run as gen_tests

        return gen_tests(args)
    if args.command == "demo":
        from haiku_lsp.cli.demo import run_demo

        return run_demo(args.file)
    # Start-up creates ~200,000 objects that live as long as the process (lsprotocol's types and their
    # converters above all). Garbage collections among them while importing are wasted work, about a
    # quarter of the time to answer `initialize`: off until the server is built, then those objects
    # are frozen out of later collections (server.py freezes again after the background imports).
    gc.disable()
    try:
        from haiku_lsp.lsp.server import create_server
        from haiku_lsp.lsp.stdio import serve_stdio

        server = create_server()
    finally:
        gc.freeze()
        gc.enable()
    if args.tcp:
        host, port = args.tcp
        server.start_tcp(host, port)
        return 0
    return serve_stdio(server)
