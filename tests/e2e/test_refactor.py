"""End to end through the editor: the "Refactor file with a plan…" action and `haiku.refactorFile`,
against the fake Messages API (planner and workers scripted), and the headless CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

import pytest
from lsprotocol import types

from tests.fakes.anthropic_api import Reply
from tests.harness import API_KEY

MODULE = '''def add(a, b):
    return a + b


def mean(values):
    return sum(values) / len(values)
'''

PLAN = {"notes": "Hint both functions.", "subtasks": [
    {"id": "s1", "title": "Hint add", "target": {"symbols": ["add"], "lines": []},
     "instructions": "Add type hints.", "depends_on": []},
    {"id": "s2", "title": "Hint mean", "target": {"symbols": ["mean"], "lines": []},
     "instructions": "Add type hints.", "depends_on": []},
]}
WORKERS = {
    "s1": {"replacement": "def add(a: int, b: int) -> int:\n    return a + b", "imports": [], "notes": "hinted"},
    "s2": {"replacement": "def mean(values: list[float]) -> float:\n    return sum(values) / len(values)",
           "imports": [], "notes": "hinted"},
}


TESTS = "from calc import add, mean\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n" \
        "def test_mean():\n    assert mean([1, 3]) == 2\n"


@pytest.fixture(autouse=True)
def calc_tests(workspace):
    """The module's own tests: without them a refactor is not validated (and the editor asks)."""
    (workspace / "tests").mkdir()
    (workspace / "tests" / "test_calc.py").write_text(TESTS)


def script(fake, plan=PLAN, ttft: float = 0.0):
    fake.script(Reply(text=json.dumps(plan)), match=lambda body: body["model"] == "claude-sonnet-4-6")
    for sid, answer in WORKERS.items():
        fake.script(Reply(text=json.dumps(answer), ttft=ttft), match=f"Subtask {sid}:")


async def test_refactor_action_applies_one_edit_with_the_version(start_session, fake_anthropic, workspace):
    script(fake_anthropic)
    s = await start_session()
    uri = s.open("calc.py", MODULE)
    pos = types.Position(line=0, character=0)
    actions = await s.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri), range=types.Range(start=pos, end=pos),
        context=types.CodeActionContext(diagnostics=[])))
    [action] = [a for a in actions if a.title == "Refactor file with a plan…"]
    assert action.kind == types.CodeActionKind.RefactorRewrite and fake_anthropic.requests == []
    result = await s.command(action.command.command, *action.command.arguments, "add type hints")
    assert result["status"] == "applied" and result["ok"], result
    [edit] = s.applied_edits
    change = edit.edit.document_changes[0]
    assert change.text_document.version == 1
    new_text = "\n".join(e.new_text for e in change.edits)
    assert "def add(a: int, b: int) -> int:" in new_text and "def mean(values: list[float]) -> float:" in new_text
    models = [r.model for r in fake_anthropic.message_requests]
    assert models.count("claude-sonnet-4-6") == 1 and models.count("claude-haiku-4-5") == 2
    [shown] = s.client.shown_documents
    summary = next((workspace.parent / "cache" / "docs").glob("refactor-*.md")).read_text()
    assert "Hint add" in summary and "Hint mean" in summary and shown.uri.endswith(".md")
    kinds = [getattr(v, "kind", None) for values in s.client.progress_reports.values() for v in values]
    assert kinds[0] == "begin" and "report" in kinds and kinds[-1] == "end"


async def test_without_an_instruction_the_user_picks_a_preset(start_session, fake_anthropic):
    script(fake_anthropic)
    s = await start_session()
    s.answer_message_request = "Add type hints"
    uri = s.open("calc.py", MODULE)
    result = await s.command("haiku.refactorFile", uri)
    assert result["status"] == "applied"
    assert [a.title for a in s.message_requests[0].actions] == [
        "Add type hints", "Split long functions", "Improve names", "Modernise idioms"]
    planner = [r for r in fake_anthropic.message_requests if r.model == "claude-sonnet-4-6"][0]
    assert "type hints" in planner.last_user_text


async def test_an_edit_during_the_run_is_not_overwritten(start_session, fake_anthropic):
    script(fake_anthropic, ttft=1.0)
    s = await start_session()
    uri = s.open("calc.py", MODULE)
    task = asyncio.ensure_future(s.command("haiku.refactorFile", uri, "add type hints"))
    await asyncio.to_thread(fake_anthropic.wait_for_requests, 2)
    s.insert(uri, types.Position(line=0, character=0), "# mine\n")
    result = await asyncio.wait_for(task, 60)
    assert result["status"] == "stale" and s.applied_edits == []


def test_headless_cli_prints_the_diff_and_applies(fake_anthropic, workspace, tmp_path):
    script(fake_anthropic)
    (workspace / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    target = workspace / "calc.py"
    target.write_text(MODULE)
    env = {**os.environ, "ANTHROPIC_BASE_URL": fake_anthropic.base_url, "ANTHROPIC_API_KEY": API_KEY,
           "HAIKU_LSP_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-m", "haiku_lsp", "refactor", str(target), "-m", "add type hints",
                          "--apply"], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "+def add(a: int, b: int) -> int:" in out.stdout and "Hint mean" in out.stdout
    assert "def mean(values: list[float]) -> float:" in target.read_text()
    missing_key = {k: v for k, v in env.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
    out = subprocess.run([sys.executable, "-m", "haiku_lsp", "refactor", str(target), "-m", "x"],
                         capture_output=True, text=True, env=missing_key, timeout=120)
    assert out.returncode == 2 and "ANTHROPIC_API_KEY" in out.stderr


async def test_cancelling_mid_run_applies_nothing_and_closes_the_streams(start_session, fake_anthropic):
    fake_anthropic.script(Reply(text=json.dumps(PLAN)), match=lambda body: body["model"] == "claude-sonnet-4-6")
    for sid, answer in WORKERS.items():
        fake_anthropic.script(Reply(text=json.dumps(answer), ttft=0.2, chunk_chars=4, chunk_delay=0.3),
                              match=f"Subtask {sid}:")
    s = await start_session()
    uri = s.open("calc.py", MODULE)
    task = asyncio.ensure_future(s.command("haiku.refactorFile", uri, "add type hints"))
    requests = await asyncio.to_thread(fake_anthropic.wait_for_requests, 3)
    workers = [r for r in requests if r.model == "claude-haiku-4-5"]
    token = next(iter(s.client.progress_reports))
    s.client.window_work_done_progress_cancel(types.WorkDoneProgressCancelParams(token=token))
    result = await asyncio.wait_for(task, 30)
    assert result["status"] == "cancelled" and s.applied_edits == []
    for req in workers:
        await asyncio.to_thread(fake_anthropic.wait_until_closed, req)
        assert req.client_closed_at is not None and req.finished_at is None
