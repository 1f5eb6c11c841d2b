"""A check that cannot run never passes: without ruff, the quick-fix check and ruff itself raise
ToolUnavailable naming ruff before any process starts (the real runs are in tests/e2e/test_validation.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from haiku_lsp.errors import ActionError, ToolUnavailable
from haiku_lsp.quickfix.fix import check_fix, enclosing_scope
from haiku_lsp.tools import ruff


@pytest.fixture
def no_ruff(monkeypatch):
    monkeypatch.setattr(ruff, "ruff_available", lambda: False)


async def test_ruff_check_without_ruff_raises(no_ruff):
    with pytest.raises(ToolUnavailable, match="ruff is not installed for the server's Python"):
        await ruff.ruff_check("x = 1\n", Path("m.py"), None)


@pytest.mark.parametrize("source", ["Ruff", "Pyright"])
async def test_the_fix_check_fails_closed_without_ruff(no_ruff, source):
    lines = ["def f():", "    x = 1", "    return 2"]
    diagnostic = {"range": {"start": {"line": 1, "character": 4}, "end": {"line": 1, "character": 5}},
                  "message": "unused", "source": source, "code": "F841"}
    scope = enclosing_scope(lines, 1, 1)
    with pytest.raises(ToolUnavailable) as caught:
        await check_fix("\n".join(lines), "def f():\n    return 2", Path("m.py"), None, diagnostic, scope, 2)
    assert isinstance(caught.value, ActionError) and "ruff" in str(caught.value)
