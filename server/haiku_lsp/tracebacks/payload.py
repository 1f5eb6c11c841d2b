"""A resolved traceback turned into what the model sees (`model_payload`), and the workspace file a patch the
model suggests is for (`patch_target`). The Markdown shown to people is `render`'s.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from haiku_lsp.privacy import IgnoreRules, redact
from haiku_lsp.python import relative_to_root
from haiku_lsp.text import fence, numbered
from haiku_lsp.tracebacks.frames import Frame, ParsedTraceback
from haiku_lsp.tracebacks.resolve import (
    is_library_path,
    path_parts,
    read_lines,
)

# --- what the model sees -------------------------------------------------------------------------

_MAX_MESSAGE_CHARS = 3000


def frame_display(frame: Frame, root: Path | None) -> str:
    """The frame's path as shown: workspace-relative when it was resolved, else as written."""
    rel = relative_to_root(frame.resolved, root)
    return rel.as_posix() if rel is not None else frame.path


def elide_frames(frames: tuple[Frame, ...], keep_run: int = 4) -> list[Frame | int]:
    """Frames with long runs of non-workspace frames (framework plumbing) replaced by their count; the
    run at the innermost end keeps its last two frames, where the failure happened."""
    out: list[Frame | int] = []
    run: list[Frame] = []

    def flush(last: bool) -> None:
        if len(run) > keep_run:
            tail = 2 if last else 1
            out.extend([run[0], len(run) - 1 - tail, *run[-tail:]])
        else:
            out.extend(run)
        run.clear()

    for frame in frames:
        if frame.in_workspace:
            flush(False)
            out.append(frame)
        else:
            run.append(frame)
    flush(True)
    return out


def _stack_text(frames: tuple[Frame, ...], root: Path | None, indent: str) -> list[str]:
    out = []
    for item in elide_frames(frames):
        if isinstance(item, int):
            out.append(f"{indent}[... {item} more frames outside the workspace ...]")
            continue
        tag = " [workspace]" if item.in_workspace else (" [ignored file]" if item.ignored else "")
        func = f" in {item.function}" if item.function else ""
        where = f"{frame_display(item, root)}:{item.line}" if item.line else frame_display(item, root)
        out.append(f"{indent}{where}{func}{tag}")
        if item.ignored:
            out.append(f"{indent}    <source withheld: the file is excluded by ignore rules>")
        elif item.source_line:
            out.append(f"{indent}    {item.source_line}")
    return out


def _exception_text(tb: ParsedTraceback) -> str:
    message = tb.message
    if len(message) > _MAX_MESSAGE_CHARS:
        message = message[:_MAX_MESSAGE_CHARS] + " [...]"
    return f"{tb.exc_type}: {message}" if message else tb.exc_type


def _source_frames(tb: ParsedTraceback, budget: int) -> list[Frame]:
    """Workspace frames whose source is shown: the innermost of this exception and of each cause first,
    then the others innermost first; one per file and line."""
    chains = [[f for f in reversed(t.frames) if f.in_workspace] for t in (tb, *reversed(tb.causes))]
    ordered = [c[0] for c in chains if c] + [f for c in chains for f in c[1:]]
    chosen: list[Frame] = []
    seen: set[tuple[Path | None, int]] = set()
    for frame in ordered:
        key = (frame.resolved, frame.line)
        if key not in seen and len(chosen) < budget:
            seen.add(key)
            chosen.append(frame)
    return chosen


def _snippets(frames: list[Frame], radius: int, root: Path | None) -> list[str]:
    """Numbered source around `frames`, windows in one file merged; in the order of `frames`."""
    files: dict[Path, list[Frame]] = {}
    for frame in frames:
        if frame.resolved is not None and not frame.ignored:
            files.setdefault(frame.resolved, []).append(frame)
    windows: list[tuple[int, str]] = []  # (rank of its first frame, text)
    for path, in_file in files.items():
        lines = read_lines(path)
        if not lines:
            continue
        spans = sorted((max(1, f.line - radius), min(len(lines), f.line + radius), f)
                       for f in in_file if 1 <= f.line <= len(lines))
        merged: list[tuple[int, int, list[Frame]]] = []
        for lo, hi, frame in spans:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]), [*merged[-1][2], frame])
            else:
                merged.append((lo, hi, [frame]))
        for lo, hi, group in merged:
            marks = ", ".join(f"{f.line}" + (f" in {f.function}" if f.function else "") for f in group)
            head = f"{frame_display(group[0], root)} lines {lo}-{hi} ('>' marks line {marks})"
            body = numbered(lines[lo - 1:hi], lo, {f.line for f in group})
            windows.append((min(frames.index(f) for f in group), f"{head}\n{fence(body)}"))
    return [text for _, text in sorted(windows, key=lambda w: w[0])]


def model_payload(tb: ParsedTraceback, *, max_frames: int = 6, radius: int = 6,
                  root: Path | None = None) -> str:
    """The text sent to the model: the exception, the stack (workspace-relative paths where resolved;
    long runs of library frames elided), the chained exceptions, and the numbered source around up to
    `max_frames` workspace frames (innermost first; overlapping windows in one file merged). Ignored
    files contribute neither source nor their printed code line. Secrets are redacted. `root` defaults
    to the one resolve_frames recorded."""
    root = root or tb.root
    out = [f"Exception: {_exception_text(tb)}"]
    if tb.kind == "pytest":
        out.append("(from a pytest failure report)")
    out += ["", "Stack (outermost first, innermost last):", *_stack_text(tb.frames, root, "  ")]
    if tb.causes:
        out += ["", "Printed before it (chained exceptions and enclosing exception groups, earliest first):"]
        for cause in tb.causes:
            out.append(f"- {_exception_text(cause)}")
            out += _stack_text(cause.frames, root, "    ")
    snippets = _snippets(_source_frames(tb, max_frames), radius, root)
    if snippets:
        out += ["", "Source around the workspace frames (innermost first):"]
        for snippet in snippets:
            out += ["", snippet]
    return redact("\n".join(out))[0]


# --- the patch's target --------------------------------------------------------------------------


def _all_frames(tb: ParsedTraceback) -> list[Frame]:
    return [f for t in (tb, *tb.causes) for f in t.frames]


def patch_target(answer: dict, tb: ParsedTraceback, root: Path | None,
                 ignore: IgnoreRules | None = None) -> Path | None:
    """The workspace file answer["patch"] is for, or None. The path may be relative to root (an `a/` or
    `b/` diff prefix is dropped when needed), a frame's path as written in the traceback, or absolute
    inside root; `..` escapes, absolute paths outside root (unless they are a frame's path), symlinks
    out of root, missing files, library files and files matched by the ignore rules (`ignore`, by
    default the workspace's own .gitignore/.haikuignore and the built-ins) are refused."""
    if root is None or not isinstance(answer, dict) or not isinstance(answer.get("patch"), dict):
        return None
    raw = answer["patch"].get("path")
    if not isinstance(raw, str) or not raw.strip():
        return None
    raw = raw.strip()
    if raw.startswith("file://"):
        raw = unquote(urlparse(raw).path)
    frames = _all_frames(tb)
    target: Path | None = None
    for frame in frames:
        if frame.path == raw and frame.resolved is not None:
            target = frame.resolved
            break
    else:
        parts = path_parts(raw)
        if not parts or ".." in parts:
            return None
        if raw.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", raw):
            given = relative_to_root(os.path.normpath(raw), root, resolve=True)
            target = root / given if given is not None else None
        else:
            target = root.joinpath(*parts)
            if not target.is_file() and len(parts) > 1 and parts[0] in ("a", "b"):
                target = root.joinpath(*parts[1:])
            if not target.is_file():  # a tail of a resolved frame's path ("core.py" for src/pkg/core.py)
                tails = {f.resolved for f in frames if f.resolved is not None
                         and list(f.resolved.parts[-len(parts):]) == parts}
                target = tails.pop() if len(tails) == 1 else None
    if target is None or not target.is_file():
        return None
    rel = relative_to_root(target, root, resolve=True)
    if rel is None:
        return None
    inside = root / rel
    rules = ignore if ignore is not None else IgnoreRules.for_workspace(root)
    if rules.is_ignored(inside) or is_library_path(rel.as_posix()):
        return None
    if any(f.ignored and f.resolved == inside for f in frames):
        return None
    return inside
