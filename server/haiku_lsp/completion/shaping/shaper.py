"""Turn Claude's streamed answer into the exact text to insert at the cursor (pure, no LSP).

The model is asked for the text of the hole at the cursor. Its answer streams in through
:meth:`CompletionShaper.feed`, which strips prompt scaffolding (``<COMPLETION>`` tags, code fences, echoed
``<HOLE/>``/``<file>`` lines) and reports when enough has arrived -- the end of the line in *line* mode,
the end of the block in *block* mode -- so the caller can close the stream. :meth:`CompletionShaper.finish`
then fits the answer to the cursor (restated prefix or indentation, copied suffix, glued words, a block
indented relative to the cursor) or drops it (prose, blank, repeat of the line above, copy of the code
that follows, runaway line).

Guarantees callers may rely on:

* a *perfect* answer -- the literal text of the hole: first line without the cursor line's existing
  text, following lines with their full indentation -- comes out unchanged (bar the documented
  ambiguities of the heuristics in :mod:`.answer_filters`);
* the result and the moment ``feed`` returns True do not depend on how the stream is split into chunks;
* text fed after ``feed`` returned True is ignored.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from haiku_lsp.completion.shaping.block_layout import STOP, BlockLayout, fit_first
from haiku_lsp.completion.shaping.excerpt import dedent, excerpt_bounds, leaves_dead_code
from haiku_lsp.completion.shaping.filters import (
    CLOSE_TAG,
    HOLE_RE,
    OPEN_TAG_RE,
    SCAFFOLD_LINE_RE,
    LexState,
    LineScan,
    carried_state,
    leading_identifier,
    looks_like_prose,
    needs_glue_space,
    scan_line,
    strip_restated_prefix,
    trim_suffix_overlap,
    words,
)
from haiku_lsp.completion.shaping.span import SpanTail


@dataclass(frozen=True)
class CursorContext:
    """The text around the cursor, as the shaper needs it."""

    line_prefix: str  # text on the cursor line before the cursor
    line_suffix: str  # text on the cursor line after the cursor
    lines_before: tuple[str, ...] = ()  # lines above the cursor line, in file order
    lines_after: tuple[str, ...] = ()  # lines below the cursor line, in file order
    max_lines: int = 40  # hard cap on lines in a block completion
    max_line_chars: int = 400  # hard cap per line (runaway guard)

    @property
    def mode(self) -> Literal["line", "block"]:
        """Line mode when line_prefix has non-whitespace, else block mode."""
        return "line" if self.line_prefix.strip() else "block"


_UNSET = object()
UNSURE_SPAN_LINES = 8  # lines a span is waited for where the code around is broken anyway
MAX_PARSE_LINES = 600  # around the cursor: more, and a parse cannot decide how an answer fits
MAX_PROSE_LINES = 2  # prose lines skipped before the code; more and the answer is an explanation


class CompletionShaper:
    """Incrementally shapes one streamed answer for one cursor position. Not thread-safe."""

    def __init__(self, ctx: CursorContext) -> None:
        self.ctx = ctx
        # A whitespace-only line with code after the cursor: the insertion lands in front of that code,
        # so only a single line makes sense there.
        self._single = ctx.mode == "line" or bool(ctx.line_suffix.strip())
        # At the end of a line of code (typically right after accepting a suggestion), an answer that goes
        # on to the next line is offered as such (a line break, then the lines), not thrown away.
        self._next_lines = ctx.mode == "line" and not ctx.line_suffix.strip()
        self._breaks = 0  # line breaks before the first line of code, when the answer starts on a new line
        # At the end of a line: the block header ("for x in xs:") the answer completed, its body to follow.
        self._head = ""
        self._pending = ""  # the incomplete last line of the answer
        self._raw_lines = 0
        self._tag_stripped = False
        self._first: str | None = None  # first line of the insertion, already fitted to the cursor
        self._block: BlockLayout | None = None  # block mode, from the first line on
        self._span: SpanTail | None = None  # a line-mode answer going on past the cursor's line
        self._line_only = False  # the answer is its first line, which ended with a line break
        self._after_line: str | None = None  # what the model sent after that line break (so far)
        self._done = False
        self._drop: str | None = None
        self._prose = 0  # prose lines skipped before the first line of code ("Here is the code:")
        self._echo = False  # the first line repeats the code after the cursor: dropped unless more follows
        self._result: object = _UNSET

    # --- public API ----------------------------------------------------------------------------------

    def feed(self, chunk: str) -> bool:
        """Add streamed text. Returns True once a useful boundary has been reached and no more text is
        needed (the caller closes the upstream stream right away — tokens past this point are wasted)."""
        if self._done:
            return True
        self._pending += chunk
        while not self._done:
            nl = self._pending.find("\n")
            line = self._pending if nl < 0 else self._pending[:nl]
            tag = line.lower().find(CLOSE_TAG)
            if tag >= 0:
                self._pending = ""
                if self._span is not None:
                    self._span.end(line[:tag])
                elif line[:tag].strip():
                    self._take(line[:tag])
                self._stop()
            elif nl < 0:
                self._probe(line)
                break
            else:
                self._pending = self._pending[nl + 1 :]
                self._take(line)
                if self._done and self._line_only and self._after_line is None:
                    self._after_line = self._pending
        return self._done

    @property
    def done(self) -> bool:
        return self._done

    @property
    def after_line(self) -> str | None:
        """When the answer is one line that ended with a line break while the model went on (the stream was
        not closed by the model): the text that came after the break, the start of what the model would put
        on the next lines. None otherwise."""
        return self._after_line

    @property
    def partial(self) -> str:
        """Best-effort shaped text so far (used to check, while streaming, whether what the user typed
        meanwhile still agrees with the suggestion). Only complete lines (and, until the first line is
        complete, a fitted preview of it) are shown; "" while nothing usable has arrived or once the
        answer is dropped. finish() may still trim it (suffix overlap, repetition, boundary)."""
        if self._done:
            return self.finish() or ""
        if self._drop or self._echo:
            return ""
        if self._first is None:
            if self._head:
                return self._head
            # A trailing "<" may be the start of a tag: leave it out of the preview until it is known.
            return self._preview_first(_strip_partial_tag(self._pending, 1, (CLOSE_TAG, "<hole/>")))
        return self._lead + (self._block.preview() if self._block else self._first)

    def finish(self) -> str | None:
        """The text to insert at the cursor, or None when the answer is dropped (prose, blank, repeat
        of the line above, only a copy of the suffix, ...). Callable whether or not the boundary was
        reached (stream ended / max_tokens). Idempotent."""
        if self._result is not _UNSET:
            return self._result  # type: ignore[return-value]
        if not self._done:
            tail, self._pending = _strip_partial_tag(self._pending), ""
            if self._span is not None:
                self._span.end(tail)
            elif tail.strip():
                self._take(tail)
            self._done = True
        result: str | None = None
        if self._drop is None:
            if self._first is None:
                if self._head:
                    result = self._head  # a header the model said nothing more after
                else:
                    self._drop = "prose" if self._prose else "blank"
            elif self._span is not None:
                result = self._span.choose(self._fits, lambda: self._known) or self._first or None
                if result is None:
                    # it started a new line (or only repeated the text after the cursor), and what
                    # followed fits nowhere
                    self._drop = "suffix" if self._echo else "eol"
            elif self._echo and self._block is not None:
                self._drop = "suffix"  # only the line that follows the hole, and nothing after it
            else:
                result = self._block.final() if self._block else self._first
                if not result.strip():
                    result, self._drop = None, "blank"
                else:
                    result = self._lead + result
        self._result = result
        return result

    @property
    def drop_reason(self) -> str | None:
        """Why finish() returned None, for logs: "blank", "prose", "eol" (nothing to add on this line),
        "prefix" (only restates the line), "suffix" (only copies what follows), "repeat" (the line above
        again), "long_line" (runaway line)."""
        return self._drop

    # --- line plumbing -------------------------------------------------------------------------------

    def _stop(self, reason: str | None = None) -> None:
        self._done = True
        if reason and self._drop is None:
            self._drop = reason

    def _probe(self, partial: str) -> None:
        """Early decisions on the incomplete last line; each is final for any continuation of it."""
        if len(partial) > self.ctx.max_line_chars + len(CLOSE_TAG):
            self._stop("long_line")
        elif self._block is not None and self._block.judge(partial, False)[0] == STOP:
            self._stop()

    def _take(self, line: str) -> None:
        line = line.rstrip("\r")
        self._raw_lines += 1
        if len(line) > self.ctx.max_line_chars:
            self._stop("long_line")
        elif self._block is not None:
            if self._echo and line.strip():
                self._echo = False
                if line.rstrip() in (self._after[1], (self._block.prefix + line).rstrip()):
                    self._stop("suffix")  # the model went on copying the code after the hole
                    return
            if self._block.add(line):
                self._stop()
        elif self._span is not None:
            if self._span.add(line):
                self._stop()
        elif self._first is None:
            self._take_head(line)
        if self._raw_lines > 3 * self.ctx.max_lines + 10:
            self._stop()

    def _take_head(self, line: str) -> None:
        """Lines before the first line of code: opening tag, fences, echoed scaffolding, blank lines."""
        if not self._tag_stripped and (m := OPEN_TAG_RE.match(line)):
            self._tag_stripped = True
            line = line[m.end() :]
            if not line.strip():
                return  # the newline after the tag is formatting, not part of the hole
        clean = HOLE_RE.sub("", line)
        stripped = clean.strip()
        if SCAFFOLD_LINE_RE.fullmatch(stripped) or (not stripped and line.strip()):
            return
        if not stripped:
            if self._next_lines:
                if not self._prose:
                    self._breaks += 1  # the cursor's line ends here; the answer goes on below it
            elif self._single and not self._prose:
                if self.ctx.line_suffix.strip() and self._may_span(""):
                    # A line break first, then lines that end inside the text after the cursor.
                    self._first = ""
                    self._span = self._new_span("")
                else:
                    self._stop("eol")  # the answer starts a new line: nothing to add on this one
            return
        if not self._in_text and looks_like_prose(clean):
            if self._head:
                self._stop()  # an explanation after the header: the header is the answer
                return
            # An introduction before the code is skipped, never the code after it; an answer that is
            # all prose is dropped.
            self._prose += 1
            if self._prose > MAX_PROSE_LINES:
                self._stop("prose")
        elif self._breaks:
            self._start_block(clean, prefix="")
        elif self._single:
            fitted, reason = self._fit_line(clean)
            self._first = fitted
            whole = self._fit_line(clean, span=True)[0]  # the line without trimming the text after the cursor
            if reason is None and self._next_lines and self.ctx.max_lines > 1 and self._opens_block(fitted):
                # A header completed at the end of its line: its body is part of the thought, as on an empty
                # line below a header (the model's next lines are taken as a block, under the block rules).
                self._first, self._head, self._breaks = None, fitted, 1
            elif reason == "suffix" and self._may_span(whole):
                # The line alone only repeats the text after the cursor; the answer's next lines may end
                # inside it (a hole spanning lines): kept only when the code around parses with them.
                self._first, self._echo = "", True
                self._span = self._new_span(whole)
            elif reason or not self._may_span(whole):
                self._line_only = reason is None
                self._stop(reason)
            else:
                self._span = self._new_span(whole)
        else:
            self._start_block(clean)

    # --- context ---------------------------------------------------------------------------------------

    @cached_property
    def _line_start(self) -> LexState:
        return carried_state(self.ctx.lines_before)

    @cached_property
    def _cursor(self) -> LineScan:
        return scan_line(self.ctx.line_prefix, self._line_start)

    @cached_property
    def _in_string(self) -> bool:
        return bool(self._cursor.state.quote) or self._cursor.open_string

    @cached_property
    def _in_text(self) -> bool:
        """The cursor is inside a string or comment (prose there is legitimate)."""
        return self._in_string or self._cursor.in_comment

    @cached_property
    def _excerpt(self) -> tuple[tuple[str, ...], tuple[str, ...], int] | None:
        """(lines before, lines after, columns removed): whole statements around the cursor that parse on
        their own once the insertion is in, dedented to column 0; None when the window holds none or they
        are too long to parse on every answer."""
        found = excerpt_bounds(self.ctx)
        if found is None:
            return None
        start, end, base = found
        ctx = self.ctx
        if len(ctx.lines_before) - start + end > MAX_PARSE_LINES:
            return None
        return (tuple(dedent(x, base) for x in ctx.lines_before[start:]),
                tuple(dedent(x, base) for x in ctx.lines_after[:end]), base)

    @cached_property
    def _prev_line(self) -> str:
        """The last non-blank line above, with its indentation: a repeat is the whole line again."""
        return next((x.rstrip() for x in reversed(self.ctx.lines_before) if x.strip()), "")

    @cached_property
    def _target(self) -> str | None:
        """The first non-blank line after the cursor line: the model copying it means the hole is done."""
        return next((x.rstrip() for x in self.ctx.lines_after if x.strip()), None)

    @property
    def _lead(self) -> str:
        return self._head + "\n" * self._breaks

    def _opens_block(self, fitted: str) -> bool:
        """The cursor's line completed with *fitted* is a block header (ends with ":" outside brackets)."""
        scan = scan_line(self.ctx.line_prefix + fitted, self._line_start)
        line = (self.ctx.line_prefix + fitted)[: scan.code_end].rstrip()
        return scan.state.at_statement_start and line.endswith(":") and not scan.open_string

    @cached_property
    def _after(self) -> tuple[str, ...]:
        """The first non-blank lines after the cursor line (for telling a copy of them from new code)."""
        return tuple(x.rstrip() for x in self.ctx.lines_after if x.strip())[:4]

    @cached_property
    def _known(self) -> set[str]:
        ctx = self.ctx
        return words("\n".join((*ctx.lines_before, *ctx.lines_after, ctx.line_suffix)))

    # --- line mode -----------------------------------------------------------------------------------

    def _may_span(self, first: str) -> bool:
        """Can an answer whose first line is *first* (and that goes on past it) be a span of several lines?
        Only where that line alone does not fit the code around the cursor (decided by a parse, so a
        completed line closes the stream as soon as it has arrived)."""
        if self.ctx.max_lines <= 1:
            return False
        suffix = self.ctx.line_suffix
        # A line that runs straight into a word after the cursor ("total += n" before "lue") parses by
        # accident but is not how code is written: the answer's line is not done there.
        # So is a header ("if x:") whose body would be the code after the cursor.
        line = (self.ctx.line_prefix + first).rstrip()
        glued = (line[-1:].isalnum() or line[-1:] in ("_", ":", "'", '"')) and suffix[:1].isalnum()
        opens = line.endswith(":") and bool(suffix.strip())
        return glued or opens or self._fits(first) is False

    def _new_span(self, first: str) -> SpanTail:
        """Where the code around the cursor is broken apart from the cursor's line (as it often is while
        typing), no parse can confirm a span until the answer has ended: the line is then only held back
        for a few lines of it, not for an answer that runs on."""
        if self._surroundings_parse:
            return SpanTail(first, self.ctx.line_suffix, self._after, self.ctx.max_lines)
        return SpanTail(first, self.ctx.line_suffix, self._after, min(self.ctx.max_lines, UNSURE_SPAN_LINES),
                        give_up=True)

    def _fit_line(self, answer: str, preview: bool = False, span: bool = False) -> tuple[str, str | None]:
        """Fit the first answer line between line_prefix and line_suffix: (text, drop reason or None).
        *span*: the first line of several (the text after the cursor follows the last one, not this one)."""
        prefix, suffix = self.ctx.line_prefix, self.ctx.line_suffix
        text, undecided = strip_restated_prefix(prefix, answer)
        if preview and undecided:
            return "", None
        if not text.strip():
            return "", "prefix"
        after_word = prefix[-1:].isalnum() or prefix.endswith("_")
        if preview and after_word and not leading_identifier(text)[1]:
            return "", None  # the first word is still arriving: whether it needs a space is unknown
        if after_word and not self._in_string and needs_glue_space(prefix, text, lambda: self._known):
            text = " " + text
        if span:
            return text, None
        text = trim_suffix_overlap(prefix, text, suffix, self._line_start)
        if not text.strip():
            return "", "suffix"
        if not suffix.strip():
            text = text.rstrip()
        if self._prev_line and self._prev_line in ((prefix + text).rstrip(), (prefix + text + suffix).rstrip()):
            return "", "repeat"
        return text, None

    def _preview_first(self, line: str) -> str:
        if self._breaks:
            return ""  # the first line below the cursor's: shown once complete
        if not self._tag_stripped:
            if m := OPEN_TAG_RE.match(line):
                line = line[m.end() :]
            elif "<completion>".startswith(line.lstrip().lower()):
                return ""
        clean = HOLE_RE.sub("", line)
        stripped = clean.strip()
        if not stripped or stripped[0] in "`<" or (not self._in_text and looks_like_prose(clean)):
            return ""
        if not self._in_text and stripped[0].isupper():
            return ""  # may be an introduction in prose ("Here is ..."), which is skipped: wait for the line
        if self._single:
            text, reason = self._fit_line(clean, preview=True)
            return "" if reason else text
        return fit_first(self.ctx.line_prefix, clean)[0]

    # --- block mode ----------------------------------------------------------------------------------

    def _fits(self, insertion: str) -> bool | None:
        """Does the code around the cursor parse with *insertion* at the cursor, without a return/raise/...
        of the insertion leaving statements after it dead? None: cannot tell."""
        ctx = self.ctx
        tree = self._parse(ctx.line_prefix + self._lead + insertion + ctx.line_suffix)
        if tree is None:
            return None
        if tree is False:
            return False
        first = len(self._excerpt[0]) + 1 if self._excerpt else 1  # 1-based lines of the insertion in the excerpt
        return not leaves_dead_code(tree, first, first + self._lead.count("\n") + insertion.count("\n"))

    def _parse(self, cursor_line: str) -> ast.Module | Literal[False] | None:
        """The excerpt around the cursor parsed with *cursor_line* (possibly several lines) in place of the
        cursor's line: its tree, False when it does not parse, None when there is no excerpt."""
        excerpt = self._excerpt
        if excerpt is None:
            return None
        before, after, base = excerpt
        text = "\n".join([*before, *(dedent(x, base) for x in cursor_line.split("\n")), *after])
        try:
            return ast.parse(text)
        except (SyntaxError, ValueError):
            return False

    @cached_property
    def _surroundings_parse(self) -> bool:
        """The code around the cursor parses with a plain statement (or a block header) in place of the
        cursor's line: a parse can then tell how an answer fits. (Code that is broken elsewhere, as it
        often is while typing, fails with any answer.)"""
        indent = self.ctx.line_prefix[: len(self.ctx.line_prefix) - len(self.ctx.line_prefix.lstrip(' \t'))]
        return any(self._parse(indent + stmt) not in (None, False) for stmt in ("pass", "if True:", ""))

    def _start_block(self, line: str, prefix: str | None = None) -> None:
        """Block mode from the first line of code on; *prefix* "": the block starts on a new line."""
        prefix = self.ctx.line_prefix if prefix is None else prefix
        ctx = self.ctx
        above = (ctx.line_prefix + self._head + ctx.line_suffix).rstrip() if self._breaks else self._prev_line
        if above and (prefix + fit_first(prefix, line)[0]).rstrip() == above:
            self._stop(None if self._head else "repeat")  # after a header: the header alone
            return
        state = scan_line(ctx.line_prefix + self._head, self._line_start).state if self._head else self._cursor.state
        block = BlockLayout(prefix, line, state, self._after, ctx.max_lines, self._fits)
        if block.copies_target:
            if self._head:
                self._stop()  # the body is the code after the cursor: the header alone
            elif len(self._after) < 2:
                self._stop("suffix")
            else:
                # Equal to the line after the hole: a copy of the code that follows only if the next line
                # copies it too (the hole may end with a line equal to the one after it).
                self._block, self._first, self._echo = block, block.first, True
            return
        self._block, self._first = block, block.first
        if ctx.max_lines <= 1:
            self._stop()


def _strip_partial_tag(text: str, shortest: int = 2, tags: tuple[str, ...] = (CLOSE_TAG,)) -> str:
    """Drop an incomplete tag at the very end (the stream was cut inside it, or it is still arriving)."""
    low = text.lower()
    for tag in tags:
        for k in range(len(tag) - 1, shortest - 1, -1):
            if low.endswith(tag[:k]):
                return text[:-k]
    return text


def shape(ctx: CursorContext, text: str) -> str | None:
    """Feed all of text and finish."""
    shaper = CompletionShaper(ctx)
    shaper.feed(text)
    return shaper.finish()
