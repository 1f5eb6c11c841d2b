"""pytest's reports: its long/auto, short and line formats, section headers, `FAILED path::test - Exc`
summary lines, and the source listings it prints (which may show a docstring's traceback, not what
happened). Used by the scan over a document in :mod:`~haiku_lsp.tracebacks.parse`; never raises, no I/O.
"""

from __future__ import annotations

import re

from haiku_lsp.tracebacks.cpython import (
    CARET,
    CHAIN,
    FAILED,
    FRAME,
    HEADER_TEXT,
    SECTION_END,
    Part,
    View,
    exc_match,
    python_chain,
    skip_blank,
)
from haiku_lsp.tracebacks.frames import Frame, ParsedTraceback

MAX_BLOCK = 300  # lines of pytest source shown for one entry

# Log prefixes recognised on a pytest line (Python tracebacks take theirs from the header line).
LOG_PREFIX = re.compile(
    r"^(?:(?:\[?\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?\]?"
    r"|\[?\d\d:\d\d:\d\d(?:[.,]\d+)?\]?)"
    r"(?:[ \t]+\[?(?:DEBUG|INFO|WARNING|WARN|ERROR|CRITICAL|FATAL)\]?)?[ \t]"
    r"|[\w.\-]+[ \t]*\|[ \t]?|\|[ \t]?)")

_SECTION_HEADER = re.compile(r"^_{3,} (?P<name>.+?) _{3,}\s*$")
_SEPARATOR = re.compile(r"^(?:_ ){2,}_?\s*$")
_LOC_IN = re.compile(r"^(?P<path>\S(?:.*?\S)?):(?P<line>\d{1,9}): in (?P<func>\S.*?)\s*$")
_LOC = re.compile(
    r"^(?P<path>(?:[A-Za-z]:)?[^\s:]*\.py[iwx]?|<[^>]*>):(?P<line>\d{1,9}):(?:[ \t]+(?P<rest>.*?))?\s*$")
_E_LINE = re.compile(r"^E(?:[ \t](?P<text>.*))?$")
_ARG_LINE = re.compile(r"^[A-Za-z_]\w*\s+= ")
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(?P<name>\w+)")


def _crash_text(rest: str) -> bool:
    return rest == "assert" or rest.startswith("assert ") or exc_match(rest, strict=True) is not None


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
    if any(FRAME.match(t) for t in lines):  # a SyntaxError block printed inside E lines
        view = View(lines)
        start = next(k for k, t in enumerate(lines) if FRAME.match(t))
        chain = python_chain(view, start, len(lines))
        if chain:
            last = chain[0][-1]
            return last.exc_type, last.message, last.frames
    first = lines[0].strip() if lines else ""
    exc = exc_match(first, strict=True) if first else None
    if exc and (":" in first or len(lines) == 1):
        return exc[0], "\n".join([exc[1], *lines[1:]]).strip(), []
    crashed = exc_match(crash, strict=True) if crash else None
    if crashed:
        return crashed[0], ("\n".join(lines) or crashed[1]).strip(), []
    if first.startswith("assert") or crash.startswith("assert"):
        return "AssertionError", ("\n".join(lines) or crash).strip(), []
    if lines:
        return "Error", "\n".join(lines).strip(), []
    return None


def _short_source(view: View, j: int, hi: int) -> tuple[str | None, int]:
    source = None
    while j < hi:
        t = view.get(j)
        if t is None or not t.strip() or not t[0].isspace():
            break
        if source is None and not CARET.match(t):
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


def pytest_parts(view: View, j: int, hi: int) -> tuple[list[Part], int] | None:
    parts: list[Part] = []
    frames: list[Frame] = []
    block: list[str] = []
    e_texts: list[str] = []
    long_entry = False  # the current block has a `>` line: long format, E lines inside the block
    start, end = j, j - 1

    def finish(crash: str) -> None:
        nonlocal frames, block, e_texts, long_entry, start
        exc = _pytest_exception(e_texts, crash)
        if exc and frames:
            parts.append(Part(exc[0], exc[1], frames + exc[2], start, end))
        frames, block, e_texts, long_entry = [], [], [], False
        start = end + 1

    while j < hi:
        s = view.get(j)
        if s is None:
            break
        s = s.rstrip()
        stripped = s.strip()
        if SECTION_END.match(s) or (HEADER_TEXT in s and not listing(s)) or FAILED.match(s):
            break  # (a header in the entry's source listing, as in a docstring, is source, not a traceback)
        if stripped in CHAIN:
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
                k = skip_blank(view, j + 1, hi, 2)
                t = view.get(k) if k < hi else None
                if t is None or t.strip() not in CHAIN:
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
            if len(block) > MAX_BLOCK:
                break
        j += 1
    if frames:
        finish("")
    return (parts, end) if parts else None


def back_up(view: View, i: int, floor: int) -> int:
    """The first line of the pytest entry whose location line is i (its source block, E lines)."""
    k = i
    while k > floor and i - k < MAX_BLOCK:
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


def pytest_kind(s: str) -> str | None:
    if s.startswith("___"):
        return "header" if _SECTION_HEADER.match(s) else None
    if s.startswith(("FAILED ", "ERROR ")):
        return "failed" if FAILED.match(s) else None
    if s and not s[0].isspace() and _pytest_loc(s):
        return "loc"
    return None


def build(parts: list[Part], kind: str, first: int, last: int) -> ParsedTraceback:
    causes = tuple(ParsedTraceback(p.exc_type, p.message, tuple(p.frames), kind, p.first, p.last)
                   for p in parts[:-1])
    main = parts[-1]
    frames = main.frames
    if not frames:  # a sub-exception that was never raised: show where its group was
        frames = next((p.frames for p in reversed(parts[:-1]) if p.group and p.frames), [])
    return ParsedTraceback(main.exc_type, main.message, tuple(frames), kind, first, last, causes)


def failed_summary(m: re.Match[str], i: int) -> ParsedTraceback:
    test = (m["test"] or "").rsplit("::", 1)[-1].split("[", 1)[0] or None
    exc = exc_match(m["msg"] or "", strict=True)
    if exc:
        exc_type, message = exc
    else:
        exc_type = "AssertionError" if (m["msg"] or "").startswith("assert") else "Failed"
        message = m["msg"] or ""
    return ParsedTraceback(exc_type, message, (Frame(m["path"], 0, test, None),), "pytest", i, i)


def listing(s: str) -> bool:
    """Whether a line of a pytest report is part of a source listing: pytest prints the code of each
    entry indented by four spaces, the failing line after `>`. A traceback there (a docstring's, a
    doctest's) is text of the code under test, not what happened."""
    return s.startswith((">", "    ", "\t"))


REPORT_SECTION = re.compile(r"^(?:={3,} (?:FAILURES|ERRORS) ={3,}|_{3,} .+ _{3,})\s*$")
OTHER_SECTION = re.compile(r"^(?:={3,}.*|-{3,} .* -{3,})\s*$")


def inside_report(lines: list[str], i: int, reach: int = 4000) -> bool:
    """Whether line i is inside the FAILURES/ERRORS part of a pytest report (its test entries), judged
    by the nearest section line above it."""
    for k in range(i - 1, max(-1, i - reach), -1):
        s = lines[k].rstrip()
        if s and s[0] in "=_-":
            if REPORT_SECTION.match(s):
                return True
            if OTHER_SECTION.match(s):
                return False
    return False


