"""Whole-file refactor: Sonnet plans, parallel Haiku workers execute, real tools validate, the planner
reviews what failed, and one result comes back for the caller to apply atomically (or not at all).

Entry point: `run_refactor` (pipeline.py); `PRESETS` are ready-made instructions.
"""

from haiku_lsp.refactor.outcome import PRESETS, RefactorResult, SubtaskOutcome, resolve_instruction
from haiku_lsp.refactor.pipeline import MAX_REVIEW_ROUNDS, run_refactor
from haiku_lsp.refactor.validate import ValidationReport

__all__ = ["MAX_REVIEW_ROUNDS", "PRESETS", "RefactorResult", "SubtaskOutcome", "ValidationReport",
           "resolve_instruction", "run_refactor"]
