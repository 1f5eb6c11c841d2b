"""A resolved traceback as Markdown for people: the offline explanation and the model's (what the model is
sent is `payload`'s).
"""

from __future__ import annotations

import builtins
import re
from pathlib import Path

from haiku_lsp.text import fence
from haiku_lsp.tracebacks.frames import Frame, ParsedTraceback
from haiku_lsp.tracebacks.patches import apply_unified_diff
from haiku_lsp.tracebacks.payload import elide_frames, frame_display, patch_target
from haiku_lsp.tracebacks.resolve import (
    frame_source,
    is_library_path,
)

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


def _escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", text)


def _link(frame: Frame, root: Path | None) -> str:
    text = _escape(f"{frame_display(frame, root)}:{frame.line}" if frame.line else frame_display(frame, root))
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
    for n, item in enumerate(elide_frames(frames, keep_run=6), 1):
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
        out += [fence(tb.message, "text"), ""]
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
            out += [fence(source, "python"), ""]
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
            name = _escape(frame_display(Frame(str(target), 0, None, None, target), root))
            link = f"[{name}]({target.as_uri()})"
            verdict = ("applies cleanly — use the code action *Apply suggested fix*" if applies
                       else "does not apply cleanly to the file on disk; apply it by hand")
            out += [f"For {link}: {verdict}.", ""]
        out += [fence(patch["diff"].rstrip("\n"), "diff"), ""]
    out += _stack_markdown(tb, root)
    return "\n".join(out).rstrip() + "\n"
