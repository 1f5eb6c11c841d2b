"""Tests in bulk, headless (`haiku-lsp gen-tests`): which functions get a test (`find_targets`,
`project_root`, shards: `parse_shard`, `in_shard`), each one's test through the editor's own "Generate a
unit test" flow (`generate_one`; `run_interactive` in parallel, `run_batch` through the Message Batches
API with a `BatchState` kept for resuming), writing the passing ones (`apply_passing`), and the report
(`Outcome`, `Report`, `merge_reports`, `read_report`). No LSP.
"""

from haiku_lsp.gentests.batch import BatchState, run_batch, state_path
from haiku_lsp.gentests.discover import Target, find_targets, in_shard, parse_shard, project_root
from haiku_lsp.gentests.generate import apply_passing, generate_one, run_interactive
from haiku_lsp.gentests.report import Outcome, Report, merge_reports, read_report

__all__ = ["BatchState", "Outcome", "Report", "Target", "apply_passing", "find_targets", "generate_one",
           "in_shard", "merge_reports", "parse_shard", "project_root", "read_report", "run_batch",
           "run_interactive", "state_path"]
