"""End to end: code actions, commands and AI hover through pytest-lsp (VS Code capabilities) against
the fake Messages API, with real pytest and ruff runs."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

import pytest
from lsprotocol import types

from tests.fakes.anthropic_api import Reply
from tests.harness import apply_change, end_of

CALC = '''def add(a, b):
    """Return a + b.

    >>> add(2, 3)
    5
    """
    return a + b


def mean(values):
    total = sum(values)
    return total / len(values)


def unused():
    x = 1
    return 2
'''

# ruff's F841 on `x = 1` in `unused()` of CALC, as an editor passes it to haiku.fixDiagnostic.
UNUSED_X = {"range": {"start": {"line": 15, "character": 4}, "end": {"line": 15, "character": 5}},
            "message": "Local variable `x` is assigned to but never used", "source": "Ruff", "code": "F841"}

PASSING_TEST = {
    "test_path": "tests/test_calc.py",
    "code": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n\n\ndef test_add_negative():\n"
            "    assert add(-1, 1) == 0\n",
    "command": "pytest tests/test_calc.py",
    "notes": "Covers addition.",
}
FAILING_TEST = {**PASSING_TEST, "code": "from calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 5\n"}

TRACEBACK = '''2026-11-24 10:00:01 ERROR worker: job failed
Traceback (most recent call last):
  File "{ws}/main.py", line 4, in <module>
    print(mean([]))
          ^^^^^^^^
  File "{ws}/calc.py", line 12, in mean
    return total / len(values)
           ~~~~~~^~~~~~~~~~~~~
ZeroDivisionError: division by zero
'''

EXPLANATION = {
    "hypotheses": [
        {"title": "mean() is called with an empty list", "explanation": "len([]) is 0 (calc.py:12).",
         "confidence": "high"},
        {"title": "The caller should skip empty input", "explanation": "main.py:4 passes [].",
         "confidence": "medium"},
        {"title": "Integer division semantics", "explanation": "Unlikely.", "confidence": "low"},
    ],
    "reproduction": ["python -c 'from calc import mean; mean([])'"],
    "patch": {"path": "calc.py", "diff": (
        "--- a/calc.py\n+++ b/calc.py\n@@ -10,3 +10,5 @@\n def mean(values):\n+    if not values:\n"
        "+        return 0.0\n     total = sum(values)\n     return total / len(values)\n")},
    "summary": "Guard mean() against empty input",
}


def find(actions, prefix: str):
    matches = [a for a in actions or [] if a.title.startswith(prefix)]
    assert matches, f"no action starting with {prefix!r} in {[a.title for a in actions or []]}"
    return matches[0]


async def list_actions(s, uri, line, diagnostics=()):
    pos = types.Position(line=line, character=4)
    return await s.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=list(diagnostics))))


async def run(s, action):
    return await s.command(action.command.command, *action.command.arguments)


def edits_text(params: types.ApplyWorkspaceEditParams) -> str:
    out = []
    for change in params.edit.document_changes or []:
        if isinstance(change, types.TextDocumentEdit):
            out += [e.new_text for e in change.edits]
    return "\n".join(out)


def progress_kinds(s) -> list[str]:
    return [getattr(v, "kind", None) for values in s.client.progress_reports.values() for v in values]


async def test_commands_are_pinned_and_listing_makes_no_model_call(start_session, fake_anthropic):
    s = await start_session()
    uri = s.open("calc.py", CALC)
    diag = types.Diagnostic(range=types.Range(start=types.Position(line=15, character=4),
                                              end=types.Position(line=15, character=5)),
                            message="Local variable `x` is assigned to but never used", source="Ruff", code="F841")
    actions = await list_actions(s, uri, 15, [diag])
    titles = [a.title for a in actions]
    assert "Generate a unit test for `unused` with Haiku" in titles
    assert "Fix with Haiku: Local variable `x` is assigned to but never used" in titles
    assert fake_anthropic.requests == []
    commands = set(s.init_result.capabilities.execute_command_provider.commands)
    assert commands == {"haiku.generateTest", "haiku.explainStackTrace", "haiku.fixDiagnostic", "haiku.showStats",
                        "haiku.applySuggestedFix", "haiku.refactorFile", "haiku.didAcceptCompletion"}


async def test_generate_test_runs_it_and_applies_with_the_result(start_session, fake_anthropic, workspace):
    (workspace / "tests").mkdir()
    fake_anthropic.script(Reply(text=json.dumps(PASSING_TEST)))
    s = await start_session()
    uri = s.open("calc.py", CALC)
    result = await run(s, find(await list_actions(s, uri, 1), "Generate a unit test for `add`"))
    assert result["status"] == "applied" and result["summary"] == "2 passed", result
    [req] = fake_anthropic.message_requests
    assert "def add(a, b):" in req.last_user_text and "`add`" in req.last_user_text
    assert req.body["output_config"]["format"]["type"] == "json_schema"
    [edit] = s.applied_edits
    kinds = [type(c).__name__ for c in edit.edit.document_changes]
    assert kinds == ["CreateFile", "TextDocumentEdit"]
    assert edit.edit.document_changes[0].uri.endswith("/tests/test_calc.py")
    assert "def test_add_negative" in edits_text(edit)
    kinds = progress_kinds(s)
    assert kinds[0] == "begin" and "report" in kinds and kinds[-1] == "end"
    assert any("2 passed" in m.message for m in s.client.messages)

    # The same request on unchanged code costs nothing.
    again = await run(s, find(await list_actions(s, uri, 1), "Generate a unit test for `add`"))
    assert again["status"] == "applied" and again["origin"] == "cache"
    assert len(fake_anthropic.message_requests) == 1


@pytest.mark.skipif(os.name != "posix", reason="the recording interpreter is a shell script")
async def test_generated_tests_run_with_the_configured_test_python(start_session, fake_anthropic, workspace,
                                                                    tmp_path):
    # An interpreter outside the workspace that records every call, then is the real Python.
    calls = tmp_path / "test-python-calls.txt"
    wrapper = tmp_path / "bin" / "recording-python"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    (workspace / "tests").mkdir()
    fake_anthropic.script(Reply(text=json.dumps(PASSING_TEST)))
    # osSandbox off: the recording is a write outside the copy, which the OS sandbox forbids.
    s = await start_session(init_options={"testPython": str(wrapper), "osSandbox": False})
    uri = s.open("calc.py", CALC)
    result = await s.command("haiku.generateTest", uri, {"line": 1, "character": 4})
    assert result["status"] == "applied" and result["summary"] == "2 passed", result
    assert calls.exists(), "the generated test did not run with the configured testPython"
    assert "-m pytest" in calls.read_text() and "tests/test_calc.py" in calls.read_text()


async def test_a_failing_test_is_repaired_once_and_never_applied_silently(start_session, fake_anthropic, workspace):
    (workspace / "tests").mkdir()
    fake_anthropic.script(Reply(text=json.dumps(FAILING_TEST)))
    s = await start_session()
    s.answer_message_request = "Discard"
    uri = s.open("calc.py", CALC)
    result = await s.command("haiku.generateTest", uri, {"line": 1, "character": 4})
    assert result["status"] == "discarded" and "1 failed" in result["summary"]
    assert len(fake_anthropic.message_requests) == 2  # the first answer and one repair with the failure
    assert "assert 4 == 5" in fake_anthropic.message_requests[1].last_user_text
    assert s.applied_edits == []
    assert "Insert it anyway?" in s.message_requests[0].message

    s.answer_message_request = "Insert anyway"
    result = await s.command("haiku.generateTest", uri, {"line": 1, "character": 4})
    assert result["status"] == "applied" and "1 failed" in result["summary"]
    assert len(fake_anthropic.message_requests) == 4  # a failure is never cached


async def test_invalid_json_is_repaired_once_then_refused(start_session, fake_anthropic, workspace):
    fake_anthropic.script(Reply(text="Sure! Here is a test: def test_add(): assert add(1, 1) == 2"))
    s = await start_session()
    uri = s.open("calc.py", CALC)
    result = await s.command("haiku.generateTest", uri, {"line": 1, "character": 4})
    assert result["status"] == "error" and "JSON" in result["message"]
    assert len(fake_anthropic.message_requests) == 2
    assert "not usable" in fake_anthropic.message_requests[1].last_user_text
    assert s.applied_edits == []
    assert any("JSON" in m.message for m in s.client.messages)


async def test_explain_stack_trace_shows_a_document_and_offers_the_fix(start_session, fake_anthropic, workspace):
    (workspace / "calc.py").write_text(CALC)
    (workspace / "main.py").write_text("from calc import mean\n\n\nprint(mean([]))\n")
    fake_anthropic.script(Reply(text=json.dumps(EXPLANATION)))
    s = await start_session()
    log = s.open("crash.log", TRACEBACK.format(ws=workspace), language="log")
    actions = await list_actions(s, log, 5)
    result = await run(s, find(actions, "Explain this stack trace"))
    assert result["status"] == "ok", result
    [req] = fake_anthropic.message_requests
    assert "ZeroDivisionError" in req.last_user_text and "return total / len(values)" in req.last_user_text
    [shown] = s.client.shown_documents
    doc = (workspace.parent / "cache" / "docs").glob("explain-*.md")
    text = next(doc).read_text()
    assert shown.uri.endswith(".md") and "mean() is called with an empty list" in text and "calc.py:12" in text

    calc = s.open("calc.py", CALC)
    fix = find(await list_actions(s, calc, 11), "Apply suggested fix from Haiku")
    applied = await run(s, fix)
    assert applied["status"] == "applied"
    assert "if not values:" in edits_text(s.applied_edits[-1])
    assert s.applied_edits[-1].edit.document_changes[0].text_document.version == 1


async def test_fix_diagnostic_is_checked_by_ruff_and_applied_with_the_version(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text=json.dumps({"replacement": "def unused():\n    return 2",
                                                 "explanation": "Removed the unused variable."})))
    s = await start_session()
    uri = s.open("calc.py", CALC)
    diag = UNUSED_X
    result = await s.command("haiku.fixDiagnostic", uri, diag)
    assert result["status"] == "applied", result
    [req] = fake_anthropic.message_requests
    assert "F841" in req.last_user_text and "16 |     x = 1" in req.last_user_text
    [edit] = s.applied_edits
    change = edit.edit.document_changes[0]
    assert change.text_document.version == 1
    assert change.edits[0].range.start.line == 14 and change.edits[0].new_text == "def unused():\n    return 2"


async def test_a_fix_that_ruff_still_flags_is_repaired_then_refused(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text=json.dumps({"replacement": "def unused():\n    x = 2\n    return 2",
                                                 "explanation": "Changed the value."})))
    s = await start_session()
    uri = s.open("calc.py", CALC)
    diag = UNUSED_X
    result = await s.command("haiku.fixDiagnostic", uri, diag)
    assert result["status"] == "error" and "F841" in result["message"]
    assert len(fake_anthropic.message_requests) == 2 and s.applied_edits == []


async def test_a_document_edited_during_the_run_is_not_overwritten(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text=json.dumps({"replacement": "def unused():\n    return 2",
                                                 "explanation": "Removed it."}), ttft=1.0))
    s = await start_session()
    uri = s.open("calc.py", CALC)
    diag = UNUSED_X
    task = asyncio.ensure_future(s.command("haiku.fixDiagnostic", uri, diag))
    await asyncio.to_thread(fake_anthropic.wait_for_requests, 1)
    s.insert(uri, types.Position(line=0, character=0), "# edited\n")
    result = await task
    assert result["status"] == "stale" and s.applied_edits == []
    assert any("changed while Haiku was working" in m.message for m in s.client.messages)


async def test_hover_adds_the_explanation_within_budget_or_next_time(start_session, fake_anthropic):
    text = CALC + "\n\nprint(mean([1, 2]))\n"
    fake_anthropic.script(Reply(text=json.dumps({"summary": "Arithmetic mean; fails on empty input."})))
    s = await start_session(init_options={"hoverBudgetMs": 5000})
    uri = s.open("calc.py", text)
    where = end_of(text, "print(mea")
    hover = await s.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=where))
    assert "mean(values)" in hover.contents.value and "**Haiku:** Arithmetic mean" in hover.contents.value

    # Over budget: answered without it at once, fetched in the background, there the next time.
    fake_anthropic.reset()
    fake_anthropic.script(Reply(text=json.dumps({"summary": "Adds two numbers."}), ttft=1.5))
    s.client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"hoverBudgetMs": 100}))
    where = end_of(text, "def ad")
    t0 = time.monotonic()
    first = await s.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=where))
    assert "Haiku" not in first.contents.value and time.monotonic() - t0 < 1.5
    [req] = await asyncio.to_thread(fake_anthropic.wait_for_requests, 1)
    await asyncio.to_thread(fake_anthropic.wait_until_closed, req)
    await asyncio.sleep(0.2)
    second = await s.client.text_document_hover_async(types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=where))
    assert "**Haiku:** Adds two numbers." in second.contents.value
    assert len(fake_anthropic.message_requests) == 1


async def test_offline_test_from_doctests_and_offline_explanation(start_session, fake_anthropic, workspace):
    (workspace / "calc.py").write_text(CALC)
    (workspace / "main.py").write_text("from calc import mean\n\n\nprint(mean([]))\n")
    s = await start_session(key=False)
    uri = s.open("calc.py", CALC)
    result = await s.command("haiku.generateTest", uri, {"line": 1, "character": 4})
    assert result["status"] == "applied" and result["origin"] == "doctest" and result["summary"] == "1 passed"
    log = s.open("crash.log", TRACEBACK.format(ws=workspace), language="log")
    result = await s.command("haiku.explainStackTrace", log, {"start": {"line": 3, "character": 0},
                                                               "end": {"line": 3, "character": 0}})
    assert result["status"] == "ok" and result["origin"] == "offline"
    text = next((workspace.parent / "cache" / "docs").glob("explain-*.md")).read_text()
    assert "ZeroDivisionError" in text and "calc.py" in text
    assert fake_anthropic.requests == []


async def test_bad_command_arguments_get_a_clear_error(start_session):
    s = await start_session()
    result = await s.command("haiku.fixDiagnostic", "file:///nowhere.py", {"message": "x"})
    assert result["status"] == "error" and "diagnostic" in result["message"]
    result = await s.command("haiku.generateTest", 42)
    assert result["status"] == "error" and "uri" in result["message"]
    stats = await s.command("haiku.showStats")
    assert stats["status"] == "ok" and "usd" in stats


async def test_cancelling_the_progress_closes_the_stream_and_applies_nothing(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text=json.dumps({"replacement": "def unused():\n    return 2",
                                                 "explanation": "Removed it."}), ttft=0.2, chunk_chars=4,
                                chunk_delay=0.3))
    s = await start_session()
    uri = s.open("calc.py", CALC)
    diag = UNUSED_X
    task = asyncio.ensure_future(s.command("haiku.fixDiagnostic", uri, diag))
    [req] = await asyncio.to_thread(fake_anthropic.wait_for_requests, 1)
    token = next(iter(s.client.progress_reports))
    s.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(task, 20)
    assert result["status"] == "cancelled" and s.applied_edits == []
    await asyncio.to_thread(fake_anthropic.wait_until_closed, req)
    assert req.client_closed_at is not None and req.finished_at is None
    assert [getattr(v, "kind", None) for v in s.client.progress_reports[token]][-1] == "end"


async def test_offline_fix_is_ruffs_own_and_still_checked(start_session, fake_anthropic):
    s = await start_session(key=False)
    uri = s.open("calc.py", CALC)
    diag = UNUSED_X
    result = await s.command("haiku.fixDiagnostic", uri, diag)
    assert result["status"] == "applied" and result["origin"] == "ruff", result
    [edit] = s.applied_edits
    assert "x = 1" not in edits_text(edit) and "return 2" in edits_text(edit)
    not_ruff = {**diag, "source": "pyright", "code": "reportUnusedVariable"}
    result = await s.command("haiku.fixDiagnostic", uri, not_ruff)
    assert result["status"] == "no-fix"
    assert fake_anthropic.requests == []


async def test_a_fix_that_removes_a_line_leaves_no_empty_line(start_session):
    text = "import math\nimport os\n\n\ndef area(r):\n    return math.pi * r * r\n"
    s = await start_session(key=False)
    uri = s.open("shapes.py", text)
    unused_os = {"range": {"start": {"line": 1, "character": 7}, "end": {"line": 1, "character": 9}},
                 "message": "`os` imported but unused", "source": "ruff", "code": "F401"}
    result = await s.command("haiku.fixDiagnostic", uri, unused_os)
    assert result["status"] == "applied" and result["origin"] == "ruff", result
    [edit] = s.applied_edits[-1].edit.document_changes[0].edits
    lines = text.split("\n")
    apply_change(lines, edit.range, edit.new_text)
    assert "\n".join(lines) == "import math\n\n\ndef area(r):\n    return math.pi * r * r\n"
