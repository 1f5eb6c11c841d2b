"""Which OS sandbox confines model-written code here, and the command that runs inside it.

Linux: bubblewrap (`tools.bwrap`): no network namespace, / read-only, the homes, /tmp and /run empty,
writes only in the run's temporary directory. macOS: `/usr/bin/sandbox-exec` with a Seatbelt profile
(`tools.seatbelt`): no network, the content of the homes and temporary directories unreadable, writes
only in the run's temporary directory. Elsewhere, or where the backend cannot make its sandbox, runs
are refused (`require_os_sandbox` raises SandboxUnavailable saying why and how to opt out) and the
server says so once at start-up (`os_sandbox_status`).
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from haiku_lsp.errors import SandboxUnavailable
from haiku_lsp.tools.bwrap import NOT_INSTALLED, bwrap_command, bwrap_probe
from haiku_lsp.tools.seatbelt import SANDBOX_EXEC, seatbelt_command

OPT_OUT = "set the osSandbox setting to false to run it without OS isolation"
BUBBLEWRAP = "bubblewrap"
SEATBELT = "sandbox-exec"

Probe = Callable[[list[str]], tuple[int, str]]  # argv -> (exit code, stderr); raises OSError if it cannot start


def interpreter_dirs(python: str) -> list[str]:
    """The directories an interpreter needs to start (its prefix, a venv's base interpreter), to be
    shown read-only again when they live under a hidden directory (a venv in the workspace or home)."""
    dirs: set[str] = set()
    for exe in {python, os.path.realpath(python)}:
        if not os.path.isabs(exe):
            continue
        prefix = os.path.dirname(os.path.dirname(exe))
        dirs.add(prefix)
        cfg = os.path.join(prefix, "pyvenv.cfg")
        try:
            for line in Path(cfg).read_text(encoding="utf-8", errors="replace").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home" and value.strip():
                    dirs.add(os.path.dirname(os.path.realpath(value.strip())))
        except OSError:
            pass
    return sorted(d for d in dirs if os.path.isdir(d) and d != "/")


def choose_backend(platform: str, which: Callable[[str], str | None], exists: Callable[[str], bool],
                   probe: Probe, python: str) -> tuple[bool, str]:
    """(True, backend name) when `python` runs inside this platform's OS sandbox, else (False, why not):
    bubblewrap on Linux (found on PATH), sandbox-exec on macOS (only /usr/bin/sandbox-exec). The probe
    starts `python` confined as a real run would be, so a sandbox that cannot be made here (no user
    namespaces, a profile this macOS rejects, a process already sandboxed) is found once."""
    if platform.startswith("linux"):
        bwrap = which("bwrap")
        if bwrap is None:
            return False, NOT_INSTALLED
        return _probed(BUBBLEWRAP, probe, bwrap_probe(bwrap, python))
    if platform == "darwin":
        if not exists(SANDBOX_EXEC):
            return False, f"{SANDBOX_EXEC} is missing"
        # Modules that are shared libraries in most builds: loading them is part of what must work.
        argv = seatbelt_command([python, "-c", "import math, select, _socket, tempfile"], env={},
                                writable=Path(tempfile.gettempdir()), readable=interpreter_dirs(python))
        return _probed(SEATBELT, probe, argv)
    return False, f"no OS sandbox is implemented for {platform} (bubblewrap on Linux, sandbox-exec on macOS)"


def _probed(backend: str, probe: Probe, argv: list[str]) -> tuple[bool, str]:
    try:
        code, stderr = probe(argv)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, f"{backend} could not run: {err}"
    if code != 0:
        why = stderr.strip().splitlines()
        return False, f"{backend} cannot create its sandbox here ({why[-1] if why else code})"
    return True, backend


def _run_probe(argv: list[str]) -> tuple[int, str]:
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False)
    return done.returncode, done.stderr.decode(errors="replace")


@functools.cache
def os_sandbox_status() -> tuple[bool, str]:
    """(True, "bubblewrap" or "sandbox-exec") when runs can be confined by the OS here, else (False, why
    not). Probed once per process (`cache_clear()` probes again)."""
    return choose_backend(sys.platform, shutil.which, os.path.exists, _run_probe, sys.executable)


async def require_os_sandbox() -> None:
    """Raise SandboxUnavailable (saying why and how to opt out) when runs cannot be confined here: for
    flows that would otherwise pay for a model answer they cannot run."""
    available, why = await asyncio.to_thread(os_sandbox_status)
    if not available:
        raise SandboxUnavailable(f"code the model wrote was not run: no OS sandbox ({why}); {OPT_OUT}")


def confine(argv: Sequence[str], *, writable: Path, cwd: Path, env: Mapping[str, str],
            readable: Sequence[str] = (), backend: str | None = None) -> list[str]:
    """`argv` wrapped in the OS sandbox `backend` (default: this machine's, per os_sandbox_status(),
    which must say it is available): `writable` (the run's temporary directory) the one place it can
    write, the interpreter's directories and `readable` (PYTHONPATH entries outside the copy) shown
    read-only, the hypothesis cache writable; see `bwrap_command` and `seatbelt_command`."""
    backend = backend or os_sandbox_status()[1]
    shown = [*(interpreter_dirs(argv[0]) if argv else []), *readable]
    if backend == SEATBELT:
        return seatbelt_command(argv, writable=writable, env=env, readable=shown)
    if backend == BUBBLEWRAP:
        return bwrap_command(argv, writable=writable, cwd=cwd, env=env, readable=shown)
    raise ValueError(f"no OS sandbox backend {backend!r}")
