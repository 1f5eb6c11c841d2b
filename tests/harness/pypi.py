"""Real third-party code for tests and benchmarks: a pinned PyPI wheel, downloaded once with pip into a
cache folder and unpacked into a workspace."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

# A small pure-Python package of plain functions (the Rails inflector), pinned so tests see the same code.
INFLECTION = ("inflection", "0.5.1")


def pinned_wheel(name: str, version: str, cache: Path) -> Path:
    """The wheel of `name==version` in `cache`, downloaded by pip the first time."""
    stem = name.replace("-", "_")
    found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--disable-pip-version-check", f"{name}=={version}", "-d", str(cache)],
                       check=True, timeout=300)
        found = sorted(cache.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise FileNotFoundError(f"pip downloaded no wheel of {name}=={version} into {cache}")
    return found[0]


def unpack_package(wheel: Path, dest: Path) -> list[Path]:
    """The wheel's importable files (not its .dist-info) unpacked into `dest`; the top-level entries."""
    dest.mkdir(parents=True, exist_ok=True)
    tops: set[Path] = set()
    with zipfile.ZipFile(wheel) as zf:
        for member in zf.namelist():
            top = member.split("/", 1)[0]
            if top.endswith((".dist-info", ".data")) or member.endswith("/"):
                continue
            zf.extract(member, dest)
            tops.add(dest / top)
    return sorted(tops)
