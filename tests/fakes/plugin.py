"""Pytest plugin with the ``fake_anthropic`` fixture: ``pytest_plugins = ["tests.fakes.plugin"]``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.anthropic_api import FakeAnthropic


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    """A running FakeAnthropic (fresh per test); stopped, with all connections closed, afterwards.

    Fails the test at teardown if the fake itself hit an internal error (a bug in the fake, or a script
    ``match`` predicate that raised), so such errors are not silently turned into odd responses.
    """
    fake = FakeAnthropic().start()
    try:
        yield fake
    finally:
        fake.stop()
    if fake.errors:
        pytest.fail("fake Anthropic API internal errors:\n" + "\n".join(fake.errors))
