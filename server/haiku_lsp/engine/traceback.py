"""Python tracebacks found in any text (a log, a terminal dump, pytest's report), resolved to workspace
files, turned into what the model sees, and rendered as Markdown (no LSP).

Formats read: CPython tracebacks (3.11+ caret lines, `[Previous line repeated ...]`, SyntaxError's
file/line/caret block, chained exceptions, ExceptionGroup trees: the first sub-exception is the one
explained), the same behind a log prefix (on the first line only, or on every line: timestamps that
change from line to line are matched by shape), and pytest's long/auto, short and line reports (and its
`FAILED path::test - Exc` summary lines, used only when nothing better is around). Parsing never raises
and never does I/O; resolution and rendering read files.

The model's answer (schema, validation, unified diffs) lives in :mod:`haiku_lsp.engine.patches` and is
re-exported here.
"""

from __future__ import annotations

import builtins
import logging
import os
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

from .patches import EXPLAIN_SCHEMA, apply_unified_diff, validate_explanation
from .privacy import IgnoreRules, redact

__all__ = [
    "EXPLAIN_SCHEMA", "Frame", "ParsedTraceback", "apply_unified_diff", "explanation_markdown",
    "find_traceback", "frame_source", "model_payload", "offline_markdown", "parse_traceback",
    "patch_target", "resolve_frames", "validate_explanation",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    path: str  # as written in the traceback
    line: int  # 1-based; 0 when unknown (a FAILED summary line) and not found by resolve_frames
    function: str | None
    source_line: str | None  # the code line printed under the frame, stripped, if any
    resolved: Path | None = None  # absolute path of an existing file inside the workspace
    in_workspace: bool = False  # resolved, not a library, not ignored: its source may be sent
    ignored: bool = False  # matched by the ignore rules: nothing of it is sent, not even source_line


@dataclass(frozen=True)
class ParsedTraceback:
    exc_type: str  # "ValueError", "module.CustomError", "AssertionError"
    message: str  # may be multi-line (pytest "E" lines joined)
    frames: tuple[Frame, ...]  # outermost first, innermost last
    kind: str  # "python" | "pytest": the format it was read from
    first_line: int = 0  # 0-based line range in the document where it was found
    last_line: int = 0
    # Everything printed before this exception that belongs to it, in printed order (causes[0] first):
    # earlier links of a chain ("direct cause" / "during handling") and enclosing ExceptionGroups.
    # They carry their own frames and line ranges; their own `causes` are empty.
    causes: tuple[ParsedTraceback, ...] = ()
    root: Path | None = None  # the workspace root resolve_frames used, if any

    @property
    def headline(self) -> str:
        """`ExcType: first line of the message` (or just the type)."""
        first = self.message.split("\n", 1)[0].strip()
        return f"{self.exc_type}: {first}" if first else self.exc_type

    @property
    def innermost_workspace_frame(self) -> Frame | None:
        """The innermost in_workspace frame of this exception, else of its causes (latest first)."""
        for tb in (self, *reversed(self.causes)):
            for frame in reversed(tb.frames):
                if frame.in_workspace:
                    return frame
        return None


# --- parsing -------------------------------------------------------------------------------------

_MAX_LINE = 4000  # longer lines are never part of a traceback (and keep every regex linear and cheap)
_MAX_MESSAGE_LINES = 40
_MAX_BLOCK = 300  # lines of pytest source shown for one entry
_LOOKBACK = 400  # lines scanned above the window so a traceback overlapping it is read whole

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_HEADER_TEXT = "Traceback (most recent call last):"
_HEADER = re.compile(r"^\s*Traceback \(most recent call last\):\s*$")
_GROUP_HEADER = re.compile(r"^(?P<ind> *)\+ Exception Group Traceback \(most recent call last\):\s*$")
_FRAME = re.compile(r'^(?P<ind>\s*)File "(?P<path>[^"]+)", line (?P<line>\d{1,9})(?:, in (?P<func>.+?))?\s*$')
_FRAME_ANYWHERE = re.compile(r'File "[^"]+", line \d{1,9}(?:, in .+?)?\s*$')
_CARET = re.compile(r"^\s*[\^~]+[\s\^~]*$")
_REPEAT = re.compile(r"^\s*\[Previous line repeated \d+ more times?\]\s*$")
_EXC = re.compile(r"^(?P<type>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?P<colon>:(?:[ \t](?P<msg>.*))?)?$")
_CHAIN = frozenset({
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
})
# A line that starts a new log record (or a CI runner's own line, "##[error]...") rather than continuing
# an exception message.
_LOG_START = re.compile(
    r"^\s*(?:\[?\d{4}-\d\d-\d\d[T ]|\[?\d\d:\d\d:\d\d\b|##\[|::\w+::"
    r"|(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b[:\s])")
# Log prefixes recognised on a pytest line (Python tracebacks take theirs from the header line).
_LOG_PREFIX = re.compile(
    r"^(?:(?:\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?"
    r"|\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?)"
    r"(?:[ \t]+\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\]?)?[ \t]"
    r"|[\w.\-]+[ \t]*\|[ \t]?|\|[ \t]?)")

_SECTION_HEADER = re.compile(r"^_{3,} (?P<name>.+?) _{3,}\s*$")
_SECTION_END = re.compile(r"^(?:_{3,} .+ _{3,}|={3,}.*|-{3,} .* -{3,}|!{3,}.*)\s*$")
_SEPARATOR = re.compile(r"^(?:_ ){2,}_?\s*$")
_LOC_IN = re.compile(r"^(?P<path>\S(?:.*?\S)?):(?P<line>\d{1,9}): in (?P<func>\S.*?)\s*$")
_LOC = re.compile(
    r"^(?P<path>(?:[A-Za-z]:)?[^\s:]*\.py[iwx]?|<[^>]*>):(?P<line>\d{1,9}):(?:[ \t]+(?P<rest>.*?))?\s*$")
_E_LINE = re.compile(r"^E(?:[ \t](?P<text>.*))?$")
_ARG_LINE = re.compile(r"^[A-Za-z_]\w*\s+= ")
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(?P<name>\w+)")
_FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<path>[^\s:]+?\.py)(?:::(?P<test>\S+?))?(?: - (?P<msg>.*))?\s*$")


@dataclass
class _Part:
    exc_type: str
    message: str
    frames: list[Frame]
    first: int
    last: int
    group: bool = False


class _View:
    """Document lines seen through a log prefix. `get(i)` is line i without it, or None when the line is
    not part of the traceback: it lacks the prefix (prefix on every line), or it starts a new record
    (prefix on the first line only). ANSI colours are dropped."""

    __slots__ = ("_lines", "_prefix", "_every", "_first", "_first_text", "reach")

    def __init__(self, lines: list[str], prefix: re.Pattern[str] | None = None, every: bool = True,
                 first: int = -1, first_text: str = "") -> None:
        self._lines, self._prefix, self._every = lines, prefix, every
        self._first, self._first_text = first, first_text
        self.reach = -1  # the farthest line read: where a failed parse gave up

    def get(self, i: int) -> str | None:
        if i < 0 or i >= len(self._lines):
            return None
        if i > self.reach:
            self.reach = i
        if i == self._first:
            return self._first_text
        line = self._lines[i]
        if len(line) > _MAX_LINE:
            return None
        if "\x1b" in line:
            line = _ANSI.sub("", line)
        line = line.rstrip("\r\n")
        if self._prefix is None:
            return line
        m = self._prefix.match(line)
        if self._every:
            if m:
                return line[m.end():]
            # A blank line keeps at most the prefix's non-blank part ("|" for "| ").
            return "" if not line.strip() or self._prefix.match(line + " ") else None
        return None if m else line


@lru_cache(maxsize=64)
def _prefix_pattern(text: str) -> re.Pattern[str] | None:
    """A pattern for a log prefix like `text`: digit runs (timestamps, pids) may differ per line."""
    if not text:
        return None
    pieces = re.split(r"(\d+)", text)
    return re.compile("".join(r"\d+" if i % 2 else re.escape(p) for i, p in enumerate(pieces)))


def _exc_match(s: str, strict: bool = False) -> tuple[str, str] | None:
    """(type, message) when `s` reads as an exception line. Strict: the type's last component must be
    capitalised (rules out `error: ...` from linters); lenient also takes `socket.timeout` and `x: msg`."""
    m = _EXC.match(s.rstrip())
    if m is None:
        return None
    name = m["type"]
    capital = name.rsplit(".", 1)[-1][:1].isupper()
    if not capital and (strict or ("." not in name and not m["colon"])):
        return None
    return name, m["msg"] or ""


def _skip_blank(view: _View, k: int, hi: int, most: int) -> int:
    while k < hi and most > 0:
        s = view.get(k)
        if s is None or s.strip():
            break
        k += 1
        most -= 1
    return k


def _python_frames(view: _View, j: int, hi: int) -> tuple[list[Frame], int]:
    frames: list[Frame] = []
    while j < hi:
        s = view.get(j)
        if s is None:
            break
        m = _FRAME.match(s)
        if m is None:
            if _REPEAT.match(s) or s.strip() == "...":
                j += 1
                continue
            break
        indent, source = len(m["ind"]), None
        j += 1
        while j < hi:  # the code line(s) under the frame, and 3.11+ caret lines
            t = view.get(j)
            if t is None or not t.strip() or len(t) - len(t.lstrip()) <= indent or _FRAME.match(t):
                break
            if source is None and not _CARET.match(t):
                source = t.strip()
            j += 1
        frames.append(Frame(m["path"], int(m["line"]), m["func"], source))
    return frames, j


def _ends_message(t: str) -> bool:
    return (t.strip() in _CHAIN or _HEADER_TEXT in t or bool(_FRAME.match(t) or _LOG_START.match(t)
            or _SECTION_END.match(t) or _FAILED.match(t)))


def _python_exception(view: _View, j: int, hi: int) -> tuple[str, str, int] | None:
    s = view.get(j) if j < hi else None
    if not s or s[0].isspace():
        return None
    exc = _exc_match(s)
    if exc is None:
        return None
    message = [exc[1]]
    k = j + 1
    while k < hi and k - j <= _MAX_MESSAGE_LINES:
        t = view.get(k)
        if t is None or not t.strip() or _ends_message(t):
            break
        message.append(t.rstrip())
        k += 1
    return exc[0], "\n".join(message).strip(), k - 1


def _python_one(view: _View, j: int, hi: int) -> tuple[list[_Part], int] | None:
    s = view.get(j)
    if s is None:
        return None
    g = _GROUP_HEADER.match(s)
    if g:
        return _python_group(view, j, hi, len(g["ind"]))
    start = j
    header = bool(_HEADER.match(s))
    if header:
        j += 1
    elif not _FRAME.match(s):
        return None
    frames, j = _python_frames(view, j, hi)
    if not frames and not header:
        return None
    exc = _python_exception(view, j, hi)
    if exc is None:
        return None
    return [_Part(exc[0], exc[1], frames, start, exc[2])], exc[2]


def _python_chain(view: _View, j: int, hi: int) -> tuple[list[_Part], int] | None:
    parts: list[_Part] = []
    end = -1
    while True:
        one = _python_one(view, j, hi)
        if one is None:
            break
        parts += one[0]
        end = one[1]
        k = _skip_blank(view, end + 1, hi, 2)
        s = view.get(k) if k < hi else None
        if s is None or s.strip() not in _CHAIN:
            break
        j = _skip_blank(view, k + 1, hi, 2)
    return (parts, end) if parts else None


def _cell(s: str, c: int) -> str:
    """The character at column c when only spaces precede it (the tree drawing of an ExceptionGroup)."""
    return s[c] if len(s) > c and not s[:c].strip() else ""


def _python_group(view: _View, j: int, hi: int, c: int) -> tuple[list[_Part], int] | None:
    tree = [view.get(j) or ""]
    k = j + 1
    while k < hi:
        s = view.get(k)
        if s is None or len(s) <= c or s[:c].strip() or s[c:].lstrip()[:1] not in ("|", "+"):
            break
        tree.append(s)
        k += 1
    parts = _group_parts(tree, 0, c, 0)
    if not parts:
        return None
    for p in parts:  # line ranges inside the tree are approximate: the whole tree
        p.first, p.last = j, k - 1
    return parts, k - 1


def _group_parts(tree: list[str], k: int, c: int, depth: int) -> list[_Part]:
    """The group drawn at column c from tree[k] on, then its first sub-exception, recursively. A top-level
    group starts with a `+ Exception Group Traceback` line; a nested one with its `|` lines (a
    traceback header, or directly `ExceptionGroup: ...` when it was never raised)."""
    if depth > 20:
        return []
    x = k + 1 if tree[k][c:c + 1] == "+" else k
    own = [_HEADER_TEXT] if x > k else []
    while x < len(tree) and _cell(tree[x], c) == "|":
        text = tree[x][c + 2:]
        own.append(_HEADER_TEXT if text.startswith("Exception Group Traceback") else text)
        x += 1
    parts = _parse_plain(own)
    if not parts:
        return []
    parts[-1].group = True
    if x >= len(tree) or tree[x][c:c + 3] != "+-+" or tree[x][:c].strip():
        return parts
    sc = c + 2  # the sub-exceptions' column
    sub = []
    y = x + 1
    while y < len(tree):
        s = tree[y]
        if _cell(s, sc) == "|" or s[sc:sc + 3] == "+-+" or (len(s) > sc + 1 and not s[:sc + 1].strip()):
            sub.append(s)
            y += 1
        else:
            break
    if any(s[sc:sc + 3] == "+-+" and not s[:sc].strip() for s in sub):
        return parts + _group_parts(sub, 0, sc, depth + 1)
    content = [s[sc + 2:] for s in sub if _cell(s, sc) == "|"]
    return parts + _parse_plain(content)


def _parse_plain(lines: list[str]) -> list[_Part]:
    """Parts of a traceback in already normalised lines (a group's body): a chain, or a bare
    `Exc: message` (a sub-exception that was never raised has no traceback)."""
    view = _View(lines)
    k = _skip_blank(view, 0, len(lines), len(lines))
    chain = _python_chain(view, k, len(lines))
    if chain:
        return chain[0]
    exc = _python_exception(view, k, len(lines))
    return [_Part(exc[0], exc[1], [], k, exc[2])] if exc else []


def _python_from_header(lines: list[str], i: int, raw: str, at: int) -> _View | None:
    """The view through the header's prefix, or None when the header is no traceback's."""
    pre = raw[:at]
    group_mark = "+ Exception Group "
    if pre.endswith("Exception Group ") and not pre.endswith(group_mark):
        return None  # a nested group seen out of its tree
    group = pre.endswith(group_mark)
    prefix = pre[:-len(group_mark)] if group else pre
    if group and prefix.endswith("  "):
        prefix = prefix[:-2]  # Python indents a group's tree by two: that is the format, not a prefix
    pattern = _prefix_pattern(prefix)
    every = pattern is None or (i + 1 < len(lines) and pattern.match(lines[i + 1]) is not None)
    text = raw[len(prefix):]
    if group and not every and i + 1 < len(lines):
        # Prefix on the header only: line the header's '+' up with the tree below it.
        below = lines[i + 1]
        text = " " * (len(below) - len(below.lstrip())) + raw[at - len(group_mark):]
    return _View(lines, pattern, every, i, text)


def _python_from_frame(lines: list[str], i: int, raw: str) -> _View | None:
    """The view through the prefix before a frame line without its header."""
    m = _FRAME_ANYWHERE.search(raw)
    if m is None:
        return None
    pre = raw[:m.start()]
    prefix = pre[:-2] if pre.endswith("  ") else pre  # frames are indented by two under their header
    pattern = _prefix_pattern(prefix)
    every = pattern is None or (i + 1 < len(lines) and pattern.match(lines[i + 1]) is not None)
    return _View(lines, pattern, every, i, raw[len(prefix):])


def _crash_text(rest: str) -> bool:
    return rest == "assert" or rest.startswith("assert ") or _exc_match(rest, strict=True) is not None


def _pytest_loc(s: str) -> tuple[str, int, str | None, str | None] | None:
    """(path, line, function, crash text) of a pytest location line: `path:N: in func` (short),
    `path:N: ` (long), `path:N: ExcType[: msg]` (the crash, long and line formats)."""
    if ": in " in s:
        m = _LOC_IN.match(s)
        if m:
            return m["path"], int(m["line"]), m["func"], None
    if ".py" in s or ">:" in s:
        m = _LOC.match(s)
        if m and (not m["rest"] or _crash_text(m["rest"])):
            return m["path"], int(m["line"]), None, m["rest"] or ""
    return None


def _dedent_e(texts: list[str]) -> list[str]:
    widths = [len(t) - len(t.lstrip()) for t in texts if t.strip()]
    base = min(widths, default=0)
    lines = [t[base:].rstrip() if t.strip() else "" for t in texts]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _pytest_exception(e_texts: list[str], crash: str) -> tuple[str, str, list[Frame]] | None:
    lines = _dedent_e(e_texts)
    if any(_FRAME.match(t) for t in lines):  # a SyntaxError block printed inside E lines
        view = _View(lines)
        start = next(k for k, t in enumerate(lines) if _FRAME.match(t))
        chain = _python_chain(view, start, len(lines))
        if chain:
            last = chain[0][-1]
            return last.exc_type, last.message, last.frames
    first = lines[0].strip() if lines else ""
    exc = _exc_match(first, strict=True) if first else None
    if exc and (":" in first or len(lines) == 1):
        return exc[0], "\n".join([exc[1], *lines[1:]]).strip(), []
    crashed = _exc_match(crash, strict=True) if crash else None
    if crashed:
        return crashed[0], ("\n".join(lines) or crashed[1]).strip(), []
    if first.startswith("assert") or crash.startswith("assert"):
        return "AssertionError", ("\n".join(lines) or crash).strip(), []
    if lines:
        return "Error", "\n".join(lines).strip(), []
    return None


def _short_source(view: _View, j: int, hi: int) -> tuple[str | None, int]:
    source = None
    while j < hi:
        t = view.get(j)
        if t is None or not t.strip() or not t[0].isspace():
            break
        if source is None and not _CARET.match(t):
            source = t.strip()
        j += 1
    return (None if source == "???" else source), j


def _from_block(block: list[str]) -> tuple[str | None, str | None]:
    """The `>` line of a long-format entry and the function it is in."""
    for k, line in enumerate(block):
        if line.startswith(">"):
            func = next((m["name"] for b in reversed(block[:k]) if (m := _DEF.match(b))), None)
            return line[1:].strip() or None, func
    return None, None


def _pytest_parts(view: _View, j: int, hi: int) -> tuple[list[_Part], int] | None:
    parts: list[_Part] = []
    frames: list[Frame] = []
    block: list[str] = []
    e_texts: list[str] = []
    long_entry = False  # the current block has a `>` line: long format, E lines inside the block
    start, end = j, j - 1

    def finish(crash: str) -> None:
        nonlocal frames, block, e_texts, long_entry, start
        exc = _pytest_exception(e_texts, crash)
        if exc and frames:
            parts.append(_Part(exc[0], exc[1], frames + exc[2], start, end))
        frames, block, e_texts, long_entry = [], [], [], False
        start = end + 1

    while j < hi:
        s = view.get(j)
        if s is None:
            break
        s = s.rstrip()
        stripped = s.strip()
        if _SECTION_END.match(s) or _HEADER_TEXT in s or _FAILED.match(s):
            break
        if stripped in _CHAIN:
            if frames:
                finish("")
            elif not parts:
                break
            j += 1
            continue
        loc = _pytest_loc(s) if s and not s[0].isspace() else None
        e = _E_LINE.match(s)
        if e_texts and not e and stripped:
            if not frames and s[0].isspace():  # --tb=line: the E block's continuation lines
                e_texts.append(s)
                j += 1
                continue
            if frames and not long_entry and not (loc and loc[3]):
                break  # a short-format exception ends with its E lines
        if loc:
            path, line, func, crash = loc
            if crash is None:
                source, nxt = _short_source(view, j + 1, hi)
                frames.append(Frame(path, line, func, source))
                block, long_entry, end = [], False, nxt - 1
                j = nxt
                continue
            source, func = _from_block(block)
            frames.append(Frame(path, line, func, source))
            block, long_entry, end = [], False, j
            if crash:  # the crash location closes an exception; a chain may follow
                finish(crash)
                k = _skip_blank(view, j + 1, hi, 2)
                t = view.get(k) if k < hi else None
                if t is None or t.strip() not in _CHAIN:
                    break
                j = k
                continue
            j += 1
            continue
        if e:
            e_texts.append(e["text"] or "")
            end = j
        elif _SEPARATOR.match(s):
            block, long_entry = [], False
        else:
            long_entry = long_entry or s.startswith(">")
            block.append(s)
            if len(block) > _MAX_BLOCK:
                break
        j += 1
    if frames:
        finish("")
    return (parts, end) if parts else None


def _back_up(view: _View, i: int, floor: int) -> int:
    """The first line of the pytest entry whose location line is i (its source block, E lines)."""
    k = i
    while k > floor and i - k < _MAX_BLOCK:
        s = view.get(k - 1)
        if s is None:
            break
        s = s.rstrip()
        if not (not s or s[0].isspace() or s.startswith(">") or _E_LINE.match(s) or _SEPARATOR.match(s)
                or _ARG_LINE.match(s)):
            break
        k -= 1
    while k < i and not (view.get(k) or "").strip():
        k += 1
    return k


def _pytest_kind(s: str) -> str | None:
    if s.startswith("___"):
        return "header" if _SECTION_HEADER.match(s) else None
    if s.startswith(("FAILED ", "ERROR ")):
        return "failed" if _FAILED.match(s) else None
    if s and not s[0].isspace() and _pytest_loc(s):
        return "loc"
    return None


def _build(parts: list[_Part], kind: str, first: int, last: int) -> ParsedTraceback:
    causes = tuple(ParsedTraceback(p.exc_type, p.message, tuple(p.frames), kind, p.first, p.last)
                   for p in parts[:-1])
    main = parts[-1]
    frames = main.frames
    if not frames:  # a sub-exception that was never raised: show where its group was
        frames = next((p.frames for p in reversed(parts[:-1]) if p.group and p.frames), [])
    return ParsedTraceback(main.exc_type, main.message, tuple(frames), kind, first, last, causes)


def _failed_summary(m: re.Match[str], i: int) -> ParsedTraceback:
    test = (m["test"] or "").rsplit("::", 1)[-1].split("[", 1)[0] or None
    exc = _exc_match(m["msg"] or "", strict=True)
    if exc:
        exc_type, message = exc
    else:
        exc_type = "AssertionError" if (m["msg"] or "").startswith("assert") else "Failed"
        message = m["msg"] or ""
    return ParsedTraceback(exc_type, message, (Frame(m["path"], 0, test, None),), "pytest", i, i)


def _scan(lines: list[str], a: int, b: int, limit: int,
          first_only: bool = False) -> tuple[list[ParsedTraceback], list[ParsedTraceback]]:
    """Tracebacks starting in lines[a:b] (they may run on up to `limit`), and the weak FAILED-line ones."""
    found: list[ParsedTraceback] = []
    weak: list[ParsedTraceback] = []
    floor, header_at, i = a, None, a
    while i < b:
        raw = lines[i]
        if not raw or len(raw) > _MAX_LINE:
            i += 1
            continue
        if "\x1b" in raw:
            raw = _ANSI.sub("", raw)
        result: ParsedTraceback | None = None
        view: _View | None = None
        at = raw.find(_HEADER_TEXT)
        if at >= 0 or 'File "' in raw:
            if at < 0:
                view = _python_from_frame(lines, i, raw)
            elif not raw[at + len(_HEADER_TEXT):].strip():
                view = _python_from_header(lines, i, raw, at)
            r = _python_chain(view, i, limit) if view is not None else None
            result = _build(r[0], "python", i, r[1]) if r else None
        elif ":" in raw or "___" in raw:
            prefix, s = "", raw.rstrip()
            kind = _pytest_kind(s)
            if kind is None and (m := _LOG_PREFIX.match(s)):
                prefix, s = m.group(), s[m.end():]
                kind = _pytest_kind(s)
            if kind == "header":
                header_at = i
            elif kind == "failed" and (m := _FAILED.match(s)):
                weak.append(_failed_summary(m, i))
            elif kind == "loc":
                view = _View(lines, _prefix_pattern(prefix))
                # The section's `___ test ___` header when it is close, else back up over the entry.
                near = header_at is not None and floor <= header_at and i - header_at <= _MAX_BLOCK
                first = header_at if near and header_at is not None else None
                start = first + 1 if first is not None else _back_up(view, i, floor)
                r = _pytest_parts(view, start, limit)
                if r:
                    result = _build(r[0], "pytest", start if first is None else first, r[1])
        if result is not None:
            found.append(result)
            if first_only:
                break
            i = floor = max(result.last_line + 1, i + 1)
            header_at = None
            continue
        if view is not None and view.reach > i:
            # A failed parse: anchors up to where it gave up would fail the same way (re-reading them
            # would make a long run of frames without an exception quadratic).
            i = floor = view.reach
            continue
        i += 1
    return found, weak


# What a pytest report always has somewhere: a location line (`x.py:12: ...`) or a FAILED line (`x.py::t`).
_PYTEST_HINT = re.compile(r"\.py[iwx]?:(?:\d+:(?: |$)|:)", re.MULTILINE)


def _may_hold(lines: list[str], a: int, b: int) -> bool:
    # Substring tests, then one regex over the window: code actions are listed on every cursor move.
    text = "\n".join(lines[a:b])
    return (_HEADER_TEXT in text or 'File "' in text
            or (".py" in text and _PYTEST_HINT.search(text) is not None))


def parse_traceback(text: str) -> ParsedTraceback | None:
    """The first traceback in `text` (line numbers relative to it), falling back to a pytest FAILED
    summary line; None when there is none. Never raises."""
    try:
        lines = text.splitlines()
        found, weak = _scan(lines, 0, len(lines), len(lines))
        return found[0] if found else (weak[0] if weak else None)
    except Exception:  # parsing arbitrary text must never break a request
        log.exception("traceback parsing failed")
        return None


def find_traceback(lines: list[str], start: int, end: int, around: int = 40) -> ParsedTraceback | None:
    """A traceback inside lines[start:end+1] (the selection) or, when the selection holds none, one that
    overlaps the `around` lines before/after it (read whole even when it extends further); the one
    nearest the selection wins. A pytest FAILED summary line is returned only when nothing else is
    there. Line numbers are the document's. Fast on documents without a traceback (substring tests
    on the window only); never raises."""
    try:
        return _find(lines, start, end, around)
    except Exception:  # parsing arbitrary text must never break a request
        log.exception("traceback search failed")
        return None


def _find(lines: list[str], start: int, end: int, around: int) -> ParsedTraceback | None:
    n = len(lines)
    if n == 0:
        return None
    start, end = sorted((min(max(start, 0), n - 1), min(max(end, 0), n - 1)))
    fallback: ParsedTraceback | None = None
    if end > start and _may_hold(lines, start, end + 1):
        found, weak = _scan(lines, start, end + 1, end + 1, first_only=True)
        if found:
            return found[0]
        fallback = weak[0] if weak else None
    lo, hi = max(0, start - around), min(n, end + around + 1)
    if not _may_hold(lines, lo, hi):
        return fallback

    def distance(tb: ParsedTraceback) -> int:
        return max(tb.first_line - end, start - tb.last_line, 0)

    a = lo
    best: ParsedTraceback | None = None
    for step in (_LOOKBACK, 10 * _LOOKBACK, n):
        found, weak = _scan(lines, a, hi, n)
        near = [tb for tb in found if tb.last_line >= lo and tb.first_line < hi]
        best = min(near, key=distance) if near else None
        if best is None or a == 0:
            break
        above = lines[max(a, best.first_line - 3):best.first_line]
        if best.first_line > a + 2 and not any(c in line for line in above for c in _CHAIN):
            break
        a = max(0, a - step)  # it starts at the top of what was scanned: it may have begun further up
    if best is not None:
        return best
    near_weak = [tb for tb in weak if lo <= tb.first_line < hi]
    return min(near_weak, key=distance) if near_weak else fallback


# --- resolution ----------------------------------------------------------------------------------

_LIBRARY = re.compile(
    r"(?:^|[/\\])(?:site-packages|dist-packages|lib[/\\]python\d(?:\.\d+)?t?|Lib)(?:[/\\]|$)")
_GENERIC_NAMES = frozenset({"__init__.py", "__main__.py"})


def is_library_path(path: str) -> bool:
    """True for paths into site-packages / dist-packages or a Python installation's standard library."""
    return bool(_LIBRARY.search(path))


def _parts(path: str) -> list[str]:
    windows = bool(re.match(r"^[A-Za-z]:[\\/]", path)) or ("\\" in path and "/" not in path)
    pieces = re.split(r"[\\/]+", path) if windows else path.split("/")
    if windows and pieces and re.fullmatch(r"[A-Za-z]:", pieces[0]):
        pieces = pieces[1:]
    return [p for p in pieces if p and p != "."]


def _inside(path: Path, root: Path) -> Path | None:
    """`path` as root / relative when it is inside root once symlinks are resolved (a link out of the
    workspace is outside); spelled under `root` as given, so it matches the editor's URIs."""
    try:
        real = path.resolve().relative_to(root.resolve())
    except (ValueError, OSError, RuntimeError):
        return None
    try:
        rel = path.relative_to(root)
    except ValueError:
        return root / real
    return root / rel if ".." not in rel.parts else root / real


def _resolve_path(path: str, root: Path, cache: dict[str, Path | None]) -> Path | None:
    if path in cache:
        return cache[path]
    cache[path] = result = _resolve_uncached(path, root)
    return result


def _resolve_uncached(path: str, root: Path) -> Path | None:
    if not path or path.startswith("<"):  # <stdin>, <string>, <frozen importlib._bootstrap>
        return None
    parts = _parts(path)
    if not parts or ".." in parts:
        return None
    if path.startswith("/"):
        given = Path(os.path.normpath(path))
        if given.is_file():  # this machine's own file: inside the workspace or not at all
            return _inside(given, root)
    else:
        candidates = [root.joinpath(*parts)]
        try:  # pytest run from a sub-project (rootdir = root/backend): its paths are relative to that
            candidates += [d.joinpath(*parts) for d in sorted(root.iterdir())[:200]
                           if d.is_dir() and not d.name.startswith(".")]
        except OSError:
            pass
        for cand in candidates:
            if cand.is_file() and _inside(cand, root) is not None:
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
        if cand.is_file() and _inside(cand, root) is not None:
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
        library = is_library_path(frame.path) or (
            resolved is not None and root is not None
            and is_library_path(resolved.relative_to(root).as_posix()))
        line = frame.line
        if line == 0 and resolved is not None and frame.function:
            line = _def_line(resolved, frame.function)
        return replace(frame, line=line, resolved=resolved, ignored=ignored,
                       in_workspace=resolved is not None and not library and not ignored)

    def each(t: ParsedTraceback) -> ParsedTraceback:
        return replace(t, frames=tuple(one(f) for f in t.frames), root=root)

    return replace(each(tb), causes=tuple(each(c) for c in tb.causes))


# --- what the model sees -------------------------------------------------------------------------

_MAX_MESSAGE_CHARS = 3000


def _read_lines(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def _numbered(lines: list[str], lo: int, hi: int, marks: set[int]) -> str:
    width = len(str(hi))
    return "\n".join(f"{'>' if n in marks else ' '} {n:>{width}} | {lines[n - 1]}".rstrip()
                     for n in range(lo, hi + 1))


def frame_source(frame: Frame, radius: int = 6) -> str | None:
    """The resolved file's lines frame.line ± radius, each as `> 12 | code` (`>` on the frame's line,
    a space elsewhere; numbers right-aligned; trailing spaces dropped). None when the frame is not
    resolved, is ignored, or its line is not in the file."""
    if frame.resolved is None or frame.ignored or frame.line < 1:
        return None
    lines = _read_lines(frame.resolved)
    if lines is None or frame.line > len(lines):
        return None
    return _numbered(lines, max(1, frame.line - radius), min(len(lines), frame.line + radius), {frame.line})


def _display(frame: Frame, root: Path | None) -> str:
    if frame.resolved is not None and root is not None:
        try:
            return frame.resolved.relative_to(root).as_posix()
        except ValueError:
            pass
    return frame.path


def _elide(frames: tuple[Frame, ...], keep_run: int = 4) -> list[Frame | int]:
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
    for item in _elide(frames):
        if isinstance(item, int):
            out.append(f"{indent}[... {item} more frames outside the workspace ...]")
            continue
        tag = " [workspace]" if item.in_workspace else (" [ignored file]" if item.ignored else "")
        func = f" in {item.function}" if item.function else ""
        where = f"{_display(item, root)}:{item.line}" if item.line else _display(item, root)
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
        lines = _read_lines(path)
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
            head = f"{_display(group[0], root)} lines {lo}-{hi} ('>' marks line {marks})"
            body = _numbered(lines, lo, hi, {f.line for f in group})
            windows.append((min(frames.index(f) for f in group), f"{head}\n```\n{body}\n```"))
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
        parts = _parts(raw)
        if not parts or ".." in parts:
            return None
        if raw.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", raw):
            target = _inside(Path(os.path.normpath(raw)), root)
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
    inside = _inside(target, root)
    if inside is None:
        return None
    rules = ignore if ignore is not None else IgnoreRules.for_workspace(root)
    rel = inside.relative_to(root).as_posix()
    if rules.is_ignored(inside) or is_library_path(rel):
        return None
    if any(f.ignored and f.resolved == inside for f in frames):
        return None
    return inside


# --- Markdown ------------------------------------------------------------------------------------

# Why a common exception usually happens: the offline view's first hint.
_NOTES = {
    "AssertionError": "An `assert` failed. In a test, compare the expected and actual values shown; "
                      "elsewhere, an invariant the code relies on does not hold.",
    "AttributeError": "An attribute lookup failed: the object is not what the code expects (often "
                      "`None`, or a different type), or the name is misspelled.",
    "FileNotFoundError": "The path does not exist. Relative paths are resolved against the current "
                         "working directory, not the script's location.",
    "ImportError": "A module was found but a name could not be imported from it: a typo, a circular "
                   "import, or a version of the package that lacks it.",
    "IndentationError": "The file's indentation is inconsistent (mixed tabs/spaces or a missing block).",
    "IndexError": "A sequence index is out of range: an empty list, or an off-by-one error.",
    "JSONDecodeError": "The text is not valid JSON: often an empty body or an HTML error page.",
    "KeyError": "A mapping has no such key: check where the key should have been set, or use `.get()` / "
                "`in` when it may be missing.",
    "KeyboardInterrupt": "The program was interrupted (Ctrl-C); the stack shows where it was at the time.",
    "ModuleNotFoundError": "The module is not installed in the interpreter that ran the code (check the "
                           "virtual environment) or the package layout / sys.path is not what it expects.",
    "NameError": "A name is used before it is defined: a typo, a missing import, or a variable defined "
                 "in another scope.",
    "NotImplementedError": "An abstract method or an unfinished code path was called.",
    "PermissionError": "The OS refused access: file permissions, a directory where a file was expected, "
                       "or a file held open by another process.",
    "RecursionError": "Unbounded recursion: look at the repeated frames for the missing base case.",
    "RuntimeError": "A generic error raised by the code or a library; the message (and any chained "
                    "exception) says more.",
    "StopIteration": "`next()` was called on an exhausted iterator.",
    "SyntaxError": "The file could not be parsed; the caret marks where the parser gave up, which can be "
                   "after the real mistake (an unclosed bracket or string above).",
    "TimeoutError": "An operation did not finish in time: a slow or unreachable service.",
    "TypeError": "An operation got a value of the wrong type (often `None`), or a call had the wrong "
                 "number or names of arguments.",
    "UnboundLocalError": "A local variable was read before it was assigned; any assignment in a function "
                         "makes the name local to the whole function.",
    "UnicodeDecodeError": "Bytes were decoded with the wrong encoding: pass `encoding=` explicitly.",
    "ValueError": "A value has the right type but unacceptable content (e.g. `int('x')`, unpacking the "
                  "wrong number of items).",
    "ZeroDivisionError": "A division or modulo by zero: a count or total that can be 0.",
}


def _code(text: str) -> str:
    """Inline code that survives backticks inside."""
    text = text.replace("\n", " ")
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fence(text: str, lang: str = "") -> str:
    ticks = "`" * max(3, max((len(m) for m in re.findall(r"`{3,}", text)), default=0) + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _link(frame: Frame, root: Path | None) -> str:
    text = _escape(f"{_display(frame, root)}:{frame.line}" if frame.line else _display(frame, root))
    target = frame.resolved
    if target is None and frame.path.startswith("/") and not frame.ignored:
        candidate = Path(frame.path)
        target = candidate if candidate.is_file() else None
    if target is None:
        return text
    anchor = f"#L{frame.line}" if frame.line else ""
    return f"[{text}]({target.as_uri()}{anchor})"


def _frames_markdown(frames: tuple[Frame, ...], root: Path | None, highlight: Frame | None) -> list[str]:
    out = []
    for n, item in enumerate(_elide(frames, keep_run=6), 1):
        if isinstance(item, int):
            out.append(f"{n}. *… {item} frames outside the workspace …*")
            continue
        func = f" in {_code(item.function)}" if item.function else ""
        tags = " *(library)*" if not item.in_workspace and is_library_path(item.path) else ""
        tags += " *(ignored file)*" if item.ignored else ""
        entry = f"{_link(item, root)}{func}{tags}"
        if item is highlight:
            entry = f"**➜ {entry}** — innermost workspace frame"
        if item.source_line and not item.ignored:
            out += [f"{n}. {entry}\\", f"   {_code(item.source_line)}"]  # "\\": a hard line break
        else:
            out.append(f"{n}. {entry}")
    return out


def _stack_markdown(tb: ParsedTraceback, root: Path | None) -> list[str]:
    highlight = tb.innermost_workspace_frame
    out = ["## Stack (outermost first)", ""]
    out += _frames_markdown(tb.frames, root, highlight) or ["*No frames.*"]
    if tb.causes:
        out += ["", "## Printed before it", "",
                "*Chained exceptions and enclosing exception groups, earliest first.*"]
        for cause in tb.causes:
            out += ["", f"### {_code(cause.headline)}", ""]
            out += _frames_markdown(cause.frames, root, highlight) or ["*No frames.*"]
    return out


def _exception_doc(exc_type: str) -> tuple[str | None, str | None]:
    """(short note, builtin docstring) for an exception type name."""
    name = exc_type.rsplit(".", 1)[-1]
    note = _NOTES.get(name)
    doc = None
    if "." not in exc_type or exc_type.startswith("builtins."):
        obj = getattr(builtins, name, None)
        if isinstance(obj, type) and issubclass(obj, BaseException) and obj.__doc__:
            doc = obj.__doc__.strip()
    return note, doc


def _heading(tb: ParsedTraceback) -> list[str]:
    out = [f"# {_code(tb.exc_type)}", ""]
    if tb.message:
        out += [_fence(tb.message, "text"), ""]
    return out


def offline_markdown(tb: ParsedTraceback, root: Path | None) -> str:
    """The explanation without a model: the exception, what its type means (a short note for common
    ones, the builtin's docstring), the innermost workspace frame with its numbered source, and every
    frame as a link `[path:line](file:///abs#Lline)` with its code line (the innermost workspace frame
    marked with ➜)."""
    root = root or tb.root
    out = _heading(tb)
    out += ["*Offline explanation: no model was asked.*", ""]
    note, doc = _exception_doc(tb.exc_type)
    if note or doc:
        out += [f"## About {_code(tb.exc_type)}", ""]
        if note:
            out += [note, ""]
        if doc:
            out += ["\n".join(f"> {line}" if line else ">" for line in doc.splitlines()), ""]
    frame = tb.innermost_workspace_frame
    if frame is not None:
        func = f" in {_code(frame.function)}" if frame.function else ""
        out += ["## Innermost workspace frame", "", f"**➜ {_link(frame, root)}**{func}", ""]
        source = frame_source(frame)
        if source:
            out += [_fence(source, "python"), ""]
    out += _stack_markdown(tb, root)
    return "\n".join(out).rstrip() + "\n"


def explanation_markdown(tb: ParsedTraceback, answer: dict, root: Path | None) -> str:
    """The model's explanation (assumed valid per validate_explanation): summary, the three hypotheses
    with their confidence, reproduction steps, the suggested patch (with whether it applies cleanly to
    the file on disk), then the stack as links with the innermost workspace frame marked."""
    root = root or tb.root
    out = _heading(tb)
    summary = str(answer.get("summary") or "").strip()
    if summary:
        out += [summary, ""]
    hypotheses = [h for h in answer.get("hypotheses") or [] if isinstance(h, dict)]
    if hypotheses:
        out += ["## Likely causes", ""]
        for n, h in enumerate(hypotheses, 1):
            title = str(h.get("title", "")).strip()
            confidence = str(h.get("confidence", "")).strip()
            head = f"{n}. **{title}**" + (f" — *{confidence} confidence*" if confidence else "")
            explanation = str(h.get("explanation", "")).strip()
            if explanation:
                out += [head + "\\", *(f"   {line}" if line else "" for line in explanation.splitlines())]
            else:
                out.append(head)
        out.append("")
    steps = [str(s).strip() for s in answer.get("reproduction") or [] if str(s).strip()]
    if steps:
        out += ["## Reproduce", ""]
        for n, step in enumerate(steps, 1):
            lines = step.splitlines()
            out += [f"{n}. {lines[0]}", *(f"   {line}" for line in lines[1:])]
        out.append("")
    patch = answer.get("patch")
    if isinstance(patch, dict) and isinstance(patch.get("diff"), str):
        out += ["## Suggested fix", ""]
        target = patch_target(answer, tb, root)
        if target is None:
            named = _code(str(patch.get("path", "")))
            out += [f"For {named} — not a workspace file this fix can be applied to; apply it by hand.", ""]
        else:
            try:
                applies = apply_unified_diff(target.read_text(encoding="utf-8"), patch["diff"]) is not None
            except (OSError, UnicodeDecodeError):
                applies = False
            name = _escape(_display(Frame(str(target), 0, None, None, target), root))
            link = f"[{name}]({target.as_uri()})"
            verdict = ("applies cleanly — use the code action *Apply suggested fix*" if applies
                       else "does not apply cleanly to the file on disk; apply it by hand")
            out += [f"For {link}: {verdict}.", ""]
        out += [_fence(patch["diff"].rstrip("\n"), "diff"), ""]
    out += _stack_markdown(tb, root)
    return "\n".join(out).rstrip() + "\n"

