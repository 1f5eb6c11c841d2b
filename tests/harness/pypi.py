"""Real third-party code for tests and benchmarks: a pinned PyPI wheel, downloaded once with pip into a
cache folder and unpacked into a workspace."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

# A small pure-Python package of plain functions (the Rails inflector), pinned so tests see the same code.
INFLECTION = ("inflection", "0.5.1")


def pinned_wheel(name: str, version: str, cache: Path, sha256: str | None = None) -> Path:
    """The wheel of `name==version` in `cache`, downloaded by pip the first time. With `sha256`, a file whose
    hash is not that one is never used (nor kept). The download lands in a temporary folder and is moved
    in whole, so concurrent runs see the whole file or none."""
    stem = name.replace("-", "_")
    found = [p for p in sorted(cache.glob(f"{stem}-{version}-*.whl")) if sha256 is None or _sha256(p) == sha256]
    if found:
        return found[0]
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                        "--disable-pip-version-check", f"{name}=={version}", "-d", tmp], check=True, timeout=300)
        got = sorted(Path(tmp).glob(f"{stem}-{version}-*.whl"))
        if not got:
            raise FileNotFoundError(f"pip downloaded no wheel of {name}=={version} into {cache}")
        if sha256 is not None and _sha256(got[0]) != sha256:
            raise RuntimeError(f"{got[0].name}: its SHA-256 is not the pinned {sha256}")
        target = cache / got[0].name
        os.replace(got[0], target)
    return target


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
