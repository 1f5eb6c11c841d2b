"""haiku-lsp: a language server that pairs you with Claude Haiku."""

__version__ = "0.1.0"
