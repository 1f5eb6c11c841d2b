"""The sandbox: real pytest runs in a temporary copy of a workspace, with a scrubbed environment,
timeouts, cancellation and cleanup."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

import pytest

from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.tools import (
    ProcessResult,
    copy_workspace,
    project_python,
    pytest_result,
    run_pytest,
    scrubbed_env,
    useful_output,
)

PY = sys.executable

MODULE = "def total(items):\n    return sum(items)\n"
MIXED = """
import pytest
from shop import total

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_sum():
    assert total([1, 2]) == 3

def test_empty():
    assert total([]) == 0

def test_wrong():
    assert total([1, 1]) == 3

def test_uses_broken(broken):
    pass

@pytest.mark.skip(reason="later")
def test_later():
    pass
"""


pytestmark = pytest.mark.usefixtures("sandbox_env")


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    root.mkdir()
    (root / "shop.py").write_text(MODULE)
    (root / "tests").mkdir()
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


async def test_counts_and_summary_for_a_mixed_run(ws):
    result = await run_pytest(ws, {"tests/test_shop.py": MIXED}, ["tests/test_shop.py"], python=PY,
                              timeout_s=60)
    assert (result.passed, result.failed, result.errors, result.skipped) == (2, 1, 1, 1)
    assert result.summary == "1 failed, 2 passed, 1 skipped, 1 error"
    assert not result.ok and result.exit_code == 1 and not result.timed_out
    # The useful part: from the failures on, with paths relative to the copy.
    assert result.output.startswith("=") and "ERRORS" in result.output.splitlines()[0]
    assert "assert 2 == 3" in result.output and "fixture exploded" in result.output
    assert "haiku-lsp-sandbox-" not in result.output


async def test_passing_run_is_ok_and_the_workspace_is_untouched(ws):
    before = snapshot(ws)
    test = ("from pathlib import Path\nfrom shop import total\n\n"
            "def test_a():\n    assert total([1]) == 1\n\n"
            "def test_b():\n    Path('shop.py').write_text('broken(')\n"
            "    Path('new.txt').write_text('x')\n\n"
            "def test_c(tmp_path):\n    (tmp_path / 'f').write_text('y')\n")
    result = await run_pytest(ws, {"tests/test_shop.py": test}, ["tests/test_shop.py"], python=PY,
                              timeout_s=60)
    assert result.ok and result.summary == "3 passed" and result.passed == 3 and result.exit_code == 0
    assert result.duration_s > 0
    assert snapshot(ws) == before  # neither the overlay nor what the tests wrote reached it


async def test_no_tests_and_collection_errors(ws):
    empty = await run_pytest(ws, {"tests/test_none.py": "x = 1\n"}, ["tests/test_none.py"], python=PY,
                             timeout_s=60)
    assert not empty.ok and empty.summary == "no tests ran" and empty.exit_code == 5
    broken = await run_pytest(ws, {"tests/test_bad.py": "def test_x(:\n"}, ["tests/test_bad.py"], python=PY,
                              timeout_s=60)
    assert not broken.ok and broken.errors == 1 and broken.summary == "1 error"
    assert "SyntaxError" in broken.output


async def test_missing_interpreter_is_reported_not_raised(ws):
    result = await run_pytest(ws, {}, [], python=str(ws / "no-such-python"), timeout_s=10)
    assert not result.ok and result.exit_code is None and "could not start" in result.summary


async def test_environment_is_scrubbed_inside_the_sandbox(ws, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-parent-process-key-0123456789")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_" + "a" * 36)
    monkeypatch.setenv("MY_SERVICE_PASSWORD", "hunter2")
    monkeypatch.setenv("HARMLESS_SETTING", "kept")
    test = (
        "import os, sys\n\n"
        "def test_env():\n"
        "    for name in ('ANTHROPIC_API_KEY', 'GITHUB_TOKEN', 'MY_SERVICE_PASSWORD'):\n"
        "        assert name not in os.environ\n"
        "    assert os.environ['HARMLESS_SETTING'] == 'kept'\n"
        "    assert os.environ['PYTHONHASHSEED'] == '0' and os.environ['PYTHONDONTWRITEBYTECODE'] == '1'\n"
        "    assert os.read(0, 10) == b''  # stdin is closed\n"
    )
    result = await run_pytest(ws, {"tests/test_env.py": test}, [], python=PY, timeout_s=60)
    assert result.ok, result.output


def test_scrubbed_env_rules():
    base = {
        "PATH": "/usr/bin", "HOME": "/home/u", "LANG": "C.UTF-8", "LC_ALL": "C", "VIRTUAL_ENV": "/v",
        "ANTHROPIC_API_KEY": "x", "ANTHROPIC_BASE_URL": "http://localhost", "OPENAI_API_KEY": "x",
        "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "eu", "GITHUB_TOKEN": "x", "NPM_TOKEN": "x",
        "DB_PASSWORD": "x", "MY_SECRET": "x", "STRIPE_KEY": "x", "SSH_AUTH_SOCK": "/tmp/agent",
        "DATABASE_URL": "postgres://u:pw@host/db", "INNOCENT": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz",
        "EDITOR": "vim", "PYTHONINSPECT": "1",
    }
    env = scrubbed_env(base)
    assert set(env) == {"PATH", "HOME", "LANG", "LC_ALL", "VIRTUAL_ENV", "EDITOR", "PYTHONDONTWRITEBYTECODE",
                        "PYTHONHASHSEED", "PYTHONUNBUFFERED", "PYTHONBREAKPOINT", "PY_COLORS"}
    assert env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONHASHSEED"] == "0"


def _group_alive(pgid: int) -> bool:
    """Any live (non-zombie) process in the group: zombies wait for a reaper, they run nothing."""
    if not Path("/proc").is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


async def _started(marker: Path) -> dict:
    for _ in range(300):
        if marker.exists() and marker.read_text().endswith("}"):
            return json.loads(marker.read_text())
        await asyncio.sleep(0.05)
    raise AssertionError("the sandboxed test never started")


SLEEPER = """
import json, os, subprocess, sys, time

def test_sleeps():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open({marker!r}, "w") as f:
        json.dump({{"pgid": os.getpgid(0), "cwd": os.getcwd(), "child": child.pid}}, f)
    time.sleep(60)
"""


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
async def test_cancellation_kills_the_process_group_and_cleans_up(ws, tmp_path):
    marker = tmp_path / "started.json"
    task = asyncio.create_task(run_pytest(ws, {"tests/test_sleep.py": SLEEPER.format(marker=str(marker))}, [],
                                          python=PY, timeout_s=120))
    info = await _started(marker)
    assert _group_alive(info["pgid"])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5
    while _group_alive(info["pgid"]) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _group_alive(info["pgid"])  # the test process and the child it started
    assert not Path(info["cwd"]).exists() and not Path(info["cwd"]).parent.exists()


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups are POSIX")
async def test_timeout_kills_the_run(ws, tmp_path):
    marker = tmp_path / "started.json"
    started = time.monotonic()
    result = await run_pytest(ws, {"tests/test_sleep.py": SLEEPER.format(marker=str(marker))}, [], python=PY,
                              timeout_s=3)
    assert time.monotonic() - started < 10
    assert result.timed_out and not result.ok and result.exit_code is None
    assert result.summary == "timed out after 3 s"
    info = json.loads(marker.read_text())
    assert not _group_alive(info["pgid"]) and not Path(info["cwd"]).exists()


async def test_src_layout_runs_the_copy_with_the_overlay(tmp_path):
    root = tmp_path / "proj"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "mod.py").write_text("def f():\n    return 1\n")
    test = "from pkg.mod import f\n\ndef test_f():\n    assert f() == 2\n"
    overlay = {"src/pkg/mod.py": "def f():\n    return 2\n", "tests/test_mod.py": test}  # unsaved buffer
    result = await run_pytest(root, overlay, ["tests/test_mod.py"], python=PY, timeout_s=60)
    assert result.summary == "1 passed", result.output


async def test_overlay_paths_must_stay_inside(ws):
    for bad in ("../escape.py", "/etc/x.py"):
        with pytest.raises(ValueError):
            await run_pytest(ws, {bad: "x"}, [], python=PY, timeout_s=10)


def test_copy_skips_heavy_and_private_things(tmp_path):
    root, dest, outside = tmp_path / "root", tmp_path / "dest", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    files = ["pkg/__init__.py", "pkg/build/keep.py", ".git/config", ".venv/lib/x.py", "venv/lib/x.py",
             "myenv/pyvenv.cfg", "node_modules/a/index.js", "pkg/__pycache__/m.pyc", ".mypy_cache/x",
             ".ruff_cache/x", ".pytest_cache/x", "build/lib/x.py", "dist/x.whl", "pkg.egg-info/PKG-INFO",
             ".env", "data/private/x.csv", "README.md"]
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("x")
    with open(root / "big.bin", "wb") as f:
        f.truncate(6 * 1024 * 1024)
    (root / "link_in.md").symlink_to("README.md")
    (root / "pkg" / "abs_link.py").symlink_to(root / "pkg" / "__init__.py")
    (root / "link_out.txt").symlink_to(outside / "secret.txt")
    (root / "dir_out").symlink_to(outside, target_is_directory=True)
    copy_workspace(root, dest, IgnoreRules(["data/private/"], root))
    copied = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file() or p.is_symlink()}
    assert copied == {"pkg/__init__.py", "pkg/build/keep.py", "README.md", "link_in.md", "pkg/abs_link.py"}
    assert (dest / "link_in.md").read_text() == "x"
    assert not os.path.isabs(os.readlink(dest / "pkg/abs_link.py"))
    assert (dest / "pkg/abs_link.py").resolve() == (dest / "pkg/__init__.py").resolve()


def test_project_python(tmp_path):
    assert project_python(None) == sys.executable
    assert project_python(tmp_path) == sys.executable
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").write_text("")
    assert project_python(tmp_path) == str(tmp_path / "venv" / "bin" / "python")
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("")
    assert project_python(tmp_path) == str(tmp_path / ".venv" / "bin" / "python")
    assert project_python(tmp_path, "/opt/py/bin/python3") == "/opt/py/bin/python3"
    assert project_python(tmp_path, "tools/python") == str(tmp_path / "tools" / "python")


@pytest.mark.parametrize(("tail", "exit_code", "counts", "summary"), [
    ("3 passed in 0.12s", 0, (3, 0, 0, 0), "3 passed"),
    ("===== 1 failed, 2 passed, 1 warning in 1.02s =====", 1, (2, 1, 0, 0), "1 failed, 2 passed"),
    ("1 passed, 2 skipped, 2 errors in 0.30s", 1, (1, 0, 2, 2), "1 passed, 2 skipped, 2 errors"),
    ("no tests ran in 0.01s", 5, (0, 0, 0, 0), "no tests ran"),
    ("ERROR: file or directory not found: tests/x.py\n\nno tests ran in 0.00s", 4, (0, 0, 0, 0),
     "pytest exited with code 4: ERROR: file or directory not found: tests/x.py"),
    ("/venv/bin/python: No module named pytest", 1, (0, 0, 0, 0), "pytest is not installed for py"),
])
def test_summary_parsing(tail, exit_code, counts, summary):
    result = pytest_result(ProcessResult(exit_code, "..F\n" + tail + "\n", "", False, 0.1), python="py")
    assert (result.passed, result.failed, result.errors, result.skipped) == counts
    assert result.summary == summary
    assert result.ok is (exit_code == 0)


def test_useful_output_keeps_failures_and_bounds_length():
    lines = ["..F", "=" * 10 + " FAILURES " + "=" * 10, *[f"line {i}" for i in range(400)],
             "token = 'sk-ant-api03-abcdefghijklmnopqrstuvwxyz'", "1 failed in 0.1s"]
    out = useful_output("\n".join(lines)).splitlines()
    assert out[0].startswith("=") and "FAILURES" in out[0] and len(out) <= 151
    assert any("lines omitted" in line for line in out) and out[-1] == "1 failed in 0.1s"
    assert "sk-ant-api03" not in "\n".join(out)
