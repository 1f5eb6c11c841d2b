"""The sandbox: real pytest runs in a temporary copy of a workspace, with a scrubbed environment,
timeouts, cancellation and cleanup. Its rules checked without running anything are in
tests/unit/test_sandbox.py."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import pytest

from haiku_lsp.tools import (
    run_pytest,
)
from tests.e2e.conftest import KEY, PLANTED

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


async def test_paths_are_shown_relative_also_when_the_temporary_directory_is_a_link(ws, tmp_path, monkeypatch):
    """As on macOS, where TMPDIR (/var/folders/...) is a link into /private and the run sees resolved
    paths: both spellings of the copy are shown as relative paths."""
    real = tmp_path / "real-tmp"
    real.mkdir()
    (tmp_path / "tmp-link").symlink_to(real, target_is_directory=True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp-link"))
    test = "import os\n\ndef test_where():\n    assert os.getcwd() == 'nowhere'\n"
    result = await run_pytest(ws, {"tests/test_where.py": test}, ["tests/test_where.py"], python=PY,
                              timeout_s=60, os_sandbox=False)
    assert result.failed == 1 and "AssertionError" in result.output, result.output
    assert str(real) not in result.output and "haiku-lsp-sandbox-" not in result.output, result.output


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
    # Without the OS sandbox, so the test can write its marker outside the copy; the sandboxed run is
    # killed the same way (test_os_sandbox_run_is_killed_whole below).
    marker = tmp_path / "started.json"
    task = asyncio.create_task(run_pytest(ws, {"tests/test_sleep.py": SLEEPER.format(marker=str(marker))}, [],
                                          python=PY, timeout_s=120, os_sandbox=False))
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
                              timeout_s=3, os_sandbox=False)
    assert time.monotonic() - started < 10
    assert result.timed_out and not result.ok and result.exit_code is None
    assert result.summary == "timed out after 3 s"
    info = json.loads(marker.read_text())
    deadline = time.monotonic() + 5  # killed: its processes are gone once the kernel has reaped them
    while _group_alive(info["pgid"]) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
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


def _processes_with(token: str) -> dict[int, str]:
    """pid -> cwd of the live processes whose command line holds `token`."""
    found = {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if token in (entry / "cmdline").read_bytes().decode(errors="replace") and \
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found[int(entry.name)] = os.readlink(entry / "cwd")
        except OSError:
            continue
    return found


SANDBOXED_SLEEPER = """
import subprocess, sys, time

def test_sleeps():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # {token}"])
    time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
@pytest.mark.parametrize("how", ["cancel", "timeout"])
async def test_os_sandbox_run_is_killed_whole(ws, how):
    token = f"haiku-sleeper-{os.getpid()}-{how}-{time.monotonic_ns()}"
    task = asyncio.create_task(run_pytest(ws, {"tests/test_sleep.py": SANDBOXED_SLEEPER.format(token=token)}, [],
                                          python=PY, timeout_s=120 if how == "cancel" else 4))
    for _ in range(300):
        if found := _processes_with(token):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the sandboxed test never started its child")
    [cwd] = set(found.values())
    if how == "cancel":
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    else:
        result = await task
        assert result.timed_out and result.summary == "timed out after 4 s"
    deadline = time.monotonic() + 5
    while _processes_with(token) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _processes_with(token) and not Path(cwd).parent.exists()


# --- the OS sandbox: what a test the model wrote can reach ---------------------------------------------

ESCAPES = """
import os, pathlib, socket

def test_reads_a_key_in_home():
    print(pathlib.Path({key!r}).read_text())

def test_writes_outside_its_copy():
    pathlib.Path({outside!r}).write_text("written by the test")

def test_writes_into_a_visible_directory():
    pathlib.Path({visible!r}).write_text("written by the test")

def test_connects_to_a_local_port():
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"hello")

def test_the_copy_and_tmp_path_are_writable(tmp_path):
    pathlib.Path("scratch.txt").write_text("ok")
    (tmp_path / "f").write_text("ok")
    assert "ANTHROPIC_API_KEY" not in os.environ
"""


@pytest.fixture
def fake_home(planted_home, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(planted_home))  # the run starts from this process's environment
    return planted_home


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux (bubblewrap); macOS: unit tests")
async def test_a_generated_test_cannot_read_home_write_outside_or_connect(ws, tmp_path, fake_home, listener):
    outside = tmp_path / "outside.txt"
    visible = Path(__file__).parent / f"written-by-sandbox-{os.getpid()}.txt"
    test = ESCAPES.format(key=str(fake_home / KEY), outside=str(outside), visible=str(visible),
                          port=listener.port)
    result = await run_pytest(ws, {"tests/test_escape.py": test}, [], python=PY, timeout_s=60)
    assert result.summary == "4 failed, 1 passed", result.output
    assert "FileNotFoundError" in result.output and ".ssh/id_ed25519" in result.output  # home is empty
    assert "Read-only file system" in result.output
    assert "Network is unreachable" in result.output or "Connection refused" in result.output
    assert PLANTED not in result.output
    assert not outside.exists() and not visible.exists() and not listener.reached()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux (bubblewrap); macOS: unit tests")
async def test_without_the_os_sandbox_only_by_choice(ws, tmp_path, fake_home, listener, monkeypatch):
    from haiku_lsp.errors import SandboxUnavailable
    from haiku_lsp.tools import os_sandbox_status

    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no bwrap to be found
    os_sandbox_status.cache_clear()
    try:
        with pytest.raises(SandboxUnavailable, match=r"bubblewrap \(bwrap\) is not installed.*osSandbox"):
            await run_pytest(ws, {"tests/test_x.py": "def test_x():\n    pass\n"}, [], python=PY, timeout_s=60)
        # The user's explicit choice: the copy, timeout and scrubbed environment only.
        outside = tmp_path / "outside.txt"
        test = ESCAPES.format(key=str(fake_home / KEY), outside=str(outside),
                              visible=str(tmp_path / "visible.txt"), port=listener.port)
        result = await run_pytest(ws, {"tests/test_escape.py": test}, [], python=PY, timeout_s=60, os_sandbox=False)
        assert result.summary == "5 passed", result.output
        assert outside.exists() and listener.reached()
    finally:
        os_sandbox_status.cache_clear()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux (bubblewrap); macOS: unit tests")
async def test_the_sandboxed_home_is_a_fresh_writable_one(ws, fake_home):
    test = ("import os, pathlib\n\n"
            "def test_home():\n"
            "    home = pathlib.Path.home()\n"
            f"    assert str(home) != {str(fake_home)!r} and not any(home.iterdir())\n"
            "    (home / '.cache').mkdir()\n"
            "    (home / '.cache' / 'x').write_text('ok')\n")
    result = await run_pytest(ws, {"tests/test_home.py": test}, [], python=PY, timeout_s=60)
    assert result.ok, result.output
    assert not (fake_home / ".cache").exists()
