"""Checks that check, on real projects: more-itertools 10.5.0 and toolz 1.0.0 built from their PyPI
sdists (with their own tests), through the real server, the real SDK against the local Messages API,
real ruff and real pytest (in the OS sandbox). A model that answers well comes through; one that
answers badly is caught; a check that cannot run says so and never reports success."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import KEY, PLANTED, real_workspace
from tests.fakes.anthropic_api import Reply

MI = "more_itertools/more.py"


def lines_of(path: Path) -> list[str]:
    return path.read_text().split("\n")


def function_text(path: Path, name: str) -> tuple[int, int, str]:
    """(0-based first line, last line, text) of the top-level function `name` in `path`."""
    import ast

    text = path.read_text()
    node = next(n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef) and n.name == name)
    lines = text.split("\n")
    return node.lineno - 1, node.end_lineno - 1, "\n".join(lines[node.lineno - 1:node.end_lineno])


# --- quick fixes --------------------------------------------------------------------------------------

@pytest.fixture
def workspace(tmp_path, sdists, request) -> Path:
    name = getattr(request, "param", "more-itertools")
    return real_workspace(sdists, name, tmp_path / "ws")


def b904(workspace: Path) -> tuple[dict, str, str]:
    """ruff's B904 in more_itertools.interleave_evenly (not selected by the project: the editor's own ruff
    settings report it), a fix that only adds a comment, and a real one."""
    lines = lines_of(workspace / MI)
    line = next(i for i, t in enumerate(lines)
                if "raise ValueError(" in t and "determined automatically" in lines[i + 1])
    _, _, scope = function_text(workspace / MI, "interleave_evenly")
    diagnostic = {"range": {"start": {"line": line, "character": 12}, "end": {"line": line + 3, "character": 13}},
                  "message": "Within an `except` clause, raise exceptions with `raise ... from err`",
                  "source": "Ruff", "code": "B904"}
    comment_only = scope.replace("        except TypeError:\n", "        except TypeError:  # B904: chained\n")
    real = scope.replace("                'Specify them with the lengths keyword.'\n            )\n",
                         "                'Specify them with the lengths keyword.'\n            ) from None\n")
    assert comment_only != scope and real != scope
    return diagnostic, comment_only, real


async def test_a_fix_for_an_unselected_ruff_rule_is_checked_with_that_rule(start_session, fake_anthropic,
                                                                             workspace):
    diagnostic, comment_only, real = b904(workspace)
    fake_anthropic.script(Reply(text=json.dumps({"replacement": comment_only, "explanation": "Noted."})), times=2)
    s = await start_session()
    uri = s.open(MI, (workspace / MI).read_text())
    result = await s.command("haiku.fixDiagnostic", uri, diagnostic)
    assert result["status"] == "error" and s.applied_edits == [], result
    line = diagnostic["range"]["start"]["line"] + 1
    assert f"ruff still reports B904 at line {line}" in result["message"]
    assert "did not pass the check" in result["message"] and "JSON" not in result["message"]
    assert len(fake_anthropic.message_requests) == 2  # one repair, told what ruff said
    assert f"ruff still reports B904 at line {line}" in fake_anthropic.message_requests[1].last_user_text

    fake_anthropic.script(Reply(text=json.dumps({"replacement": real, "explanation": "Chained with from None."})))
    result = await s.command("haiku.fixDiagnostic", uri, diagnostic)
    assert result["status"] == "applied", result
    assert "ruff (with B904 selected) no longer reports B904 there" in result["checked"]
    assert "ruff reports nothing new" in result["checked"] and "the file parses" in result["checked"]
    assert any("no longer reports B904" in m.message for m in s.client.messages)


async def test_a_fix_for_another_tool_says_what_was_not_checked(start_session, fake_anthropic, workspace):
    diagnostic, _, real = b904(workspace)
    pyright = {**diagnostic, "source": "Pyright", "code": "reportGeneralTypeIssues",
               "message": "Exception chaining is missing"}
    fake_anthropic.script(Reply(text=json.dumps({"replacement": real, "explanation": "Chained."})))
    s = await start_session()
    uri = s.open(MI, (workspace / MI).read_text())
    result = await s.command("haiku.fixDiagnostic", uri, pyright)
    assert result["status"] == "applied", result
    assert result["checked"] == ["the file parses", "ruff reports nothing new"]
    assert result["not_checked"][0].startswith("whether Pyright still reports")
    warning = next(m for m in s.client.messages if "fixed" in m.message)
    assert "not checked: whether Pyright still reports" in warning.message and warning.type == 2  # Warning


@pytest.fixture
def broken_ruff(tmp_path) -> Path:
    """A directory that shadows ruff for the server's Python: `python -m ruff` fails with "No module named
    ruff", as it does on an install without ruff."""
    shadow = tmp_path / "no-ruff"
    (shadow / "ruff").mkdir(parents=True)
    (shadow / "ruff" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'ruff'\")\n")
    return shadow


@pytest.mark.parametrize("key", [True, False], ids=["model", "offline"])
async def test_without_a_working_ruff_quick_fixes_fail_closed(start_session, fake_anthropic, workspace,
                                                              broken_ruff, key):
    diagnostic, _, real = b904(workspace)
    fake_anthropic.script(Reply(text=json.dumps({"replacement": real, "explanation": "Chained."})))
    path = os.pathsep.join([str(broken_ruff), os.environ.get("PYTHONPATH", "")])
    s = await start_session(key=key, env={"PYTHONPATH": path})
    uri = s.open(MI, (workspace / MI).read_text())
    result = await s.command("haiku.fixDiagnostic", uri, diagnostic)
    assert result["status"] == "error" and s.applied_edits == [], result
    assert "ruff failed (exit 1)" in result["message"] and "No module named 'ruff'" in result["message"]
    assert any("ruff failed" in m.message for m in s.client.messages)


# --- refactor validation ------------------------------------------------------------------------------

PLANNER, WORKER = "claude-sonnet-4-6", "claude-haiku-4-5"
RECIPES = "toolz/recipes.py"


def system_text(body: dict) -> str:
    return " ".join(block["text"] for block in body.get("system") or [])


def planning(body: dict) -> bool:
    return body["model"] == PLANNER and "You plan" in system_text(body)


def reviewing(body: dict) -> bool:
    return body["model"] == PLANNER and "You review" in system_text(body)


def script_refactor(fake, replacement: str, symbol: str = "partitionby", review: str | None = None) -> None:
    fake.script(Reply(text=json.dumps({"notes": "One subtask.", "subtasks": [
        {"id": "s1", "title": f"Tidy {symbol}", "target": {"symbols": [symbol], "lines": []},
         "instructions": "Tidy it without changing behaviour.", "depends_on": []}]})), match=planning)
    fake.script(Reply(text=json.dumps({"replacement": replacement, "imports": [], "notes": "tidied"})),
                match=lambda body: body["model"] == WORKER)
    if review:
        fake.script(Reply(text=json.dumps({"decisions": [
            {"id": "s1", "verdict": review, "instructions": "", "reason": "The change is intended."}]})),
            match=reviewing)


def partitionby_answers(workspace: Path) -> tuple[str, str]:
    """A worker answer that keeps behaviour (a docstring edit) and one that breaks toolz's own tests
    (lists for tuples)."""
    _, _, text = function_text(workspace / RECIPES, "partitionby")
    good = text.replace("Partition a sequence according to a function", "Partition a sequence by a function")
    bad = text.replace("return map(tuple, ", "return map(list, ")
    assert good != text and bad != text
    return good, bad


@pytest.mark.parametrize("workspace", ["toolz"], indirect=True)
async def test_refactor_runs_the_tests_that_import_the_module_through_its_package(start_session, fake_anthropic,
                                                                                    workspace):
    good, _ = partitionby_answers(workspace)
    script_refactor(fake_anthropic, good)
    s = await start_session()
    uri = s.open(RECIPES, (workspace / RECIPES).read_text())
    result = await s.command("haiku.refactorFile", uri, "tidy partitionby")
    assert result["status"] == "applied" and result["validated"] and result["unchecked"] == [], result
    assert s.message_requests == []  # nothing to ask: every check ran and passed
    summary = next((workspace.parent / "cache" / "docs").glob("refactor-*.md")).read_text()
    assert "Validation passed." in summary and "`toolz/tests/test_recipes.py`" in summary
    assert "- Tests: passed:" in summary and "- Ruff: nothing new" in summary


@pytest.mark.parametrize("workspace", ["toolz"], indirect=True)
async def test_a_change_that_breaks_the_packages_tests_is_never_applied_unasked(start_session, fake_anthropic,
                                                                                 workspace):
    _, bad = partitionby_answers(workspace)
    script_refactor(fake_anthropic, bad, review="accept")  # even when the planner accepts the failure
    s = await start_session()
    s.answer_message_request = "Discard"
    uri = s.open(RECIPES, (workspace / RECIPES).read_text())
    result = await s.command("haiku.refactorFile", uri, "tidy partitionby")
    assert result["status"] == "discarded" and s.applied_edits == [], result
    [question] = s.message_requests
    assert "does not pass validation" in question.message
    summary = next((workspace.parent / "cache" / "docs").glob("refactor-*.md")).read_text()
    assert "Validation passed" not in summary and "test_partitionby" in summary
    review = next(r for r in fake_anthropic.message_requests if reviewing(r.body))
    assert "tests fail" in review.last_user_text


@pytest.mark.parametrize("workspace", ["toolz"], indirect=True)
async def test_without_tests_for_the_module_the_editor_asks(start_session, fake_anthropic, workspace):
    import shutil

    shutil.rmtree(workspace / "toolz" / "tests")  # and toolz/curried, toolz/sandbox have none
    for extra in workspace.rglob("test_*.py"):
        extra.unlink()
    good, _ = partitionby_answers(workspace)
    script_refactor(fake_anthropic, good)
    s = await start_session()
    s.answer_message_request = "Discard"
    uri = s.open(RECIPES, (workspace / RECIPES).read_text())
    result = await s.command("haiku.refactorFile", uri, "tidy partitionby")
    assert result["status"] == "discarded" and s.applied_edits == [] and not result["validated"], result
    assert result["unchecked"] == ["tests: not checked: no test file found in the workspace "
                                   "(pytest's python_files: test_*.py, *_test.py)"]
    [question] = s.message_requests
    assert "could not be fully checked (not checked: tests: not checked: no test file found" in question.message
    summary = next((workspace.parent / "cache" / "docs").glob("refactor-*.md")).read_text()
    assert "Validation passed" not in summary and "**Not validated: tests: not checked" in summary

    s.answer_message_request = "Apply anyway"
    result = await s.command("haiku.refactorFile", uri, "tidy partitionby")
    assert result["status"] == "applied" and not result["validated"]


def test_more_itertools_tests_are_found_through_the_alias(sdists):
    from haiku_lsp.refactor.discovery import find_tests

    root = sdists["more-itertools"]
    found = find_tests(root, "more_itertools.recipes", root / "more_itertools" / "recipes.py")
    assert found.how == "imports" and found.files == ["tests/test_more.py", "tests/test_recipes.py"]


@pytest.mark.parametrize("workspace", ["toolz"], indirect=True)
def test_the_cli_exits_3_and_does_not_apply_an_unvalidated_refactor(fake_anthropic, workspace, tmp_path):
    import shutil
    import subprocess

    from tests.harness import API_KEY

    shutil.rmtree(workspace / "toolz" / "tests")
    for extra in workspace.rglob("test_*.py"):
        extra.unlink()
    good, _ = partitionby_answers(workspace)
    script_refactor(fake_anthropic, good)
    target = workspace / RECIPES
    before = target.read_text()
    env = {**os.environ, "ANTHROPIC_BASE_URL": fake_anthropic.base_url, "ANTHROPIC_API_KEY": API_KEY,
           "HAIKU_LSP_CACHE_DIR": str(tmp_path / "cache")}

    def cli(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "haiku_lsp", "refactor", str(target), "-m", "tidy", *extra],
                              capture_output=True, text=True, env=env, timeout=180)

    out = cli("--apply")
    assert out.returncode == 3, out.stderr
    assert "not validated: tests: not checked: no test file found" in out.stderr
    assert "pass --allow-unvalidated" in out.stderr and target.read_text() == before
    assert "**Not validated" in out.stdout and "Validation passed" not in out.stdout
    out = cli("--apply", "--allow-unvalidated")  # the answers are cached: no new model call
    assert out.returncode == 0, out.stderr
    assert "by a function" in target.read_text()


# --- explain stack trace: pytest's reports of a real failure ----------------------------------------------

CHUNKS = '''from more_itertools import grouper


def chunk(items, size):
    return list(grouper(items, size, incomplete='bogus'))


def test_chunk():
    assert chunk('ABCD', 2) == [('A', 'B'), ('C', 'D')]
'''


def pytest_report(root: Path, style: str) -> str:
    """What pytest prints for a failing test of more-itertools in `--tb=<style>` (a real run)."""
    import subprocess

    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    out = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--tb={style}",
                          "tests/test_chunks.py"], cwd=root, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 1, out.stdout + out.stderr
    return out.stdout


@pytest.fixture
def chunks_ws(workspace) -> Path:
    (workspace / "tests" / "test_chunks.py").write_text(CHUNKS)
    return workspace


@pytest.mark.parametrize("style", ["auto", "long", "short", "line", "native"])
def test_pytest_reports_are_read_past_the_docstrings_traceback(chunks_ws, style):
    from haiku_lsp.tracebacks import find_traceback, parse_traceback

    report = pytest_report(chunks_ws, style)
    if style in ("auto", "long"):  # the listing of grouper holds its doctest's traceback, before the real one
        crash = next(t for t in report.split("\n") if t.startswith("E ") and "ValueError" in t)
        assert report.index("Traceback (most recent call last):") < report.index(crash)
        assert "UnequalIterablesError" in report
    lines = report.split("\n")
    middle = next(i for i, line in enumerate(lines) if "ValueError" in line)
    for parsed in (parse_traceback(report), find_traceback(lines, 0, len(lines) - 1),
                   find_traceback(lines, middle, middle)):
        assert parsed is not None
        assert (parsed.exc_type, parsed.message) == ("ValueError", "Expected fill, strict, or ignore")
        frames = [(Path(f.path).name, f.line) for f in parsed.frames]
        expected = [("test_chunks.py", 9), ("test_chunks.py", 5), ("recipes.py", 413)]
        assert frames[-3:] == (expected[-1:] if style == "line" else expected)  # line: only the crash


async def test_explain_stack_trace_on_a_long_pytest_report(start_session, fake_anthropic, chunks_ws):
    report = pytest_report(chunks_ws, "long")
    fake_anthropic.script(Reply(text=json.dumps({
        "hypotheses": [{"title": "An unknown `incomplete` value", "explanation": "grouper accepts fill, strict, "
                        "ignore (recipes.py:413).", "confidence": "high"},
                       {"title": "A typo in chunk()", "explanation": "test_chunks.py:5.", "confidence": "medium"},
                       {"title": "Another version", "explanation": "Unlikely.", "confidence": "low"}],
        "reproduction": ["pytest tests/test_chunks.py"], "patch": None, "summary": "Pass a valid mode"})))
    s = await start_session()
    uri = s.open("report.txt", report, language="plaintext")
    lines = report.split("\n")
    line = lines.index(next(t for t in lines if t.startswith("E ") and "ValueError" in t))
    result = await s.command("haiku.explainStackTrace", uri,
                             {"start": {"line": line, "character": 0}, "end": {"line": line, "character": 0}})
    assert result["status"] == "ok", result
    [req] = fake_anthropic.message_requests
    sent = req.last_user_text
    assert "ValueError: Expected fill, strict, or ignore" in sent
    assert "raise ValueError('Expected fill, strict, or ignore')" in sent  # the crash frame's source
    assert "chunk('ABCD', 2)" in sent and "UnequalIterablesError" not in sent.split("\n")[0]


# --- the OS sandbox, through the server -----------------------------------------------------------------

def escaping_test(home: Path, outside: Path, port: int) -> dict:
    code = f'''import pathlib
import socket

from more_itertools.recipes import take


def test_take():
    assert take(2, range(5)) == [0, 1]


def test_reads_a_key_in_home():
    key = pathlib.Path({str(home / KEY)!r}).read_text()
    assert key == "", key


def test_writes_outside_its_copy():
    pathlib.Path({str(outside)!r}).write_text("escaped")


def test_connects_to_a_local_port():
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"hello")
'''
    return {"test_path": "tests/test_take.py", "code": code, "command": "pytest", "notes": "Covers take."}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux (bubblewrap); macOS: unit tests")
async def test_a_generated_test_cannot_reach_home_outside_or_the_network(start_session, fake_anthropic, workspace,
                                                                           planted_home, listener, tmp_path):
    outside = tmp_path / "escaped.txt"
    answer = escaping_test(planted_home, outside, listener.port)
    fake_anthropic.script(Reply(text=json.dumps(answer)), times=2)
    s = await start_session(env={"HOME": str(planted_home)})
    s.answer_message_request = ["Show failure", "Insert anyway"]
    uri = s.open("more_itertools/recipes.py", (workspace / "more_itertools" / "recipes.py").read_text())
    line = next(i for i, t in enumerate((workspace / "more_itertools/recipes.py").read_text().split("\n"))
                if t.startswith("def take("))
    result = await s.command("haiku.generateTest", uri, {"line": line, "character": 4})
    assert result["status"] == "applied" and result["summary"] == "3 failed, 1 passed", result
    assert not outside.exists() and (planted_home / KEY).read_text() == PLANTED + "\n"
    assert not listener.reached(), "the sandboxed test reached a local port"
    # The repair prompt carried pytest's output, which says why each escape failed, and not the key.
    repair = fake_anthropic.message_requests[1].last_user_text
    assert "FileNotFoundError" in repair and "Read-only file system" in repair
    assert "Network is unreachable" in repair or "Connection refused" in repair
    assert all(PLANTED not in json.dumps(r.body) for r in fake_anthropic.message_requests)
    # "Show failure" kept the test: inserted afterwards without another model call or run.
    assert len(fake_anthropic.message_requests) == 2 and len(s.message_requests) == 2
    assert "insert the failing test" in s.message_requests[1].message
    failure = next((workspace.parent / "cache" / "docs").glob("test-*.md")).read_text()
    assert "Read-only file system" in failure and PLANTED not in failure


# A good generated test for more_itertools.recipes.take, as the model answers it.
TAKE_TEST = {"test_path": "tests/test_take.py", "command": "pytest", "notes": "Covers take.",
             "code": "from more_itertools.recipes import take\n\n\n"
                     "def test_take():\n    assert take(1, 'ab') == ['a']\n"}


async def test_without_bubblewrap_model_code_is_refused_unless_the_user_opts_out(start_session, fake_anthropic,
                                                                                 workspace, tmp_path):
    fake_anthropic.script(Reply(text=json.dumps(TAKE_TEST)))
    (tmp_path / "bin").mkdir()
    s = await start_session(env={"PATH": str(tmp_path / "bin")})  # no bwrap on PATH
    uri = s.open("more_itertools/recipes.py", (workspace / "more_itertools" / "recipes.py").read_text())
    line = next(i for i, t in enumerate((workspace / "more_itertools/recipes.py").read_text().split("\n"))
                if t.startswith("def take("))
    result = await s.command("haiku.generateTest", uri, {"line": line, "character": 4})
    assert result["status"] == "error" and "bubblewrap (bwrap) is not installed" in result["message"]
    assert "osSandbox" in result["message"] and fake_anthropic.message_requests == []  # nothing paid for
    for _ in range(100):  # the start-up notice comes from a background probe: it may trail the answer
        told = [m.message for m in s.client.messages if "no OS sandbox" in m.message]
        if len(told) >= 2:
            break
        await asyncio.sleep(0.05)
    assert len(told) == 2 and sum("will not run" in m for m in told) == 1  # once at start-up, and the refusal

    opted_out = await start_session(env={"PATH": str(tmp_path / "bin")}, init_options={"osSandbox": False})
    uri = opted_out.open("more_itertools/recipes.py", (workspace / "more_itertools" / "recipes.py").read_text())
    result = await opted_out.command("haiku.generateTest", uri, {"line": line, "character": 4})
    assert result["status"] == "applied" and result["summary"] == "1 passed", result
    for _ in range(100):
        if any("osSandbox is off" in m.message for m in opted_out.client.messages):
            break
        await asyncio.sleep(0.05)
    assert any("osSandbox is off" in m.message for m in opted_out.client.messages)


@pytest.mark.parametrize("workspace", ["toolz"], indirect=True)
async def test_a_refactor_whose_checks_cannot_run_says_which_and_asks(start_session, fake_anthropic, workspace,
                                                                       broken_ruff, tmp_path):
    good, _ = partitionby_answers(workspace)
    script_refactor(fake_anthropic, good)
    (tmp_path / "bin").mkdir()
    path = os.pathsep.join([str(broken_ruff), os.environ.get("PYTHONPATH", "")])
    s = await start_session(env={"PYTHONPATH": path, "PATH": str(tmp_path / "bin")})  # no ruff, no bwrap
    s.answer_message_request = "Discard"
    uri = s.open(RECIPES, (workspace / RECIPES).read_text())
    result = await s.command("haiku.refactorFile", uri, "tidy partitionby")
    assert result["status"] == "discarded" and s.applied_edits == [] and not result["validated"], result
    ruff, tests = result["unchecked"]
    assert ruff.startswith("ruff: not checked: ruff failed (exit 1)") and "No module named 'ruff'" in ruff
    assert tests.startswith("tests: not checked: code the model wrote was not run: no OS sandbox")
    [question] = s.message_requests
    assert "could not be fully checked" in question.message and "bubblewrap" in question.message
    summary = next((workspace.parent / "cache" / "docs").glob("refactor-*.md")).read_text()
    assert "Validation passed" not in summary and "- Ruff: skipped: not checked: ruff failed" in summary


async def test_a_generated_test_that_cannot_be_run_is_not_repaired_nor_offered(start_session, fake_anthropic,
                                                                               workspace, tmp_path):
    fake_anthropic.script(Reply(text=json.dumps(TAKE_TEST)))
    s = await start_session(init_options={"testPython": str(tmp_path / "no-such-python")})
    uri = s.open("more_itertools/recipes.py", (workspace / "more_itertools" / "recipes.py").read_text())
    line = next(i for i, t in enumerate((workspace / "more_itertools/recipes.py").read_text().split("\n"))
                if t.startswith("def take("))
    result = await s.command("haiku.generateTest", uri, {"line": line, "character": 4})
    assert result["status"] == "error" and "could not be run" in result["message"], result
    assert "could not start" in result["message"] and "testPython" in result["message"]
    assert len(fake_anthropic.message_requests) == 1 and s.applied_edits == [] and s.message_requests == []
