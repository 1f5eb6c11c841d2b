"""The whole-file refactor engine's pure parts: plan validation, region tracking and merging, import
insertion, answer normalisation, which tests import a module, presets, and which test failures count.
The engine end to end (the real SDK against the fake API, real ruff and pytest) is in
tests/e2e/test_refactor_engine.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haiku_lsp.errors import ActionError, MergeConflict, PlanError
from haiku_lsp.refactor import PRESETS, resolve_instruction
from haiku_lsp.refactor.discovery import find_tests
from haiku_lsp.refactor.execute import normalise
from haiku_lsp.refactor.merge import Document, Edit, add_imports, merge
from haiku_lsp.refactor.plan import parse_plan


def test_tests_failing_before_the_refactor_do_not_count_against_it():
    from haiku_lsp.refactor.validate import _broken
    from haiku_lsp.tools import RunResult

    def run(*failed: str, passed: int = 3) -> RunResult:
        output = "\n".join(f"FAILED tests/test_m.py::{name} - assert 1 == 2" for name in failed)
        return RunResult(not failed, passed, len(failed), 0, 0, f"{len(failed)} failed", output, 0.1, False,
                         1 if failed else 0)

    assert not _broken(run("test_old"), run("test_old"))
    assert _broken(run("test_old", "test_new"), run("test_old"))
    assert _broken(run("test_new"), run())
    assert not _broken(run(), run("test_old"))


SOURCE = """import os


class Cart:
    def total(self):
        return 1

    def count(self):
        return 2


def helper():
    return os.sep
"""


def _plan(*items: dict, text: str = SOURCE):
    return parse_plan({"notes": "", "subtasks": list(items)}, text, "pkg/cart.py")


def _st(sid: str, symbols=(), lines=(), deps=(), path: str | None = None) -> dict:
    target = {"symbols": list(symbols), "lines": [{"start": a, "end": b} for a, b in lines]}
    if path is not None:
        target["path"] = path
    return {"id": sid, "title": sid, "target": target, "instructions": "x", "depends_on": list(deps)}


@pytest.mark.parametrize(("items", "message"), [
    ([_st("a", ["Cart.nope"])], "unknown symbol 'Cart.nope'"),
    ([_st("a", ["helper"], deps=["zz"])], "depends on the unknown id 'zz'"),
    ([_st("a", ["helper"], deps=["b"]), _st("b", ["Cart"], deps=["a"])], "cycle: a -> b -> a"),
    ([_st("a", ["helper"], path="other.py")], "targets 'other.py': only pkg/cart.py can be changed"),
    ([_st("a", lines=[(3, 40)])], "outside 1-13"),
    ([_st("a", ["Cart"]), _st("b", ["Cart.total"])], "a (lines 4-9) and b (lines 5-6) overlap"),
    ([_st("a", ["helper"]), _st("a", ["Cart"])], "the id 'a' is used twice"),
    ([_st("a")], "a has no target"),
])
def test_invalid_plans_are_refused_with_the_reason(items, message):
    with pytest.raises(PlanError) as err:
        _plan(*items)
    assert message in str(err.value)


def test_overlap_is_allowed_along_a_transitive_dependency():
    plan = _plan(_st("a", ["Cart"]), _st("b", ["helper"], deps=["a"]), _st("c", ["Cart.total"], deps=["b"]),
                 _st("d", ["Cart.count", "helper"], path="cart.py", deps=["c"]))
    assert plan.ancestors("c") == {"a", "b"} and plan.descendants("a") == {"b", "c", "d"}
    assert plan.by_id["d"].start == 7 and plan.by_id["d"].end == 12 and plan.by_id["d"].symbol is None
    assert plan.by_id["c"].symbol == "Cart.total" and plan.order() == ["a", "b", "c", "d"]


def test_a_nested_target_is_found_again_after_its_dependency_rewrote_the_code_around_it():
    plan = _plan(_st("a", ["Cart"]), _st("b", ["Cart.count"], deps=["a"]))
    doc = Document(SOURCE, plan)
    before = doc.text_of("a")
    doc.apply("a", Edit('class Cart:\n    """A cart."""\n\n' + before.split("\n", 1)[1], before))
    assert doc.text_of("b") == "    def count(self):\n        return 2"
    counted = doc.text_of("b")
    doc.apply("b", Edit("    def count(self) -> int:\n        return 2", counted))
    assert "def count(self) -> int:" in doc.text and '"""A cart."""' in doc.text
    with pytest.raises(MergeConflict, match="changed after its worker saw it"):
        doc.apply("b", Edit("x", counted))


def test_a_replacement_is_split_into_lines_as_the_editor_splits_them():
    plan = _plan(_st("a", ["helper"]), _st("b", ["Cart.count"]))
    doc = Document(SOURCE, plan)
    start, end = doc.regions["a"]
    doc.apply("a", Edit("def helper():\r\n    import os\r\n    return os.sep", doc.text_of("a")))  # Windows line ends
    assert "\r" not in doc.text and doc.regions["a"] == (start, end + 1)
    assert doc.text_of("a") == "def helper():\n    import os\n    return os.sep"
    doc.apply("b", Edit("", doc.text_of("b")))  # an empty replacement removes the region's lines
    assert "def count" not in doc.text and doc.regions["b"][1] < doc.regions["b"][0]
    a, b = doc.regions["a"]
    assert doc.preview("a", "") == "\n".join(doc.lines[:a] + doc.lines[b + 1:])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_independent_edits_merge_to_the_same_text_in_any_order(data):
    lines = [f"x{i} = {i}" for i in range(30)]
    text = "\n".join(lines) + "\n"
    cuts = sorted(data.draw(st.sets(st.integers(0, 29), min_size=2, max_size=12)))
    spans = [(cuts[i], cuts[i + 1] - 1) for i in range(0, len(cuts) - 1, 2)]
    items = [_st(f"t{i}", lines=[(a + 1, max(a, b) + 1)]) for i, (a, b) in enumerate(spans)]
    plan = parse_plan({"notes": "", "subtasks": items}, text, "m.py")
    news = {s.id: "\n".join(data.draw(st.lists(st.sampled_from(["y = 1", "z = 2", ""]), max_size=4)))
            for s in plan.subtasks}
    expected = text.split("\n")
    for s in sorted(plan.subtasks, key=lambda s: -s.start):  # bottom-up on the original
        expected[s.start:s.end + 1] = news[s.id].split("\n") if news[s.id] else []
    doc = Document(text, plan)
    for sid in data.draw(st.permutations([s.id for s in plan.subtasks])):
        doc.apply(sid, Edit(news[sid], doc.text_of(sid)))
    assert doc.text == "\n".join(expected)
    edits = {s.id: Edit(news[s.id], "\n".join(text.split("\n")[s.start:s.end + 1])) for s in plan.subtasks}
    assert merge(text, plan, edits).text == "\n".join(expected)


def test_imports_go_after_the_leading_imports_without_duplicates():
    text = '"""Doc."""\nfrom typing import Any\nimport os\n\nX = 1\n'
    new, owners, at, count = add_imports(text, [("from typing import Any", "a"), ("import re", "a"),
                                                 ("import re", "b"), ("from __future__ import annotations", "c")])
    assert new == '"""Doc."""\nfrom typing import Any\nimport os\nimport re\n\nX = 1\n'
    assert owners == {3: ["a", "b"]} and (at, count) == (3, 1)
    assert add_imports("#!/usr/bin/env python\nX = 1\n", [("import re", "a")])[0] == \
        "#!/usr/bin/env python\nimport re\nX = 1\n"


def test_replacements_lose_fences_and_get_the_region_indentation():
    seen = "    def f(self):\n        return 1"
    assert normalise("```python\ndef f(self) -> int:\n    return 1\n```", seen) == \
        "    def f(self) -> int:\n        return 1"
    assert normalise("\n    def f(self):\n        return 1\n\n", seen) == seen


def test_find_tests_matches_the_import_forms(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "tests").mkdir()
    files = {"test_a.py": "import pkg.cart\n", "test_b.py": "from pkg.cart import Cart\n",
             "test_c.py": "from pkg import other, cart\n", "test_d.py": "import pkg.cartography\n",
             "helpers.py": "import pkg.cart\n", "e_test.py": "    from pkg.cart import Cart as C\n"}
    for name, text in files.items():
        (tmp_path / "tests" / name).write_text(text)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "test_x.py").write_text("import pkg.cart\n")
    assert find_tests(tmp_path, "pkg.cart").files == ["tests/e_test.py", "tests/test_a.py", "tests/test_b.py",
                                                      "tests/test_c.py"]


def test_find_tests_follows_reexports_aliases_and_the_pytest_config(tmp_path):
    # toolz's shape: the package re-exports the module; tests import names through the package.
    (tmp_path / "toolz" / "tests").mkdir(parents=True)
    (tmp_path / "toolz" / "__init__.py").write_text("from .itertoolz import *\n\nfrom .recipes import *\n")
    (tmp_path / "toolz" / "recipes.py").write_text("def countby(): pass\n")
    (tmp_path / "toolz" / "other.py").write_text("")
    (tmp_path / "toolz" / "tests" / "test_recipes.py").write_text("from toolz import first, countby\n")
    (tmp_path / "toolz" / "tests" / "test_alias.py").write_text("import os, toolz as tz\n")
    (tmp_path / "toolz" / "tests" / "test_unrelated.py").write_text("import toolzy\n")
    found = find_tests(tmp_path, "toolz.recipes", tmp_path / "toolz" / "recipes.py")
    assert found.how == "imports"
    assert found.files == ["toolz/tests/test_alias.py", "toolz/tests/test_recipes.py"]
    # A module its package does not re-export: only direct imports or the doctest suite's name count.
    (tmp_path / "toolz" / "tests" / "test_docs.py").write_text("DocTestSuite('toolz.other')\n")
    assert find_tests(tmp_path, "toolz.other", tmp_path / "toolz" / "other.py").files == ["toolz/tests/test_docs.py"]
    # pytest's python_files and testpaths decide which files are tests.
    (tmp_path / "pytest.ini").write_text("[pytest]\ntestpaths = checks\npython_files = check_*.py\n")
    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "check_recipes.py").write_text("from toolz.recipes import countby\n")
    found = find_tests(tmp_path, "toolz.recipes", tmp_path / "toolz" / "recipes.py")
    assert found.files == ["checks/check_recipes.py"]
    # Nothing imports it, but there are tests: the whole suite (as the config says: no arguments).
    nothing = find_tests(tmp_path, "toolz.other", tmp_path / "toolz" / "other.py")
    assert (nothing.how, nothing.args) == ("whole suite", []) and "whole test suite" in nothing.why
    (tmp_path / "checks" / "check_recipes.py").unlink()
    none = find_tests(tmp_path, "toolz.recipes", tmp_path / "toolz" / "recipes.py")
    assert none.how == "none" and "check_*.py" in none.why


def test_presets_and_instructions():
    assert set(PRESETS) == {"Add type hints", "Split long functions", "Improve names", "Modernise idioms"}
    assert resolve_instruction("improve NAMES") == PRESETS["Improve names"]
    assert resolve_instruction("  Inline the helper ") == "Inline the helper"
    with pytest.raises(ActionError, match="pick a preset: Add type hints"):
        resolve_instruction(" ")
