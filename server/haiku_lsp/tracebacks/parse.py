"""Python tracebacks found in any text (a log, a terminal dump, pytest's report), resolved to workspace
files, turned into what the model sees, and rendered as Markdown (no LSP).

Formats read: CPython tracebacks (3.11+ caret lines, `[Previous line repeated ...]`, SyntaxError's
file/line/caret block, chained exceptions, ExceptionGroup trees: the first sub-exception is the one
explained), the same behind a log prefix (on the first line only, or on every line: timestamps that
change from line to line are matched by shape), and pytest's long/auto, short and line reports (and its
`FAILED path::test - Exc` summary lines, used only when nothing better is around). Parsing never raises
and never does I/O; resolution and rendering read files.

Modules: the data classes are in :mod:`~haiku_lsp.tracebacks.frames`, the shared line machinery
and the CPython format in :mod:`~haiku_lsp.tracebacks.cpython`, the pytest formats in
:mod:`~haiku_lsp.tracebacks.pytest_report`, the scan over a document here, resolution in
:mod:`~haiku_lsp.tracebacks.resolve`, what the model sees and Markdown in
:mod:`~haiku_lsp.tracebacks.render`. The model's answer (schema, validation,
unified diffs) lives in :mod:`haiku_lsp.tracebacks.patches`.
"""

from __future__ import annotations

import logging
import re

from haiku_lsp.tracebacks.cpython import (
    ANSI,
    CHAIN,
    FAILED,
    HEADER_TEXT,
    MAX_LINE,
    View,
    prefix_pattern,
    python_chain,
    python_from_frame,
    python_from_header,
)
from haiku_lsp.tracebacks.frames import ParsedTraceback
from haiku_lsp.tracebacks.pytest_report import (
    LOG_PREFIX,
    MAX_BLOCK,
    OTHER_SECTION,
    REPORT_SECTION,
    back_up,
    build,
    failed_summary,
    inside_report,
    listing,
    pytest_kind,
    pytest_parts,
)

log = logging.getLogger(__name__)

_LOOKBACK = 400  # lines scanned above the window so a traceback overlapping it is read whole


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
        if raw[0] in "=_-" and (REPORT_SECTION.match(raw.rstrip()) or OTHER_SECTION.match(raw.rstrip())):
            in_report = REPORT_SECTION.match(raw.rstrip()) is not None
        if (at >= 0 or 'File "' in raw) and listing(raw):
            if in_report is None:
                in_report = inside_report(lines, i)
            if in_report:
                i += 1  # source pytest shows (a docstring's traceback): the entry's location line follows
                continue
        if at >= 0 or 'File "' in raw:
            if at < 0:
                view = python_from_frame(lines, i, raw)
            elif not raw[at + len(HEADER_TEXT):].strip():
                view = python_from_header(lines, i, raw, at)
            r = python_chain(view, i, limit) if view is not None else None
            result = build(r[0], "python", i, r[1]) if r else None
        elif ":" in raw or "___" in raw:
            prefix, s = "", raw.rstrip()
            kind = pytest_kind(s)
            if kind is None and (m := LOG_PREFIX.match(s)):
                prefix, s = m.group(), s[m.end():]
                kind = pytest_kind(s)
            if kind == "header":
                header_at = i
            elif kind == "failed" and (m := FAILED.match(s)):
                weak.append(failed_summary(m, i))
            elif kind == "loc":
                view = View(lines, prefix_pattern(prefix))
                # The section's `___ test ___` header when it is close, else back up over the entry.
                near = header_at is not None and floor <= header_at and i - header_at <= MAX_BLOCK
                first = header_at if near and header_at is not None else None
                start = first + 1 if first is not None else back_up(view, i, floor)
                r = pytest_parts(view, start, limit)
                if r:
                    result = build(r[0], "pytest", start if first is None else first, r[1])
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
