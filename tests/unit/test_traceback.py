"""Explain stack trace, engine side, on written-out text: pytest collection errors, log prefixes and other
wrappings, finding a traceback around the cursor, robustness, resolution against a workspace, what the
model sees, Markdown, the answer's schema, and applying the suggested diff. The same code on tracebacks
that Python and pytest really print (run here) is in tests/e2e/test_traceback.py."""

from __future__ import annotations

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


def all_tracebacks(text: str) -> list[ParsedTraceback]:
    lines = text.splitlines()
    return tbm._scan(lines, 0, len(lines), len(lines))[0]


def where(frames) -> list[tuple[str, int, str | None]]:
    return [(Path(f.path).name, f.line, f.function) for f in frames]


# --- pytest ----------------------------------------------------------------------------------------


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


def test_find_reads_a_long_traceback_whole():
    frames = "".join(f'  File "/srv/app/m{i}.py", line {i + 1}, in f{i}\n    f{i + 1}()\n'
                     for i in range(400))
    lines = log_with("Traceback (most recent call last):\n" + frames + "KeyError: 'k'\n", before=10)
    last = len(lines) - 101
    tb = find_traceback(lines, last, last)
    assert (tb.first_line, tb.last_line, len(tb.frames)) == (10, last, 400)


def test_find_on_plain_code_is_none_and_cheap():
    code = "".join(p.read_text() for p in sorted(Path(tbm.__file__).parent.glob("*.py"))).splitlines()
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


def make_ws(tmp_path: Path) -> Path:
    """A workspace holding CORE and TESTS, a secret, an ignored file, a virtualenv and a sub-project."""
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


@pytest.fixture
def ws(tmp_path) -> Path:
    return make_ws(tmp_path)


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


# --- what the model sees ---------------------------------------------------------------------------


def test_frame_source_marks_the_line(ws):
    frame = resolve_frames(tb_with("src/pkg/core.py"), ws, IgnoreRules()).frames[0]
    assert frame_source(frame, radius=1) == "  1 | def parse(value):\n> 2 |     return int(value)\n  3 |"
    assert frame_source(Frame("x.py", 2, None, None)) is None
    assert frame_source(Frame("x.py", 99, None, None, ws / "src/pkg/core.py")) is None


def test_model_payload_merges_windows_in_one_file(ws):
    tb = ParsedTraceback("ValueError", "x", (Frame("src/pkg/core.py", 8, "load", None),
                                             Frame("src/pkg/core.py", 2, "parse", None)), "python")
    payload = model_payload(resolve_frames(tb, ws, IgnoreRules()), radius=3)
    assert payload.count("```") == 2
    assert "src/pkg/core.py lines 1-11 ('>' marks line 2 in parse, 8 in load)" in payload
    assert ">  2 |     return int(value)" in payload and ">  8 |         out.append(parse(v))" in payload


# --- Markdown --------------------------------------------------------------------------------------


def test_offline_markdown_without_workspace_or_builtin():
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




@pytest.mark.parametrize("name", ["pytest_long_doctest_in_listing.txt", "pytest_native.txt"])
def test_a_traceback_in_a_listed_docstring_is_source_not_the_failure(name):
    # Real reports of more-itertools 10.5.0 (tests/e2e/test_validation.py makes them afresh): in the
    # long one, pytest lists grouper's source, whose doctest shows `Traceback ... UnequalIterablesError`.
    report = (Path(__file__).parent / "data" / name).read_text()
    lines = report.split("\n")
    for parsed in (parse_traceback(report), find_traceback(lines, 0, len(lines) - 1), find_traceback(lines, 45, 45)):
        assert parsed is not None and parsed.exc_type == "ValueError"
        assert parsed.message == "Expected fill, strict, or ignore"
        assert [(Path(f.path).name, f.line) for f in parsed.frames][-3:] == [
            ("test_chunks.py", 9), ("test_chunks.py", 5), ("recipes.py", 413)]
