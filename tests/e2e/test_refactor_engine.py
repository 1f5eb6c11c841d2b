"""The whole-file refactor engine end to end: the real SDK against the fake Messages API (planner and
workers scripted by predicate), real ruff, real pytest in a sandboxed copy of a tmp workspace. The pure
parts (plan validation, region tracking, import insertion) are in tests/unit/test_refactor_engine.py."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
import pytest_asyncio

from haiku_lsp.errors import ActionError
from haiku_lsp.llm.access import ModelAccess
from haiku_lsp.llm.anthropic import AnthropicProvider
from haiku_lsp.llm.cache import Cache
from haiku_lsp.refactor import PRESETS, run_refactor
from tests.fakes.anthropic_api import Reply
from tests.harness import API_KEY

PLANNER = "claude-sonnet-4-6"
WORKER = "claude-haiku-4-5"

MODULE = '''"""Small arithmetic."""


def add(a, b):
    return a + b


def sub(a, b):
    return a - b


def mul(a, b):
    return a * b


def div(a, b):
    return a / b


def neg(a):
    return -a
'''
TESTS = """from mod import add, div, mul, neg, sub


def test_add():
    assert add(2, 3) == 5


def test_sub():
    assert sub(5, 3) == 2


def test_mul():
    assert mul(2, 3) == 6


def test_div():
    assert div(6, 3) == 2


def test_neg():
    assert neg(2) == -2
"""
HINTED = {
    "add": "def add(a: int, b: int) -> int:\n    return a + b",
    "sub": "def sub(a: int, b: int) -> int:\n    return a - b",
    "mul": "def mul(a: int, b: int) -> int:\n    return a * b",
    "div": "def div(a: float, b: float) -> float:\n    return a / b",
    "neg": "def neg(a: int) -> int:\n    return -a",
}


# --- fixtures and scripting helpers ------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _env(monkeypatch, tmp_path_factory, fake_anthropic):
    # The sandboxed pytest would load every installed plugin (pygls via pytest-lsp...): seconds a run.
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("HAIKU_LSP_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "haiku-lsp-cache"))
    monkeypatch.setenv("ANTHROPIC_BASE_URL", fake_anthropic.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    monkeypatch.delenv("ANTHROPIC_AUTH_TOKEN", raising=False)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "tests").mkdir(parents=True)
    (root / "mod.py").write_text(MODULE)
    (root / "tests" / "test_mod.py").write_text(TESTS)
    # Fails, but does not import `mod`: never run by a refactor of mod.py.
    (root / "tests" / "test_other.py").write_text("def test_unrelated():\n    assert False\n")
    return root


@pytest.fixture
def cache(tmp_path: Path) -> Cache:
    return Cache(tmp_path / "cache")


@pytest_asyncio.fixture
async def provider():
    """The real provider (SDK) talking to the fake; its client's pooled connections are closed at the end,
    or their sockets are finalized during a later test (pytest's unraisable hook then re-enters ast.parse,
    which CPython 3.11 answers with a SystemError)."""
    provider = AnthropicProvider()
    yield provider
    if provider._client is not None:
        await provider._client.close()


def system_text(body: dict) -> str:
    return " ".join(block["text"] for block in body.get("system") or [])


def planning(body: dict) -> bool:
    return body["model"] == PLANNER and "You plan" in system_text(body)


def reviewing(body: dict) -> bool:
    return body["model"] == PLANNER and "You review" in system_text(body)


def worker_for(sid: str):
    return lambda body: body["model"] == WORKER and f"Subtask {sid}:" in json.dumps(body["messages"])


def subtask(sid: str, symbol: str, *, deps: tuple[str, ...] = (), instructions: str = "Add type hints.") -> dict:
    return {"id": sid, "title": f"Hints for {symbol}", "target": {"symbols": [symbol], "lines": []},
            "instructions": instructions, "depends_on": list(deps)}


def plan_json(*subtasks: dict) -> str:
    return json.dumps({"notes": "One subtask per function.", "subtasks": list(subtasks)})


def answer(replacement: str, notes: str = "Added type hints.", imports: tuple[str, ...] = ()) -> str:
    return json.dumps({"replacement": replacement, "imports": list(imports), "notes": notes})


def worker_requests(fake, sid: str | None = None) -> list:
    return [r for r in fake.message_requests if r.model == WORKER
            and (sid is None or f"Subtask {sid}:" in json.dumps(r.body["messages"]))]


async def refactor(provider: AnthropicProvider, ws: Path, cache: Cache, name: str = "mod.py", **kwargs):
    options = dict(text=(ws / name).read_text(), path=ws / name, root=ws, instruction="Add type hints",
                   test_timeout=60, python=sys.executable)
    return await run_refactor(ModelAccess(provider, cache, PLANNER, 30), ModelAccess(provider, cache, WORKER, 30),
                              **{**options, **kwargs})


# --- end to end -------------------------------------------------------------------------------------

async def test_five_workers_run_concurrently_bounded_and_a_broken_answer_is_repaired(
        fake_anthropic, provider, ws, cache):
    names = ["add", "sub", "mul", "div", "neg"]
    fake_anthropic.script(plan_json(*[subtask(f"s{i}", n) for i, n in enumerate(names, 1)]), match=planning)
    # s1's first answer does not compile (missing colon): ask_json's repair round fixes it.
    fake_anthropic.script(Reply(answer("def add(a: int, b: int) -> int\n    return a + b"), ttft=0.3),
                          match=worker_for("s1"), times=1)
    for i, name in enumerate(names, 1):
        fake_anthropic.script(Reply(answer(HINTED[name]), ttft=0.3), match=worker_for(f"s{i}"))
    progress: list[tuple[str, int, int]] = []

    result = await refactor(provider, ws, cache, report=lambda *args: progress.append(args))

    assert result.ok, result.summary_markdown
    assert [o.status for o in result.subtasks] == ["applied"] * 5
    assert result.new_text == MODULE.replace("def add(a, b):\n    return a + b", HINTED["add"]).replace(
        "def sub(a, b):\n    return a - b", HINTED["sub"]).replace("def mul(a, b):\n    return a * b", HINTED["mul"]
    ).replace("def div(a, b):\n    return a / b", HINTED["div"]).replace("def neg(a):\n    return -a", HINTED["neg"])
    first = [worker_requests(fake_anthropic, f"s{i}")[0] for i in range(1, 6)]
    repair = worker_requests(fake_anthropic, "s1")
    assert len(repair) == 2 and "does not compile" in repair[1].last_user_text
    assert result.subtasks[0].attempts == 1
    # Four at once (the default bound); their [arrived, finished] windows overlap.
    four = sorted(first, key=lambda r: r.arrived_at)[:4]
    assert max(r.arrived_at for r in four) < min(r.finished_at for r in four)
    events = sorted([(r.arrived_at, 1) for r in worker_requests(fake_anthropic)]
                    + [(r.finished_at, -1) for r in worker_requests(fake_anthropic)])
    in_flight = peak = 0
    for _, step in events:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak == 4
    assert result.validation.tests == "passed" and result.validation.test_files == ["tests/test_mod.py"]
    assert result.validation.lint == "passed" and result.validation.compiles
    assert progress[0] == ("Planning", 0, 1) and ("Executing", 5, 5) in progress and ("Validating", 1, 1) in progress
    assert set(result.usage_by_model) == {PLANNER, WORKER}
    assert result.usage_by_model[WORKER]["calls"] == 6 and result.usd_by_model[PLANNER] > 0
    assert set(result.phase_seconds) == {"plan", "execute", "validate", "review"}
    assert result.phase_seconds["review"] == 0
    assert result.diff.startswith("--- a/mod.py\n+++ b/mod.py\n") and "+def neg(a: int) -> int:" in result.diff
    md = result.summary_markdown
    for text in ("# Refactor of `mod.py`", "Hints for mul", "## Validation", "## Cost", "## Time", "```diff",
                 PLANNER, "5 passed"):
        assert text in md


async def test_a_dependency_chain_runs_in_order_and_sees_earlier_results(fake_anthropic, provider, ws, cache):
    fake_anthropic.script(plan_json(
        subtask("s1", "add"),
        subtask("s2", "add", deps=("s1",), instructions="Add a docstring."),
        subtask("s3", "sub", deps=("s2",))), match=planning)
    documented = 'def add(a: int, b: int) -> int:\n    """The sum."""\n    return a + b'
    fake_anthropic.script(Reply(answer(HINTED["add"], notes="Hinted add."), ttft=0.2), match=worker_for("s1"))
    fake_anthropic.script(Reply(answer(documented, notes="Documented add."), ttft=0.2), match=worker_for("s2"))
    fake_anthropic.script(Reply(answer(HINTED["sub"]), ttft=0.2), match=worker_for("s3"))

    result = await refactor(provider, ws, cache)

    assert result.ok, result.summary_markdown
    s1, s2, s3 = (worker_requests(fake_anthropic, s)[0] for s in ("s1", "s2", "s3"))
    assert s1.finished_at <= s2.arrived_at and s2.finished_at <= s3.arrived_at
    # s2 works on add as s1 left it, and is told what s1 did.
    assert "def add(a: int, b: int) -> int:" in s2.last_user_text and "Hinted add." in s2.last_user_text
    assert documented in result.new_text and HINTED["sub"] in result.new_text
    assert [o.lines for o in result.subtasks] == [(4, 6), (4, 6), (9, 10)]


async def test_a_change_that_breaks_the_tests_is_reviewed_revised_and_then_passes(fake_anthropic, provider, ws, cache):
    fake_anthropic.script(plan_json(subtask("s1", "add"), subtask("s2", "mul")), match=planning)
    fake_anthropic.script(answer(HINTED["add"]), match=worker_for("s1"))
    # Compiles, so the worker's own check passes; only the module's tests catch it.
    fake_anthropic.script(answer("def mul(a: int, b: int) -> int:\n    return a + b"), match=worker_for("s2"),
                          times=1)
    fake_anthropic.script(answer(HINTED["mul"]), match=worker_for("s2"))
    fake_anthropic.script(json.dumps({"decisions": [{
        "id": "s2", "verdict": "revise", "reason": "mul now adds.",
        "instructions": "Add type hints to mul; keep the multiplication."}]}), match=reviewing)

    result = await refactor(provider, ws, cache)

    assert result.ok, result.summary_markdown
    assert [o.status for o in result.subtasks] == ["applied", "applied"]
    s2 = result.subtasks[1]
    assert s2.attempts == 2 and s2.instructions == "Add type hints to mul; keep the multiplication."
    assert s2.review == ["revise: mul now adds. New instructions: Add type hints to mul; keep the multiplication."]
    assert HINTED["mul"] in result.new_text and HINTED["add"] in result.new_text
    reviews = [r for r in fake_anthropic.message_requests if reviewing(r.body)]
    assert len(reviews) == 1 and result.review_rounds == 1
    # Only the failing subtask goes back to the planner, with what the tests said.
    assert "Subtask s2:" in reviews[0].last_user_text and "Subtask s1:" not in reviews[0].last_user_text
    assert "tests fail: 1 failed, 4 passed" in reviews[0].last_user_text
    assert "revise: mul now adds." in result.summary_markdown
    assert result.validation.tests == "passed" and result.phase_seconds["review"] > 0

    # The same refactor again: everything (plan, workers, review) comes from the cache.
    before = len(fake_anthropic.requests)
    again = await refactor(provider, ws, cache)
    assert len(fake_anthropic.requests) == before
    assert again.new_text == result.new_text and again.ok and again.usage_by_model == {}
    assert "everything came from the cache" in again.summary_markdown


async def test_a_rejected_subtask_and_its_dependents_are_dropped_and_named(fake_anthropic, provider, ws, cache):
    fake_anthropic.script(plan_json(subtask("s1", "add"), subtask("s2", "sub"),
                                    subtask("s3", "neg", deps=("s2",))), match=planning)
    fake_anthropic.script(answer(HINTED["add"]), match=worker_for("s1"))
    # A new ruff issue (F841) inside s2's lines.
    fake_anthropic.script(answer("def sub(a: int, b: int) -> int:\n    unused = 1\n    return a - b"),
                          match=worker_for("s2"))
    fake_anthropic.script(answer(HINTED["neg"]), match=worker_for("s3"))
    fake_anthropic.script(json.dumps({"decisions": [{"id": "s2", "verdict": "reject", "instructions": "",
                                                     "reason": "It adds an unused variable."}]}), match=reviewing)

    result = await refactor(provider, ws, cache)

    assert [o.status for o in result.subtasks] == ["applied", "rejected", "dropped"]
    assert result.ok and result.new_text == MODULE.replace("def add(a, b):\n    return a + b", HINTED["add"])
    review = next(r for r in fake_anthropic.message_requests if reviewing(r.body))
    assert "ruff F841 at line 9" in review.last_user_text
    assert result.subtasks[1].problems == ["ruff F841 at line 9: Local variable `unused` is assigned to but never used",
                                          "rejected in review: It adds an unused variable."]
    assert result.subtasks[2].problems == ["dropped: it depends on s2, which was rejected"]
    assert "left out: `s2` Hints for sub, `s3` Hints for neg" in result.summary_markdown


async def test_a_subtask_still_failing_after_two_review_rounds_is_left_out(fake_anthropic, provider, ws, cache):
    fake_anthropic.script(plan_json(subtask("s1", "sub")), match=planning)
    fake_anthropic.script(answer("def sub(a: int, b: int) -> int:\n    unused = 1\n    return a - b"),
                          match=worker_for("s1"))
    fake_anthropic.script(lambda body: json.dumps({"decisions": [{
        "id": "s1", "verdict": "revise", "reason": "Unused variable.",
        "instructions": f"Add hints; no unused variables (round {len(fake_anthropic.requests)})."}]}),
        match=reviewing)

    result = await refactor(provider, ws, cache)

    assert len([r for r in fake_anthropic.message_requests if reviewing(r.body)]) == 2
    assert len(worker_requests(fake_anthropic, "s1")) == 3
    outcome = result.subtasks[0]
    assert outcome.status == "failed" and outcome.attempts == 3 and len(outcome.review) == 2
    assert outcome.problems[0].startswith("still failing after review: ruff F841 at line 9")
    assert result.new_text is None and not result.ok and result.diff == "" and result.review_rounds == 2
    assert "No change survived" in result.summary_markdown


async def test_an_issue_outside_every_edit_is_traced_by_checking_each_subtask_alone(
        fake_anthropic, provider, tmp_path, cache):
    root = tmp_path / "paths"
    root.mkdir()
    (root / "paths.py").write_text("import os\n\n\ndef sep():\n    return os.sep\n\n\ndef twice(x):\n"
                                   "    return x * 2\n")
    fake_anthropic.script(plan_json(subtask("s1", "sep"), subtask("s2", "twice")), match=planning)
    # s1 removes the only use of `os`: ruff's F401 is on line 1, which no edit covers.
    fake_anthropic.script(answer('def sep() -> str:\n    return "/"'), match=worker_for("s1"))
    fake_anthropic.script(answer("def twice(x: int) -> int:\n    return x * 2"), match=worker_for("s2"))
    fake_anthropic.script(json.dumps({"decisions": [{"id": "s1", "verdict": "reject", "instructions": "",
                                                     "reason": "os.sep is not always '/'."}]}), match=reviewing)

    result = await refactor(provider, root, cache, "paths.py")

    review = next(r for r in fake_anthropic.message_requests if reviewing(r.body))
    assert "Subtask s1:" in review.last_user_text and "Subtask s2:" not in review.last_user_text
    assert "ruff F401 at line 1" in review.last_user_text
    assert [o.status for o in result.subtasks] == ["rejected", "applied"] and result.ok
    assert result.validation.tests == "skipped"


async def test_an_invalid_plan_is_repaired_once_then_refused(fake_anthropic, provider, ws, cache):
    fake_anthropic.script("Here is my plan: first add hints, then...", match=planning)

    with pytest.raises(ActionError, match="could not plan the refactor.*not valid JSON"):
        await refactor(provider, ws, cache)

    requests = fake_anthropic.message_requests
    assert len(requests) == 2 and all(planning(r.body) for r in requests)
    assert "That plan is not usable" in requests[1].last_user_text


async def test_overlapping_independent_targets_are_refused(fake_anthropic, provider, ws, cache):
    overlapping = {"id": "s2", "title": "Rename", "target": {"symbols": [], "lines": [{"start": 5, "end": 9}]},
                   "instructions": "Rename parameters.", "depends_on": []}
    fake_anthropic.script(plan_json(subtask("s1", "add"), overlapping), match=planning)

    with pytest.raises(ActionError, match="s1 \\(lines 4-5\\) and s2 \\(lines 5-9\\) overlap"):
        await refactor(provider, ws, cache)
    assert len(fake_anthropic.message_requests) == 2 and not worker_requests(fake_anthropic)


async def test_cancelling_mid_execution_closes_the_workers_streams(fake_anthropic, provider, ws, cache):
    fake_anthropic.script(plan_json(subtask("s1", "add"), subtask("s2", "sub"), subtask("s3", "mul")),
                          match=planning)
    fake_anthropic.script(Reply(answer(HINTED["add"]), ttft=30), match=lambda body: body["model"] == WORKER)

    task = asyncio.ensure_future(refactor(provider, ws, cache))
    await fake_anthropic.wait_for_requests_async(4, timeout=10)
    await asyncio.sleep(0.1)  # the workers' streams are open and waiting for the first token
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    workers = worker_requests(fake_anthropic)
    assert len(workers) == 3
    for request in workers:
        await fake_anthropic.wait_until_closed_async(request, timeout=5)
        assert request.client_closed_at is not None and request.finished_at is None


async def test_without_tests_importing_the_module_the_test_step_is_skipped(fake_anthropic, provider, ws, cache):
    (ws / "tests" / "test_mod.py").unlink()
    fake_anthropic.script(plan_json(subtask("s1", "neg")), match=planning)
    fake_anthropic.script(answer(HINTED["neg"]), match=worker_for("s1"))

    result = await refactor(provider, ws, cache, instruction="add type hints")  # a preset, by name

    # The whole suite runs instead: only tests/test_other.py, failing before and after: nothing checked.
    assert result.ok and result.validation.tests == "skipped" and result.validation.test_files == []
    assert not result.validated and result.unchecked == [
        "tests: not checked: no test passes, before the refactor either (1 failed)"]
    assert "no test file imports `mod` (directly or through its package): ran the whole test suite" in \
        result.summary_markdown
    assert "**Not validated: tests: not checked: no test passes" in result.summary_markdown
    assert PRESETS["Add type hints"] in fake_anthropic.message_requests[0].last_user_text


async def test_imports_asked_for_by_workers_are_added_once_after_the_module_imports(
        fake_anthropic, provider, ws, cache):
    fake_anthropic.script(plan_json(subtask("s1", "add"), subtask("s2", "sub")), match=planning)
    fake_anthropic.script(answer("def add(a: Number, b: Number) -> Number:\n    return a + b",
                                 imports=("from numbers import Number",)), match=worker_for("s1"))
    fake_anthropic.script(answer("def sub(a: Number, b: Number) -> Number:\n    return a - b",
                                 imports=("from numbers import Number",)), match=worker_for("s2"))

    result = await refactor(provider, ws, cache)

    assert result.ok, result.summary_markdown
    assert result.new_text.startswith('"""Small arithmetic."""\nfrom numbers import Number\n\n\ndef add(a: Number')
    assert result.new_text.count("from numbers import Number") == 1
    assert [o.lines for o in result.subtasks] == [(5, 6), (9, 10)]


async def test_imports_asked_for_by_workers_are_sorted_where_the_project_sorts_them(tmp_path):
    from haiku_lsp.refactor.merge import Merged
    from haiku_lsp.refactor.pipeline import _Run

    (tmp_path / "pyproject.toml").write_text('[tool.ruff.lint]\nselect = ["I"]\n')
    original = "import json\n\n\ndef f():\n    return json.dumps(1)\n"
    llm = ModelAccess(AnthropicProvider(), Cache(tmp_path / "cache"), "p", 10.0)
    run = _Run(llm, llm, original, tmp_path / "m.py", tmp_path, "x", 4, 10.0, None, True,
               lambda *a: None)
    merged = Merged("import json\nimport os\nfrom typing import Any\nimport abc\n\n\ndef f():\n    return 1\n",
                    regions={"s1": (6, 7)}, import_owners={1: ["s1"], 2: ["s1"], 3: ["s1"]})
    fixed = await run.sort_added_imports(merged)
    assert fixed.text.split("\n")[:4] == ["import abc", "import json", "import os", "from typing import Any"]
    assert fixed.regions == merged.regions


@pytest.mark.parametrize("config", ['[tool.ruff.lint]\nselect = ["E", "F"]\n', ""], ids=["E-F", "no-config"])
async def test_added_imports_leave_the_files_own_order_where_the_project_does_not_sort(tmp_path, config):
    from haiku_lsp.refactor.merge import Merged
    from haiku_lsp.refactor.pipeline import _Run

    (tmp_path / "pyproject.toml").write_text(config or "[project]\nname = 'x'\n")
    original = "import sys\nimport json\n\n\ndef f():\n    return json.dumps(sys.argv)\n"
    llm = ModelAccess(AnthropicProvider(), Cache(tmp_path / "cache"), "p", 10.0)
    run = _Run(llm, llm, original, tmp_path / "m.py", tmp_path, "x", 4, 10.0, None, True, lambda *a: None)
    text = "import sys\nimport json\nimport abc\n\n\ndef f():\n    return json.dumps(sys.argv)\n"
    merged = Merged(text, regions={"s1": (5, 6)}, import_owners={2: ["s1"]})
    assert (await run.sort_added_imports(merged)).text == text  # the added import after the file's own
