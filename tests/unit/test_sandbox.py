"""The sandbox's own rules, without running anything: the scrubbed environment, what a workspace copy
leaves out, which interpreter runs the tests, and reading pytest's summary and output. The real pytest
runs (copies, timeouts, cancellation, cleanup) are in tests/e2e/test_sandbox.py."""

from __future__ import annotations

import os
import sys

import pytest

from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.tools import (
    ProcessResult,
    copy_workspace,
    project_python,
    pytest_result,
    scrubbed_env,
    useful_output,
)


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


def test_confine_never_shows_a_home_again(tmp_path):
    from haiku_lsp.tools import confine

    home = tmp_path / "home"
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    writable = tmp_path / "run"
    writable.mkdir()
    env = {"HOME": str(home), "HYPOTHESIS_STORAGE_DIRECTORY": str(home)}
    argv = confine([str(home / ".venv" / "bin" / "python"), "-m", "pytest"], backend="bubblewrap", writable=writable,
                   cwd=writable, env=env, readable=[str(home), str(tmp_path), "relative/entry"])
    pairs = [(argv[i], argv[i + 1]) for i in range(len(argv) - 1)]
    assert ("--tmpfs", str(home)) in pairs and ("--remount-ro", str(home)) in pairs
    assert ("--ro-bind", str(home / ".venv")) in pairs  # a venv in the home: only it is shown, read-only
    shown = [b for a, b in pairs if a in ("--ro-bind", "--bind")]
    assert str(home) not in shown and str(tmp_path) not in shown and "relative/entry" not in shown
    assert shown[-1] == str(writable) or ("--bind", str(writable)) in pairs
    assert "--unshare-all" in argv and argv[argv.index("--") + 1:][:3] == [str(home / ".venv/bin/python"), "-m",
                                                                           "pytest"]
