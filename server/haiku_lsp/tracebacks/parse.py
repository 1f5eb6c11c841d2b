"""Python tracebacks found in any text (a log, a terminal dump, pytest's report), resolved to workspace
files, turned into what the model sees, and rendered as Markdown (no LSP).

Formats read: CPython tracebacks (3.11+ caret lines, `[Previous line repeated ...]`, SyntaxError's
file/line/caret block, chained exceptions, ExceptionGroup trees: the first sub-exception is the one
explained), the same behind a log prefix (on the first line only, or on every line: timestamps that
change from line to line are matched by shape), and pytest's long/auto, short and line reports (and its
`FAILED path::test - Exc` summary lines, used only when nothing better is around). Parsing never raises
and never does I/O; resolution and rendering read files.

Modules: the data classes are in :mod:`~haiku_lsp.tracebacks.frames`, the shared line machinery
and the CPython format in :mod:`~haiku_lsp.tracebacks.cpython`, the pytest formats and the scan
over a document here, resolution in :mod:`~haiku_lsp.tracebacks.resolve`, what the model sees
and Markdown in :mod:`~haiku_lsp.tracebacks.render`. The model's answer (schema, validation,
unified diffs) lives in :mod:`haiku_lsp.tracebacks.patches`.
"""

from __future__ import annotations

import logging
import re

from haiku_lsp.tracebacks.cpython import (
    ANSI,
    CARET,
    CHAIN,
    FAILED,
    FRAME,
    HEADER_TEXT,
    MAX_LINE,
    SECTION_END,
    Part,
    View,
    exc_match,
    prefix_pattern,
    python_chain,
    python_from_frame,
    python_from_header,
    skip_blank,
)
from haiku_lsp.tracebacks.frames import Frame, ParsedTraceback

log = logging.getLogger(__name__)


# --- parsing: pytest reports (the CPython format is in cpython.py) -----------------------------

_MAX_BLOCK = 300  # lines of pytest source shown for one entry
_LOOKBACK = 400  # lines scanned above the window so a traceback overlapping it is read whole

# Log prefixes recognised on a pytest line (Python tracebacks take theirs from the header line).
_LOG_PREFIX = re.compile(
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


def _pytest_parts(view: View, j: int, hi: int) -> tuple[list[Part], int] | None:
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
        if SECTION_END.match(s) or (HEADER_TEXT in s and not _listing(s)) or FAILED.match(s):
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
            if len(block) > _MAX_BLOCK:
                break
        j += 1
    if frames:
        finish("")
    return (parts, end) if parts else None


def _back_up(view: View, i: int, floor: int) -> int:
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
        return "failed" if FAILED.match(s) else None
    if s and not s[0].isspace() and _pytest_loc(s):
        return "loc"
    return None


def _build(parts: list[Part], kind: str, first: int, last: int) -> ParsedTraceback:
    causes = tuple(ParsedTraceback(p.exc_type, p.message, tuple(p.frames), kind, p.first, p.last)
                   for p in parts[:-1])
    main = parts[-1]
    frames = main.frames
    if not frames:  # a sub-exception that was never raised: show where its group was
        frames = next((p.frames for p in reversed(parts[:-1]) if p.group and p.frames), [])
    return ParsedTraceback(main.exc_type, main.message, tuple(frames), kind, first, last, causes)


def _failed_summary(m: re.Match[str], i: int) -> ParsedTraceback:
    test = (m["test"] or "").rsplit("::", 1)[-1].split("[", 1)[0] or None
    exc = exc_match(m["msg"] or "", strict=True)
    if exc:
        exc_type, message = exc
    else:
        exc_type = "AssertionError" if (m["msg"] or "").startswith("assert") else "Failed"
        message = m["msg"] or ""
    return ParsedTraceback(exc_type, message, (Frame(m["path"], 0, test, None),), "pytest", i, i)


def _listing(s: str) -> bool:
    """Whether a line of a pytest report is part of a source listing: pytest prints the code of each
    entry indented by four spaces, the failing line after `>`. A traceback there (a docstring's, a
    doctest's) is text of the code under test, not what happened."""
    return s.startswith((">", "    ", "\t"))


_REPORT_SECTION = re.compile(r"^(?:={3,} (?:FAILURES|ERRORS) ={3,}|_{3,} .+ _{3,})\s*$")
_OTHER_SECTION = re.compile(r"^(?:={3,}.*|-{3,} .* -{3,})\s*$")


def _in_report(lines: list[str], i: int, reach: int = 4000) -> bool:
    """Whether line i is inside the FAILURES/ERRORS part of a pytest report (its test entries), judged
    by the nearest section line above it."""
    for k in range(i - 1, max(-1, i - reach), -1):
        s = lines[k].rstrip()
        if s and s[0] in "=_-":
            if _REPORT_SECTION.match(s):
                return True
            if _OTHER_SECTION.match(s):
                return False
    return False


def _scan(lines: list[str], a: int, b: int, limit: int,
          first_only: bool = False) -> tuple[list[ParsedTraceback], list[ParsedTraceback]]:
    """Tracebacks starting in lines[a:b] (they may run on up to `limit`), and the weak FAILED-line ones."""
    found: list[ParsedTraceback] = []
    weak: list[ParsedTraceback] = []
    floor, header_at, i = a, None, a
    in_report: bool | None = None  # inside a pytest report's test entries (found out when it matters)
    while i < b:
        raw = lines[i]
        if not raw or len(raw) > MAX_LINE:
            i += 1
            continue
        if "\x1b" in raw:
            raw = ANSI.sub("", raw)
        result: ParsedTraceback | None = None
        view: View | None = None
        at = raw.find(HEADER_TEXT)
        if raw[0] in "=_-" and (_REPORT_SECTION.match(raw.rstrip()) or _OTHER_SECTION.match(raw.rstrip())):
            in_report = _REPORT_SECTION.match(raw.rstrip()) is not None
        if (at >= 0 or 'File "' in raw) and _listing(raw):
            if in_report is None:
                in_report = _in_report(lines, i)
            if in_report:
                i += 1  # source pytest shows (a docstring's traceback): the entry's location line follows
                continue
        if at >= 0 or 'File "' in raw:
            if at < 0:
                view = python_from_frame(lines, i, raw)
            elif not raw[at + len(HEADER_TEXT):].strip():
                view = python_from_header(lines, i, raw, at)
            r = python_chain(view, i, limit) if view is not None else None
            result = _build(r[0], "python", i, r[1]) if r else None
        elif ":" in raw or "___" in raw:
            prefix, s = "", raw.rstrip()
            kind = _pytest_kind(s)
            if kind is None and (m := _LOG_PREFIX.match(s)):
                prefix, s = m.group(), s[m.end():]
                kind = _pytest_kind(s)
            if kind == "header":
                header_at = i
            elif kind == "failed" and (m := FAILED.match(s)):
                weak.append(_failed_summary(m, i))
            elif kind == "loc":
                view = View(lines, prefix_pattern(prefix))
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
    return (HEADER_TEXT in text or 'File "' in text
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
        if best.first_line > a + 2 and not any(c in line for line in above for c in CHAIN):
            break
        a = max(0, a - step)  # it starts at the top of what was scanned: it may have begun further up
    if best is not None:
        return best
    near_weak = [tb for tb in weak if lo <= tb.first_line < hi]
    return min(near_weak, key=distance) if near_weak else fallback
