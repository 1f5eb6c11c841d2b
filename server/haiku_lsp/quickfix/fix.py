"""Quick fixes for diagnostics from any source: the smallest enclosing scope, a replacement from the
model (or from `ruff --fix` offline), checked before it is offered.

What is checked (`FixCheck` says it in words for the user): the patched file parses; ruff (the
project's configuration, plus the diagnostic's rule for a ruff diagnostic, whatever the project
selects) reports nothing new anywhere; and, for a ruff diagnostic, ruff with that rule selected no
longer reports it in the scope. What is not: whether another tool (pyright, mypy, a compiler) still
reports its diagnostic, and the module's tests. A check that cannot run (ruff missing or failing)
fails closed with ToolUnavailable: nothing is offered as checked.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.text import numbered
from haiku_lsp.tools import LintIssue, ruff_check

FIX_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "replacement": {"type": "string"},
        "explanation": {"type": "string"},
    },
    "required": ["replacement", "explanation"],
    "additionalProperties": False,
}

FIX_SYSTEM = (
    "You fix one diagnostic in Python code. You get the code of the smallest enclosing scope with its "
    "line numbers, and the diagnostic. Answer with JSON: `replacement` is the full new text of exactly "
    "those lines (same indentation, no line numbers, no markdown), changed as little as possible to fix "
    "the diagnostic without changing behaviour otherwise; `explanation` is one sentence."
)


@dataclass(frozen=True)
class Scope:
    start: int  # 0-based first line, inclusive
    end: int  # 0-based last line, inclusive
    text: str
    name: str  # "function total", "class Cart", "lines 3-9"


def enclosing_scope(lines: list[str], first: int, last: int) -> Scope:
    """The innermost def/class containing lines first..last; a top-level statement; or, when the file
    does not parse, the paragraph around them."""
    source = "\n".join(lines)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        tree = None
    best: tuple[int, int, str] | None = None
    if tree is not None:
        for node in ast.walk(tree):
            if not isinstance(node, (ast.stmt,)):
                continue
            start = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]]) - 1
            end = (node.end_lineno or node.lineno) - 1
            if not (start <= first and last <= end):
                continue
            is_scope = isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            is_top = node in tree.body
            if not (is_scope or is_top):
                continue
            if best is None or end - start < best[1] - best[0]:
                kind = {"FunctionDef": "function", "AsyncFunctionDef": "function",
                        "ClassDef": "class"}.get(type(node).__name__, "statement")
                best = (start, end, f"{kind} {getattr(node, 'name', '')}".strip())
    if best is None:
        start, end = first, last
        while start > 0 and lines[start - 1].strip() and last - start < 30:
            start -= 1
        while end + 1 < len(lines) and lines[end + 1].strip() and end - first < 30:
            end += 1
        best = (start, end, f"lines {start + 1}-{end + 1}")
    start, end, name = best
    return Scope(start, end, "\n".join(lines[start : end + 1]), name)


def replace_scope(lines: list[str], scope: Scope, replacement: str) -> str:
    """The text with the scope's lines replaced; an empty replacement removes them (no empty line left)."""
    new = replacement.rstrip("\n").split("\n") if replacement.strip("\n") else []
    return "\n".join([*lines[: scope.start], *new, *lines[scope.end + 1 :]])


def parses(text: str) -> str | None:
    """None when the text compiles, else the error."""
    try:
        compile(text, "<patched>", "exec", dont_inherit=True)
        return None
    except SyntaxError as err:
        return f"the patched file does not parse: {err.msg} (line {err.lineno})"


def is_ruff(diagnostic: dict[str, Any]) -> bool:
    return str(diagnostic.get("source") or "").lower().startswith("ruff")


def diagnostic_code(diagnostic: dict[str, Any]) -> str | None:
    code = diagnostic.get("code")
    return str(code) if code not in (None, "") else None


def has_offline_fix(diagnostic: dict[str, Any]) -> bool:
    """Whether `propose_fix(offline=True)` can try one: a ruff diagnostic with its rule code (`ruff --fix`)."""
    return is_ruff(diagnostic) and diagnostic_code(diagnostic) is not None


@dataclass(frozen=True)
class FixCheck:
    """What the check of a fix established, and what it did not, in the user's words."""

    checked: tuple[str, ...]
    not_checked: tuple[str, ...]

    def sentence(self) -> str:
        text = "checked: " + ", ".join(self.checked)
        return text + (f"; not checked: {', '.join(self.not_checked)}" if self.not_checked else "")


def _source(diagnostic: dict[str, Any]) -> str:
    return str(diagnostic.get("source") or "the tool that reported it")


async def check_fix(original: str, patched: str, path: Path, root: Path | None, diagnostic: dict[str, Any],
                    scope: Scope, new_scope_lines: int) -> tuple[str | None, FixCheck]:
    """(None, what was checked) when the patched text is acceptable, else (why not, ...): the reason
    is fed back to the model once. Raises ToolUnavailable when ruff cannot run."""
    code = diagnostic_code(diagnostic)
    ruff_rule = code if is_ruff(diagnostic) and code else None
    not_checked = ["the module's tests (quick fixes are not run)"]
    if not ruff_rule:
        not_checked.insert(0, f"whether {_source(diagnostic)} still reports “{diagnostic.get('message', '')}” "
                              f"({_source(diagnostic)} is not run here)")
    if err := parses(patched):
        return err, FixCheck((), tuple(not_checked))
    before, _ = await ruff_check(original, path, root, select=ruff_rule)
    after, _ = await ruff_check(patched, path, root, select=ruff_rule)
    checked = ["the file parses"]
    if ruff_rule:
        end = scope.start + new_scope_lines - 1
        still = [i for i in after if i.code == ruff_rule and scope.start <= i.line <= end]
        if still:
            return (f"ruff still reports {ruff_rule} at line {still[0].line + 1}: {still[0].message}",
                    FixCheck(tuple(checked), tuple(not_checked)))
        if any(i.code == ruff_rule and scope.start <= i.line <= scope.end for i in before):
            checked.append(f"ruff (with {ruff_rule} selected) no longer reports {ruff_rule} there")
        else:
            not_checked.insert(0, f"whether the fix removes {ruff_rule}: ruff with {ruff_rule} selected does "
                                  "not report it there before the fix either (another ruff version or settings?)")
    if added := _new_issue(before, after):
        return (f"the fix introduces ruff {added.code} at line {added.line + 1}: {added.message}",
                FixCheck(tuple(checked), tuple(not_checked)))
    checked.append("ruff reports nothing new")
    return None, FixCheck(tuple(checked), tuple(not_checked))


def _new_issue(before: list[LintIssue], after: list[LintIssue]) -> LintIssue | None:
    old, new = Counter(i.code for i in before), Counter(i.code for i in after)
    added = [c for c in new if new[c] > old.get(c, 0)]
    return next(i for i in after if i.code == added[0]) if added else None


@dataclass(frozen=True)
class FixProposal:
    scope: Scope
    replacement: str
    explanation: str
    origin: str  # "model" | "cache" | "ruff"
    check: FixCheck = FixCheck((), ())


FIX_PROMPT_VERSION = "fix-1"


def fix_prompt(scope: Scope, path: str, diagnostic: dict[str, Any]) -> str:
    code = diagnostic_code(diagnostic)
    source = diagnostic.get("source") or "a linter"
    line = diagnostic["range"]["start"]["line"] + 1
    return (
        f"File: {path}\nDiagnostic from {source}{f' ({code})' if code else ''} at line {line}: "
        f"{diagnostic.get('message', '')}\n\nThe {scope.name} (lines {scope.start + 1}-{scope.end + 1}):\n"
        f"{numbered(scope.text.split(chr(10)), scope.start + 1)}\n\n"
        f"Give the replacement for lines {scope.start + 1}-{scope.end + 1}."
    )


async def offline_fix(lines: list[str], path: Path, root: Path | None, diagnostic: dict[str, Any],
                      scope: Scope) -> FixProposal | None:
    """`ruff --fix` for ruff diagnostics: only when it changes just this scope."""
    code = diagnostic_code(diagnostic)
    if not has_offline_fix(diagnostic) or not code:
        return None
    original = "\n".join(lines)
    _, fixed = await ruff_check(original, path, root, fix_code=code)
    if not fixed or fixed.rstrip("\n") == original.rstrip("\n"):
        return None
    # Compare without the trailing blank lines: ruff normalises the file's end.
    fixed_lines = fixed.rstrip("\n").split("\n")
    code_lines = original.rstrip("\n").split("\n")
    tail = len(code_lines) - scope.end - 1
    if fixed_lines[: scope.start] != code_lines[: scope.start] or (
        tail > 0 and fixed_lines[-tail:] != code_lines[scope.end + 1 :]
    ):
        return None  # ruff changed something outside the scope: not this fix
    new_scope = fixed_lines[scope.start : len(fixed_lines) - max(tail, 0)]
    replacement = "\n".join(new_scope)
    error, check = await check_fix(original, replace_scope(lines, scope, replacement), path, root, diagnostic,
                                   scope, len(new_scope))
    if error:
        return None
    return FixProposal(scope, replacement, f"ruff's own fix for {code}", "ruff", check)


async def propose_fix(llm: ModelAccess, *, lines: list[str], path: Path,
                      root: Path | None, shown_path: str, diagnostic: dict[str, Any], offline: bool,
                      max_tokens: int = 2048) -> FixProposal | None:
    """A checked fix for `diagnostic`, from the cache, the model, or (offline) ruff. None when there
    is none; ActionError when the model could not give a valid one."""
    from haiku_lsp.errors import ActionError
    from haiku_lsp.llm.cache import content_key
    from haiku_lsp.privacy import redact

    start = diagnostic["range"]["start"]["line"]
    end = max(start, diagnostic["range"]["end"]["line"] - (diagnostic["range"]["end"]["character"] == 0))
    scope = enclosing_scope(lines, start, min(end, len(lines) - 1))
    if offline:
        return await offline_fix(lines, path, root, diagnostic, scope)
    original = "\n".join(lines)
    key = content_key(FIX_PROMPT_VERSION, llm.model, shown_path, scope.start, scope.text,
                      {k: diagnostic.get(k) for k in ("message", "code", "source", "range")})
    prompt, found = redact(fix_prompt(scope, shown_path, diagnostic))
    last: list[FixCheck] = []

    async def check(value: dict) -> str | None:
        replacement = value["replacement"]
        if found and "<REDACTED" in replacement:
            return "the replacement must not contain <REDACTED:...> placeholders; keep those lines as is"
        if replacement.strip() == scope.text.strip():
            return "the replacement is identical to the original code"
        patched = replace_scope(lines, scope, replacement)
        error, report = await check_fix(original, patched, path, root, diagnostic, scope,
                                        len(replacement.rstrip("\n").split("\n")))
        last[:] = [report]
        return error

    # A cached fix was checked against the file as it was then: checked again against this one.
    if (hit := llm.cache.get("fix", key)) is not None and await check(hit) is None:
        return FixProposal(scope, hit["replacement"].rstrip("\n"), hit["explanation"], "cache", last[0])

    answer = await llm.ask_json(system=FIX_SYSTEM, user=prompt, schema=FIX_SCHEMA,
                            max_tokens=max_tokens, feature="fix", check=check, what="fix")
    if found and "<REDACTED" in answer.value["replacement"]:
        raise ActionError("the fix would touch a redacted secret; nothing applied")
    llm.cache.set("fix", key, answer.value)
    return FixProposal(scope, answer.value["replacement"].rstrip("\n"), answer.value["explanation"], "model",
                       last[0])
