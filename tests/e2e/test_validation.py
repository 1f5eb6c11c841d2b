"""Checks that check, on real projects: more-itertools 10.5.0 and toolz 1.0.0 built from their PyPI
sdists (with their own tests), through the real server, the real SDK against the local Messages API,
real ruff and real pytest (in the OS sandbox). A model that answers well comes through; one that
answers badly is caught; a check that cannot run says so and never reports success."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.e2e.conftest import real_workspace
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
