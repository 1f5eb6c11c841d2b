"""`haiku.fixDiagnostic(uri, diagnostic)`: a fix for one diagnostic, checked by ruff, applied with the
version of the document it was made for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from haiku_lsp.errors import ActionError
from haiku_lsp.lsp.commands.shared import argument, changed, open_document, run_action, tell_changed
from haiku_lsp.lsp.progress import Reporter, apply_document_changes, text_edit
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer


async def fix_diagnostic(ls: HaikuLanguageServer, *args: Any) -> dict:
    uri, diagnostic = argument(args, 0, str, "uri"), argument(args, 1, dict, "diagnostic")
    if not isinstance(diagnostic.get("range"), dict) or "message" not in diagnostic:
        raise ActionError("argument 2 (diagnostic) should be an LSP Diagnostic with a range and a message")
    document = open_document(ls, uri)
    version, lines = document.version, split_lines(document.source)
    path = Path(document.path)
    root = ls.root_dir()
    message = str(diagnostic.get("message", ""))[:60]

    async def work(reporter: Reporter) -> dict:
        from haiku_lsp import quickfix  # not on the start-up path

        offline = ls.offline_for(document.path)
        reporter.report("Asking Haiku for a fix" if not offline else "Trying ruff's own fix")
        proposal = await quickfix.propose_fix(
            ls.session.fast(), lines=lines, path=path, root=root,
            shown_path=ls.shown_path(document.path), diagnostic=diagnostic, offline=offline)
        if proposal is None:
            ls.show(f"Haiku: no checked fix for “{message}”" + (" offline" if offline else ""),
                    types.MessageType.Info)
            return {"status": "no-fix"}
        if changed(ls, uri, version):
            return tell_changed(ls, Path(document.path).name)
        edit = types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
            edits=[text_edit(document, lines, proposal.scope.start, proposal.scope.end, proposal.replacement)])
        applied, reason = await apply_document_changes(ls, f"Haiku: fix {message}", [edit])
        if not applied:
            return {"status": "rejected", "message": reason}
        ls.show(f"Haiku: fixed “{message}” ({proposal.check.sentence()}).",
                types.MessageType.Warning if proposal.check.not_checked else types.MessageType.Info)
        return {"status": "applied", "origin": proposal.origin, "explanation": proposal.explanation,
                "checked": list(proposal.check.checked), "not_checked": list(proposal.check.not_checked)}

    return await run_action(ls, "Haiku: fixing a diagnostic", work)
