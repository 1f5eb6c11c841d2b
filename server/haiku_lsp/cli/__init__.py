"""Command-line entry points: serve (the language server), demo, refactor, gen-tests."""

from haiku_lsp.cli.main import main

__all__ = ["main"]
