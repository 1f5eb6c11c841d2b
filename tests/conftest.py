"""The whole suite: tests/unit/ (pure logic, in-process, seconds) and tests/e2e/ (the server subprocess,
the fake Anthropic API over HTTP, real pytest and ruff runs); each folder runs on its own too. The LSP
client both use is tests/harness/, the fake API tests/fakes/."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.fakes.plugin"]  # the fake_anthropic fixture (refused to unit tests)

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder, tests/unit/ or tests/e2e/: `pytest -m unit` is `pytest tests/unit`."""
    for item in items:
        if item.path.is_relative_to(HERE):
            folder = item.path.relative_to(HERE).parts[0]
            if folder not in ("unit", "e2e"):
                raise pytest.UsageError(f"{item.path.relative_to(HERE)}: tests live in tests/unit/ or tests/e2e/")
            item.add_marker(folder)
