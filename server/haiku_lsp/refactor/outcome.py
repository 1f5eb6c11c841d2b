"""What a whole-file refactor returns, and the ready-made instructions."""

from __future__ import annotations

from dataclasses import dataclass, field

from haiku_lsp.errors import ActionError
from haiku_lsp.refactor.validate import ValidationReport

PRESETS: dict[str, str] = {
    "Add type hints": (
        "Add precise type hints to every function and method signature (parameters and return types) and to "
        "module-level and class attributes whose type is not obvious. Use built-in generics (list[int]) and "
        "`X | None`. Do not change behaviour."),
    "Split long functions": (
        "Split functions that are long (more than about 40 lines) or do several things into smaller, well-named "
        "helper functions in the same module. Keep every public name, signature and behaviour unchanged."),
    "Improve names": (
        "Give unclear local variables, parameters of private helpers and private functions clearer, more "
        "descriptive names, updating every use in this file. Keep public names unchanged."),
    "Modernise idioms": (
        "Modernise the code to current Python (3.11+): f-strings, comprehensions, pathlib, `with` for resources, "
        "dataclasses where they fit, `X | None` unions, no redundant `object` bases or `super()` arguments. Do "
        "not change behaviour."),
}


@dataclass
class SubtaskOutcome:
    """One subtask at the end. `status`: "applied" (in new_text), "accepted" (in new_text although
    validation reported a problem, which the planner accepted), "unchanged" (the worker found nothing
    to change), "rejected" (dropped by the planner's review), "dropped" (a subtask it depends on did
    not make it), "failed" (no usable edit, or still failing after the review rounds).
    `lines`: 1-based inclusive lines of its code in new_text, when applied."""

    id: str
    title: str
    target: str
    instructions: str  # the last ones given (a revision replaces them)
    depends_on: list[str]
    status: str
    notes: str = ""
    problems: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # the planner's verdicts, in order
    attempts: int = 0  # worker runs, cache hits included
    cached: bool = False
    lines: tuple[int, int] | None = None


@dataclass
class RefactorResult:
    """`new_text` is the whole new file (None when no change survives); `ok` is True when there is
    one and validation passed, or reported only problems the planner accepted; `validated` when,
    besides, every check ran (`unchecked` lists those that did not, with why: ask before applying). `usage_by_model`:
    model -> {"calls", "input", "output", "cache_write", "cache_read"}; `usd_by_model`: model ->
    dollars; `phase_seconds`: wall time of "plan", "execute", "validate", "review"."""

    new_text: str | None
    subtasks: list[SubtaskOutcome]
    validation: ValidationReport
    usage_by_model: dict[str, dict[str, int]]
    usd_by_model: dict[str, float]
    phase_seconds: dict[str, float]
    summary_markdown: str
    diff: str
    ok: bool
    plan_notes: str = ""
    review_rounds: int = 0
    validated: bool = False
    unchecked: list[str] = field(default_factory=list)


def resolve_instruction(instruction: str) -> str:
    """A preset's text for a preset name (any case), else the instruction itself; ActionError when empty."""
    text = instruction.strip()
    preset = next((v for k, v in PRESETS.items() if k.lower() == text.lower()), None)
    if preset:
        return preset
    if not text:
        raise ActionError("say what to refactor, or pick a preset: " + ", ".join(PRESETS))
    return text
