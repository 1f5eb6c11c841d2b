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

from haiku_lsp.completion.shaping.block_layout import STOP, BlockLayout, fit_first
from haiku_lsp.completion.shaping.filters import (
    CLOSE_TAG,
    HOLE_RE,
    OPEN_TAG_RE,
    SCAFFOLD_LINE_RE,
    leading_identifier,
    looks_like_prose,
    needs_glue_space,
    scan_line,
    strip_restated_prefix,
    trim_suffix_overlap,
)
from haiku_lsp.completion.shaping.span import SpanTail
from haiku_lsp.completion.shaping.surroundings import CursorContext, Surroundings

_UNSET = object()
UNSURE_SPAN_LINES = 8  # lines a span is waited for where the code around is broken anyway
MAX_PROSE_LINES = 2  # prose lines skipped before the code; more and the answer is an explanation


class CompletionShaper:
    """Incrementally shapes one streamed answer for one cursor position. Not thread-safe."""

    def __init__(self, ctx: CursorContext) -> None:
        self.ctx = ctx
        self._around = Surroundings(ctx)
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
                result = self._span.choose(self._fits, lambda: self._around.known) or self._first or None
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
                if line.rstrip() in (self._around.after[1], (self._block.prefix + line).rstrip()):
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
        if not self._around.in_text and looks_like_prose(clean):
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
            if reason is None and self._next_lines and self.ctx.max_lines > 1 and self._around.opens_block(fitted):
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

    @property
    def _lead(self) -> str:
        return self._head + "\n" * self._breaks

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
        if self._around.parse_decides:
            return SpanTail(first, self.ctx.line_suffix, self._around.after, self.ctx.max_lines)
        return SpanTail(first, self.ctx.line_suffix, self._around.after, min(self.ctx.max_lines, UNSURE_SPAN_LINES),
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
        if after_word and not self._around.in_string and needs_glue_space(prefix, text, lambda: self._around.known):
            text = " " + text
        if span:
            return text, None
        text = trim_suffix_overlap(prefix, text, suffix, self._around.line_start)
        if not text.strip():
            return "", "suffix"
        if not suffix.strip():
            text = text.rstrip()
        prev = self._around.prev_line
        if prev and prev in ((prefix + text).rstrip(), (prefix + text + suffix).rstrip()):
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
        if not stripped or stripped[0] in "`<" or (not self._around.in_text and looks_like_prose(clean)):
            return ""
        if not self._around.in_text and stripped[0].isupper():
            return ""  # may be an introduction in prose ("Here is ..."), which is skipped: wait for the line
        if self._single:
            text, reason = self._fit_line(clean, preview=True)
            return "" if reason else text
        return fit_first(self.ctx.line_prefix, clean)[0]

    # --- block mode ----------------------------------------------------------------------------------

    def _fits(self, insertion: str) -> bool | None:
        """Does the code around the cursor parse with *insertion* after what the answer put before it?"""
        return self._around.fits(self._lead + insertion)

    def _start_block(self, line: str, prefix: str | None = None) -> None:
        """Block mode from the first line of code on; *prefix* "": the block starts on a new line."""
        prefix = self.ctx.line_prefix if prefix is None else prefix
        ctx = self.ctx
        above = (ctx.line_prefix + self._head + ctx.line_suffix).rstrip() if self._breaks else self._around.prev_line
        if above and (prefix + fit_first(prefix, line)[0]).rstrip() == above:
            self._stop(None if self._head else "repeat")  # after a header: the header alone
            return
        around = self._around
        state = scan_line(ctx.line_prefix + self._head, around.line_start).state if self._head else around.cursor.state
        block = BlockLayout(prefix, line, state, self._around.after, ctx.max_lines, self._fits)
        if block.copies_target:
            if self._head:
                self._stop()  # the body is the code after the cursor: the header alone
            elif len(self._around.after) < 2:
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
