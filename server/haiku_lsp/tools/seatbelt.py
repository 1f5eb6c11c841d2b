"""The macOS OS sandbox: a command run by `/usr/bin/sandbox-exec` under a Seatbelt (SBPL) profile.

The profile starts from `(deny default)` and allows what a Python test run needs: to start and fork
processes (which inherit the profile), signal and inspect its own processes, read hardware and OS
sysctls, look up users and groups, log, and use POSIX semaphores (multiprocessing). Files: everything
may be read except the content of the hidden directories (the homes, the temporary directories,
/private/var/run); a file's metadata (stat) stays readable everywhere, so walking up from the copy
(pytest looking for its configuration) sees "no such file", not "operation not permitted". The
interpreter's directories and PYTHONPATH entries are readable again, the run's temporary directory and
the hypothesis cache readable and writable; nothing else is writable but /dev/null. No network at all,
not even localhost (macOS has no network namespace: a local port is the host's).

Paths never appear in the profile's text: each is a parameter (`(param "READABLE_0")`, passed as
`-D READABLE_0=/path`), so a directory named `a") (allow default) ("` is only ever a string. Paths are
resolved first (`/var` and `/tmp` are links into `/private`, and Seatbelt matches resolved paths).

Not exercised on a real macOS here (no macOS machine in CI): the start-up probe in `tools.os_sandbox`
runs the interpreter under this very profile, so a macOS where it does not hold says so once instead of
failing every run.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

SANDBOX_EXEC = "/usr/bin/sandbox-exec"  # never from PATH: a planted sandbox-exec would confine nothing

# Homes (other users' too), temporary directories (other programs' files, the real workspace when it
# lives there; /private/var/folders holds every user's TMPDIR and caches) and daemons' sockets.
HIDDEN = ("/Users", "/private/var/root", "/private/tmp", "/private/var/tmp", "/private/var/folders",
          "/private/var/run")

_BASE = """\
(version 1)
(deny default)

; Processes: the run's own and what it starts, which inherit this profile.
(allow process-exec process-fork)
(allow signal (target same-sandbox))
(allow process-info* (target same-sandbox))

; What an interpreter asks the system: hardware and OS facts, not other processes' arguments.
(allow sysctl-read
  (sysctl-name-prefix "hw.")
  (sysctl-name-prefix "machdep.cpu.")
  (sysctl-name-prefix "kern.os")
  (sysctl-name-prefix "kern.proc.pid.")
  (sysctl-name "kern.argmax")
  (sysctl-name "kern.boottime")
  (sysctl-name "kern.hostname")
  (sysctl-name "kern.maxfiles")
  (sysctl-name "kern.maxfilesperproc")
  (sysctl-name "kern.maxproc")
  (sysctl-name "kern.ngroups")
  (sysctl-name "kern.secure_kernel")
  (sysctl-name "kern.usrstack64")
  (sysctl-name "kern.version")
  (sysctl-name "machdep.ptrauth_enabled")
  (sysctl-name "sysctl.proc_cputype")
  (sysctl-name "vm.loadavg"))
(allow mach-host*)

; Users and groups (getpwuid), logging, time zone change notices; no other system service
; (no keychain, no pasteboard, no launch services).
(allow mach-lookup
  (global-name "com.apple.system.opendirectoryd.libinfo")
  (global-name "com.apple.system.logger")
  (global-name "com.apple.logd")
  (global-name "com.apple.system.notification_center"))

; multiprocessing's locks.
(allow ipc-posix-sem)

; Files: read anything but the hidden directories' content.
(allow file-read*)
"""


def hidden_paths(homes: Iterable[str]) -> list[str]:
    """The directories whose content a run must not read: HIDDEN and the given homes (resolved
    already), never `/`."""
    return sorted({*HIDDEN, *homes} - {"/"})


def seatbelt_profile(*, hidden: Sequence[str], readable: Sequence[str],
                     writable: Sequence[str]) -> tuple[str, dict[str, str]]:
    """(profile text, parameters) for sandbox-exec: the content of `hidden` unreadable, `readable` and
    `writable` readable again (later rules win in SBPL), `writable` and /dev/null the only places it
    can write, no network. Every path is a parameter; the text holds none of them."""
    params: dict[str, str] = {}

    def subpaths(kind: str, paths: Sequence[str]) -> str:
        for i, path in enumerate(paths):
            params[f"{kind}_{i}"] = path
        return "".join(f'\n  (subpath (param "{kind}_{i}"))' for i in range(len(paths)))

    rules = [_BASE]
    if hidden:
        rules.append(f"(deny file-read-data file-read-xattr{subpaths('HIDDEN', hidden)})\n")
    if readable:
        rules.append(f"; The interpreter and PYTHONPATH entries outside the copy.\n"
                     f"(allow file-read*{subpaths('READABLE', readable)})\n")
    if writable:
        rules.append(f"; The run's temporary directory (the copy, TMPDIR, HOME) and the hypothesis cache.\n"
                     f"(allow file-read* file-write*{subpaths('WRITABLE', writable)})\n")
    rules.append('(allow file-write-data file-ioctl (literal "/dev/null"))\n\n'
                 "; No network, not even localhost (no namespace: a local port is the host's).\n"
                 "(deny network*)\n")
    return "\n".join(rules), params


def seatbelt_command(argv: Sequence[str], *, writable: Path, env: Mapping[str, str],
                     readable: Sequence[str] = ()) -> list[str]:
    """`argv` run by sandbox-exec under `seatbelt_profile`: the homes in `env` and the user's hidden,
    `readable` shown (unless it is a hidden directory or above one: a PYTHONPATH entry of ~ would show
    the whole home), `writable` (the run's temporary directory) and `HYPOTHESIS_STORAGE_DIRECTORY`
    writable. The caller sets the working directory (sandbox-exec does not change it)."""
    homes = {os.path.realpath(h) for h in (env.get("HOME"), os.path.expanduser("~")) if h and os.path.isabs(h)}
    hidden = hidden_paths(homes)

    def exposes_hidden(path: str) -> bool:
        return any(Path(h).is_relative_to(path) for h in hidden)

    shown = sorted({os.path.realpath(p) for p in readable if os.path.isabs(p)})
    write = [os.path.realpath(writable)]
    cache = env.get("HYPOTHESIS_STORAGE_DIRECTORY")
    if cache and os.path.isabs(cache) and not exposes_hidden(os.path.realpath(cache)):
        os.makedirs(cache, exist_ok=True)
        write.append(os.path.realpath(cache))
    profile, params = seatbelt_profile(hidden=hidden, writable=write,
                                       readable=[p for p in shown if not exposes_hidden(p)])
    defines = [arg for name, value in params.items() for arg in ("-D", f"{name}={value}")]
    return [SANDBOX_EXEC, "-p", profile, *defines, "--", *argv]
