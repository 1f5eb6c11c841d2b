"""The model's answer to "Explain stack trace": its JSON schema, its validation, and applying the
unified diff it suggests (no LSP, no I/O).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

CONFIDENCES = ("high", "medium", "low")

_STRING = {"type": "string"}

# Strict-tools compatible: every object closed and fully required, no numeric or length bounds (the
# counts live in the descriptions and are checked by validate_explanation instead).
EXPLAIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "hypotheses": {
            "type": "array",
            "description": "Exactly 3 hypotheses for the root cause, most likely first.",
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "description": "One line naming the cause."},
                    "explanation": {"type": "string",
                                    "description": "Why, citing the frames and source lines involved."},
                    "confidence": {"type": "string", "enum": list(CONFIDENCES)},
                },
                "required": ["title", "explanation", "confidence"],
                "additionalProperties": False,
            },
        },
        "reproduction": {
            "type": "array",
            "description": "Minimal steps (or a command / snippet) that reproduce the failure.",
            "items": _STRING,
        },
        "patch": {
            "anyOf": [
                {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string",
                                 "description": "The file to change, relative to the project root."},
                        "diff": {
                            "type": "string",
                            "description": "A unified diff of that one file (---/+++ headers, @@ hunks).",
                        },
                    },
                    "required": ["path", "diff"],
                    "additionalProperties": False,
                },
                {"type": "null"},
            ],
            "description": "A small fix for the most likely cause, or null when no safe patch is possible.",
        },
        "summary": {"type": "string", "description": "One sentence: what went wrong."},
    },
    "required": ["hypotheses", "reproduction", "patch", "summary"],
    "additionalProperties": False,
}


def validate_explanation(answer: Any) -> str | None:
    """None when `answer` matches EXPLAIN_SCHEMA (exactly 3 hypotheses, known confidences, non-empty
    texts, a patch that is null or a parseable one-file unified diff); otherwise every problem found, as
    one human-readable sentence meant to be sent back to the model for a repair. Unknown extra keys are
    ignored (they are harmless to the renderer)."""
    if not isinstance(answer, dict):
        return "the answer must be a JSON object"
    errors: list[str] = []
    missing = [k for k in ("hypotheses", "reproduction", "patch", "summary") if k not in answer]
    if missing:
        errors.append("missing key(s): " + ", ".join(missing))
    hypotheses = answer.get("hypotheses")
    if "hypotheses" in answer:
        if not isinstance(hypotheses, list):
            errors.append("hypotheses must be an array")
        else:
            if len(hypotheses) != 3:
                errors.append(f"hypotheses must hold exactly 3 items (got {len(hypotheses)})")
            for i, h in enumerate(hypotheses):
                errors += _hypothesis_errors(i, h)
    if "reproduction" in answer:
        steps = answer["reproduction"]
        if not isinstance(steps, list) or not all(isinstance(s, str) for s in steps):
            errors.append("reproduction must be an array of strings")
    if "summary" in answer and (not isinstance(answer["summary"], str) or not answer["summary"].strip()):
        errors.append("summary must be a non-empty string")
    if "patch" in answer:
        errors += _patch_errors(answer["patch"])
    return "; ".join(errors[:8]) if errors else None


def _hypothesis_errors(i: int, h: Any) -> list[str]:
    where = f"hypotheses[{i}]"
    if not isinstance(h, dict):
        return [f"{where} must be an object with title, explanation and confidence"]
    errors = []
    for key in ("title", "explanation"):
        if not isinstance(h.get(key), str) or not h[key].strip():
            errors.append(f"{where}.{key} must be a non-empty string")
    if h.get("confidence") not in CONFIDENCES:
        errors.append(f"{where}.confidence must be one of high, medium, low (got {h.get('confidence')!r})")
    return errors


def _patch_errors(patch: Any) -> list[str]:
    if patch is None:
        return []
    if not isinstance(patch, dict):
        return ["patch must be an object with path and diff, or null"]
    errors = []
    if not isinstance(patch.get("path"), str) or not patch["path"].strip():
        errors.append("patch.path must be a non-empty string (a path relative to the project root)")
    diff = patch.get("diff")
    if not isinstance(diff, str):
        errors.append("patch.diff must be a string")
    elif parse_unified_diff(diff) is None:
        errors.append("patch.diff must be a unified diff of one file with at least one @@ hunk whose lines "
                      "start with ' ', '-' or '+'")
    return errors


# --- unified diffs -------------------------------------------------------------------------------

_HUNK_HEADER = re.compile(r"^@@ -(\d{1,9})(?:,(\d{1,9}))? \+(\d{1,9})(?:,(\d{1,9}))? @@")
# How far (in lines) from where a hunk says it goes an ambiguous context may still be matched.
_NEARBY = 60


@dataclass
class Hunk:
    old_start: int  # 1-based, as written (0 for an insertion at the top)
    old_count: int
    new_start: int
    new_count: int
    lines: list[tuple[str, str]] = field(default_factory=list)  # (' ' | '-' | '+', text)
    old_no_eol: bool = False  # "\ No newline at end of file" after the old side's last line
    new_no_eol: bool = False

    @property
    def old(self) -> list[str]:
        return [text for op, text in self.lines if op != "+"]

    @property
    def new(self) -> list[str]:
        return [text for op, text in self.lines if op != "-"]


def parse_unified_diff(diff: str) -> list[Hunk] | None:
    """The hunks of a one-file unified diff, or None when it is not one (no hunk, several files, or a
    body line that is neither context, removal, addition nor a no-newline marker). Tolerates a wrapping
    Markdown fence, missing `a/`/`b/` prefixes or headers altogether, and context lines whose leading
    space was lost (an empty line)."""
    lines = diff.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].lstrip().startswith("```"):
        lines = lines[1:]
        while lines and not lines[-1].strip():
            lines.pop()
        if lines and lines[-1].strip().startswith("```"):
            lines.pop()
    while lines and not lines[-1].strip():
        lines.pop()
    hunks: list[Hunk] = []
    files = 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            files += 1
            if files > 1:
                return None
            i += 2
            continue
        m = _HUNK_HEADER.match(line)
        if m is None:
            if hunks:  # text after the first hunk that is no diff line
                return None
            i += 1  # preamble: "diff --git", "index ...", prose
            continue
        hunk = Hunk(int(m[1]), int(m[2] or 1), int(m[3]), int(m[4] or 1))
        i += 1
        while i < len(lines):
            body = lines[i]
            if body.startswith("@@") or (body.startswith("--- ") and i + 1 < len(lines)
                                         and lines[i + 1].startswith("+++ ")):
                break
            op = body[:1]
            if op in (" ", "-", "+"):
                hunk.lines.append((op, body[1:]))
            elif op == "\\":
                last = hunk.lines[-1][0] if hunk.lines else " "
                if last in (" ", "-"):
                    hunk.old_no_eol = True
                if last in (" ", "+"):
                    hunk.new_no_eol = True
            elif body == "":
                hunk.lines.append((" ", ""))  # a blank context line that lost its leading space
            else:
                return None
            i += 1
        _trim_blank_tail(hunk)
        if not hunk.lines:
            return None
        hunks.append(hunk)
    return hunks or None


def _trim_blank_tail(hunk: Hunk) -> None:
    # A blank line between hunks is usually a separator, not context: drop it when the header's counts
    # say the hunk was complete without it.
    while hunk.lines and hunk.lines[-1] == (" ", ""):
        old = sum(op != "+" for op, _ in hunk.lines) - 1
        new = sum(op != "-" for op, _ in hunk.lines) - 1
        if old < hunk.old_count or new < hunk.new_count:
            break
        hunk.lines.pop()


def apply_unified_diff(original: str, diff: str) -> str | None:
    """`original` with every hunk of `diff` applied, or None when any hunk does not apply (never a
    partial result). A hunk applies where its header says when its old lines (context and removals)
    are there; otherwise where they occur exactly once at or after the previous hunk, or at the
    strictly nearest occurrence within a few dozen lines of where it says. Trailing-whitespace
    differences are tolerated when nothing matches exactly (the file's own context lines are kept).
    CRLF files stay CRLF; the final newline follows the diff's "\\ No newline at end of file" markers
    when the last hunk reaches the end of the file, and the original otherwise."""
    hunks = parse_unified_diff(diff)
    if hunks is None:
        return None
    crlf = "\r\n" in original
    text = original.replace("\r\n", "\n") if crlf else original
    final_newline = text.endswith("\n")
    src = text.split("\n") if text else []
    if final_newline:
        src.pop()
    out: list[str] = []
    pos = 0
    drift = 0
    touched_end = False
    last: Hunk | None = None
    for hunk in hunks:
        old = hunk.old
        stated = (hunk.old_start - 1 if old else hunk.old_start) if hunk.old_start > 0 else 0
        at = _locate(src, old, stated + drift, pos)
        if at is None:
            return None
        drift = at - stated
        out.extend(src[pos:at])
        k = at
        for op, line in hunk.lines:
            if op == " ":
                out.append(src[k])  # the file's own line: a fuzzy match must not rewrite it
                k += 1
            elif op == "-":
                k += 1
            else:
                out.append(line)
        pos = k
        touched_end = k == len(src)
        last = hunk
    out.extend(src[pos:])
    if touched_end and last is not None:
        if last.new_no_eol:
            final_newline = False
        elif last.old_no_eol or not src:
            final_newline = True
    result = "\n".join(out) + ("\n" if final_newline and out else "")
    return result.replace("\n", "\r\n") if crlf else result


def _locate(src: list[str], old: list[str], expected: int, pos: int) -> int | None:
    """Where `old` sits in `src` (at or after `pos`), or None when nowhere or ambiguously."""
    last_start = len(src) - len(old)
    if not old:  # a pure insertion: only the header can say where
        return expected if pos <= expected <= len(src) else None
    for same in (_same_exact, _same_loose):
        if pos <= expected <= last_start and same(src, expected, old):
            return expected
        starts = [at for at in range(pos, last_start + 1) if same(src, at, old)]
        if len(starts) == 1:
            return starts[0]
        if len(starts) > 1:
            starts.sort(key=lambda at: abs(at - expected))
            first, second = abs(starts[0] - expected), abs(starts[1] - expected)
            return starts[0] if first < second and first <= _NEARBY else None
    return None


def _same_exact(src: list[str], at: int, old: list[str]) -> bool:
    return src[at] == old[0] and src[at:at + len(old)] == old


def _same_loose(src: list[str], at: int, old: list[str]) -> bool:
    return all(a.rstrip() == b.rstrip() for a, b in zip(src[at:at + len(old)], old, strict=True))
