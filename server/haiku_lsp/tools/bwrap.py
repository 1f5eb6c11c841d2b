"""The Linux OS sandbox: a command wrapped in bubblewrap (`bwrap`).

`bwrap_command` builds the command line; `bwrap_probe` is the smallest sandbox bubblewrap must be able
to make here (unprivileged user namespaces may be disabled, or a container may forbid them). Which
backend runs, and when, is decided in `tools.os_sandbox`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

NOT_INSTALLED = "bubblewrap (bwrap) is not installed; install it (Debian/Ubuntu: apt install bubblewrap)"


def bwrap_probe(bwrap: str, python: str) -> list[str]:
    """`python -c pass` in the namespaces every run uses: a sandbox that cannot be made fails here."""
    return [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-all",
            "--die-with-parent", "--", python, "-c", "pass"]


def hidden_dirs(env: Mapping[str, str]) -> list[str]:
    """Directories whose content a sandboxed run must not see: the home directories (keys, tokens,
    shell history), temporary directories (other programs' files, the real workspace when it lives
    there) and /run (agent sockets, container secrets)."""
    found = {"/tmp", "/var/tmp", "/run", "/root", "/home"}
    for home in (env.get("HOME"), os.path.expanduser("~")):
        if home and os.path.isabs(home):
            found.add(os.path.normpath(home))
    return sorted(d for d in found if os.path.isdir(d) and d != "/")


def bwrap_command(argv: Sequence[str], *, writable: Path, cwd: Path, env: Mapping[str, str],
                  readable: Sequence[str] = ()) -> list[str]:
    """`argv` wrapped in bubblewrap: no network, new PID/IPC/UTS namespaces, every capability dropped,
    / read-only, the hidden directories empty and read-only, `writable` (the run's temporary directory)
    the one place it can write, `readable` shown read-only (the interpreter's directories, PYTHONPATH
    entries outside the copy) unless it is a hidden directory or above one, the caches in
    `HYPOTHESIS_STORAGE_DIRECTORY` writable."""
    bwrap = shutil.which("bwrap") or "bwrap"
    out = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    hidden = hidden_dirs(env)
    for path in hidden:
        out += ["--tmpfs", path]

    def exposes_hidden(path: str) -> bool:  # a home itself, or a directory above one (~, /home)
        return any(Path(h).is_relative_to(path) for h in hidden)

    for path in sorted(set(readable)):
        if os.path.isabs(path) and os.path.exists(path) and not exposes_hidden(path) \
                and not Path(path).is_relative_to(writable):
            out += ["--ro-bind", path, path]
    out += ["--bind", str(writable), str(writable)]
    cache = env.get("HYPOTHESIS_STORAGE_DIRECTORY")
    if cache and os.path.isabs(cache) and not exposes_hidden(cache):
        os.makedirs(cache, exist_ok=True)
        out += ["--bind", cache, cache]
    for path in hidden:  # last: the mount points above are made in them first
        out += ["--remount-ro", path]
    out += ["--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--chdir", str(cwd), "--", *argv]
    return out
