"""Explain stack trace, engine side, on tracebacks as Python and pytest really print them: produced here
by running failing programs and pytest (subprocesses), then parsed, found in logs, resolved against a
workspace, and turned into what the model sees and Markdown. The same code on written-out text is in
tests/unit/test_traceback.py."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.tracebacks import (
    Frame,
    ParsedTraceback,
    explanation_markdown,
    find_traceback,
    model_payload,
    offline_markdown,
    parse_traceback,
    resolve_frames,
)
from tests.unit.test_traceback import CORE, GOOD_DIFF, TESTS, all_tracebacks, answer, log_with, make_ws, where


@pytest.fixture
def ws(tmp_path) -> Path:
    return make_ws(tmp_path)


SCRIPTS = {
    "chain": '''\
        def parse(d):
            return d["a"]["b"] + 1

        def main():
            try:
                parse({"a": {"b": "x"}})
            except TypeError as e:
                raise ValueError("bad config") from e

        main()
        ''',
    "during": '''\
        try:
            {}["x"]
        except KeyError:
            None.foo
        ''',
    "syntax": "x = 1\ndef f(:\n    pass\n",
    "recursion": "def f(n):\n    return f(n + 1)\nf(0)\n",
    "multiline": "def g(a, b):\n    return a / b\nx = g(\n    1,\n    0,\n)\n",
    "groups": '''\
        def f(i):
            raise ValueError(i)

        def main():
            errs = []
            for i in range(2):
                try:
                    f(i)
                except ValueError as e:
                    errs.append(e)
            raise ExceptionGroup("outer", [ExceptionGroup("inner", errs), KeyError("k")])

        main()
        ''',
    "taskgroup": '''\
        import asyncio

        async def boom():
            await asyncio.sleep(0)
            raise RuntimeError("task failed")

        async def main():
            async with asyncio.TaskGroup() as tg:
                tg.create_task(boom())

        asyncio.run(main())
        ''',
}


@pytest.fixture(scope="module")
def real(tmp_path_factory) -> dict:
    """Tracebacks as Python and pytest really print them, from programs run here (concurrently)."""
    base = tmp_path_factory.mktemp("real")
    proj = base / "proj"
    (proj / "src" / "pkg").mkdir(parents=True)
    (proj / "tests").mkdir()
    (proj / "src" / "pkg" / "__init__.py").write_text("")
    (proj / "src" / "pkg" / "core.py").write_text(CORE)
    (proj / "tests" / "test_core.py").write_text(TESTS)
    (proj / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "NO_COLOR": "1"}
    env.pop("PYTEST_ADDOPTS", None)
    procs = {}
    for name, code in SCRIPTS.items():
        script = base / f"{name}.py"
        script.write_text(textwrap.dedent(code))
        procs[name] = subprocess.Popen([sys.executable, "-I", "-S", str(script)], cwd=base, env=env,
                                       text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for tb in ("auto", "short", "line", "native"):
        procs[f"pytest-{tb}"] = subprocess.Popen(
            [sys.executable, "-m", "pytest", "tests", "-p", "no:cacheprovider", f"--tb={tb}", "--color=no"],
            cwd=proj, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = {name: p.communicate(timeout=60)[0] for name, p in procs.items()}
    return {"base": base, "proj": proj, **out}


# --- Python's own format ---------------------------------------------------------------------------


def test_chained_exception_keeps_the_cause_and_skips_caret_lines(real):
    tb = parse_traceback(real["chain"])
    assert tb is not None and tb.kind == "python"
    assert (tb.exc_type, tb.message) == ("ValueError", "bad config")
    assert where(tb.frames) == [("chain.py", 10, "<module>"), ("chain.py", 8, "main")]
    assert tb.frames[-1].source_line == 'raise ValueError("bad config") from e'
    (cause,) = tb.causes
    assert cause.exc_type == "TypeError" and "concatenate" in cause.message
    assert where(cause.frames) == [("chain.py", 6, "main"), ("chain.py", 2, "parse")]
    assert cause.frames[-1].source_line == 'return d["a"]["b"] + 1'  # not the ~~~~^~~ line
    assert tb.first_line == 0 and tb.last_line == len(real["chain"].splitlines()) - 1


def test_during_handling_chain(real):
    tb = parse_traceback(real["during"])
    assert tb.exc_type == "AttributeError" and [c.exc_type for c in tb.causes] == ["KeyError"]
    assert tb.causes[0].message == "'x'"


def test_syntax_error_block(real):
    tb = parse_traceback(real["syntax"])
    assert (tb.exc_type, tb.message) == ("SyntaxError", "invalid syntax")
    (frame,) = tb.frames
    assert (Path(frame.path).name, frame.line, frame.function, frame.source_line) == \
        ("syntax.py", 2, None, "def f(:")


def test_recursion_and_multiline_calls(real):
    tb = parse_traceback(real["recursion"])
    assert tb.exc_type == "RecursionError" and tb.message == "maximum recursion depth exceeded"
    assert where(tb.frames)[-1] == ("recursion.py", 2, "f")
    tb = parse_traceback(real["multiline"])
    assert tb.exc_type == "ZeroDivisionError"
    assert [f.source_line for f in tb.frames] == ["x = g(", "return a / b"]


def test_exception_group_explains_the_first_leaf(real):
    tb = parse_traceback(real["groups"])
    assert (tb.exc_type, tb.message) == ("ValueError", "0")
    assert where(tb.frames) == [("groups.py", 8, "main"), ("groups.py", 2, "f")]
    assert [(c.exc_type, c.message) for c in tb.causes] == [
        ("ExceptionGroup", "outer (2 sub-exceptions)"), ("ExceptionGroup", "inner (2 sub-exceptions)")]
    assert where(tb.causes[0].frames)[-1] == ("groups.py", 11, "main")
    assert tb.last_line == len(real["groups"].splitlines()) - 1


def test_task_group(real):
    tb = parse_traceback(real["taskgroup"])
    assert (tb.exc_type, tb.message) == ("RuntimeError", "task failed")
    assert where(tb.frames) == [("taskgroup.py", 5, "boom")]
    assert "TaskGroup" in tb.causes[0].message
    assert ("taskgroup.py", 8, "main") in where(tb.causes[0].frames)


# --- pytest ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["auto", "short"])
def test_pytest_long_and_short_reports(real, style):
    load, wrap, compare = all_tracebacks(real[f"pytest-{style}"])
    assert load.kind == "pytest"
    assert (load.exc_type, load.message) == ("ValueError", "invalid literal for int() with base 10: 'x'")
    assert [(f.path, f.line, f.function) for f in load.frames] == [
        ("tests/test_core.py", 7, "test_load"), ("src/pkg/core.py", 8, "load"),
        ("src/pkg/core.py", 2, "parse")]
    assert [f.source_line for f in load.frames] == [
        'assert load(["1", "x"]) == [1]', "out.append(parse(v))", "return int(value)"]
    assert (wrap.exc_type, wrap.message) == ("RuntimeError", "could not load")
    assert [(f.path, f.line) for f in wrap.frames] == [("tests/test_core.py", 11), ("src/pkg/core.py", 16)]
    assert [c.exc_type for c in wrap.causes] == ["ValueError"]
    assert wrap.causes[0].frames[0].function == "wrap"
    assert compare.exc_type == "AssertionError"
    assert compare.message.startswith("assert [1, 2, 3] == [1, 2, 4]")
    assert "At index 2 diff" in compare.message
    assert compare.frames[-1].function == "test_compare"


def test_pytest_line_report(real):
    found = all_tracebacks(real["pytest-line"])
    assert [(t.exc_type, Path(t.frames[-1].path).name, t.frames[-1].line) for t in found] == [
        ("ValueError", "core.py", 2), ("RuntimeError", "core.py", 16), ("AssertionError", "test_core.py", 15)]


def test_pytest_native_report_is_a_python_traceback(real):
    load, wrap, _ = all_tracebacks(real["pytest-native"])
    assert load.kind == "python" and load.exc_type == "ValueError"
    assert where(load.frames)[-3:] == [("test_core.py", 7, "test_load"), ("core.py", 8, "load"),
                                       ("core.py", 2, "parse")]
    assert wrap.causes[0].exc_type == "ValueError"


def test_failed_summary_lines_are_a_last_resort(real, tmp_path):
    text = real["pytest-auto"]
    assert parse_traceback(text).frames[0].source_line  # a full report wins
    summary = [line for line in text.splitlines() if line.startswith("FAILED")]
    tb = parse_traceback("\n".join(summary))
    assert (tb.kind, tb.exc_type, tb.frames[0].path, tb.frames[0].line) == (
        "pytest", "ValueError", "tests/test_core.py", 0)
    resolved = resolve_frames(tb, real["proj"], IgnoreRules())
    assert resolved.frames[0].line == 6  # found from `def test_load`
    assert resolved.frames[0].in_workspace


# --- find_traceback --------------------------------------------------------------------------------


def test_find_around_the_cursor_and_in_the_selection(real):
    lines = log_with(real["chain"])
    n = len(real["chain"].splitlines())
    for cursor in (100, 105, 100 + n - 1, 100 + n + 30, 60):
        tb = find_traceback(lines, cursor, cursor)
        assert tb is not None and tb.exc_type == "ValueError", cursor
        assert (tb.first_line, tb.last_line) == (100, 100 + n - 1)
    assert find_traceback(lines, 20, 20) is None  # more than 40 lines away
    assert find_traceback(lines, 0, 30) is None
    assert find_traceback(lines, 101, 102) is not None  # a partial selection falls back to the window


def test_find_picks_the_traceback_nearest_the_cursor(real):
    lines = real["chain"].splitlines() + ["", "x"] + real["during"].splitlines()
    assert find_traceback(lines, 0, 0).exc_type == "ValueError"
    assert find_traceback(lines, len(lines) - 1, len(lines) - 1).exc_type == "AttributeError"
    selection = find_traceback(lines, 0, len(lines) - 1)
    assert selection.exc_type == "ValueError"  # the first one in a selection


def test_find_in_pytest_output_prefers_the_failure_near_the_cursor(real):
    lines = real["pytest-auto"].splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("FAILED tests/test_core.py::test_c"))
    assert find_traceback(lines, summary, summary).exc_type == "AssertionError"
    wrap_at = next(i for i, line in enumerate(lines) if "def test_wrap" in line)
    assert find_traceback(lines, wrap_at, wrap_at).exc_type == "RuntimeError"


# --- resolution, what the model sees, Markdown -----------------------------------------------------


def test_causes_are_resolved_too(ws, real):
    tb = resolve_frames(all_tracebacks(real["pytest-short"])[1], ws, IgnoreRules())
    assert all(f.in_workspace for f in tb.frames + tb.causes[0].frames)
    assert tb.innermost_workspace_frame.line == 16


def test_model_payload(ws, real):
    tb = all_tracebacks(real["pytest-short"])[1]
    tb = ParsedTraceback(tb.exc_type, tb.message + " key=sk-ant-api03-abcdefghijklmnopqrstuvwx", tb.frames,
                         tb.kind, causes=tb.causes)
    library = tuple(Frame(f"/venv/lib/python3.11/site-packages/plug/m{i}.py", i + 1, "hook", "hook()")
                    for i in range(8))
    secret = Frame("config/secrets.py", 1, None, 'API_TOKEN = "abcdefgh12345678"')
    tb = ParsedTraceback(tb.exc_type, tb.message, library + tb.frames + (secret,), tb.kind, causes=tb.causes)
    resolved = resolve_frames(tb, ws, IgnoreRules.for_workspace(ws))
    payload = model_payload(resolved, max_frames=2, radius=1)
    assert payload.startswith("Exception: RuntimeError: could not load key=<REDACTED:ANTHROPIC_KEY>")
    assert "(from a pytest failure report)" in payload
    assert "src/pkg/core.py:16 in wrap [workspace]" in payload
    assert "[... 6 more frames outside the workspace ...]" in payload
    assert "- ValueError: invalid literal for int() with base 10: 'y'" in payload
    assert "abcdefgh12345678" not in payload and "config/secrets.py:1 [ignored file]" in payload
    # Source: the innermost frame of the exception, then of its cause; the budget stops there.
    assert payload.count("```") == 4
    assert "src/pkg/core.py lines 15-16 ('>' marks line 16 in wrap)\n```\n  15 |     except" in payload
    assert "> 16 |         raise RuntimeError(\"could not load\") from exc\n```" in payload
    assert "src/pkg/core.py lines 1-3 ('>' marks line 2 in parse)\n```\n  1 | def parse(value):\n" in payload
    assert payload.index("lines 15-16") < payload.index("lines 1-3")
    assert "tests/test_core.py lines" not in payload


def test_offline_markdown(ws, real):
    tb = resolve_frames(all_tracebacks(real["pytest-short"])[0], ws, IgnoreRules())
    md = offline_markdown(tb, ws)
    assert md.startswith("# `ValueError`\n")
    assert builtins.ValueError.__doc__ in md and "int('x')" in md
    uri = (ws / "src/pkg/core.py").as_uri()
    assert f"**➜ [src/pkg/core.py:2]({uri}#L2) in `parse`** — innermost workspace frame" in md
    assert f"[tests/test\\_core.py:7]({(ws / 'tests/test_core.py').as_uri()}#L7) in `test_load`" in md
    assert "```python\n  1 | def parse(value):\n> 2 |     return int(value)" in md
    assert "in `load`\\\n   `out.append(parse(v))`" in md


def test_explanation_markdown(ws, real):
    tb = resolve_frames(all_tracebacks(real["pytest-short"])[0], ws, IgnoreRules())
    md = explanation_markdown(tb, answer(), ws)
    assert "int() was given a non-numeric string." in md
    assert "1. **Non-numeric input** — *high confidence*\\\n   `parse` gets 'x'." in md
    assert "## Reproduce\n\n1. Run `pytest tests/test_core.py::test_load`" in md
    assert "applies cleanly" in md and "```diff\n--- a/src/pkg/core.py" in md
    assert "**➜ [src/pkg/core.py:2]" in md
    stale = GOOD_DIFF.replace(" def parse(value):", " def parse(text):")
    assert "does not apply cleanly" in explanation_markdown(tb, answer(stale), ws)
    assert "## Suggested fix" not in explanation_markdown(tb, answer(None), ws)


def test_find_reads_the_whole_chain_from_its_last_link(real):
    lines = log_with(real["chain"], before=300)
    separator = next(i for i, line in enumerate(lines) if line.startswith("The above exception"))
    tb = find_traceback(lines, separator + 40, separator + 40)  # the window starts just after it
    assert tb.first_line == 300 and [c.exc_type for c in tb.causes] == ["TypeError"]
