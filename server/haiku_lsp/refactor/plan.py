"""The planner's side of a whole-file refactor: the plan's schema, its prompt, and its validation.

A plan is a list of subtasks, each with one contiguous region of the file (the span of the symbols
and line ranges it names), instructions for a worker, and the ids it depends on. A plan is only
accepted when every target exists in this file, no id is unknown or repeated, dependencies have no
cycle, and two subtasks touch the same lines only when one depends on the other (directly or
transitively). Nothing here knows about LSP.
"""

from __future__ import annotations

import ast
import heapq
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from haiku_lsp.errors import ActionError, PlanError
from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.cache import content_key
from haiku_lsp.privacy import redact
from haiku_lsp.python.symbols import symbols
from haiku_lsp.text import numbered

PLAN_VERSION = "refactor-plan-1"
MAX_SUBTASKS = 24

_LINES = {"type": "object", "properties": {"start": {"type": "integer"}, "end": {"type": "integer"}},
          "required": ["start", "end"], "additionalProperties": False}
PLAN_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "notes": {"type": "string"},
        "subtasks": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "title": {"type": "string"},
                "target": {"type": "object", "properties": {
                    "path": {"type": "string"},
                    "symbols": {"type": "array", "items": {"type": "string"}},
                    "lines": {"type": "array", "items": _LINES},
                }, "required": ["symbols", "lines"], "additionalProperties": False},
                "instructions": {"type": "string"},
                "depends_on": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["id", "title", "target", "instructions", "depends_on"],
            "additionalProperties": False,
        }},
    },
    "required": ["notes", "subtasks"],
    "additionalProperties": False,
}

PLAN_SYSTEM = (
    "You plan a refactor of one Python file. Split the instruction into small, focused subtasks; each is done "
    "by a separate fast worker model that sees only its target region, an outline of the file and your "
    "instructions, and returns the new text of that region. Answer with JSON only. Each subtask has `id` "
    "(short and unique, like \"s1\"), `title` (a few words), `target` with `symbols` (qualified names from the "
    "outline, like \"Cart.total\") and/or `lines` ({start, end}, 1-based, inclusive) -- the worker rewrites "
    "the whole span from the first to the last of them, so target one symbol or a few adjacent ones -- "
    "`instructions` (precise: what to change and what must stay as it is) and `depends_on` (ids that must be "
    "done first; the worker then sees their result). Subtasks whose targets overlap must depend on one "
    "another; independent subtasks run in parallel, so prefer disjoint targets. Only this file can be "
    "changed; workers can ask for new imports. Leave out code that needs no change; an empty `subtasks` "
    "list means nothing needs to change. `notes`: one or two sentences on the approach."
)


@dataclass(frozen=True)
class Subtask:
    """One planned change. `start`/`end` are the 0-based inclusive lines of its region in the original
    text; `symbol` is the qualname when the target is exactly one symbol (used to find it again after
    a dependency rewrote the code around it); `target` is how people are shown it."""

    id: str
    title: str
    instructions: str
    depends_on: tuple[str, ...]
    start: int
    end: int
    symbol: str | None
    target: str


@dataclass(frozen=True)
class Plan:
    subtasks: tuple[Subtask, ...]
    notes: str = ""

    @cached_property
    def by_id(self) -> dict[str, Subtask]:
        return {s.id: s for s in self.subtasks}

    @cached_property
    def _ancestors(self) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}

        def visit(sid: str) -> frozenset[str]:
            if sid not in found:
                deps = self.by_id[sid].depends_on
                found[sid] = frozenset(deps).union(*(visit(d) for d in deps))
            return found[sid]

        for s in self.subtasks:
            visit(s.id)
        return found

    def ancestors(self, sid: str) -> frozenset[str]:
        """Every subtask `sid` depends on, directly or transitively."""
        return self._ancestors[sid]

    def descendants(self, sid: str) -> set[str]:
        """Every subtask that depends on `sid`, directly or transitively."""
        return {s.id for s in self.subtasks if sid in self._ancestors[s.id]}

    def related(self, a: str, b: str) -> bool:
        return a == b or a in self._ancestors[b] or b in self._ancestors[a]

    def order(self, ids: set[str] | None = None) -> list[str]:
        """`ids` (default all) in dependency order; among subtasks ready at the same time, the one lowest
        in the file first (edits applied bottom-up)."""
        ids = set(self.by_id) if ids is None else set(ids)
        waiting = {i: {d for d in self.by_id[i].depends_on if d in ids} for i in ids}
        ready = [(-self.by_id[i].start, i) for i, deps in waiting.items() if not deps]
        heapq.heapify(ready)
        out: list[str] = []
        while ready:
            _, sid = heapq.heappop(ready)
            out.append(sid)
            for other, deps in waiting.items():
                if sid in deps:
                    deps.discard(sid)
                    if not deps:
                        heapq.heappush(ready, (-self.by_id[other].start, other))
        return out

    def with_instructions(self, sid: str, instructions: str) -> Plan:
        subtasks = tuple(replace(s, instructions=instructions) if s.id == sid else s for s in self.subtasks)
        return Plan(subtasks, self.notes)


def outline(text: str) -> str:
    """Top-level imports and every def/class with its 1-based line span and signature line."""
    lines = text.split("\n")
    out: list[str] = []
    try:
        tree = ast.parse(text)
        out += [ast.get_source_segment(text, n) or "" for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    except (SyntaxError, ValueError):
        pass
    for s in symbols(text):
        head = next((ln.strip() for ln in lines[s.start_line:s.end_line + 1]
                     if ln.lstrip().startswith(("def ", "async def ", "class "))), s.name)
        depth = s.qualname.count(".") - 2 * s.qualname.count("<locals>")
        out.append(f"{'  ' * depth}{s.start_line + 1}-{s.end_line + 1}: {s.kind} {s.qualname}: {head[:120]}")
    return "\n".join(out) or "(no imports, functions or classes)"


def _same_file(named: str, shown: str) -> bool:
    named = named.strip().replace("\\", "/").removeprefix("./")
    return not named or named == shown or shown.endswith("/" + named) or named.endswith("/" + shown)


def parse_plan(value: dict, text: str, shown: str) -> Plan:
    """The Plan a planner answer describes, checked against `text`; PlanError lists what is wrong."""
    lines = text.split("\n")
    n_lines = len(lines) - (1 if len(lines) > 1 and lines[-1] == "" else 0)
    known = {s.qualname: s for s in symbols(text)}
    raw = value.get("subtasks") or []
    errors: list[str] = []
    if len(raw) > MAX_SUBTASKS:
        errors.append(f"at most {MAX_SUBTASKS} subtasks, got {len(raw)}: group small changes")
    subtasks: list[Subtask] = []
    for item in raw:
        sid = str(item.get("id", "")).strip()
        target: dict[str, Any] = item.get("target") or {}
        if not sid:
            errors.append("a subtask has an empty id")
            continue
        if any(s.id == sid for s in subtasks):
            errors.append(f"the id {sid!r} is used twice")
            continue
        path = str(target.get("path") or "")
        if not _same_file(path, shown):
            errors.append(f"{sid} targets {path!r}: only {shown} can be changed")
            continue
        spans: list[tuple[int, int]] = []
        for name in target.get("symbols") or []:
            if name in known:
                spans.append((known[name].start_line, known[name].end_line))
            else:
                sample = ", ".join(list(known)[:30])
                errors.append(f"{sid} targets the unknown symbol {name!r} (symbols: {sample or 'none'})")
        for rng in target.get("lines") or []:
            start, end = rng.get("start"), rng.get("end")
            if not (isinstance(start, int) and isinstance(end, int) and 1 <= start <= end <= n_lines):
                errors.append(f"{sid} targets lines {start}-{end}, outside 1-{n_lines}")
            else:
                spans.append((start - 1, end - 1))
        if not spans:
            if not any(e.startswith(f"{sid} targets") for e in errors):
                errors.append(f"{sid} has no target: name symbols or lines")
            continue
        names = list(target.get("symbols") or [])
        start, end = min(a for a, _ in spans), max(b for _, b in spans)
        only_symbol = names[0] if len(names) == 1 and not target.get("lines") else None
        shown_target = ", ".join([f"`{n}`" for n in names] + [f"lines {r['start']}-{r['end']}"
                                                             for r in target.get("lines") or []])
        deps = tuple(dict.fromkeys(str(d).strip() for d in item.get("depends_on") or []))
        subtasks.append(Subtask(sid, str(item.get("title") or sid).strip(), str(item.get("instructions", "")),
                                deps, start, end, only_symbol, shown_target))
    raw_ids = {str(item.get("id", "")).strip() for item in raw}
    for s in subtasks:
        for d in s.depends_on:
            if d == s.id:
                errors.append(f"{s.id} depends on itself")
            elif d not in raw_ids:
                errors.append(f"{s.id} depends on the unknown id {d!r}")
    if errors:
        raise PlanError("; ".join(errors))
    plan = Plan(tuple(subtasks), str(value.get("notes") or ""))
    if cycle := _cycle(plan):
        raise PlanError("dependencies form a cycle: " + " -> ".join(cycle))
    for i, a in enumerate(subtasks):
        for b in subtasks[i + 1:]:
            if a.start <= b.end and b.start <= a.end and not plan.related(a.id, b.id):
                errors.append(f"{a.id} (lines {a.start + 1}-{a.end + 1}) and {b.id} (lines {b.start + 1}-"
                              f"{b.end + 1}) overlap but neither depends on the other")
    if errors:
        raise PlanError("; ".join(errors))
    return plan


def _cycle(plan: Plan) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(sid: str) -> list[str] | None:
        state[sid] = 1
        path.append(sid)
        for d in plan.by_id[sid].depends_on:
            if state.get(d) == 1:
                return [*path[path.index(d):], d]
            if d not in state and (found := visit(d)):
                return found
        path.pop()
        state[sid] = 2
        return None

    for s in plan.subtasks:
        if s.id not in state and (found := visit(s.id)):
            return found
    return None


def plan_prompt(text: str, shown: str, instruction: str) -> str:
    return (f"File: {shown}\n\nInstruction: {instruction}\n\nOutline:\n{outline(text)}\n\n"
            f"The file, with line numbers:\n{numbered(text.split(chr(10)))}\n\nPlan the refactor.")


async def make_plan(llm: ModelAccess, *, text: str, shown: str, instruction: str,
                    max_tokens: int = 8000) -> tuple[Plan, bool]:
    """The checked plan, from the cache or the planner (one repair round), and whether it was cached.
    ActionError when the planner's answer is still unusable after the repair."""
    key = content_key(PLAN_VERSION, llm.model, shown, instruction, text)
    if (hit := llm.cache.get("refactor-plan", key)) is not None:
        try:
            return parse_plan(hit, text, shown), True
        except PlanError:
            pass  # written by an older validator: plan again

    def check(value: dict) -> str | None:
        try:
            parse_plan(value, text, shown)
        except PlanError as err:
            return str(err)
        return None

    # Numbered before redaction, so a secret spanning lines does not shift the numbers after it.
    prompt, _ = redact(plan_prompt(text, shown, instruction))
    try:
        answer = await llm.ask_json(system=PLAN_SYSTEM, user=prompt, schema=PLAN_SCHEMA, max_tokens=max_tokens,
                                    feature="refactor", check=check, what="plan")
    except ActionError as err:
        raise ActionError(f"could not plan the refactor: {err}") from None
    plan = parse_plan(answer.value, text, shown)
    llm.cache.set("refactor-plan", key, answer.value)
    return plan, False
