"""Running real tools on the user's code without touching the workspace.

A run happens in a temporary copy of the workspace with proposed files written on top, as a
subprocess in its own process group, with closed stdin, no credentials in its environment and a
timeout. The copy is deleted whatever happens, including when the awaiting task is cancelled (the
whole process group is killed first). Nothing here knows about LSP.

The code run may have been written by the model (generated tests, a refactor's validation run), and a
workspace's comments can steer the model, so by default the run is also confined by the OS
(`os_sandbox=True`, see `tools.os_sandbox`): no network, the home and temporary directories hidden,
writes only in its temporary directory (the copy, its TMPDIR and a fresh HOME); bubblewrap on Linux,
sandbox-exec on macOS. Where no OS sandbox can be had, the run is refused with `SandboxUnavailable`
saying why; `os_sandbox=False` (the user's explicit choice) runs without it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from haiku_lsp.llm.cache import default_cache_dir
from haiku_lsp.privacy import IgnoreRules, redact
from haiku_lsp.python import relative_to_root, source_roots
from haiku_lsp.python.paths import VENV_DIRS
from haiku_lsp.tools.os_sandbox import confine, require_os_sandbox
from haiku_lsp.tools.pytest_result import RunResult, pytest_result

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
_CAPTURE_HEAD = 256 * 1024  # bytes kept from the start of a huge output ...
_CAPTURE_TAIL = 2 * 1024 * 1024  # ... and from its end (the summary is there)

# Directories never worth copying for a test run, at any depth.
SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache", ".ruff_cache",
    ".pytest_cache", ".tox", ".nox", ".eggs", ".hypothesis", "htmlcov",
})
# Only at the top level: deeper down these names may be real packages.
SKIP_TOP_DIRS = frozenset({"build", "dist"})

# --- environment -----------------------------------------------------------------------------------

_SECRET_PREFIXES = (
    "ANTHROPIC_", "CLAUDE_", "OPENAI_", "AWS_", "AZURE_", "GOOGLE_", "GCLOUD_", "GCP_", "CLOUDSDK_",
    "HF_", "HUGGING", "GITHUB_", "GH_", "GITLAB_", "NPM_", "PYPI_", "TWINE_", "DOCKER_", "VAULT_",
    "HAIKU_LSP_", "SENTRY_", "STRIPE_", "SLACK_", "OP_", "DATABASE_", "SNOWFLAKE_",
)
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSW", "PASSPHRASE", "APIKEY", "CREDENTIAL", "COOKIE")
_SECRET_PARTS = frozenset({"KEY", "KEYS", "AUTH", "PAT", "CREDS", "PRIVATE", "DSN"})
_ALWAYS_KEEP = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR", "TEMP", "TMP",
    "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "SYSTEMROOT", "COMSPEC", "PATHEXT", "WINDIR",
})
_URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:[^/\s@]+@")


def _looks_secret(name: str, value: str) -> bool:
    upper = name.upper()
    if upper in _ALWAYS_KEEP or upper.startswith("LC_"):
        return False
    if upper.startswith(_SECRET_PREFIXES) or any(word in upper for word in _SECRET_WORDS):
        return True
    if _SECRET_PARTS.intersection(re.split(r"[^A-Z0-9]+", upper)):
        return True
    # Whatever the name, a value that is a key or carries a password goes too.
    return redact(value)[1] > 0 or bool(_URL_WITH_PASSWORD.search(value))


def scrubbed_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) minus anything that looks like a credential (provider keys, tokens,
    secrets, passwords, cloud and registry settings, the SSH agent socket, values that look like keys
    or URLs with a password), with PYTHONDONTWRITEBYTECODE=1, PYTHONHASHSEED=0, PYTHONUNBUFFERED=1,
    PYTHONBREAKPOINT=0 (nobody can answer a debugger) and PY_COLORS=0. PATH, HOME, locale and
    virtualenv variables are kept."""
    env = {k: v for k, v in (os.environ if base is None else base).items() if not _looks_secret(k, v)}
    env.update({
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONUNBUFFERED": "1",  # a run killed at the timeout still shows what it printed
        "PYTHONBREAKPOINT": "0",
        "PY_COLORS": "0",
    })
    env.pop("PYTHONINSPECT", None)
    return env


# --- the copy --------------------------------------------------------------------------------------

def copy_workspace(root: Path, dest: Path, ignore: IgnoreRules | None = None) -> None:
    """Copy the files a test run needs from `root` into `dest` (created if missing).

    Skipped: VCS directories, virtualenvs (by name or by their pyvenv.cfg), caches, node_modules,
    top-level build/ and dist/, *.egg-info, files over 5 MB, special files, and whatever `ignore`
    matches (a matched directory is not descended into). Symbolic links are never followed: a link
    whose target is inside `root` is recreated as a relative link inside `dest`; others are dropped.
    Note that rules built from .gitignore may drop generated files a project imports (_version.py).
    """
    _copy_tree(Path(root), Path(dest), ignore, None)


def _copy_tree(root: Path, dest: Path, ignore: IgnoreRules | None, stop: threading.Event | None) -> None:
    root = root.absolute()
    real_root = Path(os.path.realpath(root))
    dest.mkdir(parents=True, exist_ok=True)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        if stop is not None and stop.is_set():
            return
        here = Path(dirpath)
        rel_dir = here.relative_to(root)
        target_dir = dest / rel_dir
        kept = []
        for name in dirnames:
            path = here / name
            rel = rel_dir / name
            if path.is_symlink():
                filenames.append(name)  # handled with the links below
            elif _skip_dir(path, rel, ignore):
                continue
            else:
                kept.append(name)
                (target_dir / name).mkdir(exist_ok=True)
        dirnames[:] = kept
        for name in filenames:
            path = here / name
            rel = rel_dir / name
            if ignore is not None and ignore.is_ignored(rel):
                continue
            try:
                if path.is_symlink():
                    _copy_link(path, target_dir / name, real_root, dest)
                elif path.is_file() and path.stat().st_size <= MAX_FILE_BYTES:
                    shutil.copy2(path, target_dir / name, follow_symlinks=False)
            except OSError as exc:  # unreadable or vanished meanwhile: the run does without it
                log.debug("sandbox copy skipped %s: %s", rel, exc)


def _skip_dir(path: Path, rel: Path, ignore: IgnoreRules | None) -> bool:
    name = path.name
    if name in SKIP_DIRS or name.endswith(".egg-info") or (path / "pyvenv.cfg").exists():
        return True
    if len(rel.parts) == 1 and name in SKIP_TOP_DIRS:
        return True
    # A probe child: a pattern that matches the directory ignores everything below it.
    return ignore is not None and ignore.is_ignored(rel / "\x00")


def _copy_link(link: Path, target: Path, real_root: Path, dest: Path) -> None:
    resolved = Path(os.path.realpath(link))
    inside = relative_to_root(resolved, real_root)
    if inside is None:
        return  # never let the copy reach outside the workspace
    if not resolved.exists():
        return
    os.symlink(os.path.relpath(dest / inside, target.parent), target)


def _write_overlay(copy: Path, overlay: Mapping[str, str]) -> None:
    for rel, text in overlay.items():
        pure = PurePosixPath(rel.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or not pure.parts:
            raise ValueError(f"overlay path must be workspace-relative: {rel!r}")
        path = copy.joinpath(*pure.parts)
        if path.is_symlink():
            path.unlink()  # write a file, not through a link
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def project_python(root: Path | None, configured: str | None = None) -> str:
    """The interpreter for the project's tests: `configured` (a path, relative to `root` if not
    absolute, or a command on PATH), else the workspace's .venv/ or venv/ interpreter when present,
    else sys.executable."""
    if configured:
        expanded = os.path.expanduser(configured)
        if os.sep not in expanded and "/" not in expanded:
            return shutil.which(expanded) or expanded
        if not os.path.isabs(expanded) and root is not None:
            expanded = str(root / expanded)
        return expanded
    if root is not None:
        for venv in VENV_DIRS:
            for rel in (("bin", "python"), ("Scripts", "python.exe")):
                candidate = root.joinpath(venv, *rel)
                if candidate.exists():
                    return str(candidate)
    return sys.executable


# --- running ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ProcessResult:
    """What a sandboxed process did. Paths inside the copy are shown relative to it."""

    exit_code: int | None  # None when it could not start or was killed at the timeout
    stdout: str  # stdout and stderr interleaved when the run merged them
    stderr: str
    timed_out: bool
    duration_s: float


async def run_in_sandbox(root: Path, overlay: Mapping[str, str], argv: Sequence[str], *, timeout_s: float,
                         ignore: IgnoreRules | None = None, merge_stderr: bool = True,
                         os_sandbox: bool = True) -> ProcessResult:
    """Copy `root` to a fresh temporary directory, write `overlay` (workspace-relative path -> full
    content) on top and run `argv` there: cwd = the copy, stdin closed, scrubbed environment with the
    copy's source roots first on PYTHONPATH, TMPDIR inside the temporary directory and hypothesis's
    storage in haiku-lsp's cache directory, its own process group, killed (whole group) at
    `timeout_s`. The temporary directory is always deleted. If the awaiting task is cancelled, the
    process group is killed and the copy removed before the cancellation propagates. Raises
    ValueError for an overlay path outside the workspace. With `os_sandbox` (the default) the run is
    also confined by the OS (see `confine`), or refused with SandboxUnavailable where it cannot be."""
    if os_sandbox:
        await require_os_sandbox()
    root = Path(root).absolute()
    tmp = Path(tempfile.mkdtemp(prefix="haiku-lsp-sandbox-"))
    try:
        copy = tmp / (root.name or "workspace")
        scratch = tmp / ".tmp"
        scratch.mkdir()
        stop = threading.Event()
        await _finish_in_thread(stop, _prepare, root, copy, overlay, ignore, stop)
        env = scrubbed_env()
        env.update({"TMPDIR": str(scratch), "TEMP": str(scratch), "TMP": str(scratch)})
        env["PYTHONPATH"] = os.pathsep.join(_pythonpath(root, copy, env.get("PYTHONPATH", "")))
        # Hypothesis keeps its unicode tables (seconds to rebuild) and failing examples there: shared
        # by runs, so a repair round replays the example that failed.
        env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(default_cache_dir() / "hypothesis"))
        command = list(argv)
        if os_sandbox and argv and shutil.which(argv[0], path=env.get("PATH")) is None:
            # Said as a direct start would say it, not as the sandbox's own failure.
            return ProcessResult(None, "", f"could not start {argv[0]}: not found or not executable", False, 0.0)
        if os_sandbox:
            outside = [e for e in env["PYTHONPATH"].split(os.pathsep) if e and not Path(e).is_relative_to(tmp)]
            command = confine(argv, writable=tmp, cwd=copy, env=env, readable=outside)
            # The real home is hidden; a fresh one in the temporary directory takes its place, so tests
            # that write under ~ (caches, config) work there and leave nothing behind.
            home = tmp / ".home"
            home.mkdir()
            env["HOME"] = str(home)
        return await _run(command, copy, env, timeout_s, merge_stderr, shown=tmp)
    finally:
        await _finish_in_thread(None, shutil.rmtree, tmp, True)


def _prepare(root: Path, copy: Path, overlay: Mapping[str, str], ignore: IgnoreRules | None,
             stop: threading.Event) -> None:
    _copy_tree(root, copy, ignore, stop)
    _write_overlay(copy, overlay)


def _pythonpath(root: Path, copy: Path, existing: str) -> list[str]:
    # Source roots of the copy go first, so the code under test is the copy's (with the overlay), not
    # the real workspace an editable install points at; entries into the real workspace are redirected.
    entries = [str(copy / rel) for p in source_roots(root) if (rel := relative_to_root(p, root)) is not None]
    for entry in filter(None, existing.split(os.pathsep)):
        rel = relative_to_root(entry, root)
        entries.append(str(copy / rel) if rel is not None else entry)
    return entries


async def _finish_in_thread(stop: threading.Event | None, fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn` in a thread. A cancellation sets `stop` and waits for the thread to end before it
    propagates: a thread cannot be interrupted, and cleanup must not race with it."""
    future = asyncio.ensure_future(asyncio.to_thread(fn, *args))
    cancelled: asyncio.CancelledError | None = None
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError as exc:
            if future.cancelled():
                raise
            cancelled = cancelled or exc
            if stop is not None:
                stop.set()
        except Exception:
            break  # raised by fn: re-raised below unless we were cancelled meanwhile
    if cancelled is not None:
        if not future.cancelled():
            future.exception()  # retrieved, so asyncio does not log it
        raise cancelled
    return future.result()


class _Capture:
    """A stream's bytes: all of them, or the head and the tail of a huge one."""

    def __init__(self) -> None:
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, chunk: bytes) -> None:
        room = _CAPTURE_HEAD - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        self.tail += chunk
        if len(self.tail) > 2 * _CAPTURE_TAIL:
            cut = len(self.tail) - _CAPTURE_TAIL
            del self.tail[:cut]
            self.dropped += cut

    def text(self) -> str:
        gap = f"\n... ({self.dropped} bytes of output dropped) ...\n".encode() if self.dropped else b""
        return bytes(self.head + gap + self.tail).decode("utf-8", errors="replace")


async def _pump(stream: asyncio.StreamReader | None, capture: _Capture) -> None:
    if stream is None:
        return
    while chunk := await stream.read(65536):
        capture.add(chunk)


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)  # the group id is the pid: start_new_session
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


async def _run(argv: Sequence[str], cwd: Path, env: dict[str, str], timeout_s: float,
               merge_stderr: bool, shown: Path | None = None) -> ProcessResult:
    started = time.monotonic()
    pipe = asyncio.subprocess.PIPE
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=pipe,
            stderr=asyncio.subprocess.STDOUT if merge_stderr else pipe, start_new_session=True)
    except OSError as exc:
        return ProcessResult(None, "", f"could not start {argv[0]}: {exc}", False, 0.0)
    out, err = _Capture(), _Capture()
    readers = [asyncio.ensure_future(_pump(proc.stdout, out)), asyncio.ensure_future(_pump(proc.stderr, err))]
    timed_out = False
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            timed_out = True
    finally:
        # Also on success: leftovers the tests started (servers, sleepers) die with the group.
        _kill_group(proc)
        try:
            if proc.returncode is None:
                await proc.wait()
            # A process that left the group may still hold the pipes: do not wait for it forever.
            await asyncio.wait(readers, timeout=2)
        finally:
            for reader in readers:
                reader.cancel()
    duration = time.monotonic() - started

    def clean(text: str) -> str:
        # Both spellings: the run sees resolved paths (on macOS /var/folders is /private/var/folders).
        for copy in sorted({os.path.realpath(cwd), str(cwd)}, key=len, reverse=True):  # the longer contains the other
            text = text.replace(copy + os.sep, "").replace(copy, ".")
        for tmp in sorted({os.path.realpath(shown), str(shown)} if shown is not None else (), key=len, reverse=True):
            text = text.replace(tmp, "<sandbox>")
        return text

    code = None if timed_out else proc.returncode
    return ProcessResult(code, clean(out.text()), clean(err.text()), timed_out, duration)


# --- pytest ----------------------------------------------------------------------------------------

async def run_pytest(root: Path, overlay: Mapping[str, str], args: Sequence[str], *, python: str,
                     timeout_s: float, ignore: IgnoreRules | None = None, os_sandbox: bool = True) -> RunResult:
    """Run `python -m pytest -q -p no:cacheprovider <args>` in a sandboxed copy of `root` with `overlay`
    on top (see run_in_sandbox). Never raises for a failing or hanging run: the result says what
    happened. Raises SandboxUnavailable when `os_sandbox` is asked for and cannot be had.
    Cancellation kills the run, cleans up and propagates."""
    argv = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    proc = await run_in_sandbox(root, overlay, argv, timeout_s=timeout_s, ignore=ignore, os_sandbox=os_sandbox)
    return pytest_result(proc, python=python, timeout_s=timeout_s)
