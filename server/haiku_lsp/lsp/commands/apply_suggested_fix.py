"""`haiku.applySuggestedFix(uri)`: apply the patch a stack trace explanation suggested for this file,
unless the file changed since."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pygls.uris import to_fs_path

from haiku_lsp.errors import ActionError
from haiku_lsp.lsp.commands.shared import argument, read_text, tell_changed, whole_file_edit
from haiku_lsp.lsp.progress import apply_document_changes

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer


async def apply_suggested_fix(ls: HaikuLanguageServer, *args: Any) -> dict:
    uri = argument(args, 0, str, "uri")
    fix = ls.suggested_fixes.get(uri)
    if fix is None:
        raise ActionError("there is no suggested fix for this file")
    document = ls.workspace.text_documents.get(uri)
    current = document.source if document else read_text(ls, Path(to_fs_path(uri) or ""))
    if current is None or not fix.matches(current):
        ls.suggested_fixes.pop(uri, None)
        return tell_changed(ls, fix.path.name)
    edit = whole_file_edit(uri, document.version if document else None, current, fix.patched)
    applied, reason = await apply_document_changes(ls, f"Haiku: {fix.title}", [edit])
    if applied:
        ls.suggested_fixes.pop(uri, None)
    return {"status": "applied" if applied else "rejected", "message": reason}
