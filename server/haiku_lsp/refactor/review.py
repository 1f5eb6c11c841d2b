"""The planner's review of the subtasks that failed: accept, reject or revise each one.

Only failing subtasks are sent; the answer must decide every one of them exactly once, and a
revision must come with new instructions (one repair round, as for every JSON answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.cache import content_key
from haiku_lsp.privacy import redact
from haiku_lsp.refactor.plan import Subtask
from haiku_lsp.text import fence

REVIEW_VERSION = "refactor-review-1"
VERDICTS = ("accept", "reject", "revise")

REVIEW_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "decisions": {"type": "array", "items": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "verdict": {"type": "string", "enum": list(VERDICTS)},
                "instructions": {"type": "string"},
                "reason": {"type": "string"},
            },
            "required": ["id", "verdict", "instructions", "reason"],
            "additionalProperties": False,
        }},
    },
    "required": ["decisions"],
    "additionalProperties": False,
}

REVIEW_SYSTEM = (
    "You review subtasks of a refactor you planned that failed validation (the file must compile, ruff must "
    "report nothing new, the workspace's tests that import the module must pass) or for which the worker gave "
    "no usable answer. For each subtask decide: `accept` keeps the change as it is (only when the problem is "
    "harmless or not caused by it), `reject` drops it (subtasks that depend on it are dropped too), `revise` "
    "sends it to a worker again with new, complete `instructions` that avoid the problem (the worker starts "
    "again from the region before the change). Answer with JSON only: `decisions`, one per subtask given, each "
    "with `id`, `verdict`, `instructions` (for revise; else \"\") and `reason` (one sentence)."
)

_DURATION = re.compile(r"\bin \d+(?:\.\d+)?s\b")


@dataclass(frozen=True)
class Decision:
    verdict: str  # "accept" | "reject" | "revise"
    instructions: str
    reason: str


@dataclass(frozen=True)
class ReviewItem:
    """A failing subtask: the region as its worker saw it and its replacement (None when the worker
    gave no usable answer), and the problems attributed to it."""

    subtask: Subtask
    seen: str | None
    replacement: str | None
    problems: tuple[str, ...]


def review_prompt(shown: str, instruction: str, outline: str, items: list[ReviewItem], test_output: str) -> str:
    parts = [f"File: {shown}\nInstruction of the refactor: {instruction}\n\nOutline:\n{outline}"]
    for item in items:
        st = item.subtask
        text = f"## Subtask {st.id}: {st.title}\nTarget: {st.target}\nInstructions: {st.instructions}\n"
        if item.seen is not None:
            text += f"Region before:\n{fence(item.seen, 'python')}\n"
        if item.replacement is not None:
            text += f"Its replacement:\n{fence(item.replacement, 'python')}\n"
        else:
            text += "The worker gave no usable replacement.\n"
        text += "Problems:\n" + "\n".join(f"- {p}" for p in item.problems)
        parts.append(text)
    if test_output and any("tests fail" in p for item in items for p in item.problems):
        parts.append(f"Test output (end):\n{fence(test_output[-4000:])}")
    ids = ", ".join(item.subtask.id for item in items)
    parts.append(f"Decide for each of: {ids}.")
    return "\n\n".join(parts)


async def review(llm: ModelAccess, *, shown: str, instruction: str, outline: str, items: list[ReviewItem],
                 test_output: str = "", max_tokens: int = 4000) -> dict[str, Decision]:
    """The planner's decision for each item, by subtask id (cached by content). ActionError when the
    answer is unusable even after one repair."""
    prompt = review_prompt(shown, instruction, outline, items, test_output)
    key = content_key(REVIEW_VERSION, llm.model, _DURATION.sub("", prompt))
    wanted = [item.subtask.id for item in items]

    def check(value: dict) -> str | None:
        got = [d["id"] for d in value["decisions"]]
        if unknown := [i for i in got if i not in wanted]:
            return f"unknown subtask ids {unknown}: decide only for {wanted}"
        if missing := [i for i in wanted if i not in got]:
            return f"no decision for {missing}"
        if len(got) != len(set(got)):
            return "one decision per subtask"
        if empty := [d["id"] for d in value["decisions"] if d["verdict"] == "revise" and not d["instructions"].strip()]:
            return f"revise needs new instructions ({', '.join(empty)})"
        return None

    value = llm.cache.get("refactor-review", key)
    if value is None or check(value):
        answer = await llm.ask_json(system=REVIEW_SYSTEM, user=redact(prompt)[0], schema=REVIEW_SCHEMA,
                                    max_tokens=max_tokens, feature="refactor", check=check, what="review")
        value = answer.value
        llm.cache.set("refactor-review", key, value)
    return {d["id"]: Decision(d["verdict"], d["instructions"].strip(), d["reason"]) for d in value["decisions"]}
