"""workspace/executeCommand: the `haiku.*` commands the code actions carry (and editors may call).

Each command reports `$/progress` (cancellable), runs an engine flow, and applies its result only
through `workspace/applyEdit` with the document version it started from; when the document changed
meanwhile nothing is applied and the user is told. Commands answer a small JSON object
(`{"status": ...}`), never raise for expected problems.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from haiku_lsp import quickfix
from haiku_lsp.llm.provider import ProviderError
from haiku_lsp.llm.structured import ActionError
from haiku_lsp.lsp.progress import Reporter, apply_document_changes, run_cancellable, text_edit, work_done
from haiku_lsp.text import split_lines

if TYPE_CHECKING:
    from haiku_lsp.lsp.server import HaikuLanguageServer

log = logging.getLogger(__name__)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def whole_file_edit(uri: str, version: int | None, old: str, new: str) -> types.TextDocumentEdit:
    """Replace only the lines that differ (a small edit keeps the editor's undo and folds intact)."""
    a, b = split_lines(old), split_lines(new)
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a, end_b = end_a - 1, end_b - 1
    if end_a > start:
        rng = types.Range(start=types.Position(line=start, character=0),
                          end=types.Position(line=end_a - 1, character=_utf16(a[end_a - 1])))
        text = "\n".join(b[start:end_b])
    else:  # pure insertion before line `start`
        rng = types.Range(start=types.Position(line=start, character=0),
                          end=types.Position(line=start, character=0))
        text = "".join(line + "\n" for line in b[start:end_b])
    if end_a > start and end_b == start:  # pure deletion: take the line break too
        rng = types.Range(start=types.Position(line=start, character=0),
                          end=types.Position(line=end_a, character=0))
        text = ""
    return types.TextDocumentEdit(
        text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version),
        edits=[types.TextEdit(range=rng, new_text=text)])


def _arg(args: tuple, index: int, kind: type, name: str, required: bool = True) -> Any:
    value = args[index] if index < len(args) else None
    if value is None and not required:
        return None
    if not isinstance(value, kind):
        raise ActionError(f"argument {index + 1} ({name}) should be a {kind.__name__}, got {value!r:.60}")
    return value


def register(server: HaikuLanguageServer) -> None:
    def command(name: str) -> Callable:
        """Register `fn(ls, *args)`: raw JSON arguments (pygls would need exact typed arity), and
        expected problems answered as {"status": "error"} with a message shown, never a crash."""
        def decorate(fn: Callable[..., Awaitable[dict]]) -> Callable:
            async def handler(ls, *args):  # noqa: ANN001 - pygls injects the server by this name
                try:
                    return await fn(ls, *args)
                except ActionError as err:
                    ls.show(f"Haiku: {err}", types.MessageType.Warning)
                    return {"status": "error", "message": str(err)}
            handler.__name__ = fn.__name__
            server.command(name)(handler)
            return fn
        return decorate

    async def run_action(ls: HaikuLanguageServer, title: str,
                         work: Callable[[Reporter], Awaitable[dict]]) -> dict:
        try:
            async with work_done(ls, title) as reporter:
                result, cancelled = await run_cancellable(reporter, work(reporter))
        except ActionError as err:
            ls.show(f"Haiku: {err}", types.MessageType.Warning)
            return {"status": "error", "message": str(err)}
        except ProviderError as err:
            ls.report_provider_error(err, action=True)
            return {"status": "error", "message": str(err)}
        if cancelled:
            ls.show(f"Haiku: {title} cancelled; nothing was changed.", types.MessageType.Info)
            return {"status": "cancelled"}
        return result or {"status": "ok"}

    def open_document(ls: HaikuLanguageServer, uri: str):
        document = ls.workspace.text_documents.get(uri)
        if document is None:
            raise ActionError(f"{uri} is not open in the editor")
        return document

    def read_text(ls: HaikuLanguageServer, path: Path) -> str | None:
        document = ls.workspace.text_documents.get(from_fs_path(str(path)) or "")
        if document is not None:
            return document.source
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    def changed(ls: HaikuLanguageServer, uri: str, version: int | None) -> bool:
        document = ls.workspace.text_documents.get(uri)
        return document is None or document.version != version

    def tell_changed(ls: HaikuLanguageServer, what: str) -> dict:
        ls.show(f"Haiku: {what} changed while Haiku was working; nothing was applied. Run the action again.",
                types.MessageType.Warning)
        return {"status": "stale"}

    @command("haiku.fixDiagnostic")
    async def fix_diagnostic(ls: HaikuLanguageServer, *args: Any) -> dict:
        uri, diagnostic = _arg(args, 0, str, "uri"), _arg(args, 1, dict, "diagnostic")
        if not isinstance(diagnostic.get("range"), dict) or "message" not in diagnostic:
            raise ActionError("argument 2 (diagnostic) should be an LSP Diagnostic with a range and a message")
        document = open_document(ls, uri)
        version, lines = document.version, split_lines(document.source)
        path = Path(document.path)
        root = Path(ls.root_path()) if ls.root_path() else None
        message = str(diagnostic.get("message", ""))[:60]

        async def work(reporter: Reporter) -> dict:
            offline = ls.offline_for(document.path)
            reporter.report("Asking Haiku for a fix" if not offline else "Trying ruff's own fix")
            proposal = await quickfix.propose_fix(
                provider=ls.provider, cache=ls.cache, model=ls.settings.fast_model,
                timeout=ls.settings.action_timeout_s, lines=lines, path=path, root=root,
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
            return {"status": "applied", "origin": proposal.origin, "explanation": proposal.explanation}

        return await run_action(ls, "Haiku: fixing a diagnostic", work)

    @command("haiku.generateTest")
    async def generate_test(ls: HaikuLanguageServer, *args: Any) -> dict:
        uri, position = _arg(args, 0, str, "uri"), _arg(args, 1, dict, "position", required=False)
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
                provider=ls.provider, cache=ls.cache, model=ls.settings.fast_model,
                timeout=ls.settings.action_timeout_s, root=root, path=path, source=document.source, line=line,
                offline=ls.offline_for(document.path), read_text=lambda p: read_text(ls, p),
                test_timeout=ls.settings.test_timeout_s, report=reporter.report)  # the sandbox is local: all files
            rel = proposal.test_path.relative_to(root).as_posix()
            if not proposal.result.ok:
                ls.write_doc(f"test-{proposal.symbol.qualname}.md", (
                    f"# Generated test for `{proposal.symbol.qualname}` fails\n\n{proposal.result.summary}\n\n"
                    f"```python\n{proposal.code}\n```\n\n```\n{proposal.result.output}\n```\n"))
                choice = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
                    type=types.MessageType.Warning,
                    message=(f"Haiku: the generated test for {proposal.symbol.qualname} fails "
                             f"({proposal.result.summary}) even after one repair. Insert it anyway?"),
                    actions=[types.MessageActionItem("Insert anyway"), types.MessageActionItem("Show failure"),
                             types.MessageActionItem("Discard")]))
                if choice is not None and choice.title == "Show failure":
                    await ls.open_doc(f"test-{proposal.symbol.qualname}.md")
                if choice is None or choice.title != "Insert anyway":
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

    @command("haiku.explainStackTrace")
    async def explain_stack_trace(ls: HaikuLanguageServer, *args: Any) -> dict:
        uri, range = _arg(args, 0, str, "uri"), _arg(args, 1, dict, "range", required=False)
        document = open_document(ls, uri)
        lines = split_lines(document.source)
        from haiku_lsp.tracebacks import explain, find_traceback, resolve_frames

        first = int(((range or {}).get("start") or {}).get("line", 0))
        last = int(((range or {}).get("end") or {}).get("line", len(lines) - 1))
        tb = find_traceback(lines, first, last)
        if tb is None:
            raise ActionError("no Python traceback in the selection or around the cursor")
        root = Path(ls.root_path()) if ls.root_path() else None

        async def work(reporter: Reporter) -> dict:
            resolved = resolve_frames(tb, root, ls.ignore_rules)
            reporter.report(f"Explaining {resolved.exc_type}")
            result = await explain(resolved, provider=ls.provider, cache=ls.cache, model=ls.settings.fast_model,
                                   timeout=ls.settings.action_timeout_s, root=root,
                                   offline=not ls.provider.available, read_text=lambda p: read_text(ls, p))
            doc_uri = ls.write_doc(f"explain-{result.key[:12]}.md", result.markdown)
            await ls.open_doc(doc_uri)
            response = {"status": "ok", "document": doc_uri, "origin": result.origin}
            if result.fix is not None:
                fix_uri = from_fs_path(str(result.fix.path)) or ""
                ls.suggested_fixes[fix_uri] = result.fix
                response["suggestedFix"] = fix_uri
            return response

        return await run_action(ls, "Haiku: explaining a stack trace", work)

    @command("haiku.applySuggestedFix")
    async def apply_suggested_fix(ls: HaikuLanguageServer, *args: Any) -> dict:
        uri = _arg(args, 0, str, "uri")
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

    @command("haiku.refactorFile")
    async def refactor_file(ls: HaikuLanguageServer, *args: Any) -> dict:
        from haiku_lsp.refactor import PRESETS, run_refactor

        uri, instruction = _arg(args, 0, str, "uri"), _arg(args, 1, str, "instruction", required=False)
        document = open_document(ls, uri)
        if document.language_id != "python" or not document.path:
            raise ActionError("whole-file refactors work on Python files")
        if not instruction or not instruction.strip():
            choice = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
                type=types.MessageType.Info, message="Haiku: how should this file be refactored?",
                actions=[types.MessageActionItem(title) for title in PRESETS]))
            if choice is None:
                return {"status": "cancelled"}
            instruction = PRESETS[choice.title]
        if ls.offline_for(document.path):
            raise ActionError("refactors need the model: set ANTHROPIC_API_KEY (and the file must not be ignored)")
        version, text = document.version, document.source
        root = Path(ls.root_path()) if ls.root_path() else None

        async def work(reporter: Reporter) -> dict:
            def report(phase: str, done: int, total: int) -> None:
                message = f"{phase} {done}/{total}" if total else phase
                reporter.report(message, int(100 * done / total) if total else None)

            result = await run_refactor(
                provider=ls.provider, cache=ls.cache, text=text, path=Path(document.path), root=root,
                instruction=instruction, planner_model=ls.settings.planner_model,
                worker_model=ls.settings.fast_model, timeout=ls.settings.action_timeout_s,
                test_timeout=ls.settings.test_timeout_s, python=ls.settings.test_python or None, report=report)
            doc_uri = ls.write_doc(f"refactor-{Path(document.path).stem}.md", result.summary_markdown)
            await ls.open_doc(doc_uri)
            if result.new_text is None or result.new_text == text:
                ls.show("Haiku: the refactor changed nothing (see the summary).", types.MessageType.Info)
                return {"status": "unchanged", "document": doc_uri, "ok": result.ok}
            if not result.ok:
                choice = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
                    type=types.MessageType.Warning,
                    message="Haiku: the refactored file does not pass validation (see the summary). Apply it anyway?",
                    actions=[types.MessageActionItem("Apply anyway"), types.MessageActionItem("Discard")]))
                if choice is None or choice.title != "Apply anyway":
                    return {"status": "discarded", "document": doc_uri, "ok": False}
            if changed(ls, uri, version):
                return tell_changed(ls, Path(document.path).name)
            edit = whole_file_edit(uri, version, text, result.new_text)
            applied, reason = await apply_document_changes(ls, f"Haiku: {instruction[:60]}", [edit])
            if not applied:
                return {"status": "rejected", "message": reason, "document": doc_uri}
            return {"status": "applied", "document": doc_uri, "ok": result.ok}

        return await run_action(ls, "Haiku: refactoring the file", work)

    @command("haiku.showStats")
    async def show_stats(ls: HaikuLanguageServer, *args: Any) -> dict:
        stats = ls.stats()
        doc_uri = ls.write_doc("stats.md", ls.stats_markdown(stats))
        await ls.open_doc(doc_uri)
        return {"status": "ok", "document": doc_uri, **stats}
