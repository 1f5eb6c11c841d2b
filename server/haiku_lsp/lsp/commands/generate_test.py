"""`haiku.generateTest(uri, position?)`: a unit test for the definition at the position, run with
pytest in a sandbox before it is offered; a failing one is only inserted when the user says so."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path

from haiku_lsp.errors import ActionError
from haiku_lsp.lsp.commands.shared import (
    argument,
    changed,
    open_document,
    read_text,
    run_action,
    tell_changed,
    whole_file_edit,
)
from haiku_lsp.lsp.progress import Reporter, apply_document_changes

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer


async def generate_test(ls: HaikuLanguageServer, *args: Any) -> dict:
    uri, position = argument(args, 0, str, "uri"), argument(args, 1, dict, "position", required=False)
    document = open_document(ls, uri)
    version = document.version
    root_s = ls.root_path()
    if not root_s or not document.path:
        raise ActionError("test generation needs a workspace folder")
    root, path = Path(root_s), Path(document.path)
    line = int((position or {}).get("line", 0))

    async def work(reporter: Reporter) -> dict:
        from haiku_lsp.testgen import propose_test

        proposal = await propose_test(
            ls.session.fast(), root=root, path=path, source=document.source, line=line,
            offline=ls.offline_for(document.path), read_text=lambda p: read_text(ls, p),
            test_timeout=ls.session.settings.test_timeout_s, python=ls.session.test_python(),
            os_sandbox=ls.session.os_sandbox(),
            report=reporter.report)  # no `ignore`: the sandbox is local, it gets all files
        rel = proposal.test_path.relative_to(root).as_posix()
        if not proposal.result.ok:
            ls.write_doc(f"test-{proposal.symbol.qualname}.md", (
                f"# Generated test for `{proposal.symbol.qualname}` fails\n\n{proposal.result.summary}\n\n"
                f"```python\n{proposal.code}\n```\n\n```\n{proposal.result.output}\n```\n"))
            async def ask(message: str, *titles: str) -> str | None:
                choice = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
                    type=types.MessageType.Warning, message=message,
                    actions=[types.MessageActionItem(t) for t in titles]))
                return choice.title if choice is not None else None

            name, summary = proposal.symbol.qualname, proposal.result.summary
            choice = await ask(f"Haiku: the generated test for {name} fails ({summary}) even after one repair. "
                               "Insert it anyway?", "Insert anyway", "Show failure", "Discard")
            if choice == "Show failure":
                # The test stays one click away: asked again once the failure is shown, no new model call.
                await ls.open_doc(f"test-{name}.md")
                choice = await ask(f"Haiku: insert the failing test for {name} ({summary})?",
                                   "Insert anyway", "Discard")
            if choice != "Insert anyway":
                return {"status": "discarded", "summary": proposal.result.summary}
        if changed(ls, uri, version):
            return tell_changed(ls, path.name)
        test_uri = from_fs_path(str(proposal.test_path)) or ""
        open_test = ls.workspace.text_documents.get(test_uri)
        old = read_text(ls, proposal.test_path)
        changes: list[Any] = []
        if old is None:
            changes.append(types.CreateFile(uri=test_uri, options=types.CreateFileOptions(ignore_if_exists=True)))
            old = ""
        changes.append(whole_file_edit(test_uri, open_test.version if open_test else None, old,
                                       proposal.content))
        applied, reason = await apply_document_changes(ls, f"Haiku: test for {proposal.symbol.qualname}",
                                                       changes)
        if not applied:
            return {"status": "rejected", "message": reason}
        ls.show(f"Haiku: test for {proposal.symbol.qualname} added to {rel} ({proposal.result.summary}).",
                types.MessageType.Info)
        return {"status": "applied", "summary": proposal.result.summary, "path": rel,
                "origin": proposal.origin, "timings": proposal.timings}

    return await run_action(ls, "Haiku: generating a unit test", work)
