"""`haiku-lsp doctor` against the fake API: what it checks, one tiny request, and its exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.fakes.anthropic_api import Fault, Reply
from tests.harness import server_env


def doctor(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "haiku_lsp", "doctor"], capture_output=True, text=True, env=env,
                          timeout=120, cwd=cwd)


def test_doctor_pings_the_endpoint_once_and_prints_the_set_up(fake_anthropic, tmp_path: Path):
    fake_anthropic.script(Reply(text="OK"))
    out = doctor(server_env(fake_anthropic.base_url, tmp_path / "cache"), tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    [req] = fake_anthropic.message_requests
    assert req.body["max_tokens"] == 1 and req.model == "claude-haiku-4-5"
    assert f"{fake_anthropic.base_url}" in out.stdout and " ms (" in out.stdout, out.stdout
    for check in ("ok    key", "ok    endpoint", "ok    ruff", "ok    jedi", "ok    sandbox    bubblewrap: ",
                  f"ok    cache      {tmp_path / 'cache'}"):
        assert check in out.stdout, out.stdout
    assert 'vim.lsp.enable("haiku")' in out.stdout and '"haiku.serverCommand"' in out.stdout
    assert out.stdout.rstrip().endswith("all checks passed")


def test_doctor_fails_on_a_rejected_key_and_warns_without_one(fake_anthropic, tmp_path: Path):
    fake_anthropic.script(Reply(fault=Fault.status(401, type="authentication_error")))
    out = doctor(server_env(fake_anthropic.base_url, tmp_path / "cache"), tmp_path)
    assert out.returncode == 1 and "FAIL  endpoint   the key was rejected (401)" in out.stdout, out.stdout
    assert "sk-ant-test-key-0123456789abcdef" not in out.stdout  # the key is never printed whole
    out = doctor(server_env(fake_anthropic.base_url, tmp_path / "cache", api_key=None), tmp_path)
    assert out.returncode == 0 and "WARN  key        no ANTHROPIC_API_KEY" in out.stdout, out.stdout
    assert len(fake_anthropic.message_requests) == 1  # none without a key
