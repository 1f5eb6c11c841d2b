"""Real tools run on the user's code without touching the workspace: any command in a sandboxed
temporary copy (`run_in_sandbox`: own process group, scrubbed environment, timeout, the copy always
deleted, and confined by the OS unless the user opted out: bubblewrap on Linux, sandbox-exec on macOS,
see `os_sandbox_status`), pytest there with its result summarised (`run_pytest` -> `RunResult`), and
ruff on a text that may not be saved (`ruff_check`). No LSP; user code is never imported in-process.
"""

from haiku_lsp.tools.os_sandbox import OPT_OUT, confine, os_sandbox_status, require_os_sandbox
from haiku_lsp.tools.pytest_result import RunResult, pytest_result, useful_output
from haiku_lsp.tools.ruff import LintIssue, missing_ruff, ruff_available, ruff_check
from haiku_lsp.tools.sandbox import (
    SKIP_DIRS,
    ProcessResult,
    copy_workspace,
    project_python,
    run_in_sandbox,
    run_pytest,
    scrubbed_env,
)

__all__ = ["OPT_OUT", "SKIP_DIRS", "LintIssue", "ProcessResult", "RunResult", "confine", "copy_workspace",
           "missing_ruff", "os_sandbox_status", "project_python", "require_os_sandbox",
           "pytest_result", "ruff_available", "ruff_check", "run_in_sandbox", "run_pytest", "scrubbed_env",
           "useful_output"]
