"""gen-tests' pure parts: which functions are targets, shards, the report (JSON round trip, merge, exit
codes, Markdown), the batch state file and the replay provider's keys. The whole command runs end to
end in tests/e2e/test_gen_tests.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from haiku_lsp.errors import UpstreamServerError
from haiku_lsp.gentests import (
    BatchState,
    Outcome,
    Report,
    Target,
    find_targets,
    in_shard,
    merge_reports,
    parse_shard,
    project_root,
)
from haiku_lsp.gentests.batch import Deferred, ReplayProvider, request_key
from haiku_lsp.llm import Ledger, ModelRequest

SHOP = '''\
def total(items):
    return sum(items)


def discount(price, rate):
    return price * (1 - rate)


def _helper():
    return 1


class Cart:
    def add(self, item):
        pass

    def _private(self):
        pass

    @property
    def size(self):
        return 0


class _Hidden:
    def visible(self):
        pass
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "shop").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'shop'\n")
    (root / "shop" / "__init__.py").write_text("")
    (root / "shop" / "cart.py").write_text(SHOP)
    (root / "tests").mkdir()
    (root / "tests" / "test_cart.py").write_text("from shop.cart import total\n\n\ndef test_total():\n"
                                                 "    assert total([1]) == 1\n")
    (root / ".venv" / "lib").mkdir(parents=True)
    (root / ".venv" / "lib" / "site.py").write_text("def nope():\n    pass\n")
    return root


def test_targets_are_public_functions_no_test_calls(project: Path):
    targets = find_targets(project, [project])
    assert [t.id for t in targets] == ["shop/cart.py::Cart.add", "shop/cart.py::Cart.size",
                                       "shop/cart.py::discount"]
    add = targets[0]
    assert add.module == "shop.cart" and SHOP.splitlines()[add.line].strip() == "def add(self, item):"
    size = targets[1]
    assert SHOP.splitlines()[size.line].strip() == "def size(self):"  # the def, not its decorator
    # --select takes tested ones too, by qualname, module.qualname or path::qualname patterns.
    assert [t.qualname for t in find_targets(project, [project], select=["total"])] == ["total"]
    assert [t.qualname for t in find_targets(project, [project], select=["shop.cart.Cart.*"])] == [
        "Cart.add", "Cart.size"]
    assert find_targets(project, [project / "tests"]) == []
    assert project_root([project / "shop" / "cart.py"]) == project


def test_shards_are_stable_and_cover_everything_once():
    targets = [Target(Path(f"/p/m{i}.py"), f"m{i}.py", f"m{i}", "f", 0) for i in range(40)]
    shards = [[t.id for t in targets if in_shard(t, i, 4)] for i in range(1, 5)]
    assert sorted(sum(shards, [])) == sorted(t.id for t in targets) and all(shards)
    # Adding a function moves no other one.
    more = [*targets, Target(Path("/p/new.py"), "new.py", "new", "g", 0)]
    assert [[t.id for t in more if in_shard(t, i, 4) and t.rel != "new.py"] for i in range(1, 5)] == shards
    assert parse_shard("2/4") == (2, 4)
    for bad in ("0/4", "5/4", "2", "a/b", "2/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)


def outcome(fid: str, status: str, usd: float = 0.01) -> Outcome:
    return Outcome(fid, status, test_path="tests/test_x.py", summary="1 passed" if status == "passed" else "",
                   usd=usd, input_tokens=100, output_tokens=50, code="def test_x(): pass\n")


def test_report_exit_codes_json_and_markdown():
    assert Report("interactive", [outcome("a", "passed")]).exit_code == 0
    assert Report("interactive", [outcome("a", "passed"), outcome("b", "skipped")]).exit_code == 0
    assert Report("interactive", [outcome("a", "passed"), outcome("b", "failed")]).exit_code == 1
    assert Report("interactive", [outcome("a", "error")]).exit_code == 1
    assert Report("interactive", [], fatal="no key").exit_code == 2
    report = Report("batch", [outcome("a", "passed"), outcome("b|c", "failed")], shard="1/2", batches=["msgbatch_1"])
    data = json.loads(json.dumps(report.to_json()))
    assert "code" not in data["functions"][0] and data["counts"]["failed"] == 1
    assert data["usd"] == pytest.approx(0.02) and data["input_tokens"] == 200
    back = Report.from_json(data)
    assert [o.id for o in back.outcomes] == ["a", "b|c"] and back.shard == "1/2" and back.exit_code == 1
    md = report.markdown()
    assert "(shard 1/2)" in md and "1 passed, 1 failed after repair" in md and "`b|c`" in md
    with pytest.raises(ValueError):
        Report.from_json({"something": "else"})


def test_merge_joins_shards():
    one = Report("interactive", [outcome("a", "passed"), outcome("b", "passed")], shard="1/2", seconds=3)
    two = Report("batch", [outcome("c", "failed")], shard="2/2", seconds=4, batches=["msgbatch_x"])
    merged = merge_reports([two, one])
    assert [o.id for o in merged.outcomes] == ["a", "b", "c"] and merged.exit_code == 1
    assert merged.shard == "2/2, 1/2" and merged.seconds == 7 and merged.batches == ["msgbatch_x"]
    assert merge_reports([one, Report("interactive", fatal="no key", shard="2/2")]).exit_code == 2


def test_batch_state_round_trip(tmp_path: Path):
    path = tmp_path / "gen-tests" / "state.json"
    state = BatchState.load(path)
    assert state.pending == {} and state.answers == {}
    state.pending["k1"] = "msgbatch_1"
    state.answers["k0"] = {"text": "x", "stop_reason": "end_turn", "usage": {"model": "m"}}
    state.batches = {"msgbatch_1": {"covers": ["a"]}, "msgbatch_old": {"covers": ["b"]}}
    state.resent.add("k0")
    state.save()
    again = BatchState.load(path)
    assert again.pending == {"k1": "msgbatch_1"} and again.answers["k0"]["text"] == "x"
    assert list(again.batches) == ["msgbatch_1"]  # a batch nothing waits for is dropped
    again.forget({"k0"})
    assert again.answers == {} and again.resent == set()
    path.write_text("not json")
    assert BatchState.load(path).pending == {}


def request(text: str) -> ModelRequest:
    return ModelRequest("claude-haiku-4-5", ({"role": "user", "content": text},), 100)


def test_replay_keys_the_first_call_by_content_and_later_ones_by_place():
    answers: dict = {}
    replay = ReplayProvider(answers, Ledger())
    with pytest.raises(Deferred):
        asyncio.run(replay.complete(request("write a test"), timeout=1))
    [first] = replay.wanted
    assert first == request_key(request("write a test")) and len(first) == 64
    answers[first] = {"text": "answer", "stop_reason": "end_turn",
                      "usage": {"model": "claude-haiku-4-5", "input": 10, "output": 5}}
    again = ReplayProvider(answers, Ledger())
    got = asyncio.run(again.complete(request("write a test"), timeout=1))
    assert got.text == "answer" and got.usage.output == 5 and again.used == {first}
    with pytest.raises(Deferred):  # the repair carries a run's output: keyed by its place, not its text
        asyncio.run(again.complete(request("repair: /tmp/abc failed in 0.31s"), timeout=1))
    [second] = again.wanted
    third = ReplayProvider(answers, Ledger())
    asyncio.run(third.complete(request("write a test"), timeout=1))
    with pytest.raises(Deferred):
        asyncio.run(third.complete(request("repair: /tmp/xyz failed in 0.29s"), timeout=1))
    assert list(third.wanted) == [second]
    answers[second] = {"error": "overloaded_error: Overloaded"}
    fourth = ReplayProvider(answers, Ledger())
    asyncio.run(fourth.complete(request("write a test"), timeout=1))
    with pytest.raises(UpstreamServerError, match="overloaded"):
        asyncio.run(fourth.complete(request("repair"), timeout=1))
