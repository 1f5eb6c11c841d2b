"""textDocument/codeAction: listing is instant and makes no model call. Every action carries a
command (`haiku.*`); the work happens when the editor runs it (see `commands/`). Without the model for
the file (no key, a reached budget, an ignore rule) a diagnostic's fix is listed only when ruff has one
("Fix with ruff: ...")."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from haiku_lsp.lsp.compat import unstructure
from haiku_lsp.lsp.convert import code_point_position
from haiku_lsp.python import enclosing_definition
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

log = logging.getLogger(__name__)

KIND_TEST = types.CodeActionKind.Refactor + ".haiku.generateTest"
KIND_EXPLAIN = types.CodeActionKind.Refactor + ".haiku.explainStackTrace"
KIND_FIX = types.CodeActionKind.QuickFix + ".haiku"
KIND_REWRITE = types.CodeActionKind.RefactorRewrite
KINDS = [types.CodeActionKind.QuickFix, types.CodeActionKind.Refactor, KIND_FIX, KIND_TEST, KIND_EXPLAIN,
         KIND_REWRITE]


def _wanted(kind: str, only: list[str] | None) -> bool:
    return not only or any(kind == k or kind.startswith(k + ".") for k in only)


def register(server: HaikuLanguageServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(code_action_kinds=KINDS))
    def code_action(ls: HaikuLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction] | None:
        document = ls.workspace.text_documents.get(params.text_document.uri)
        if document is None:
            return None
        lines = split_lines(document.source)
        start = code_point_position(document, lines, params.range.start)
        end = code_point_position(document, lines, params.range.end)
        if start is None or end is None:
            return None
        only = [str(k) for k in params.context.only] if params.context.only else None
        uri = document.uri
        actions: list[types.CodeAction] = []

        suggested = ls.suggested_fixes.get(uri)
        if suggested is not None and suggested.matches(document.source) and _wanted(KIND_FIX, only):
            title = f"Apply suggested fix from Haiku: {suggested.title}"
            actions.append(types.CodeAction(title=title, kind=KIND_FIX, is_preferred=True, command=types.Command(
                title=title, command="haiku.applySuggestedFix", arguments=[uri])))

        from haiku_lsp.quickfix import has_offline_fix  # not on the start-up path

        # Without the model (no key, a budget reached, an ignored file) only ruff's own fixes exist.
        offline = ls.session.offline_for(document.path)
        for diagnostic in params.context.diagnostics:
            if not _wanted(KIND_FIX, only):
                break
            if offline and not has_offline_fix({"source": diagnostic.source, "code": diagnostic.code}):
                continue
            title = f"Fix with {'ruff' if offline else 'Haiku'}: {diagnostic.message.splitlines()[0][:80]}"
            actions.append(types.CodeAction(
                title=title, kind=KIND_FIX, diagnostics=[diagnostic],
                command=types.Command(title=title, command="haiku.fixDiagnostic",
                                      arguments=[uri, unstructure(ls, diagnostic)])))

        from haiku_lsp.tracebacks import find_traceback  # imported in the background after start-up

        if _wanted(KIND_EXPLAIN, only) and find_traceback(lines, start[0], end[0]) is not None:
            title = "Explain this stack trace" + (" (offline)" if offline else " with Haiku")
            actions.append(types.CodeAction(title=title, kind=KIND_EXPLAIN, command=types.Command(
                title=title, command="haiku.explainStackTrace",
                arguments=[uri, unstructure(ls, params.range)])))

        if document.language_id == "python" and _wanted(KIND_TEST, only):
            qualname = enclosing_definition(lines, start[0])
            if qualname is not None:
                how = "from its doctests or hypothesis" if offline else "with Haiku"
                title = f"Generate a unit test for `{qualname}` {how}"
                actions.append(types.CodeAction(title=title, kind=KIND_TEST, command=types.Command(
                    title=title, command="haiku.generateTest",
                    arguments=[uri, unstructure(ls, params.range.start)])))
        if document.language_id == "python" and _wanted(KIND_REWRITE, only):
            title = "Refactor file with a plan…"
            actions.append(types.CodeAction(title=title, kind=KIND_REWRITE, command=types.Command(
                title=title, command="haiku.refactorFile", arguments=[uri])))
        return actions
