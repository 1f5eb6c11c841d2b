"""End-to-end fixtures: LSP sessions against the real server in a subprocess, driven by the harness's
Editor on pytest-lsp's client with VS Code's capabilities (so every request and response is checked
against the spec), the server talking HTTP to the fake Anthropic API; the environment for tests
that run the sandboxed pytest in-process, and what a sandboxed test must not reach (a planted key in a
home, a local port)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.harness import API_KEY, Editor, haiku_command, server_env


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    return ws


@pytest_asyncio.fixture
async def start_session(fake_anthropic, workspace: Path, tmp_path: Path):
    """`await start_session(key=True, init_options=None, env=None, args=())` -> an initialized Editor on
    `workspace` (documents opened by name are written there); every session is shut down at the end of
    the test, and a server that does not shut down cleanly fails it."""
    started: list[Editor] = []

    async def start(*, key: bool = True, init_options: dict | None = None,
                    env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> Editor:
        editor = Editor(haiku_command(*args),
                        server_env(fake_anthropic.base_url, tmp_path / "cache", api_key=API_KEY if key else None,
                                   extra=env),
                        checked=True, name="t")
        started.append(editor)
        # Generous timeouts: CI machines are shared; tests assert behaviour, not speed.
        options = {"debounceMs": 30, "debounceMinMs": 10, "debounceMaxMs": 60, "inlineTimeoutMs": 30000,
                   **(init_options or {})}
        await editor.start(workspace, options)
        return editor

    yield start
    errors = []
    for editor in started:
        try:
            await editor.stop(strict=True)
        except Exception as err:  # every session is stopped before the first failure is raised
            errors.append(err)
    if errors:
        raise errors[0]


@pytest.fixture
def sandbox_env(monkeypatch, tmp_path_factory):
    """For tests that run the sandboxed pytest in-process."""
    # The sandboxed pytest would load every installed plugin (pygls via pytest-lsp...): seconds a run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    # Not the user's cache; hypothesis's unicode tables (seconds to build) are kept between sessions.
    base = tmp_path_factory.getbasetemp()
    monkeypatch.setenv("HAIKU_LSP_CACHE_DIR", str(base / "haiku-lsp-cache"))
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(base.parent / "hypothesis"))


# --- what a test the model wrote must not reach from the OS sandbox -----------------------------------------

PLANTED = "PLANTED-SECRET-4a7c1e"  # not shaped like a key: redaction would not catch it, only the sandbox keeps it in
KEY = Path(".ssh", "id_ed25519")


@pytest.fixture
def planted_home(tmp_path: Path) -> Path:
    """A home directory whose private key (`home / KEY`) holds PLANTED."""
    home = tmp_path / "home"
    (home / KEY).parent.mkdir(parents=True)
    (home / KEY).write_text(PLANTED + "\n")
    return home


class Listener:
    """A listening local TCP port that accepts nothing on its own: `reached()` says whether anyone
    connected since."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(5)
        self.socket.setblocking(False)
        self.port: int = self.socket.getsockname()[1]

    def reached(self) -> bool:
        try:
            conn, _ = self.socket.accept()
        except BlockingIOError:
            return False
        conn.close()
        return True


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.socket.close()


# --- real projects: pinned sdists from PyPI, with their own tests ----------------------------------------

REAL_PROJECTS = {"more-itertools": "10.5.0", "toolz": "1.0.0"}


@pytest.fixture(scope="session")
def sdists(pytestconfig, tmp_path_factory) -> dict[str, Path]:
    """name -> the unpacked source tree of each pinned sdist (REAL_PROJECTS). The archives are downloaded
    once with pip (from PyPI) and kept in pytest's cache directory between runs; each session unpacks them
    afresh."""
    import subprocess
    import sys
    import tarfile

    if getattr(pytestconfig, "cache", None) is not None:
        cache = Path(pytestconfig.cache.mkdir("sdists"))
    else:  # -p no:cacheprovider: a directory of our own that outlives the session
        import tempfile

        cache = Path(tempfile.gettempdir()) / "haiku-lsp-test-sdists"
        cache.mkdir(exist_ok=True)
    wanted = [f"{name}=={version}" for name, version in REAL_PROJECTS.items()
              if not list(cache.glob(f"{name.replace('-', '[-_]')}-{version}.tar.gz"))]
    if wanted:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--no-binary", ":all:", "-d", str(cache), *wanted], check=True, timeout=600)
    out = tmp_path_factory.mktemp("sdists")
    trees = {}
    for name, version in REAL_PROJECTS.items():
        [archive] = cache.glob(f"{name.replace('-', '[-_]')}-{version}.tar.gz")
        with tarfile.open(archive) as tar:
            tar.extractall(out, filter="data")
        [trees[name]] = [p for p in out.iterdir() if p.name.replace("_", "-") == f"{name}-{version}"]
    return trees


def real_workspace(sdists: dict[str, Path], name: str, dest: Path) -> Path:
    """A fresh copy of the `name` project's source tree at `dest` (tests may edit it)."""
    import shutil

    shutil.copytree(sdists[name], dest)
    return dest
