"""Pure text heuristics used to turn a model answer into an insertion (no LSP, no I/O).

:mod:`haiku_lsp.completion.shaping.shaper` drives these while the answer streams in; they live here so each rule
can be read, and tested, on its own. Every function is a pure function of its arguments.
"""

from __future__ import annotations

import builtins
import keyword
import re
import sys
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

HOLE_RE = re.compile(r"<\s*HOLE\s*/?\s*>", re.IGNORECASE)
OPEN_TAG_RE = re.compile(r"\s*<COMPLETION>", re.IGNORECASE)
CLOSE_TAG = "</completion>"
# Whole lines that are prompt scaffolding rather than code: fences and bare XML-ish tags.
SCAFFOLD_LINE_RE = re.compile(r"```[\w+#.-]*|</?[A-Za-z_][\w-]*(?:\s[^>]*)?/?>")
CONTINUATION_KEYWORDS = frozenset({"else", "elif", "except", "finally"})

_WORD_RE = re.compile(r"[^\W\d]\w*")
_TRAILING_WORD_RE = re.compile(r"[^\W\d]\w*$")
_SPECIAL_RE = re.compile(r"[#'\"()\[\]{}\\]")
_STRING_END_RE = {q: re.compile(r"\\.|" + re.escape(q), re.DOTALL) for q in ('"""', "'''", '"', "'")}
ANCHOR_RE = re.compile(r"\s*(?:async\s+def|def|class)\s+\w")  # a line surely outside any string
_TOPLEVEL_RE = re.compile(r"[A-Za-z_@]")

PYTHON_NAMES = frozenset(
    set(dir(builtins)) | set(keyword.kwlist) | set(keyword.softkwlist) | set(sys.stdlib_module_names)
)


@dataclass(frozen=True)
class LexState:
    """Where a line starts, lexically: inside brackets, inside a string, after a backslash."""

    depth: int = 0
    quote: str = ""  # delimiter of the string still open at the end of the line, or ""
    continued: bool = False  # the previous line ended with a backslash continuation

    @property
    def at_statement_start(self) -> bool:
        return self.depth == 0 and not self.quote and not self.continued


@dataclass(frozen=True)
class LineScan:
    state: LexState  # state after the line
    code_end: int  # index where a comment starts (len(line) when there is none)
    excess_closers: int  # closing brackets that had no opener
    open_string: bool  # a one-line string was left unterminated (a syntax error)
    in_comment: bool  # the line ends inside a comment


def scan_line(line: str, state: LexState = LexState()) -> LineScan:  # noqa: B008 (frozen, immutable)
    """Approximate Python lexing of one physical line: brackets, strings and comments.

    Good enough to tell statement starts from continuation lines; not a tokenizer (f-string nesting,
    string prefixes and raw-string escapes are not modelled)."""
    depth, quote, excess, i, n = state.depth, state.quote, 0, 0, len(line)
    code_end, open_string, continued = n, False, False
    while i < n:
        if quote:
            pat = _STRING_END_RE[quote]
            m = pat.search(line, i)
            while m and m.group().startswith("\\"):
                m = pat.search(line, m.end())
            if m is None:
                if len(quote) == 1 and not line.endswith("\\"):
                    # Recover at end of line so one bad quote does not swallow the rest of the answer.
                    open_string, quote = True, ""
                elif len(quote) == 1:
                    continued = True
                break
            quote, i = "", m.end()
            continue
        m = _SPECIAL_RE.search(line, i)
        if m is None:
            break
        ch, i = m.group(), m.end()
        if ch == "#":
            code_end = m.start()
            break
        if ch == "\\":
            continued = i == n
            i += 1
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            if depth:
                depth -= 1
            else:
                excess += 1
        elif line.startswith(ch * 3, m.start()):
            quote, i = ch * 3, m.start() + 3
        else:
            quote = ch
    return LineScan(LexState(depth, quote, continued), code_end, excess, open_string, code_end < n)


def carried_state(lines_before: tuple[str, ...] | list[str]) -> LexState:
    """Lexical state at the start of the line after *lines_before* (are we inside a string/brackets?).

    Scans from the nearest ``def``/``class`` line (else the nearest column-0 statement) so it stays cheap
    and starts from a point that is almost surely outside any string."""
    rows = range(len(lines_before) - 1, -1, -1)
    start = next((k for k in rows if ANCHOR_RE.match(lines_before[k])), None)
    if start is None:
        start = next((k for k in rows if _TOPLEVEL_RE.match(lines_before[k])), 0)
    state = LexState()
    for line in lines_before[start:]:
        state = scan_line(line, state).state
    return state


def leading_identifier(text: str) -> tuple[str, bool]:
    """The identifier *text* starts with and whether it is known to be complete (a non-word char follows)."""
    m = _WORD_RE.match(text)
    if m is None:
        return "", bool(text)
    return m.group(), m.end() < len(text)


def words(text: str) -> set[str]:
    return set(_WORD_RE.findall(text))


# --- prose -------------------------------------------------------------------------------------------

_PROSE_INTERJECTION_RE = re.compile(
    r"(?:Sure|Certainly|Okay|Note|Wait|Hmm+|Actually|Alternatively|Unfortunately|Looking at|Based on)"
    r"(?:[,.:;!?]|\s+[a-z]|$)"
)
_PROSE_PHRASE_RE = re.compile(
    r"(?:Here's|Here\s+(?:is|are)|I'm|I'll|I'd|I've|Let's|Let\s+me|It\s+(?:looks|seems|appears))(?!\w)"
)
_PROSE_SUBJECT_RE = re.compile(
    r"(?:I|The|This|That|These|Those|To|There|We|You|Since|Given|After|Now|First|Then|In|As|Your)"
    r"\s+([a-z]{2,})(?:[\s,.:;!?]|$)"
)
_STOPWORDS = frozenset(
    "the an to of this that these we you i it's is are be need needs should will would let me here here's "
    "completion cursor which can could must already seems looks appears want just".split()
)
_PLAIN_WORD_RE = re.compile(r"[A-Za-z][A-Za-z']*[,.:;!?]?")


def looks_like_prose(line: str) -> bool:
    """True when *line* reads like an English sentence ("Here is the completion:", "I need to ...").

    Comments, strings and decorators are never prose; callers skip the check when the cursor is inside
    a string or comment."""
    s = line.strip()
    if not s or s[0] in "#'\"@":
        return False
    if _PROSE_INTERJECTION_RE.match(s) or _PROSE_PHRASE_RE.match(s):
        return True
    m = _PROSE_SUBJECT_RE.match(s)
    if m and not keyword.iskeyword(m.group(1)):
        return True
    tokens = s.split()
    if len(tokens) < 4 or not s[0].isupper() or tokens[0] in PYTHON_NAMES:
        return False
    plain = sum(1 for t in tokens if _PLAIN_WORD_RE.fullmatch(t))
    stop = sum(1 for t in tokens if t.lower().strip(",.:;!?") in _STOPWORDS)
    return plain >= 0.7 * len(tokens) and stop >= 2


# --- repetition --------------------------------------------------------------------------------------


def repeated_cycle(lines: list[str], max_period: int = 4, copies: int = 3) -> int:
    """Period k (1..max_period) when *lines* end with *copies* back-to-back copies of the same k lines
    (not all blank), else 0. Lines are compared without trailing whitespace."""
    norm = [x.rstrip() for x in lines[-max_period * copies :]]
    for k in range(1, max_period + 1):
        if len(norm) < copies * k:
            break
        tail = norm[-k:]
        if not any(tail):
            continue
        if all(norm[len(norm) - (j + 1) * k : len(norm) - j * k] == tail for j in range(1, copies)):
            return k
    return 0


# --- line mode: overlap with the text around the cursor ---------------------------------------------


def _restatement_candidates(prefix: str) -> list[str]:
    code = prefix.lstrip()
    out = [prefix]
    if len(code) >= 2 or _WORD_RE.fullmatch(code):
        out.append(code)
    # Restating from a token boundary (e.g. "compute(" after "x = compute("): needs >= 4 chars and more
    # than one token so a coincidental repeat in real code is unlikely.
    for m in _WORD_RE.finditer(code):
        j = m.start()
        if j and code[j - 1] not in ".\\" and not code[j - 1].isalnum() and code[j - 1] != "_":
            t = code[j:]
            if len(t) >= 4 and re.search(r"\W", t):
                out.append(t)
    word = _TRAILING_WORD_RE.search(prefix)
    if word:
        out.append(word.group())
    return [t for t in out if t]


def strip_restated_prefix(prefix: str, answer: str) -> tuple[str, bool]:
    """Drop a restatement of the end of *prefix* at the start of *answer*.

    Handles the whole line repeated ("    x = f(" + "    x = f(a)"), the code without indentation, the
    current expression, and a partially typed identifier ("ret" + "return x" -> "urn x"). Returns
    ``(text, undecided)``; *undecided* is True while *answer* is still a proper prefix of a possible
    restatement (only matters for a streaming preview)."""
    candidates = _restatement_candidates(prefix)
    for t in candidates:
        if answer.startswith(t):
            return answer[len(t) :], False
    undecided = any(t.startswith(answer) for t in candidates) and bool(answer)
    return answer, undecided


_SPACE_KEYWORDS = frozenset(
    "return import from raise yield del assert global nonlocal def class if elif while for with in is not "
    "and or as lambda await async else except".split()
)
_INFIX_KEYWORDS = frozenset("if else and or in is not for as".split())


def needs_glue_space(prefix: str, text: str, known: Callable[[], AbstractSet[str]]) -> bool:
    """True when *text* must start with a space because the model glued it to the word before the cursor
    (``return`` + ``x + 1``, ``y`` + ``if c else z``).

    Conservative: glues (returns False) whenever the joined word is a known name (builtin, stdlib module,
    word used in the file: *known* returns those, called only when needed), so ``is`` + ``instance(``
    and ``import`` + ``lib`` stay one word."""
    if not prefix or not text or not (prefix[-1].isalnum() or prefix[-1] == "_"):
        return False
    m = _TRAILING_WORD_RE.search(prefix)
    if m is None or (m.start() and (prefix[m.start() - 1] in ".\\" or prefix[m.start() - 1].isalnum())):
        return False
    last = m.group()
    first, _ = leading_identifier(text)
    joined = last + first

    def is_known(w: str) -> bool:
        return w in PYTHON_NAMES or w in known()

    if last in _SPACE_KEYWORDS:
        if not first:
            return text[0] in "\"'([{-~" or text[0].isdigit()
        if first.startswith("_") or is_known(joined):
            return False
        if is_known(first):
            return True
        return last in ("def", "class") and re.match(r"\w+\s*[(:]", text) is not None
    rest = text[len(first) :]
    if first in _INFIX_KEYWORDS and not (rest[:1].isalnum() or rest[:1] == "_"):
        return is_known(last) and not is_known(joined)
    return False


_PUNCT_OVERLAP = set(")]}\"'`:;, ")


def _badness(line: str, start: LexState, junction: str) -> int:
    scan = scan_line(line, start)
    doubled = len(junction) == 2 and junction[0] == junction[1] and junction[0] in ":;,"
    return scan.excess_closers + scan.open_string + doubled


def trim_suffix_overlap(prefix: str, text: str, suffix: str, start: LexState = LexState()) -> str:  # noqa: B008
    """Remove the part of *text* that duplicates the start of *suffix* (the text after the cursor).

    Trims when *text* ends with the whole stripped suffix and that suffix contains a word character;
    otherwise when the overlap is closing punctuation/quotes and cutting makes the line better balanced
    (``g(x)`` before ``)`` in ``f(|)`` is kept, ``a, b)`` loses its ``)``). The model may also rewrite
    the end of the line past the suffix (``len(xs)):`` before ``)``): then it is cut where the copy of
    the suffix starts, losing the short punctuation after it rather than doubling the bracket."""
    core = suffix.strip()
    if not core or not text or start.quote:
        return text
    body = text.rstrip()
    if re.search(r"\w", core) and body.endswith(core):
        cut = body[: len(body) - len(core)]
        return cut.rstrip() if suffix[0].isspace() else cut
    cuts = [len(text) - k for k in range(min(len(text), len(suffix)), 0, -1) if text.endswith(suffix[:k])]
    closers = re.match(r"\s*[)\]}]+", suffix)
    if closers:
        seg = closers.group().strip()
        cuts += [i for i in range(len(text) - 1, -1, -1)
                 if text.startswith(seg, i) and len(text) - i - len(seg) <= 3
                 and set(text[i + len(seg) :]) <= _PUNCT_OVERLAP]
    best_cut, best = len(text), _badness(prefix + text + suffix, start, text[-1:] + suffix[:1])
    for i in cuts:
        if not set(text[i:]) <= _PUNCT_OVERLAP or not text[i:].strip():
            continue
        score = _badness(prefix + text[:i] + suffix, start, text[i - 1 : i] + suffix[:1])
        if score < best:
            best_cut, best = i, score
    return text[:best_cut]
