"""Command-line entry points: serve (the language server), demo, refactor, gen-tests, explain, doctor."""

from haiku_lsp.cli.main import main

__all__ = ["main"]
