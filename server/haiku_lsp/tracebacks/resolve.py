"""Frames of a parsed traceback resolved against the workspace (library paths, paths from other
machines matched by their tail, ignore rules), and the numbered source around a frame.
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.python import relative_to_root
from haiku_lsp.text import numbered
from haiku_lsp.tracebacks.frames import Frame, ParsedTraceback

# --- resolution ----------------------------------------------------------------------------------

_LIBRARY = re.compile(
    r"(?:^|[/\\])(?:site-packages|dist-packages|lib[/\\]python\d(?:\.\d+)?t?|Lib)(?:[/\\]|$)")
_GENERIC_NAMES = frozenset({"__init__.py", "__main__.py"})


def is_library_path(path: str) -> bool:
    """True for paths into site-packages / dist-packages or a Python installation's standard library."""
    return bool(_LIBRARY.search(path))


def path_parts(path: str) -> list[str]:
    """The components of a path as written in a traceback or an answer, POSIX or Windows (a drive
    letter dropped), without empty and `.` components."""
    windows = bool(re.match(r"^[A-Za-z]:[\\/]", path)) or ("\\" in path and "/" not in path)
    pieces = re.split(r"[\\/]+", path) if windows else path.split("/")
    if windows and pieces and re.fullmatch(r"[A-Za-z]:", pieces[0]):
        pieces = pieces[1:]
    return [p for p in pieces if p and p != "."]


def _resolve_path(path: str, root: Path, cache: dict[str, Path | None]) -> Path | None:
    if path in cache:
        return cache[path]
    cache[path] = result = _resolve_uncached(path, root)
    return result


def _resolve_uncached(path: str, root: Path) -> Path | None:
    if not path or path.startswith("<"):  # <stdin>, <string>, <frozen importlib._bootstrap>
        return None
    parts = path_parts(path)
    if not parts or ".." in parts:
        return None
    if path.startswith("/"):
        given = Path(os.path.normpath(path))
        if given.is_file():  # this machine's own file: inside the workspace or not at all
            rel = relative_to_root(given, root, resolve=True)
            return root / rel if rel is not None else None
    else:
        candidates = [root.joinpath(*parts)]
        try:  # pytest run from a sub-project (rootdir = root/backend): its paths are relative to that
            candidates += [d.joinpath(*parts) for d in sorted(root.iterdir())[:200]
                           if d.is_dir() and not d.name.startswith(".")]
        except OSError:
            pass
        for cand in candidates:
            if cand.is_file() and relative_to_root(cand, root, resolve=True) is not None:
                return cand
    if is_library_path(path):
        return None
    # A path from another machine or a container (/app/src/x.py, /home/runner/work/p/p/src/x.py,
    # C:\ci\src\x.py): the longest tail that exists under root.
    for k in range(len(parts) - 1, 0, -1):
        tail = parts[-k:]
        if k == 1 and tail[0] in _GENERIC_NAMES:
            continue
        cand = root.joinpath(*tail)
        if cand.is_file() and relative_to_root(cand, root, resolve=True) is not None:
            return cand
    return None


def _def_line(path: Path, name: str) -> int:
    pattern = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(")
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if pattern.match(line):
                    return number
    except OSError:
        pass
    return 0


def resolve_frames(tb: ParsedTraceback, root: Path | None, ignore: IgnoreRules) -> ParsedTraceback:
    """`tb` with every frame (causes' too) resolved against the workspace `root`: `resolved` is set for
    an existing file inside root (paths relative to root or to a direct sub-directory of it, absolute
    paths inside it, and paths from elsewhere matched by their longest existing tail under root — not
    for library paths); `in_workspace` when resolved and neither a library (site-packages, stdlib) nor
    matched by `ignore`; `ignored` when matched by `ignore` (resolved or as written). A frame whose
    line is unknown (0) gets the line of `def <function>` in its file. Records `root` on the result."""
    cache: dict[str, Path | None] = {}

    def one(frame: Frame) -> Frame:
        resolved = _resolve_path(frame.path, root, cache) if root is not None else None
        ignored = ignore.is_ignored(resolved) if resolved is not None else (
            not frame.path.startswith("<") and ignore.is_ignored(frame.path.replace("\\", "/")))
        rel = relative_to_root(resolved, root)
        library = is_library_path(frame.path) or (rel is not None and is_library_path(rel.as_posix()))
        line = frame.line
        if line == 0 and resolved is not None and frame.function:
            line = _def_line(resolved, frame.function)
        return replace(frame, line=line, resolved=resolved, ignored=ignored,
                       in_workspace=resolved is not None and not library and not ignored)

    def each(t: ParsedTraceback) -> ParsedTraceback:
        return replace(t, frames=tuple(one(f) for f in t.frames), root=root)

    return replace(each(tb), causes=tuple(each(c) for c in tb.causes))


# --- a frame's source ----------------------------------------------------------------------------


def read_lines(path: Path) -> list[str] | None:
    """The file's lines (undecodable bytes replaced), or None when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def frame_source(frame: Frame, radius: int = 6) -> str | None:
    """The resolved file's lines frame.line ± radius, each as `> 12 | code` (`>` on the frame's line,
    a space elsewhere; numbers right-aligned; see text.numbered). None when the frame is not
    resolved, is ignored, or its line is not in the file."""
    if frame.resolved is None or frame.ignored or frame.line < 1:
        return None
    lines = read_lines(frame.resolved)
    if lines is None or frame.line > len(lines):
        return None
    lo, hi = max(1, frame.line - radius), min(len(lines), frame.line + radius)
    return numbered(lines[lo - 1:hi], lo, {frame.line})

