"""Unit tests: pure logic in this process, in seconds. No server subprocess, no fake HTTP API, no pytest or
ruff run: a test that starts a process or opens a network connection fails here (an audit hook, active
only while a unit test runs), and belongs in tests/e2e/."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

# Audit events that start another program or use the network (socketpair, as asyncio's loop makes one,
# raises none of them).
_BLOCKED = {"subprocess.Popen", "os.posix_spawn", "os.fork", "os.forkpty", "os.exec", "os.spawn", "os.system",
            "socket.bind", "socket.connect", "socket.getaddrinfo"}
_guard = {"on": False}
_HERE = Path(__file__).parent


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _guard["on"] and event in _BLOCKED:
        raise RuntimeError(f"a unit test may not start processes or use the network ({event}{args[:2]!r}): "
                           "move it to tests/e2e/")


sys.addaudithook(_audit)  # hooks cannot be removed: it does nothing unless a unit test is running


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """On for each unit test's setup (module fixtures included), call and teardown. (pytest calls this
    hook for every test of the session, e2e ones too.)"""
    _guard["on"] = item.path.is_relative_to(_HERE)
    try:
        return (yield)
    finally:
        _guard["on"] = False


@pytest.fixture
def fake_anthropic():
    pytest.fail("unit tests do not get the fake HTTP API (tests/fakes): move the test to tests/e2e/")
