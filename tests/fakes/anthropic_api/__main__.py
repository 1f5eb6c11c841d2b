"""``python -m tests.fakes.anthropic_api``: run the fake Anthropic API until interrupted."""

from .server import main

main()
