"""The OS sandbox's choice and commands without running them: which backend a platform gets (injected
platform, `which`, file check and probe: nothing of this machine's OS is patched), and the macOS
Seatbelt profile read back as s-expressions and evaluated with SBPL's rule (the last matching rule
wins, then the default).

NOT EXERCISED ON A REAL macOS: there is no macOS machine in CI, so sandbox-exec itself never runs here.
These tests pin what the profile says; whether a given macOS accepts it and runs Python under it is
what the start-up probe (`choose_backend`) checks on the user's machine. The Linux sandbox runs for
real in tests/e2e/test_sandbox.py and tests/e2e/test_validation.py.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from haiku_lsp.tools.os_sandbox import SEATBELT, choose_backend, confine
from haiku_lsp.tools.seatbelt import HIDDEN, SANDBOX_EXEC, seatbelt_command

HOSTILE = 'a") (allow default) ("\\'

# --- reading SBPL back --------------------------------------------------------------------------------

_TOKEN = re.compile(r'\s+|;[^\n]*|(?P<open>\()|(?P<close>\))|(?P<str>"(?:[^"\\]|\\.)*")|(?P<atom>[^\s()";]+)')


def parse(text: str) -> list:
    """The profile's top-level forms as nested lists (strings keep their quotes); fails on an
    unbalanced parenthesis, an unterminated string or anything that is not a token."""
    stack: list[list] = [[]]
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        assert m, f"not SBPL at {pos}: {text[pos:pos + 40]!r}"
        pos = m.end()
        if m["open"]:
            stack.append([])
        elif m["close"]:
            assert len(stack) > 1, "unbalanced ')'"
            done = stack.pop()
            stack[-1].append(done)
        elif m["str"] or m["atom"]:
            stack[-1].append(m["str"] or m["atom"])
    assert len(stack) == 1, "unbalanced '('"
    return stack[0]


def profile_of(argv: list[str]) -> tuple[list, dict[str, str], list[str]]:
    """(forms, -D parameters, the command) of a sandbox-exec command line."""
    assert argv[0] == SANDBOX_EXEC and argv[1] == "-p"
    params, i = {}, 3
    while argv[i] == "-D":
        name, _, value = argv[i + 1].partition("=")
        params[name] = value
        i += 2
    assert argv[i] == "--"
    return parse(argv[2]), params, argv[i + 1:]


def decide(forms: list, params: dict[str, str], op: str, path: str | None = None) -> str:
    """SBPL's decision for `op` on `path`: the last rule naming the operation (or a wildcard over it)
    whose filters match (any of them; none means always), else the default."""
    default, decision = None, None
    for form in forms:
        if form[0] not in ("allow", "deny"):
            continue
        ops = [x for x in form[1:] if isinstance(x, str)]
        filters = [x for x in form[1:] if isinstance(x, list)]
        if ops == ["default"]:
            default = form[0]
        elif any(o == op or (o.endswith("*") and op.startswith(o[:-1])) for o in ops) \
                and (not filters or any(_matches(f, params, path) for f in filters)):
            decision = form[0]
    assert default is not None, "no default decision"
    return decision or default


def _matches(flt: list, params: dict[str, str], path: str | None) -> bool:
    kind, arg = flt[0], flt[1]
    if kind in ("target", "global-name", "sysctl-name", "sysctl-name-prefix"):
        return False  # not a file rule: these tests ask about files and the network only
    value = params[arg[1].strip('"')] if isinstance(arg, list) and arg[0] == "param" else arg.strip('"')
    if path is None:
        return False
    if kind == "literal":
        return path == value
    if kind == "subpath":
        return Path(path).is_relative_to(value)
    raise AssertionError(f"unknown filter {flt}")


def params_used(forms: list) -> set[str]:
    found: set[str] = set()
    for x in forms:
        if isinstance(x, list):
            found |= {x[1].strip('"')} if x[0] == "param" else params_used(x)
    return found


def string_literals(forms: list) -> set[str]:
    found: set[str] = set()
    for x in forms:
        if isinstance(x, list):
            found |= string_literals(x)
        elif x.startswith('"'):
            found.add(x)
    return found


# --- the macOS profile ------------------------------------------------------------------------------

@pytest.fixture
def layout(tmp_path):
    """A home holding a key, a venv and the hypothesis cache; the run's temporary directory elsewhere."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "pyvenv.cfg").write_text(f"home = {os.path.dirname(sys.executable)}\n")
    run = tmp_path / "run"
    (run / "ws").mkdir(parents=True)
    env = {"HOME": str(home), "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path / "hypothesis")}
    return home, run, env


def test_seatbelt_profile_hides_home_and_temp_and_writes_only_in_the_run(layout, tmp_path):
    home, run, env = layout
    python = str(home / ".venv" / "bin" / "python")
    argv = confine([python, "-m", "pytest"], backend=SEATBELT, writable=run, cwd=run / "ws", env=env,
                   readable=[str(home), "/", "relative/entry", str(tmp_path / "src")])
    forms, params, command = profile_of(argv)
    assert command == [python, "-m", "pytest"]
    assert forms[0] == ["version", "1"] and forms[1] == ["deny", "default"] and forms[-1] == ["deny", "network*"]
    assert not any(f[0] == "allow" and any(str(x).startswith("network") for x in f) for f in forms)
    assert params_used(forms) == set(params), "every parameter used, none missing"
    shown = {v for k, v in params.items() if k.startswith("READABLE_")}
    assert str(home / ".venv") in shown and str(tmp_path / "src") in shown  # a venv in the home: only it
    assert str(home) not in shown and "/" not in shown and "relative/entry" not in shown
    assert {v for k, v in params.items() if k.startswith("HIDDEN_")} >= {str(home), *HIDDEN}

    def check(op: str, path: Path | str | None) -> str:
        return decide(forms, params, op, None if path is None else str(path))

    key = home / ".ssh" / "id_ed25519"
    assert check("file-read-data", key) == "deny" and check("file-read-xattr", key) == "deny"
    assert check("file-read-metadata", key) == "allow"  # stat says "no such file", not EPERM, to pytest
    assert check("file-read-data", "/private/var/folders/xy/T/other-program/f") == "deny"
    assert check("file-read-data", "/Users/someone/.aws/credentials") == "deny"
    assert check("file-read-data", "/private/tmp/x") == "deny"
    assert check("file-read-data", home / ".venv" / "lib" / "site.py") == "allow"
    assert check("file-read-data", "/usr/lib/libSystem.B.dylib") == "allow"
    assert check("file-read-data", run / "ws" / "test_x.py") == "allow"
    assert check("file-write-data", run / "ws" / "scratch.txt") == "allow"
    assert check("file-write-create", run / ".home" / ".cache") == "allow"
    assert check("file-write-data", tmp_path / "hypothesis" / "examples") == "allow"
    assert check("file-write-data", "/dev/null") == "allow"
    for outside in (home / "escaped", home / ".venv" / "lib" / "x.py", tmp_path / "outside.txt", "/usr/local/x"):
        assert check("file-write-data", outside) == "deny", outside
        assert check("file-write-unlink", outside) == "deny", outside
    assert check("network-outbound", None) == "deny" and check("network-bind", None) == "deny"
    assert check("mach-lookup", None) == "deny"  # only by name: no filter-less allow
    assert check("process-fork", None) == "allow"


def test_seatbelt_paths_are_parameters_never_profile_text(tmp_path):
    home = tmp_path / HOSTILE / "home"
    run = tmp_path / f"run {HOSTILE}\nnext line"
    venv = home / ".venv"
    (venv / "bin").mkdir(parents=True)
    run.mkdir()
    argv = seatbelt_command([str(venv / "bin" / "python"), "-c", "pass"], writable=run,
                            env={"HOME": str(home), "HYPOTHESIS_STORAGE_DIRECTORY": str(run / "hyp")},
                            readable=[str(venv)])
    profile = argv[2]
    assert HOSTILE not in profile and "next line" not in profile and str(tmp_path) not in profile
    forms, params, _ = profile_of(argv)  # balanced, every string terminated
    assert all(re.fullmatch(r'"[A-Za-z0-9._/]+"', s) for s in string_literals(forms)), string_literals(forms)
    assert params["WRITABLE_0"] == str(run) and str(run / "hyp") in params.values()
    assert str(venv) in params.values() and str(home) in params.values()
    assert decide(forms, params, "file-read-data", str(home / ".ssh" / "id")) == "deny"
    assert decide(forms, params, "file-write-data", str(run / "ws" / "x")) == "allow"
    assert decide(forms, params, "file-read-data", str(venv / "lib" / "x")) == "allow"


# --- which backend ------------------------------------------------------------------------------------

class Probe:
    def __init__(self, code: int = 0, stderr: str = "", error: OSError | None = None) -> None:
        self.calls: list[list[str]] = []
        self.code, self.stderr, self.error = code, stderr, error

    def __call__(self, argv: list[str]) -> tuple[int, str]:
        self.calls.append(argv)
        if self.error:
            raise self.error
        return self.code, self.stderr


def no_which(name: str) -> str | None:
    raise AssertionError(f"looked {name} up on PATH")


def test_macos_uses_sandbox_exec_from_usr_bin_only():
    probe = Probe()
    assert choose_backend("darwin", no_which, lambda p: p == SANDBOX_EXEC, probe, sys.executable) == (True, SEATBELT)
    [argv] = probe.calls
    forms, _, command = profile_of(argv)  # the probe runs under the very profile a run gets
    assert command[:2] == [sys.executable, "-c"] and "import math" in command[2] and ["deny", "default"] in forms


@pytest.mark.parametrize(("probe", "exists", "why"), [
    (Probe(), False, "/usr/bin/sandbox-exec is missing"),
    (Probe(65, "sandbox-exec: sandbox_apply: Operation not permitted\n"), True,
     "sandbox-exec cannot create its sandbox here (sandbox-exec: sandbox_apply: Operation not permitted)"),
    (Probe(error=PermissionError(13, "Permission denied")), True, "sandbox-exec could not run: [Errno 13]"),
])
def test_macos_without_a_working_sandbox_exec_says_why(probe, exists, why):
    available, reason = choose_backend("darwin", no_which, lambda p: exists, probe, sys.executable)
    assert not available and reason.startswith(why)


def test_linux_uses_bubblewrap_from_path():
    probe = Probe()
    assert choose_backend("linux", lambda n: f"/opt/bin/{n}", lambda p: False, probe, "/py") == (True, "bubblewrap")
    assert probe.calls[0][0] == "/opt/bin/bwrap" and probe.calls[0][-3:] == ["/py", "-c", "pass"]
    available, why = choose_backend("linux", lambda n: None, lambda p: True, Probe(), "/py")
    assert not available and why.startswith("bubblewrap (bwrap) is not installed")
    available, why = choose_backend("linux", lambda n: "/usr/bin/bwrap", lambda p: True,
                                    Probe(1, "bwrap: No permissions to creating new namespace"), "/py")
    assert (available, why) == (False, "bubblewrap cannot create its sandbox here "
                                       "(bwrap: No permissions to creating new namespace)")


def test_other_platforms_have_none():
    probe = Probe()
    available, why = choose_backend("win32", no_which, lambda p: True, probe, sys.executable)
    assert not available
    assert why == "no OS sandbox is implemented for win32 (bubblewrap on Linux, sandbox-exec on macOS)"
    assert probe.calls == []
