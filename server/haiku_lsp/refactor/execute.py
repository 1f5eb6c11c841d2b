"""The workers of a refactor: one fast-model call per subtask, independent subtasks concurrently
(bounded by a semaphore), each subtask only once everything it depends on has finished, seeing its
region as it is after those edits.

Everything runs in the caller's task tree (an asyncio.TaskGroup): cancelling the caller cancels
every worker, and the provider closes their streams. A worker's answer must make the whole file
compile (checked inside ask_json, so a broken answer gets its one repair round).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from haiku_lsp.errors import FATAL_PROVIDER_ERRORS, ActionError, MergeConflict, ProviderError, SubtaskFailed
from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.cache import content_key
from haiku_lsp.privacy import redact
from haiku_lsp.refactor.merge import Document, Edit, import_error, region_lines
from haiku_lsp.refactor.plan import Plan, Subtask
from haiku_lsp.refactor.tasks import run_all
from haiku_lsp.refactor.validate import compile_error
from haiku_lsp.text import numbered

WORKER_VERSION = "refactor-worker-1"
# Not worth retrying with other instructions: the request itself, the key or the budget is the problem.

WORKER_SCHEMA: dict = {
    "type": "object",
    "properties": {
        "replacement": {"type": "string"},
        "imports": {"type": "array", "items": {"type": "string"}},
        "notes": {"type": "string"},
    },
    "required": ["replacement", "imports", "notes"],
    "additionalProperties": False,
}

WORKER_SYSTEM = (
    "You are one worker in a refactor of a Python file; other workers change other parts of it at the same "
    "time. You get your subtask, an outline of the file and your region: its exact lines with line numbers. "
    "Answer with JSON only: `replacement` is the full new text of exactly those lines (same base indentation, "
    "no line numbers, no markdown fences; it may be longer or shorter than the region); `imports` lists import "
    "statements your replacement needs that the file does not have yet, one per item (not __future__), [] if "
    "none; `notes` says in one or two sentences what you changed. Do only what your subtask asks, keep "
    "behaviour unless told otherwise, and do not rename anything used outside your region unless told to. If "
    "nothing needs to change, return the region unchanged."
)

_FENCE = re.compile(r"^\s*```[a-zA-Z0-9_-]*\n(.*?)\n```\s*$", re.S)


def normalise(replacement: str, seen: str) -> str:
    """The replacement as it goes into the file: no fence, no trailing newline, and the region's base
    indentation when the model gave the code unindented."""
    if m := _FENCE.match(replacement):
        replacement = m.group(1)
    replacement = replacement.rstrip("\n")
    if not seen.startswith("\n"):
        replacement = replacement.lstrip("\n")
    first_seen = next((ln for ln in seen.split("\n") if ln.strip()), "")
    first_new = next((ln for ln in replacement.split("\n") if ln.strip()), "")
    base = first_seen[: len(first_seen) - len(first_seen.lstrip())]
    if base and first_new and not first_new[0].isspace():
        replacement = "\n".join(base + ln if ln.strip() else ln for ln in replacement.split("\n"))
    return replacement


@dataclass
class Workers:
    """What every worker call of one refactor shares. `original` is the file before the refactor and
    `outline` its outline; the cache key of an answer covers the file, the instruction, the subtask,
    the region text and the model."""

    llm: ModelAccess
    shown: str
    instruction: str
    outline: str
    original: str

    def prompt(self, st: Subtask, doc: Document, seen: str, context: str) -> str:
        a, b = doc.regions[st.id]
        where = f"lines {a + 1}-{b + 1}" if b >= a else f"the empty region at line {a + 1}"
        region = numbered(region_lines(seen), a + 1) or "(empty: an earlier subtask removed this code)"
        return (f"File: {self.shown}\nOverall goal of the refactor: {self.instruction}\n\n"
                f"Subtask {st.id}: {st.title}\nTarget: {st.target}\nInstructions: {st.instructions}\n\n"
                + (f"Done before this subtask:\n{context}\n\n" if context else "")
                + f"Outline of the file before the refactor:\n{self.outline}\n\n"
                f"Your region ({where}):\n{region}\n\nGive the replacement for {where}.")

    async def run(self, st: Subtask, doc: Document, seen: str, context: str) -> Edit:
        """The edit for `st`, whose region currently holds `seen`. SubtaskFailed when there is none;
        ProviderError only for failures no retry can fix (FATAL_PROVIDER_ERRORS)."""
        if redact(seen)[1]:
            raise SubtaskFailed("its region holds a secret-looking string, which is never sent to a model",
                                reviewable=False)

        def check(value: dict) -> str | None:
            replacement = normalise(value["replacement"], seen)
            if "<REDACTED" in replacement:
                return "the replacement must not contain <REDACTED:...> placeholders"
            for statement in value["imports"]:
                if err := import_error(statement):
                    return f"imports: {err}"
            if doc.text_of(st.id) != seen:
                return None  # an unrelated edit got there first: the merge reports the conflict
            if broken := compile_error(doc.preview(st.id, replacement)):
                message, line = broken
                a = doc.regions[st.id][0]
                n = len(region_lines(replacement))
                where = f"line {line - a} of your replacement" if a < line <= a + n else f"line {line} of the file"
                return f"with your replacement the file does not compile: {message} ({where})"
            return None

        key = content_key(WORKER_VERSION, self.llm.model, self.shown, self.original, self.instruction, st.title,
                          st.instructions, seen, context)
        if (hit := self.llm.cache.get("refactor-worker", key)) is not None and check(hit) is None:
            return Edit(normalise(hit["replacement"], seen), seen, tuple(hit["imports"]), hit["notes"], cached=True)
        prompt, _ = redact(self.prompt(st, doc, seen, context))
        try:
            answer = await self.llm.ask_json(system=WORKER_SYSTEM, user=prompt,
                                    schema=WORKER_SCHEMA, max_tokens=min(32_000, 1024 + len(seen)),
                                    feature="refactor", check=check, what="replacement")
        except ActionError as err:
            raise SubtaskFailed(str(err)) from None
        except ProviderError as err:
            if isinstance(err, FATAL_PROVIDER_ERRORS):
                raise
            raise SubtaskFailed(f"the model call failed: {err}") from None
        value = answer.value
        self.llm.cache.set("refactor-worker", key, value)
        return Edit(normalise(value["replacement"], seen), seen, tuple(s.strip() for s in value["imports"]),
                    value["notes"], repaired=answer.repaired)


Work = Callable[[Subtask, Document, str, str], Awaitable[Edit]]


async def execute(plan: Plan, doc: Document, ids: list[str], work: Work, *, prior: Mapping[str, Edit],
                  concurrency: int, report: Callable[[str, int, int], None]) -> dict[str, Edit | SubtaskFailed]:
    """Run `work` for each of `ids` and apply the edits to `doc` as they arrive. Dependencies outside
    `ids` must already be applied (their edits in `prior`). At most `concurrency` workers at a time;
    a subtask whose dependency failed is not run (SubtaskFailed with `blocked`)."""
    results: dict[str, Edit | SubtaskFailed] = {}
    finished = {sid: asyncio.Event() for sid in ids}
    gate = asyncio.Semaphore(max(1, concurrency))

    def context(st: Subtask) -> str:
        lines = []
        for sid in plan.order(set(plan.ancestors(st.id))):
            edit = results.get(sid) or prior.get(sid)
            if isinstance(edit, Edit) and edit.notes:
                lines.append(f"- {sid} ({plan.by_id[sid].title}): {edit.notes}")
        return "\n".join(lines)

    async def one(sid: str) -> None:
        st = plan.by_id[sid]
        try:
            for dep in st.depends_on:
                if dep in finished:
                    await finished[dep].wait()
            failed = [d for d in st.depends_on if isinstance(results.get(d), SubtaskFailed)]
            if failed:
                results[sid] = SubtaskFailed(f"not run: {failed[0]}, which it depends on, failed",
                                             reviewable=False, blocked=True)
            else:
                async with gate:
                    seen = doc.text_of(sid)
                    edit = await work(st, doc, seen, context(st))
                doc.apply(sid, edit)
                results[sid] = edit
        except SubtaskFailed as err:
            results[sid] = err
        except MergeConflict as err:
            results[sid] = SubtaskFailed(str(err), reviewable=False)
        finally:
            finished[sid].set()
        report("Executing", len(results), len(ids))

    await run_all([one(sid) for sid in plan.order(set(ids))])
    return results

