"""`haiku-lsp explain LOG`: the real entry point in a subprocess, the real SDK against the fake API, on a CI
log (GitHub Actions timestamps, paths of the CI machine) whose frames resolve to a local checkout by their
tail; the editor's explanation engine, its patch applied only with --apply."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_actions import CALC, EXPLANATION
from tests.fakes.anthropic_api import FakeAnthropic, Fault, Reply
from tests.harness import API_KEY, server_env

CI = "/home/runner/work/proj/proj"
LOG = f'''2026-11-30T08:00:00.0000000Z ##[group]Run python main.py
2026-11-30T08:00:01.1000000Z Traceback (most recent call last):
2026-11-30T08:00:01.1000000Z   File "{CI}/main.py", line 4, in <module>
2026-11-30T08:00:01.1000000Z     print(mean([]))
2026-11-30T08:00:01.1000000Z           ^^^^^^^^
2026-11-30T08:00:01.1000000Z   File "{CI}/calc.py", line 12, in mean
2026-11-30T08:00:01.1000000Z     return total / len(values)
2026-11-30T08:00:01.1000000Z            ~~~~~~^~~~~~~~~~~~~
2026-11-30T08:00:01.1000000Z ZeroDivisionError: division by zero
2026-11-30T08:00:02.0000000Z ##[error]Process completed with exit code 1.
2026-11-30T08:00:03.0000000Z retrying once
2026-11-30T08:00:04.1000000Z Traceback (most recent call last):
2026-11-30T08:00:04.1000000Z   File "{CI}/main.py", line 4, in <module>
2026-11-30T08:00:04.1000000Z     print(mean([]))
2026-11-30T08:00:04.1000000Z           ^^^^^^^^
2026-11-30T08:00:04.1000000Z   File "{CI}/calc.py", line 12, in mean
2026-11-30T08:00:04.1000000Z     return total / len(values)
2026-11-30T08:00:04.1000000Z            ~~~~~~^~~~~~~~~~~~~
2026-11-30T08:00:04.1000000Z ZeroDivisionError: division by zero
2026-11-30T08:00:05.0000000Z Traceback (most recent call last):
2026-11-30T08:00:05.0000000Z   File "{CI}/config.py", line 2, in <module>
2026-11-30T08:00:05.0000000Z     PORT = SETTINGS["port"]
2026-11-30T08:00:05.0000000Z            ~~~~~~~~^^^^^^^^
2026-11-30T08:00:05.0000000Z KeyError: 'port'
'''
KEY_ERROR = {**EXPLANATION, "hypotheses": [
    {"title": "SETTINGS has no 'port' key", "explanation": "config.py:2 reads it.", "confidence": "high"},
    {"title": "The settings file was not loaded", "explanation": "Possible.", "confidence": "medium"},
    {"title": "A typo in the key", "explanation": "Unlikely.", "confidence": "low"}],
    "patch": None, "summary": "Default the port"}


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "calc.py").write_text(CALC)
    (root / "main.py").write_text("from calc import mean\n\n\nprint(mean([]))\n")
    (root / "config.py").write_text('SETTINGS = {}\nPORT = SETTINGS["port"]\n')
    (root / "ci.log").write_text(LOG)
    return root


def explain(fake: FakeAnthropic, root: Path, *args: str, key: bool = True, stdin: str | None = None):
    env = server_env(fake.base_url, root.parent / "cache", api_key=API_KEY if key else None)
    return subprocess.run([sys.executable, "-m", "haiku_lsp", "explain", *args], cwd=root, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_explains_the_first_traceback_and_applies_the_patch_only_when_asked(fake_anthropic, checkout):
    fake_anthropic.script(Reply(text=json.dumps(EXPLANATION)), match="ZeroDivisionError")
    fake_anthropic.script(Reply(text=json.dumps(KEY_ERROR)), match="KeyError")
    done = explain(fake_anthropic, checkout, "ci.log")
    assert done.returncode == 0, done.stderr
    [req] = fake_anthropic.message_requests
    # The CI machine's paths were resolved to the checkout: the source of the frames was sent.
    assert "ZeroDivisionError" in req.last_user_text and "return total / len(values)" in req.last_user_text
    assert "mean() is called with an empty list" in done.stdout and "calc.py:12" in done.stdout
    assert "--apply" in done.stdout and "KeyError" not in done.stdout
    assert (checkout / "calc.py").read_text() == CALC  # nothing written

    every = explain(fake_anthropic, checkout, "ci.log", "--all")
    assert every.returncode == 0, every.stderr
    assert every.stdout.count("mean() is called with an empty list") == 1  # the repeat is explained once
    assert "SETTINGS has no 'port' key" in every.stdout and "\n---\n" in every.stdout
    assert len(fake_anthropic.message_requests) == 2  # the first one came from the cache

    applied = explain(fake_anthropic, checkout, "-", "--apply", stdin=LOG)
    assert applied.returncode == 0, applied.stderr
    assert "if not values:" in (checkout / "calc.py").read_text() and "Applied" in applied.stdout
    assert "applied the suggested fix" in applied.stderr


def test_exit_codes_and_the_offline_explanation(fake_anthropic, checkout):
    (checkout / "clean.log").write_text("all good\n2 passed in 0.01s\n")
    assert explain(fake_anthropic, checkout, "clean.log").returncode == 1
    assert explain(fake_anthropic, checkout, "missing.log").returncode == 2
    offline = explain(fake_anthropic, checkout, "ci.log", key=False)
    assert offline.returncode == 0 and "ZeroDivisionError" in offline.stdout
    assert fake_anthropic.message_requests == []
    fake_anthropic.script(Reply(fault=Fault.status(400, "bad request")))
    failing = explain(fake_anthropic, checkout, "ci.log")
    assert failing.returncode == 2 and "ZeroDivisionError" in failing.stderr
