"""Generate unit test, domain side: symbols, module names, test locations, merging into test files,
validating answers, doctests read from a docstring. The offline writers checked by real runs (doctests,
hypothesis ghostwriter) are in tests/e2e/test_testgen.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from haiku_lsp.python import module_name, symbol_at
from haiku_lsp.python.symbols import symbols
from haiku_lsp.testgen import (
    TESTGEN_SCHEMA,
    doctest_test,
    merge_test,
    new_test_ids,
    normalise_test_path,
    test_target,
    validate_generated,
)

SOURCE = '''\
import functools


@functools.cache
def plain(x):
    """Plain."""
    return x


class Cart:
    """A cart."""

    def __init__(self):
        self.items = []

    @property
    def total(self):
        def helper(v):
            return v
        return sum(helper(i) for i in self.items)

    async def fetch(self):
        return None


async def load():
    return 1
'''


def line_of(text: str, source: str = SOURCE) -> int:
    return next(i for i, line in enumerate(source.splitlines()) if text in line)


@pytest.mark.parametrize(("needle", "qualname", "kind"), [
    ("@functools.cache", "plain", "function"),
    ('"""Plain."""', "plain", "function"),
    ("class Cart", "Cart", "class"),
    ('"""A cart."""', "Cart", "class"),
    ("self.items = []", "Cart.__init__", "method"),
    ("@property", "Cart.total", "method"),
    ("return v", "Cart.total.<locals>.helper", "function"),
    ("return sum", "Cart.total", "method"),
    ("return None", "Cart.fetch", "method"),
    ("return 1", "load", "async function"),
])
def test_symbol_at(needle, qualname, kind):
    symbol = symbol_at(SOURCE, line_of(needle))
    assert symbol is not None and (symbol.qualname, symbol.kind) == (qualname, kind)


def test_symbol_details():
    plain = symbol_at(SOURCE, line_of("return x"))
    assert (plain.start_line, plain.end_line) == (line_of("@functools.cache"), line_of("return x"))
    assert plain.source.startswith("@functools.cache\ndef plain(x):") and plain.docstring == "Plain."
    fetch = symbol_at(SOURCE, line_of("async def fetch"))
    assert fetch.is_async and fetch.name == "fetch" and fetch.source.startswith("    async def fetch")
    assert symbol_at(SOURCE, line_of("import functools")) is None
    assert symbol_at("def broken(:\n    pass\n", 0) is None
    assert [s.qualname for s in symbols(SOURCE)] == [
        "plain", "Cart", "Cart.__init__", "Cart.total", "Cart.total.<locals>.helper", "Cart.fetch", "load"]


def make(root: Path, *files: str) -> None:
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")


def test_module_names(tmp_path):
    make(tmp_path, "flat.py", "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py",
         "src/lib/__init__.py", "src/lib/core.py", "src/single.py", "scripts/tool.py", "my-dir/x.py",
         "notes.txt")
    expected = {"flat.py": "flat", "pkg/sub/mod.py": "pkg.sub.mod", "pkg/__init__.py": "pkg",
                "src/lib/core.py": "lib.core", "src/single.py": "single", "scripts/tool.py": "scripts.tool",
                "my-dir/x.py": None, "notes.txt": None}
    for rel, name in expected.items():
        assert module_name(tmp_path, tmp_path / rel) == name, rel
    assert module_name(tmp_path / "pkg", tmp_path / "flat.py") is None  # outside the root
    assert module_name(tmp_path, Path("pkg/sub/mod.py")) == "pkg.sub.mod"  # relative to the root


def test_module_name_uses_setuptools_where(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.setuptools.packages.find]\nwhere = ["server"]\n')
    make(tmp_path, "server/app/__init__.py", "server/app/x.py", "server/run.py")
    assert module_name(tmp_path, tmp_path / "server/app/x.py") == "app.x"
    assert module_name(tmp_path, tmp_path / "server/run.py") == "run"


def test_test_target_follows_the_layout(tmp_path):
    make(tmp_path, "pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py", "flat.py")
    mod = tmp_path / "pkg/sub/mod.py"
    assert test_target(tmp_path, mod) == tmp_path / "tests/test_mod.py"  # no tests yet
    (tmp_path / "test").mkdir()
    assert test_target(tmp_path, mod) == tmp_path / "test/test_mod.py"
    (tmp_path / "tests").mkdir()
    assert test_target(tmp_path, mod) == tmp_path / "tests/test_mod.py"
    assert test_target(tmp_path, tmp_path / "flat.py") == tmp_path / "tests/test_flat.py"
    (tmp_path / "tests/sub").mkdir()  # tests mirror subpackages, without the top-level name
    assert test_target(tmp_path, mod) == tmp_path / "tests/sub/test_mod.py"
    (tmp_path / "tests/pkg").mkdir()  # ... or with it
    assert test_target(tmp_path, mod) == tmp_path / "tests/pkg/sub/test_mod.py"


def test_normalise_test_path(tmp_path):
    make(tmp_path, "pkg/__init__.py", "pkg/mod.py")
    (tmp_path / "tests").mkdir()
    mod = tmp_path / "pkg/mod.py"
    default = tmp_path / "tests/test_mod.py"
    proposed = "tests/unit/test_mod_extra.py"
    assert normalise_test_path(tmp_path, proposed, mod) == tmp_path / proposed
    absolute = tmp_path / "tests/test_x.py"
    assert normalise_test_path(tmp_path, str(absolute), mod) == absolute
    for bad in (None, "", "../tests/test_mod.py", "/tmp/tests/test_mod.py", "tests/mod_test.py",
                "test_mod.py", "tests/test_mod.txt", "pkg/test_mod.py", "tests/../../x/test_mod.py",
                "tests/.hidden/test_a.py"):
        assert normalise_test_path(tmp_path, bad, mod) == default, bad


def test_test_paths_through_a_link_out_of_the_workspace_are_refused(tmp_path):
    # A test written through tests/elsewhere/ would land outside the workspace, and the sandboxed test
    # run (which never copies links that leave the workspace) would not see it.
    ws, outside = tmp_path / "ws", tmp_path / "outside"
    make(ws, "pkg/__init__.py", "pkg/mod.py", "tests/__init__.py")
    make(outside, "lib/__init__.py", "lib/mod.py")
    (ws / "tests" / "elsewhere").symlink_to(outside, target_is_directory=True)
    (ws / "lib").symlink_to(outside / "lib", target_is_directory=True)
    mod = ws / "pkg/mod.py"
    assert normalise_test_path(ws, "tests/elsewhere/test_mod.py", mod) == ws / "tests/test_mod.py"
    assert module_name(ws, ws / "lib/mod.py") is None
    (ws / "tests" / "inner").symlink_to(ws / "tests", target_is_directory=True)  # a link that stays inside
    assert normalise_test_path(ws, "tests/inner/test_mod.py", mod) == ws / "tests/inner/test_mod.py"


EXISTING = '''\
"""Tests for shop."""

import pytest

from shop import Cart


@pytest.fixture
def cart():
    return Cart()


def test_total(cart):
    assert cart.total == 0
'''

NEW = '''\
"""Generated tests."""

import pytest
from hypothesis import given, strategies as st

from shop import Cart, total


@pytest.fixture
def cart():
    return Cart()


@pytest.fixture
def full():
    return Cart([1, 2])


def test_total(full):
    assert full.total == 3


@given(st.lists(st.integers()))
def test_total_sums(items):
    assert total(items) == sum(items)
'''


def test_merge_dedupes_imports_and_renames_clashes():
    merged = merge_test(EXISTING, NEW)
    compile(merged, "test_shop.py", "exec")
    assert merged.endswith("\n") and not merged.endswith("\n\n") and "\n\n\n\n" not in merged
    assert merged.count("import pytest") == 1 and merged.count('"""') == 2  # one docstring
    assert "from shop import Cart, total\n" in merged  # joined the existing import
    head = merged.split("@pytest.fixture")[0]
    assert "from hypothesis import given, strategies as st" in head  # with the other imports
    tree = ast.parse(merged)
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    # The identical `cart` fixture is dropped, the clashing test renamed.
    assert names == ["cart", "test_total", "full", "test_total_2", "test_total_sums"]
    assert new_test_ids("tests/test_shop.py", EXISTING, merged) == [
        "tests/test_shop.py::test_total_2", "tests/test_shop.py::test_total_sums"]


def test_merge_renames_a_different_fixture_and_its_uses():
    new = "import pytest\n\n\n@pytest.fixture\ndef cart():\n    return 'other'\n\n\ndef test_other(cart):\n" \
          "    assert cart.upper() == 'OTHER'\n    assert dict(cart=1)\n"
    merged = merge_test(EXISTING, new)
    assert "def cart_2():" in merged and "def test_other(cart_2):" in merged and "cart_2.upper()" in merged
    assert "dict(cart=1)" in merged  # a keyword argument is not the fixture
    compile(merged, "t.py", "exec")


def test_merge_edge_cases():
    new = "from __future__ import annotations\n\nimport os\n\n\ndef test_a():\n    assert os.sep\n"
    assert merge_test(None, new) == new
    assert merge_test("   \n", new) == new
    merged = merge_test('"""Doc."""\n\n\ndef test_b():\n    pass\n', new)
    assert merged.startswith('"""Doc."""\nfrom __future__ import annotations\nimport os\n\n')
    compile(merged, "t.py", "exec")
    broken = "def test_old(:\n"
    assert merge_test(broken, new).startswith(broken)  # unparsable file: plain append
    with pytest.raises(ValueError):
        merge_test(EXISTING, "def test_x(:\n")


def test_schema_is_strict_tool_compatible():
    assert TESTGEN_SCHEMA["additionalProperties"] is False
    assert sorted(TESTGEN_SCHEMA["required"]) == sorted(TESTGEN_SCHEMA["properties"]) == [
        "code", "command", "notes", "test_path"]
    assert all(spec["type"] == "string" and set(spec) <= {"type", "description"}
               for spec in TESTGEN_SCHEMA["properties"].values())


@pytest.mark.parametrize(("answer", "error"), [
    ([], "JSON object"),
    ({"test_path": "t.py", "code": "def test_a(): pass"}, "'command' is missing"),
    ({"test_path": "t.py", "code": 3, "command": "", "notes": ""}, "'code' must be a string"),
    ({"test_path": "t.py", "code": " ", "command": "", "notes": ""}, "'code' is empty"),
    ({"test_path": "t.py", "code": "def test_a(:\n", "command": "", "notes": ""}, "does not compile"),
    ({"test_path": "t.py", "code": "return 1\n", "command": "", "notes": ""}, "compile"),
    ({"test_path": "t.py", "code": "def check_a():\n    pass\n", "command": "", "notes": ""}, "no test"),
    ({"test_path": "t.py", "code": "class TestA:\n    def test_a(self):\n        pass\n", "command": "",
      "notes": ""}, None),
])
def test_validate_generated(answer, error):
    result = validate_generated(answer)
    assert result is None if error is None else error in result


MATHS = '''\
print("calc.maths imported")  # noise on stdout, as some modules make


def add(a: int, b: int) -> int:
    """Add two numbers.

    >>> add(1, 2)
    3
    >>> add(-1, 1) == 0
    True
    >>> values = [add(i, i) for i in range(3)]
    >>> values
    [0, 2, 4]
    >>> print(add(2, 2))
    4
    >>> add("a", 1)
    Traceback (most recent call last):
        ...
    TypeError: can only concatenate str (not "int") to str
    >>> Box(add(1, 1))  # doctest: +ELLIPSIS
    Box(2...)
    >>> text = \'\'\'x
    ... y\'\'\'
    >>> text.split()
    ['x', 'y']
    """
    return a + b


class Box:
    """A box.

    >>> Box(1)
    Box(1)
    """

    def __init__(self, value: int) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"Box({self.value})"

    def double(self) -> int:
        """>>> Box(2).double()
        4
        """
        return self.value * 2


def undocumented(x: int) -> int:
    return x
'''


def maths_symbol(name: str):
    return symbol_at(MATHS, line_of(name, MATHS))


def test_doctest_test_without_examples():
    assert doctest_test("calc.maths", maths_symbol("def undocumented")) is None
    nested = symbol_at("def f():\n    def g():\n        '''>>> 1\n        1\n        '''\n", 1)
    assert doctest_test("m", nested) is None
