"""Generate unit test, the offline writers checked by real runs: doctest-derived tests and hypothesis
ghostwriter property tests, run by pytest in the sandbox. The domain side (symbols, layout, merging,
validation) is in tests/unit/test_testgen.py."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from haiku_lsp.python import symbol_at
from haiku_lsp.testgen import doctest_test, ghostwriter_test, merge_test
from haiku_lsp.tools import run_pytest
from tests.unit.test_testgen import MATHS, maths_symbol

PY = sys.executable

pytestmark = pytest.mark.usefixtures("sandbox_env")


@pytest.fixture
def maths_ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "calc").mkdir(parents=True)
    (root / "calc" / "__init__.py").write_text("")
    (root / "calc" / "maths.py").write_text(MATHS)
    (root / "tests").mkdir()
    return root


async def test_doctest_test_runs_green(maths_ws):
    code = doctest_test("calc.maths", maths_symbol("def add"))
    assert code is not None
    for line in ("assert add(1, 2) == 3", "assert add(-1, 1) == 0", "assert values == [0, 2, 4]",
                 "assert capsys.readouterr().out == '4\\n'", "from calc.maths import Box, add",
                 """pytest.raises(TypeError, match=r'can only concatenate str \\(not "int"\\) to str'):""",
                 "_check(capsys, Box(add(1, 1)), 'Box(2...)\\n', doctest.ELLIPSIS)"):
        assert line in code, line
    readable = await run_pytest(maths_ws, {"tests/test_maths.py": code}, ["tests/test_maths.py"], python=PY,
                                timeout_s=60)
    assert readable.ok and readable.summary == "1 passed", readable.output
    exact = doctest_test("calc.maths", maths_symbol("def add"), exact=True)
    assert "assert add(1, 2)" not in exact
    box = doctest_test("calc.maths", maths_symbol("class Box"))
    assert "assert repr(Box(1)) == 'Box(1)'" in box and "assert Box(2).double() == 4" in box
    merged = merge_test(exact, box)
    result = await run_pytest(maths_ws, {"tests/test_maths.py": merged}, ["tests/test_maths.py"], python=PY,
                              timeout_s=60)
    assert result.ok and result.summary == "3 passed", result.output  # add, Box, Box.double


async def test_doctest_failure_is_reported(maths_ws):
    wrong = textwrap.dedent('''\
        def sub(a, b):
            """>>> sub(3, 1)
            1
            """
            return a - b
        ''')
    (maths_ws / "calc" / "wrong.py").write_text(wrong)
    code = doctest_test("calc.wrong", symbol_at(wrong, 0))
    result = await run_pytest(maths_ws, {"tests/test_wrong.py": code}, [], python=PY, timeout_s=60)
    assert not result.ok and result.summary == "1 failed" and "assert 2 == 1" in result.output


async def test_ghostwriter_writes_a_passing_property_test(maths_ws):
    pytest.importorskip("black")  # the ghostwriter formats its output with black
    code = await ghostwriter_test(maths_ws, "calc.maths", maths_symbol("def add"), python=PY, timeout_s=60)
    assert code is not None and "@given" in code and "calc.maths.add" in code
    double = maths_symbol("def double")
    method = await ghostwriter_test(maths_ws, "calc.maths", double, python=PY, timeout_s=60)
    assert method is not None and "st.builds(calc.maths.Box)" in method and "st.nothing()" not in method
    result = await run_pytest(maths_ws, {"tests/test_maths.py": merge_test(code, method)}, [], python=PY,
                              timeout_s=60)
    assert result.ok, result.output


async def test_ghostwriter_gives_up_cleanly(maths_ws):
    (maths_ws / "calc" / "untyped.py").write_text("def f(x):\n    return x\n")
    untyped = symbol_at("def f(x):\n    return x\n", 0)
    assert await ghostwriter_test(maths_ws, "calc.untyped", untyped, python=PY, timeout_s=60) is None
    missing = maths_symbol("def add")
    assert await ghostwriter_test(maths_ws, "calc.nope", missing, python=PY, timeout_s=60) is None
    coroutine = symbol_at("async def f(x: int) -> int:\n    return x\n", 0)
    assert await ghostwriter_test(maths_ws, "calc.maths", coroutine, python=PY, timeout_s=60) is None
