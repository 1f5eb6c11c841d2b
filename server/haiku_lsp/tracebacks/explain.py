"""The "explain stack trace" flow: parsed frames in, a Markdown explanation out, plus a suggested
fix when the model's patch applies cleanly to a workspace file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.cache import content_key
from haiku_lsp.tracebacks.frames import ParsedTraceback
from haiku_lsp.tracebacks.patches import EXPLAIN_SCHEMA, apply_unified_diff, validate_explanation
from haiku_lsp.tracebacks.payload import model_payload, patch_target
from haiku_lsp.tracebacks.render import explanation_markdown, offline_markdown

EXPLAIN_VERSION = "explain-1"
EXPLAIN_SYSTEM = (
    "You are a senior Python engineer debugging a failure. You get an exception with its stack frames and "
    "the source around the frames that belong to the user's project. Answer with JSON only: exactly three "
    "hypotheses for the root cause, most likely first, each with a short title, an explanation that cites "
    "the frames, and a confidence; minimal reproduction steps; a small patch as a unified diff against one "
    "project file (paths relative to the project root, with ---/+++ headers and @@ hunks whose context "
    "lines match the shown source exactly), or null when no safe patch is possible; a one-line summary."
)


@dataclass(frozen=True)
class SuggestedFix:
    path: Path
    title: str
    original: str
    patched: str

    def matches(self, source: str) -> bool:
        return source == self.original


@dataclass(frozen=True)
class Explanation:
    markdown: str
    key: str
    origin: str  # model | cache | offline
    fix: SuggestedFix | None = None


async def explain(tb: ParsedTraceback, llm: ModelAccess, *,
                  root: Path | None, offline: bool, read_text: Any) -> Explanation:
    """`read_text(path) -> str | None` gives a file's current text (the open buffer if there is one)."""
    payload = model_payload(tb)
    key = content_key(EXPLAIN_VERSION, llm.model, payload)
    if offline:
        return Explanation(offline_markdown(tb, root), key, "offline")
    answer = llm.cache.get("explain", key)
    origin = "cache"
    if answer is None:
        result = await llm.ask_json(system=EXPLAIN_SYSTEM, user=payload, schema=EXPLAIN_SCHEMA, max_tokens=3000,
                                    feature="explain", check=validate_explanation, what="explanation")
        answer, origin = result.value, "model"
        llm.cache.set("explain", key, answer)
    fix = None
    target = patch_target(answer, tb, root)
    if target is not None and answer.get("patch"):
        original = read_text(target)
        if original is not None:
            patched = apply_unified_diff(original, answer["patch"]["diff"])
            if patched is not None and patched != original:
                title = answer.get("summary") or answer["hypotheses"][0]["title"]
                fix = SuggestedFix(target, str(title)[:80], original, patched)
    return Explanation(explanation_markdown(tb, answer, root), key, origin, fix)
