"""workspace/executeCommand: the `haiku.*` commands the code actions carry (and editors may call).

Each command reports `$/progress` (cancellable), runs an engine flow, and applies its result only
through `workspace/applyEdit` with the document version it started from; when the document changed
meanwhile nothing is applied and the user is told. Commands answer a small JSON object
(`{"status": ...}`), never raise for expected problems.

One module per command, each an `async def command(ls, *raw_json_args) -> dict` that can be called
without registering it; what they share is in `shared.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from haiku_lsp.lsp.commands.apply_suggested_fix import apply_suggested_fix
from haiku_lsp.lsp.commands.explain_stack_trace import explain_stack_trace
from haiku_lsp.lsp.commands.fix_diagnostic import fix_diagnostic
from haiku_lsp.lsp.commands.generate_test import generate_test
from haiku_lsp.lsp.commands.refactor_file import refactor_file
from haiku_lsp.lsp.commands.shared import Command, handler
from haiku_lsp.lsp.commands.show_stats import show_stats

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

__all__ = ["COMMANDS", "apply_suggested_fix", "explain_stack_trace", "fix_diagnostic", "generate_test",
           "refactor_file", "register", "show_stats"]

COMMANDS: dict[str, Command] = {
    "haiku.fixDiagnostic": fix_diagnostic,
    "haiku.generateTest": generate_test,
    "haiku.explainStackTrace": explain_stack_trace,
    "haiku.applySuggestedFix": apply_suggested_fix,
    "haiku.refactorFile": refactor_file,
    "haiku.showStats": show_stats,
}


def register(server: HaikuLanguageServer) -> None:
    """Register every command; an expected problem is answered as {"status": "error"} (see
    `shared.handler`). The outcome of the checks behind an answer goes into the usage stats."""
    for name, command in COMMANDS.items():
        server.command(name)(handler(_counted(name, command)))


def _counted(name: str, command: Command) -> Command:
    async def run(ls: HaikuLanguageServer, *args: Any) -> dict:
        result = await command(ls, *args)
        if isinstance(result, dict) and (passed := validation_passed(name, result)) is not None:
            ls.session.note_validation(name, passed)
        return result
    run.__name__ = command.__name__
    return run


def validation_passed(name: str, result: dict) -> bool | None:
    """Whether the checks of a model-backed answer passed (None: nothing was checked, or not known):
    a generated test's pytest run, a fix's ruff check (a fix that fails it is never offered), a
    refactor's validation."""
    status = result.get("status")
    if name == "haiku.generateTest":
        if status == "discarded":
            return False
        if status == "applied":
            summary = str(result.get("summary", ""))
            return "failed" not in summary and "error" not in summary
    elif name == "haiku.fixDiagnostic":
        return {"applied": True, "no-fix": False}.get(str(status))
    elif name == "haiku.refactorFile" and isinstance(result.get("ok"), bool):
        return bool(result["ok"])
    return None
