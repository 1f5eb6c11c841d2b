"""Explain stack trace, engine side: parsing real tracebacks (produced by running failing programs and
pytest here), log prefixes, resolution against a workspace, what the model sees, Markdown, the answer's
schema, and applying the suggested diff."""

from __future__ import annotations

import builtins
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from haiku_lsp.privacy import IgnoreRules
from haiku_lsp.tracebacks import (
    EXPLAIN_SCHEMA,
    Frame,
    ParsedTraceback,
    apply_unified_diff,
    explanation_markdown,
    find_traceback,
    frame_source,
    model_payload,
    offline_markdown,
    parse_traceback,
    patch_target,
    resolve_frames,
    validate_explanation,
)
from haiku_lsp.tracebacks import parse as tbm

CORE = '''\
def parse(value):
    return int(value)


def load(values):
    out = []
    for v in values:
        out.append(parse(v))
    return out


def wrap(values):
    try:
        return load(values)
    except ValueError as exc:
        raise RuntimeError("could not load") from exc
'''

TESTS = '''\
import sys
sys.path.insert(0, "src")
from pkg.core import load, wrap


def test_load():
    assert load(["1", "x"]) == [1]


def test_wrap():
    wrap(["y"])


def test_compare():
    assert [1, 2, 3] == [1, 2, 4]
'''

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


def all_tracebacks(text: str) -> list[ParsedTraceback]:
    lines = text.splitlines()
    return tbm._scan(lines, 0, len(lines), len(lines))[0]


def where(frames) -> list[tuple[str, int, str | None]]:
    return [(Path(f.path).name, f.line, f.function) for f in frames]


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


PYTEST_COLLECTION = """\
______________________ ERROR collecting tests/test_syn.py ______________________
/venv/lib/python3.11/site-packages/_pytest/python.py:528: in importtestmodule
    mod = import_path(
<frozen importlib._bootstrap>:1204: in _gcd_import
    ???
/venv/lib/python3.11/site-packages/_pytest/assertion/rewrite.py:339: in _rewrite_test
    tree = ast.parse(source, filename=strfn)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
E     File "/work/proj/tests/test_syn.py", line 1
E       def f(:
E             ^
E   SyntaxError: invalid syntax
=========================== short test summary info ============================
"""


def test_pytest_collection_error_with_a_syntax_error():
    tb = parse_traceback(PYTEST_COLLECTION)
    assert (tb.exc_type, tb.message, tb.kind) == ("SyntaxError", "invalid syntax", "pytest")
    assert tb.frames[1] == Frame("<frozen importlib._bootstrap>", 1204, "_gcd_import", None)
    assert (tb.frames[-1].path, tb.frames[-1].line, tb.frames[-1].source_line) == (
        "/work/proj/tests/test_syn.py", 1, "def f(:")


# --- log prefixes and other wrappings --------------------------------------------------------------

GITHUB_ACTIONS = """\
2026-11-24T10:00:01.1234567Z Run python -m app
2026-11-24T10:00:01.2234567Z Traceback (most recent call last):
2026-11-24T10:00:01.22346Z   File "/home/runner/work/proj/proj/src/pkg/core.py", line 8, in load
2026-11-24T10:00:01.2234567Z     out.append(parse(v))
2026-11-24T10:00:01.2234567Z   File "/home/runner/work/proj/proj/src/pkg/core.py", line 2, in parse
2026-11-24T10:00:01.2234567Z     return int(value)
2026-11-24T10:00:01.2234567Z            ^^^^^^^^^^
2026-11-24T10:00:01.2234567Z ValueError: invalid literal for int() with base 10: 'x'
2026-11-24T10:00:01.3234567Z ##[error]Process completed with exit code 1.
"""

LOGGING = """\
2026-11-24 10:00:01 INFO app: starting
2026-11-24 10:00:01 ERROR app: Traceback (most recent call last):
  File "/srv/app/src/pkg/core.py", line 2, in parse
    return int(value)
ValueError: invalid literal for int() with base 10: 'x'
2026-11-24 10:00:02 INFO app: retrying
"""

DOCKER = """\
web-1  | Traceback (most recent call last):
web-1  |   File "/app/src/pkg/core.py", line 2, in parse
web-1  |     return int(value)
web-1  | ValueError: bad
web-1  |
web-1  | During handling of the above exception, another exception occurred:
web-1  |
web-1  | Traceback (most recent call last):
web-1  |   File "/app/main.py", line 9, in <module>
web-1  |     main()
web-1  | KeyError: 'x'
db-1   | LOG:  checkpoint starting
"""

PYTEST_IN_CI = """\
2026-11-24T10:00:01.1Z __________________________________ test_load ___________________________________
2026-11-24T10:00:01.1Z
2026-11-24T10:00:01.1Z     def test_load():
2026-11-24T10:00:01.12Z >       assert load(["1", "x"]) == [1]
2026-11-24T10:00:01.1Z
2026-11-24T10:00:01.1Z tests/test_core.py:7:
2026-11-24T10:00:01.1Z _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _
2026-11-24T10:00:01.1Z src/pkg/core.py:2: in parse
2026-11-24T10:00:01.1Z     return int(value)
2026-11-24T10:00:01.1Z E   ValueError: invalid literal for int() with base 10: 'x'
2026-11-24T10:00:01.1Z =========================== short test summary info ============================
"""


@pytest.mark.parametrize(("text", "lines", "exc", "message", "innermost"), [
    (GITHUB_ACTIONS, (1, 7), "ValueError", "invalid literal for int() with base 10: 'x'",
     ("/home/runner/work/proj/proj/src/pkg/core.py", 2, "return int(value)")),
    (LOGGING, (1, 4), "ValueError", "invalid literal for int() with base 10: 'x'",
     ("/srv/app/src/pkg/core.py", 2, "return int(value)")),
    (DOCKER, (0, 10), "KeyError", "'x'", ("/app/main.py", 9, "main()")),
    (PYTEST_IN_CI, (0, 9), "ValueError", "invalid literal for int() with base 10: 'x'",
     ("src/pkg/core.py", 2, "return int(value)")),
    ("| Traceback (most recent call last):\n|   File \"main.py\", line 3, in <module>\n|     f()\n"
     "| NameError: name 'f' is not defined\n", (0, 3), "NameError", "name 'f' is not defined",
     ("main.py", 3, "f()")),
    ("# Traceback (most recent call last):\n#   File \"x.py\", line 3, in <module>\n#     1 / 0\n"
     "# ZeroDivisionError: division by zero\ndef f(): pass\n", (0, 3), "ZeroDivisionError",
     "division by zero", ("x.py", 3, "1 / 0")),
    ("Traceback (most recent call last):\n  File \"C:\\proj\\src\\pkg\\core.py\", line 2, in parse\n"
     "    return int(value)\nValueError: bad\n", (0, 3), "ValueError", "bad",
     ("C:\\proj\\src\\pkg\\core.py", 2, "return int(value)")),
    ("\x1b[35mTraceback (most recent call last):\x1b[0m\n"
     "  File \"x.py\", line 1, in <module>\n    s.connect(a)\n"
     "socket.gaierror: [Errno -2] Name or service not known\n", (0, 3), "socket.gaierror",
     "[Errno -2] Name or service not known", ("x.py", 1, "s.connect(a)")),
])
def test_wrapped_tracebacks(text, lines, exc, message, innermost):
    tb = parse_traceback(text)
    assert tb is not None
    assert (tb.first_line, tb.last_line) == lines
    assert (tb.exc_type, tb.message) == (exc, message)
    assert (tb.frames[-1].path, tb.frames[-1].line, tb.frames[-1].source_line) == innermost


def test_docker_chain_keeps_its_cause():
    tb = parse_traceback(DOCKER)
    assert [(c.exc_type, c.message) for c in tb.causes] == [("ValueError", "bad")]


@pytest.mark.parametrize("text", [
    "src/pkg/core.py:12: error: Incompatible types in assignment\nFound 1 error in 1 file\n",  # mypy
    "src/pkg/core.py:12:5: E501 line too long\n",  # ruff
    "Traceback (most recent call last):\n  File \"x.py\", line 3, in <module>\n",  # cut short
    "ValueError: just a message\n",
    "ZeroDivisionError                         Traceback (most recent call last)\nCell In[1], line 1\n",
    "",
])
def test_not_a_traceback(text):
    assert parse_traceback(text) is None


# --- find_traceback --------------------------------------------------------------------------------


def log_with(tb_text: str, before: int = 100, after: int = 100) -> list[str]:
    return ([f"2026-11-24 10:00:{i % 60:02d} INFO app: request {i} ok" for i in range(before)]
            + tb_text.splitlines()
            + [f"2026-11-24 10:01:{i % 60:02d} INFO app: request {i} ok" for i in range(after)])


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


def test_find_reads_a_long_traceback_whole():
    frames = "".join(f'  File "/srv/app/m{i}.py", line {i + 1}, in f{i}\n    f{i + 1}()\n'
                     for i in range(400))
    lines = log_with("Traceback (most recent call last):\n" + frames + "KeyError: 'k'\n", before=10)
    last = len(lines) - 101
    tb = find_traceback(lines, last, last)
    assert (tb.first_line, tb.last_line, len(tb.frames)) == (10, last, 400)


def test_find_in_pytest_output_prefers_the_failure_near_the_cursor(real):
    lines = real["pytest-auto"].splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("FAILED tests/test_core.py::test_c"))
    assert find_traceback(lines, summary, summary).exc_type == "AssertionError"
    wrap_at = next(i for i, line in enumerate(lines) if "def test_wrap" in line)
    assert find_traceback(lines, wrap_at, wrap_at).exc_type == "RuntimeError"


def test_find_on_plain_code_is_none_and_cheap():
    code = (Path(tbm.__file__).read_text() * 3).splitlines()[:2000]
    code = [line for line in code if 'File "' not in line and ".py:" not in line]
    code = (code * 2)[:2000]
    assert len(code) == 2000
    assert find_traceback(code, 1000, 1000) is None
    assert find_traceback(code, 0, 1999) is None
    assert find_traceback([], 0, 0) is None
    assert find_traceback(["x"], 5, -3) is None


# --- robustness ------------------------------------------------------------------------------------

FRAGMENTS = [
    "Traceback (most recent call last):", '  File "a.py", line 3, in f', '  File "b.py", line 1', "    x = 1",
    "    ^^^^^", "ValueError: x", "KeyError", "", "  + Exception Group Traceback (most recent call last):",
    "  |   File \"g.py\", line 2, in <module>", "  | ExceptionGroup: g (1 sub-exception)",
    "  +-+---------------- 1 ----------------", "    | ValueError: v",
    "    | Exception Group Traceback (most recent call last):", "    +------------------------------------",
    "The above exception was the direct cause of the following exception:",
    "___ test_x ___", "tests/t.py:3: in test_x", "tests/t.py:3: ", "tests/t.py:3: AssertionError",
    ">       assert 1 == 2", "E       assert 1 == 2", "E", "_ _ _ _ _",
    "FAILED tests/t.py::test_x - ValueError: v", "2026-11-24T10:00:01Z ", "web-1  | ", "x = 1",
    "=== FAILURES ===", "  [Previous line repeated 3 more times]",
]
PREFIXED = st.sampled_from(FRAGMENTS).map(lambda s: "web-1  | " + s)


@settings(max_examples=100, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_parses_or_is_none(text):
    result = parse_traceback(text)
    assert result is None or isinstance(result, ParsedTraceback)
    lines = text.splitlines()
    tbm._scan(lines, 0, len(lines), len(lines))  # unguarded: a bug would raise here


@settings(max_examples=120, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), PREFIXED, st.text(max_size=20)), max_size=40),
       st.integers(0, 45), st.integers(0, 45))
def test_traceback_like_text_never_breaks_the_parser(lines, start, end):
    found, weak = tbm._scan(lines, 0, len(lines), len(lines))
    for tb in found + weak:
        assert 0 <= tb.first_line <= tb.last_line < len(lines)
        assert all(isinstance(f.line, int) and f.path for f in tb.frames)
    result = find_traceback(lines, start, end)
    assert result is None or isinstance(result, ParsedTraceback)


# --- resolution ------------------------------------------------------------------------------------


@pytest.fixture
def ws(tmp_path) -> Path:
    root = tmp_path / "ws"
    files = {
        "src/pkg/__init__.py": "",
        "src/pkg/core.py": CORE,
        "tests/test_core.py": TESTS,
        "config/secrets.py": 'API_TOKEN = "abcdefgh12345678"\n',
        "private_notes.py": "x = 1\n",
        ".venv/lib/python3.11/site-packages/lib.py": "def f():\n    pass\n",
        "backend/api/views.py": "def view():\n    return 1\n",
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / ".haikuignore").write_text("private_*.py\n")
    (tmp_path / "outside.py").write_text("x = 1\n")
    (root / "outside.py").write_text("y = 2\n")
    return root


def tb_with(*paths: str) -> ParsedTraceback:
    frames = tuple(Frame(p, 2, "f", "code line") for p in paths)
    return ParsedTraceback("ValueError", "boom", frames, "python")


def test_resolution_against_the_workspace(ws):
    paths = {
        "src/pkg/core.py": ws / "src/pkg/core.py",  # relative to root
        str(ws / "tests/test_core.py"): ws / "tests/test_core.py",  # absolute inside
        "/home/runner/work/p/p/src/pkg/core.py": ws / "src/pkg/core.py",  # CI checkout
        "/app/src/pkg/core.py": ws / "src/pkg/core.py",  # container
        "C:\\ci\\proj\\src\\pkg\\core.py": ws / "src/pkg/core.py",  # Windows
        "api/views.py": ws / "backend/api/views.py",  # pytest run from a sub-project
        "/usr/lib/python3.11/json/decoder.py": None,
        "/other/venv/lib/python3.11/site-packages/requests/api.py": None,
        "<frozen importlib._bootstrap>": None,
        "/elsewhere/pkg/__init__.py": None,  # a bare generic name is no evidence
        "../outside.py": None,
        str(ws.parent / "outside.py"): None,  # exists here, outside: not the workspace's outside.py
        "src/pkg/missing.py": None,
    }
    tb = resolve_frames(tb_with(*paths), ws, IgnoreRules.for_workspace(ws))
    assert {f.path: f.resolved for f in tb.frames} == paths
    assert all(f.in_workspace == (f.resolved is not None) for f in tb.frames)
    assert tb.root == ws


def test_ignored_and_library_frames_are_not_workspace_frames(ws):
    venv = str(ws / ".venv/lib/python3.11/site-packages/lib.py")
    frames = tb_with("config/secrets.py", "private_notes.py", venv, "/prod/.env", "src/pkg/core.py")
    tb = resolve_frames(frames, ws, IgnoreRules.for_workspace(ws))
    secrets, private, lib, env, core = tb.frames
    assert secrets.resolved == ws / "config/secrets.py" and secrets.ignored and not secrets.in_workspace
    assert private.ignored and not private.in_workspace
    assert lib.resolved == Path(venv) and not lib.ignored and not lib.in_workspace
    assert env.ignored and env.resolved is None
    assert core.in_workspace and tb.innermost_workspace_frame is core
    assert resolve_frames(tb_with("src/pkg/core.py"), None, IgnoreRules()).frames[0].resolved is None


def test_causes_are_resolved_too(ws, real):
    tb = resolve_frames(all_tracebacks(real["pytest-short"])[1], ws, IgnoreRules())
    assert all(f.in_workspace for f in tb.frames + tb.causes[0].frames)
    assert tb.innermost_workspace_frame.line == 16


# --- what the model sees ---------------------------------------------------------------------------


def test_frame_source_marks_the_line(ws):
    frame = resolve_frames(tb_with("src/pkg/core.py"), ws, IgnoreRules()).frames[0]
    assert frame_source(frame, radius=1) == "  1 | def parse(value):\n> 2 |     return int(value)\n  3 |"
    assert frame_source(Frame("x.py", 2, None, None)) is None
    assert frame_source(Frame("x.py", 99, None, None, ws / "src/pkg/core.py")) is None


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


def test_model_payload_merges_windows_in_one_file(ws):
    tb = ParsedTraceback("ValueError", "x", (Frame("src/pkg/core.py", 8, "load", None),
                                             Frame("src/pkg/core.py", 2, "parse", None)), "python")
    payload = model_payload(resolve_frames(tb, ws, IgnoreRules()), radius=3)
    assert payload.count("```") == 2
    assert "src/pkg/core.py lines 1-11 ('>' marks line 2 in parse, 8 in load)" in payload
    assert ">  2 |     return int(value)" in payload and ">  8 |         out.append(parse(v))" in payload


# --- Markdown --------------------------------------------------------------------------------------


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


def test_offline_markdown_without_workspace_or_builtin(real):
    tb = ParsedTraceback("app.errors.Boom", "", (Frame("/nowhere/x.py", 3, None, "boom()"),), "python")
    md = offline_markdown(tb, None)
    assert "About" not in md and "innermost workspace frame" not in md
    assert "/nowhere/x.py:3" in md and "](file:" not in md


GOOD_DIFF = """\
--- a/src/pkg/core.py
+++ b/src/pkg/core.py
@@ -1,2 +1,5 @@
 def parse(value):
-    return int(value)
+    try:
+        return int(value)
+    except ValueError:
+        return None
"""


def answer(diff: str | None = GOOD_DIFF, path: str = "src/pkg/core.py") -> dict:
    return {
        "hypotheses": [
            {"title": "Non-numeric input", "explanation": "`parse` gets 'x'.", "confidence": "high"},
            {"title": "Bad fixture", "explanation": "The test data is wrong.", "confidence": "medium"},
            {"title": "Locale", "explanation": "Unlikely.", "confidence": "low"},
        ],
        "reproduction": ["Run `pytest tests/test_core.py::test_load`"],
        "patch": None if diff is None else {"path": path, "diff": diff},
        "summary": "int() was given a non-numeric string.",
    }


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


# --- the answer ------------------------------------------------------------------------------------


def test_schema_is_strict_tools_compatible():
    def walk(node):
        if isinstance(node, dict):
            assert not {"minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum"} & set(node)
            if node.get("type") == "object":
                assert node["additionalProperties"] is False
                assert sorted(node["required"]) == sorted(node["properties"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(EXPLAIN_SCHEMA)
    assert EXPLAIN_SCHEMA["properties"]["patch"]["anyOf"][1] == {"type": "null"}


@pytest.mark.parametrize(("change", "error"), [
    (lambda a: a["hypotheses"].pop(), "exactly 3 items (got 2)"),
    (lambda a: a["hypotheses"][1].update(confidence="certain"), "hypotheses[1].confidence"),
    (lambda a: a["hypotheses"][0].update(title=" "), "hypotheses[0].title"),
    (lambda a: a.pop("summary"), "missing key(s): summary"),
    (lambda a: a.update(reproduction="run it"), "reproduction must be an array of strings"),
    (lambda a: a.update(patch={"path": "x.py", "diff": "edit line 2"}), "patch.diff must be a unified diff"),
    (lambda a: a.update(patch={"diff": GOOD_DIFF}), "patch.path"),
])
def test_validation_errors(change, error):
    value = answer()
    assert validate_explanation(value) is None
    change(value)
    assert error in validate_explanation(value)


def test_validation_of_non_objects():
    assert validate_explanation([1]) == "the answer must be a JSON object"
    assert validate_explanation(answer(None)) is None


# --- applying the diff -----------------------------------------------------------------------------


def test_diff_applies_cleanly():
    patched = apply_unified_diff(CORE, GOOD_DIFF)
    assert patched.startswith("def parse(value):\n    try:\n        return int(value)\n    except ValueError")
    assert patched.endswith(CORE[CORE.index("\n\n\ndef load"):])


def test_diff_with_offset_line_numbers_and_no_prefixes():
    diff = """\
--- src/pkg/core.py
+++ src/pkg/core.py
@@ -10,3 +10,3 @@
 def wrap(values):
     try:
-        return load(values)
+        return load(list(values))
"""
    assert "return load(list(values))" in apply_unified_diff(CORE, diff)  # really at line 13
    headerless = diff.replace("--- src/pkg/core.py\n+++ src/pkg/core.py\n", "")
    assert apply_unified_diff(CORE, headerless) is not None


def test_diff_refuses_mismatch_partial_and_ambiguous_hunks():
    assert apply_unified_diff(CORE, GOOD_DIFF.replace(" def parse(value):", " def parse(text):")) is None
    second = "@@ -13,2 +13,2 @@\n     try:\n-        return load(value)\n+        return load(values or [])\n"
    assert apply_unified_diff(CORE, GOOD_DIFF + second) is None  # 2nd hunk's context is wrong: no part
    fixed = second.replace("load(value)", "load(values)")
    assert "load(values or [])" in apply_unified_diff(CORE, GOOD_DIFF + fixed)
    twice = "a = 1\nb = 2\n" + "\n" * 200 + "a = 1\nb = 2\n"
    assert apply_unified_diff(twice, "@@ -100,2 +100,2 @@\n a = 1\n-b = 2\n+b = 3\n") is None
    assert apply_unified_diff(twice, "@@ -1,2 +1,2 @@\n a = 1\n-b = 2\n+b = 3\n").startswith("a = 1\nb = 3\n")
    assert apply_unified_diff(CORE, "no diff here") is None
    two_files = GOOD_DIFF + GOOD_DIFF.replace("core.py", "other.py")
    assert apply_unified_diff(CORE, two_files) is None


def test_diff_end_of_file_newlines_and_crlf():
    original = "a\nb"
    diff = "--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n"
    assert apply_unified_diff(original, diff) == "a\nc\n"
    keep = "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n"
    assert apply_unified_diff(original, keep) == "a\nc"
    assert apply_unified_diff("x = 1\r\ny = 2\r\n", "@@ -2 +2 @@\n-y = 2\n+y = 3\n") == "x = 1\r\ny = 3\r\n"
    fenced = "```diff\n" + GOOD_DIFF + "```\n"
    assert apply_unified_diff(CORE, fenced) == apply_unified_diff(CORE, GOOD_DIFF)


# --- where the patch goes --------------------------------------------------------------------------


def test_patch_target(ws, tmp_path):
    tb = resolve_frames(tb_with("/home/runner/work/p/p/src/pkg/core.py"), ws, IgnoreRules.for_workspace(ws))
    core = ws / "src/pkg/core.py"
    assert patch_target(answer(path="src/pkg/core.py"), tb, ws) == core
    assert patch_target(answer(path="b/src/pkg/core.py"), tb, ws) == core
    as_printed = "/home/runner/work/p/p/src/pkg/core.py"
    assert patch_target(answer(path=as_printed), tb, ws) == core
    assert patch_target(answer(path=str(core)), tb, ws) == core
    assert patch_target(answer(path="core.py"), tb, ws) == core  # the tail of a frame's file
    (tmp_path / "link.py").symlink_to(tmp_path / "outside.py")
    (ws / "escape.py").symlink_to(tmp_path / "outside.py")
    for refused in ("../outside.py", "src/../../outside.py", str(tmp_path / "outside.py"), "/etc/passwd",
                    "escape.py", "config/secrets.py", "private_notes.py", "src/pkg/missing.py",
                    ".venv/lib/python3.11/site-packages/lib.py", ""):
        assert patch_target(answer(path=refused), tb, ws) is None, refused
    assert patch_target(answer(path="src/pkg/core.py"), tb, None) is None
    assert patch_target(answer(None), tb, ws) is None
    assert patch_target(answer(path="src/pkg/core.py"), tb, ws, IgnoreRules(["src/"], ws)) is None


def test_find_reads_the_whole_chain_from_its_last_link(real):
    lines = log_with(real["chain"], before=300)
    separator = next(i for i, line in enumerate(lines) if line.startswith("The above exception"))
    tb = find_traceback(lines, separator + 40, separator + 40)  # the window starts just after it
    assert tb.first_line == 300 and [c.exc_type for c in tb.causes] == ["TypeError"]
