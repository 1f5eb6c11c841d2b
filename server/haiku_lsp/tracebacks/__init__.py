"""Python tracebacks in any text (a log, a terminal dump, pytest's report): found and parsed (no I/O,
never raises), resolved to workspace files, explained by the model or offline as Markdown, with a
suggested fix when the model's patch applies cleanly. No LSP.

Others use: `find_traceback` (the traceback at or near a selection) or `parse_traceback`, then
`resolve_frames`, then `explain` (an `Explanation`, maybe with a `SuggestedFix`). The pieces
`explain` is made of are public too: what the model is sent (`model_payload`), the Markdown
(`offline_markdown`, `explanation_markdown`), the answer's schema and checks (`EXPLAIN_SCHEMA`,
`validate_explanation`, `apply_unified_diff`, `patch_target`) and a frame's numbered source
(`frame_source`).
"""

from haiku_lsp.tracebacks.explain import Explanation, SuggestedFix, explain
from haiku_lsp.tracebacks.frames import Frame, ParsedTraceback
from haiku_lsp.tracebacks.parse import find_traceback, parse_traceback
from haiku_lsp.tracebacks.patches import EXPLAIN_SCHEMA, apply_unified_diff, validate_explanation
from haiku_lsp.tracebacks.payload import model_payload, patch_target
from haiku_lsp.tracebacks.render import explanation_markdown, offline_markdown
from haiku_lsp.tracebacks.resolve import frame_source, is_library_path, resolve_frames

__all__ = [
    "EXPLAIN_SCHEMA", "Explanation", "Frame", "ParsedTraceback", "SuggestedFix", "apply_unified_diff", "explain",
    "explanation_markdown", "find_traceback", "frame_source", "is_library_path", "model_payload",
    "offline_markdown", "parse_traceback", "patch_target", "resolve_frames", "validate_explanation",
]
