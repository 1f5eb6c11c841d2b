"""Whole-file refactor: Sonnet plans, parallel Haiku workers execute, real tools validate, the planner
reviews what failed, and one result comes back for the caller to apply atomically (or not at all).

Entry point: `run_refactor` (pipeline.py); `PRESETS` are ready-made instructions.
"""

from .outcome import PRESETS, RefactorResult, SubtaskOutcome, resolve_instruction
from .pipeline import MAX_REVIEW_ROUNDS, run_refactor
from .validate import ValidationReport

__all__ = ["MAX_REVIEW_ROUNDS", "PRESETS", "RefactorResult", "SubtaskOutcome", "ValidationReport",
           "resolve_instruction", "run_refactor"]
