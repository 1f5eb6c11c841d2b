"""Traceback parsing, part one: the line-level machinery both formats share (the regexes, exception
lines, the view of the document through a log prefix) and the CPython format (frames, caret lines,
chained exceptions, ExceptionGroup trees). The pytest formats and the scan over a document are in
:mod:`haiku_lsp.tracebacks.parse`. No I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from haiku_lsp.tracebacks.frames import Frame

# --- parsing -------------------------------------------------------------------------------------

MAX_LINE = 4000  # longer lines are never part of a traceback (and keep every regex linear and cheap)
_MAX_MESSAGE_LINES = 40

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
HEADER_TEXT = "Traceback (most recent call last):"
_HEADER = re.compile(r"^\s*Traceback \(most recent call last\):\s*$")
_GROUP_HEADER = re.compile(r"^(?P<ind> *)\+ Exception Group Traceback \(most recent call last\):\s*$")
FRAME = re.compile(r'^(?P<ind>\s*)File "(?P<path>[^"]+)", line (?P<line>\d{1,9})(?:, in (?P<func>.+?))?\s*$')
_FRAME_ANYWHERE = re.compile(r'File "[^"]+", line \d{1,9}(?:, in .+?)?\s*$')
CARET = re.compile(r"^\s*[\^~]+[\s\^~]*$")
_REPEAT = re.compile(r"^\s*\[Previous line repeated \d+ more times?\]\s*$")
_EXC = re.compile(r"^(?P<type>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)(?P<colon>:(?:[ \t](?P<msg>.*))?)?$")
CHAIN = frozenset({
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
})
# A line that starts a new log record (or a CI runner's own line, "##[error]...") rather than continuing
# an exception message.
_LOG_START = re.compile(
    r"^\s*(?:\[?\d{4}-\d\d-\d\d[T ]|\[?\d\d:\d\d:\d\d\b|##\[|::\w+::"
    r"|(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\b[:\s])")
# pytest report lines that end an exception's message (a section rule, a FAILED summary line).
SECTION_END = re.compile(r"^(?:_{3,} .+ _{3,}|={3,}.*|-{3,} .* -{3,}|!{3,}.*)\s*$")
FAILED = re.compile(r"^(?:FAILED|ERROR) (?P<path>[^\s:]+?\.py)(?:::(?P<test>\S+?))?(?: - (?P<msg>.*))?\s*$")


@dataclass
class Part:
    exc_type: str
    message: str
    frames: list[Frame]
    first: int
    last: int
    group: bool = False


class View:
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
        if len(line) > MAX_LINE:
            return None
        if "\x1b" in line:
            line = ANSI.sub("", line)
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
def prefix_pattern(text: str) -> re.Pattern[str] | None:
    """A pattern for a log prefix like `text`: digit runs (timestamps, pids) may differ per line."""
    if not text:
        return None
    pieces = re.split(r"(\d+)", text)
    return re.compile("".join(r"\d+" if i % 2 else re.escape(p) for i, p in enumerate(pieces)))


def exc_match(s: str, strict: bool = False) -> tuple[str, str] | None:
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


def skip_blank(view: View, k: int, hi: int, most: int) -> int:
    while k < hi and most > 0:
        s = view.get(k)
        if s is None or s.strip():
            break
        k += 1
        most -= 1
    return k


def _python_frames(view: View, j: int, hi: int) -> tuple[list[Frame], int]:
    frames: list[Frame] = []
    while j < hi:
        s = view.get(j)
        if s is None:
            break
        m = FRAME.match(s)
        if m is None:
            if _REPEAT.match(s) or s.strip() == "...":
                j += 1
                continue
            break
        indent, source = len(m["ind"]), None
        j += 1
        while j < hi:  # the code line(s) under the frame, and 3.11+ caret lines
            t = view.get(j)
            if t is None or not t.strip() or len(t) - len(t.lstrip()) <= indent or FRAME.match(t):
                break
            if source is None and not CARET.match(t):
                source = t.strip()
            j += 1
        frames.append(Frame(m["path"], int(m["line"]), m["func"], source))
    return frames, j


def _ends_message(t: str) -> bool:
    return (t.strip() in CHAIN or HEADER_TEXT in t or bool(FRAME.match(t) or _LOG_START.match(t)
            or SECTION_END.match(t) or FAILED.match(t)))


def _python_exception(view: View, j: int, hi: int) -> tuple[str, str, int] | None:
    s = view.get(j) if j < hi else None
    if not s or s[0].isspace():
        return None
    exc = exc_match(s)
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


def _python_one(view: View, j: int, hi: int) -> tuple[list[Part], int] | None:
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
    elif not FRAME.match(s):
        return None
    frames, j = _python_frames(view, j, hi)
    if not frames and not header:
        return None
    exc = _python_exception(view, j, hi)
    if exc is None:
        return None
    return [Part(exc[0], exc[1], frames, start, exc[2])], exc[2]


def python_chain(view: View, j: int, hi: int) -> tuple[list[Part], int] | None:
    parts: list[Part] = []
    end = -1
    while True:
        one = _python_one(view, j, hi)
        if one is None:
            break
        parts += one[0]
        end = one[1]
        k = skip_blank(view, end + 1, hi, 2)
        s = view.get(k) if k < hi else None
        if s is None or s.strip() not in CHAIN:
            break
        j = skip_blank(view, k + 1, hi, 2)
    return (parts, end) if parts else None


def _cell(s: str, c: int) -> str:
    """The character at column c when only spaces precede it (the tree drawing of an ExceptionGroup)."""
    return s[c] if len(s) > c and not s[:c].strip() else ""


def _python_group(view: View, j: int, hi: int, c: int) -> tuple[list[Part], int] | None:
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


def _group_parts(tree: list[str], k: int, c: int, depth: int) -> list[Part]:
    """The group drawn at column c from tree[k] on, then its first sub-exception, recursively. A top-level
    group starts with a `+ Exception Group Traceback` line; a nested one with its `|` lines (a
    traceback header, or directly `ExceptionGroup: ...` when it was never raised)."""
    if depth > 20:
        return []
    x = k + 1 if tree[k][c:c + 1] == "+" else k
    own = [HEADER_TEXT] if x > k else []
    while x < len(tree) and _cell(tree[x], c) == "|":
        text = tree[x][c + 2:]
        own.append(HEADER_TEXT if text.startswith("Exception Group Traceback") else text)
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


def _parse_plain(lines: list[str]) -> list[Part]:
    """Parts of a traceback in already normalised lines (a group's body): a chain, or a bare
    `Exc: message` (a sub-exception that was never raised has no traceback)."""
    view = View(lines)
    k = skip_blank(view, 0, len(lines), len(lines))
    chain = python_chain(view, k, len(lines))
    if chain:
        return chain[0]
    exc = _python_exception(view, k, len(lines))
    return [Part(exc[0], exc[1], [], k, exc[2])] if exc else []


def python_from_header(lines: list[str], i: int, raw: str, at: int) -> View | None:
    """The view through the header's prefix, or None when the header is no traceback's."""
    pre = raw[:at]
    group_mark = "+ Exception Group "
    if pre.endswith("Exception Group ") and not pre.endswith(group_mark):
        return None  # a nested group seen out of its tree
    group = pre.endswith(group_mark)
    prefix = pre[:-len(group_mark)] if group else pre
    if group and prefix.endswith("  "):
        prefix = prefix[:-2]  # Python indents a group's tree by two: that is the format, not a prefix
    pattern = prefix_pattern(prefix)
    every = pattern is None or (i + 1 < len(lines) and pattern.match(lines[i + 1]) is not None)
    text = raw[len(prefix):]
    if group and not every and i + 1 < len(lines):
        # Prefix on the header only: line the header's '+' up with the tree below it.
        below = lines[i + 1]
        text = " " * (len(below) - len(below.lstrip())) + raw[at - len(group_mark):]
    return View(lines, pattern, every, i, text)


def python_from_frame(lines: list[str], i: int, raw: str) -> View | None:
    """The view through the prefix before a frame line without its header."""
    m = _FRAME_ANYWHERE.search(raw)
    if m is None:
        return None
    pre = raw[:m.start()]
    prefix = pre[:-2] if pre.endswith("  ") else pre  # frames are indented by two under their header
    pattern = prefix_pattern(prefix)
    every = pattern is None or (i + 1 < len(lines) and pattern.match(lines[i + 1]) is not None)
    return View(lines, pattern, every, i, raw[len(prefix):])
