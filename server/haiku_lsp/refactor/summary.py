"""The Markdown summary of a refactor: what changed and why, validation, cost, time, and the diff."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from haiku_lsp.text import fence

if TYPE_CHECKING:
    from haiku_lsp.refactor.outcome import SubtaskOutcome
    from haiku_lsp.refactor.validate import ValidationReport

_ICONS = {"applied": "✅", "accepted": "⚠️", "unchanged": "➖", "rejected": "❌", "dropped": "⏭️", "failed": "❌"}


def unified_diff(original: str, new: str, shown: str) -> str:
    """A unified diff of the file (a/ and b/ prefixes, as git shows it); "" when nothing changed."""
    lines = difflib.unified_diff(original.splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile=f"a/{shown}", tofile=f"b/{shown}")
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_summary(*, shown: str, instruction: str, plan_notes: str, outcomes: list[SubtaskOutcome],
                   validation: ValidationReport, usage_by_model: dict[str, dict[str, int]],
                   usd_by_model: dict[str, float], phase_seconds: dict[str, float], diff: str, ok: bool,
                   changed: bool, unchecked: list[str] | None = None) -> str:
    in_text = [o for o in outcomes if o.status in ("applied", "accepted")]
    left_out = [o for o in outcomes if o.status in ("rejected", "dropped", "failed")]
    if not outcomes:
        verdict = "Nothing to change."
    elif not changed:
        verdict = "No change survived: nothing to apply."
    else:
        verdict = (f"{len(in_text)} of {_count(len(outcomes), 'subtask')} applied"
                   + (f"; left out: {', '.join(f'`{o.id}` {o.title}' for o in left_out)}" if left_out else "")
                   + (". **Validation reported problems: review before applying.**" if not ok or not validation.passed
                      else f". **Not validated: {'; '.join(unchecked)}. Review before applying.**" if unchecked
                      else ". Validation passed."))
    parts = [f"# Refactor of `{shown}`", f"**Instruction:** {instruction}", verdict]
    if plan_notes:
        parts.append(f"**Plan:** {plan_notes}")
    if outcomes:
        parts.append("## Changes\n\n" + "\n\n".join(_subtask(o) for o in outcomes))
    parts.append("## Validation\n\n" + _validation(validation))
    parts.append("## Cost\n\n" + _cost(usage_by_model, usd_by_model))
    parts.append("## Time\n\n| Phase | Seconds |\n|---|---:|\n" + "\n".join(
        f"| {name} | {seconds:.2f} |" for name, seconds in phase_seconds.items())
        + f"\n| **total** | **{sum(phase_seconds.values()):.2f}** |")
    if diff:
        parts.append("## Diff\n\n" + fence(diff.rstrip(), "diff"))
    return "\n\n".join(parts) + "\n"


def _subtask(o: SubtaskOutcome) -> str:
    where = f" (lines {o.lines[0]}-{o.lines[1]})" if o.lines else ""
    head = f"### {_ICONS.get(o.status, '')} `{o.id}` {o.title} — {o.status}".replace("  ", " ")
    lines = [head, f"- Target: {o.target}{where}"]
    if o.depends_on:
        lines.append(f"- After: {', '.join(f'`{d}`' for d in o.depends_on)}")
    if o.notes:
        lines.append(f"- Notes: {o.notes}")
    for problem in o.problems:
        lines.append(f"- Problem: {problem}")
    for verdict in o.review:
        lines.append(f"- Review: {verdict}")
    if o.cached:
        lines.append("- From the cache")
    return "\n".join(lines)


def _validation(v: ValidationReport) -> str:
    if not v.ran:
        return "\n".join(f"- {n}" for n in v.notes) or "- Not run."
    rows = [f"- Compiles: {'yes' if v.compiles else 'no: ' + (v.compile_error or '')}"]
    lint = {"passed": "nothing new", "failed": "new issues", "skipped": "skipped", "not run": "not run"}[v.lint]
    rows.append(f"- Ruff: {lint}{': ' + v.lint_summary if v.lint_summary else ''}")
    rows += [f"  - {issue}" for issue in v.new_lint]
    files = f" ({', '.join(f'`{f}`' for f in v.test_files)})" if v.test_files else ""
    rows.append(f"- Tests: {v.tests}{': ' + v.test_summary if v.test_summary else ''}{files}")
    rows += [f"- Note: {n}" for n in v.notes]
    if v.tests == "failed" and v.test_output:
        output = fence(v.test_output[-6000:].rstrip())
        rows.append(f"\n<details><summary>Test output</summary>\n\n{output}\n</details>")
    return "\n".join(rows)


def _cost(usage: dict[str, dict[str, Any]], usd: dict[str, float]) -> str:
    if not usage:
        return "No model calls (everything came from the cache)."
    rows = ["| Model | Calls | Input tokens | Output tokens | Cache read | USD |", "|---|---:|---:|---:|---:|---:|"]
    for model, u in usage.items():
        rows.append(f"| `{model}` | {u['calls']} | {u['input'] + u['cache_write']} | {u['output']} | "
                    f"{u['cache_read']} | ${usd.get(model, 0.0):.4f} |")
    rows.append(f"| **total** | {sum(u['calls'] for u in usage.values())} | | | | "
                f"**${sum(usd.values()):.4f}** |")
    return "\n".join(rows)
