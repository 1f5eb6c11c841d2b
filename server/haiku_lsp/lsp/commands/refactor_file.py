"""`haiku.refactorFile(uri, instruction?)`: a planned whole-file refactor, validated (tests, ruff)
before it is applied; without an instruction the user picks a preset. A result that failed a check,
or that a check could not look at (no tests, no ruff, no sandbox), is applied only when the user says
"Apply anyway"."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from haiku_lsp.errors import ActionError
from haiku_lsp.lsp.commands.shared import (
    argument,
    changed,
    open_document,
    run_action,
    tell_changed,
    whole_file_edit,
)
from haiku_lsp.lsp.progress import Reporter, apply_document_changes

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer


async def refactor_file(ls: HaikuLanguageServer, *args: Any) -> dict:
    from haiku_lsp.refactor import PRESETS, run_refactor

    uri, instruction = argument(args, 0, str, "uri"), argument(args, 1, str, "instruction", required=False)
    document = open_document(ls, uri)
    if document.language_id != "python" or not document.path:
        raise ActionError("whole-file refactors work on Python files")
    if (problem := ls.session.budget_problem()) is not None:
        raise ActionError(f"refactors need the model, and {problem}")
    if ls.session.offline_for(document.path):
        raise ActionError("refactors need the model: set ANTHROPIC_API_KEY (and the file must not be ignored)")
    if not instruction or not instruction.strip():
        choice = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
            type=types.MessageType.Info, message="Haiku: how should this file be refactored?",
            actions=[types.MessageActionItem(title) for title in PRESETS]))
        if choice is None:
            return {"status": "cancelled"}
        instruction = PRESETS[choice.title]
    version, text = document.version, document.source
    root = ls.root_dir()

    async def work(reporter: Reporter) -> dict:
        def report(phase: str, done: int, total: int) -> None:
            message = f"{phase} {done}/{total}" if total else phase
            reporter.report(message, int(100 * done / total) if total else None)

        session = ls.session
        result = await run_refactor(
            session.planner(), session.fast(), text=text, path=Path(document.path), root=root,
            instruction=instruction, test_timeout=session.settings.test_timeout_s, python=session.test_python(),
            concurrency=session.settings.refactor_concurrency, os_sandbox=session.os_sandbox(), report=report)
        doc_uri = ls.write_doc(f"refactor-{Path(document.path).stem}.md", result.summary_markdown)
        await ls.open_doc(doc_uri)
        if result.new_text is None or result.new_text == text:
            ls.show("Haiku: the refactor changed nothing (see the summary).", types.MessageType.Info)
            return {"status": "unchanged", "document": doc_uri, "ok": result.ok}
        question = (None if result.validated else
                    "Haiku: the refactored file does not pass validation (see the summary). Apply it anyway?"
                    if not (result.ok and result.validation.passed) else
                    f"Haiku: the refactored file could not be fully checked (not checked: "
                    f"{'; '.join(result.unchecked)}). Apply it anyway?")
        if question:
            choice = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
                type=types.MessageType.Warning, message=question,
                actions=[types.MessageActionItem("Apply anyway"), types.MessageActionItem("Discard")]))
            if choice is None or choice.title != "Apply anyway":
                return {"status": "discarded", "document": doc_uri, "ok": result.ok, "validated": False,
                        "unchecked": result.unchecked}
        if changed(ls, uri, version):
            return tell_changed(ls, Path(document.path).name)
        edit = whole_file_edit(uri, version, text, result.new_text)
        applied, reason = await apply_document_changes(ls, f"Haiku: {instruction[:60]}", [edit])
        if not applied:
            return {"status": "rejected", "message": reason, "document": doc_uri}
        return {"status": "applied", "document": doc_uri, "ok": result.ok, "validated": result.validated,
                "unchecked": result.unchecked}

    return await run_action(ls, "Haiku: refactoring the file", work)
