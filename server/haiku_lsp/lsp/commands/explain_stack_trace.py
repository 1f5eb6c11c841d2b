"""`haiku.explainStackTrace(uri, range?)`: explain the Python traceback in the selection (or around
the cursor) in a Markdown document; a patch it proposes is kept for `haiku.applySuggestedFix`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pygls.uris import from_fs_path

from haiku_lsp.errors import ActionError
from haiku_lsp.lsp.commands.shared import argument, open_document, read_text, run_action
from haiku_lsp.lsp.progress import Reporter
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer


async def explain_stack_trace(ls: HaikuLanguageServer, *args: Any) -> dict:
    uri, range = argument(args, 0, str, "uri"), argument(args, 1, dict, "range", required=False)
    document = open_document(ls, uri)
    lines = split_lines(document.source)
    from haiku_lsp.tracebacks import explain, find_traceback, resolve_frames

    first = int(((range or {}).get("start") or {}).get("line", 0))
    last = int(((range or {}).get("end") or {}).get("line", len(lines) - 1))
    tb = find_traceback(lines, first, last)
    if tb is None:
        raise ActionError("no Python traceback in the selection or around the cursor")
    root = ls.root_dir()

    async def work(reporter: Reporter) -> dict:
        resolved = resolve_frames(tb, root, ls.session.ignore_rules)
        reporter.report(f"Explaining {resolved.exc_type}")
        result = await explain(resolved, ls.session.fast(), root=root, offline=ls.offline_for(None),
                               read_text=lambda p: read_text(ls, p))
        doc_uri = ls.write_doc(f"explain-{result.key[:12]}.md", result.markdown)
        await ls.open_doc(doc_uri)
        response = {"status": "ok", "document": doc_uri, "origin": result.origin}
        if result.fix is not None:
            fix_uri = from_fs_path(str(result.fix.path)) or ""
            ls.suggested_fixes[fix_uri] = result.fix
            response["suggestedFix"] = fix_uri
        return response

    return await run_action(ls, "Haiku: explaining a stack trace", work)
