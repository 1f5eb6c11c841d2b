"""`haiku-lsp gen-tests`: the real entry point in a subprocess, the real SDK (messages, and
`messages.batches` with --batch) against the fake API, the editor's test flow with real sandboxed pytest
runs, on real third-party code: the pinned `inflection` wheel from PyPI. The fake upstream answers good
tests for most functions and wrong ones for two (tests/fakes/testgen_upstream.py): one is repaired, the
other still fails after the repair and must not be written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fakes.anthropic_api import FakeAnthropic, Fault, Reply
from tests.fakes.testgen_upstream import FUNCTIONS, upstream
from tests.harness import server_env
from tests.harness.pypi import INFLECTION, pinned_wheel, unpack_package

ORDINAL_BROKEN = "inflection/__init__.py::ordinal"
PLURALIZE = "inflection/__init__.py::pluralize"


def pypi_cache(request: pytest.FixtureRequest) -> Path:
    """pytest's cache folder (kept between runs), or this session's temporary one without the cache plugin."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        return Path(cache.mkdir("pypi"))
    return request.getfixturevalue("tmp_path_factory").getbasetemp() / "pypi"


@pytest.fixture
def inflection_ws(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A project holding the real `inflection` package, with one test already calling `camelize`."""
    wheel = pinned_wheel(*INFLECTION, pypi_cache(request))
    ws = tmp_path / "proj"
    unpack_package(wheel, ws)
    (ws / "inflection.py").unlink()  # the 0.5.1 wheel also ships a stale copy of the module beside the package
    (ws / "pyproject.toml").write_text('[project]\nname = "proj"\nversion = "0"\n')
    (ws / "tests").mkdir()
    (ws / "tests" / "test_camel.py").write_text(
        "from inflection import camelize\n\n\ndef test_camelize():\n    assert camelize('a_b') == 'AB'\n")
    return ws


def gen_tests(fake: FakeAnthropic, cache: Path, *args: str, cwd: Path | None = None, key: bool = True,
              base_url: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = server_env(base_url or fake.base_url, cache, api_key="sk-ant-test-key-0123456789abcdef" if key else None,
                     extra={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return subprocess.run([sys.executable, "-m", "haiku_lsp", "gen-tests", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def batch_audit(cache: Path) -> list[dict]:
    """The audit log's records of batch calls."""
    records = [json.loads(line) for line in (cache / "audit" / "audit.jsonl").read_text().splitlines()]
    return [r for r in records if r["feature"] == "testgen-batch"]


def by_id(report: dict) -> dict[str, dict]:
    return {f["id"]: f for f in report["functions"]}


def expected_ids() -> set[str]:
    return {f"inflection/__init__.py::{name}" for name in FUNCTIONS if name != "camelize"}


def test_interactive_run_reports_each_function_and_applies_only_passing_tests(fake_anthropic, inflection_ws,
                                                                              tmp_path):
    fake_anthropic.script(upstream())
    cache = tmp_path / "cache"
    report_file = tmp_path / "report.json"
    done = gen_tests(fake_anthropic, cache, "inflection", "--json", str(report_file), "--concurrency", "4",
                     cwd=inflection_ws)
    assert done.returncode == 1, done.stderr  # one test fails after its repair
    report = json.loads(report_file.read_text())
    functions = by_id(report)
    # Public functions no test calls yet: camelize is called by tests/test_camel.py, _irregular is private.
    assert set(functions) == expected_ids()
    assert functions[PLURALIZE]["status"] == "failed" and "failed" in functions[PLURALIZE]["summary"]
    assert functions[ORDINAL_BROKEN]["status"] == "passed" and functions[ORDINAL_BROKEN]["repaired"]
    passed = [f for f in functions.values() if f["status"] == "passed"]
    assert len(passed) == len(expected_ids()) - 1
    assert all(f["test_path"] == "tests/test_inflection.py" and f["input_tokens"] > 0 and f["usd"] > 0
               for f in functions.values())
    assert report["counts"] == {"passed": 10, "failed": 1, "skipped": 0, "error": 0} and report["mode"] == "interactive"
    # One call per function, plus the repair of each broken one.
    assert len(fake_anthropic.message_requests) == len(expected_ids()) + 2
    assert "| `inflection/__init__.py::pluralize` | failed" in done.stdout  # the Markdown summary
    assert not (inflection_ws / "tests" / "test_inflection.py").exists()  # nothing written without --apply

    # Unchanged code: the passing tests come from the cache; the failure was not cached and is asked again.
    again = gen_tests(fake_anthropic, cache, "inflection", "--json", "-", "--apply", cwd=inflection_ws)
    assert again.returncode == 1, again.stderr
    rerun = by_id(json.loads(again.stdout))
    assert {f["origin"] for i, f in rerun.items() if i != PLURALIZE} == {"cache"}
    assert sum(f["usd"] for i, f in rerun.items() if i != PLURALIZE) == 0
    assert len(fake_anthropic.message_requests) == len(expected_ids()) + 4
    written = (inflection_ws / "tests" / "test_inflection.py").read_text()
    assert "def test_ordinal_" in written and "== 'th'" in written and "pluralize" not in written
    assert all(f["applied"] == (f["status"] == "passed") for f in rerun.values())
    # What was written passes, run by pytest in the project itself.
    check = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
                           cwd=inflection_ws, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert check.returncode == 0 and " passed" in check.stdout, check.stdout

    # Those functions are tested now: nothing is left to do, and that is a success.
    third = gen_tests(fake_anthropic, cache, "inflection", "--json", "-", cwd=inflection_ws)
    assert third.returncode == 1 and set(by_id(json.loads(third.stdout))) == {PLURALIZE}, third.stderr
    selected = gen_tests(fake_anthropic, cache, "inflection", "--select", "dasherize", "--json", "-",
                         cwd=inflection_ws)
    assert selected.returncode == 0 and set(by_id(json.loads(selected.stdout))) == {
        "inflection/__init__.py::dasherize"}


def test_batch_mode_costs_half_validates_each_result_and_resumes(fake_anthropic, inflection_ws, tmp_path):
    fake_anthropic.script(upstream())
    interactive = gen_tests(fake_anthropic, tmp_path / "c1", "inflection", "--json", "-", cwd=inflection_ws)
    standard = by_id(json.loads(interactive.stdout))
    calls = len(fake_anthropic.message_requests)

    fake_anthropic.batches.batch_seconds = 0.5
    done = gen_tests(fake_anthropic, tmp_path / "c2", "inflection", "--batch", "--poll-interval", "0.1",
                     "--json", "-", cwd=inflection_ws)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    batched = by_id(report)
    assert report["mode"] == "batch" and len(report["batches"]) == 2  # the tests, then the two repairs
    assert len(fake_anthropic.message_requests) == calls  # no call outside the batches
    first, repairs = fake_anthropic.batches.created
    assert len(first.requests) == len(expected_ids()) and len(repairs.requests) == 2
    assert all(len(cid) == 64 for cid, _ in first.requests)
    for fid, outcome in batched.items():
        assert outcome["status"] == standard[fid]["status"] and outcome["summary"] == standard[fid]["summary"]
        assert outcome["input_tokens"] == standard[fid]["input_tokens"]
        assert outcome["usd"] == pytest.approx(standard[fid]["usd"] / 2)  # the batch discount
    assert "in_progress" in done.stderr and "ended" in done.stderr  # progress while polling
    # What the batches cost is in the user's usage store (haiku-lsp stats), once per answer, at the batch price.
    stats = subprocess.run([sys.executable, "-m", "haiku_lsp", "stats", "--json", "--cache-dir", str(tmp_path / "c2")],
                           capture_output=True, text=True, timeout=60)
    today = json.loads(stats.stdout)["today"]
    paid = today["features"]["testgen-batch"]
    assert paid["calls"] == len(expected_ids()) + 2 and paid["usd"] == pytest.approx(report["usd"], rel=1e-3)
    assert today["latencyMs"]["all"]["p50"] is None  # a batch's turnaround is no interactive latency
    assert today["latencyMs"]["testgen-batch"]["p50"] > 0
    # ... and in the audit log: each request as sent, its answer, usage, the batch price, latency, outcome.
    audit = batch_audit(tmp_path / "c2")
    assert len(audit) == len(expected_ids()) + 2 and {r["outcome"] for r in audit} == {"ok"}
    sent = {json.dumps(params["messages"]) for b in fake_anthropic.batches.created for _, params in b.requests}
    assert {json.dumps(r["prompt"]["messages"]) for r in audit} == sent
    for r in audit:
        u = r["usage"]
        assert r["batch"] is True and r["model"] == "claude-haiku-4-5" and r["output"] and u["output"] > 0
        standard_usd = (u["input"] * 1 + u["output"] * 5 + u["cache_write"] * 1.25 + u["cache_read"] * 0.1) / 1e6
        assert r["usd"] == pytest.approx(standard_usd / 2, abs=1e-8) and r["latency_ms"] > 0
    assert sum(r["usd"] for r in audit) == pytest.approx(report["usd"], rel=1e-3)

    # A run stopped while its batch is in flight: the next run picks the batch up instead of paying again.
    fake_anthropic.batches.batch_seconds = 3600
    cache = tmp_path / "c3"
    env = server_env(fake_anthropic.base_url, cache, extra={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "haiku_lsp", "gen-tests", "inflection", "--batch",
                             "--poll-interval", "0.1", "--select", "dasherize", "--select", "humanize"],
                            env=env, cwd=inflection_ws, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kept() -> str:  # what the run has written down about its batches so far
        return "".join(f.read_text() for f in (cache / "gen-tests").glob("batches-*.json"))

    try:
        deadline = time.monotonic() + 60
        # Stopped once the batch id is kept (the API has it a moment before the run has written it down).
        while time.monotonic() < deadline and not (
                len(fake_anthropic.batches.created) == 3 and fake_anthropic.batches.created[2].id in kept()):
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait(10)
    assert len(fake_anthropic.batches.created) == 3
    in_flight = fake_anthropic.batches.created[2]
    assert len(in_flight.requests) == 2
    fake_anthropic.batches.finish_now(in_flight.id)
    resumed = gen_tests(fake_anthropic, cache, "inflection", "--batch", "--poll-interval", "0.1",
                        "--select", "dasherize", "--select", "humanize", "--json", "-", cwd=inflection_ws)
    assert resumed.returncode == 0, resumed.stderr
    assert len(fake_anthropic.batches.created) == 3  # no new batch
    assert json.loads(resumed.stdout)["batches"] == [in_flight.id]
    assert {f["status"] for f in json.loads(resumed.stdout)["functions"]} == {"passed"}


def test_batch_errored_and_expired_entries(fake_anthropic, inflection_ws, tmp_path):
    fake_anthropic.script(Reply(fault=Fault.status(500)), match="Write tests for the function `dasherize`")
    fake_anthropic.script(upstream())
    fake_anthropic.batches.expire_match = "Write tests for the function `humanize`"
    done = gen_tests(fake_anthropic, tmp_path / "cache", "inflection", "--batch", "--poll-interval", "0.05",
                     "--select", "dasherize", "--select", "humanize", "--select", "titleize", "--json", "-",
                     cwd=inflection_ws)
    assert done.returncode == 1, done.stderr
    functions = by_id(json.loads(done.stdout))
    assert functions["inflection/__init__.py::titleize"]["status"] == "passed"
    dash = functions["inflection/__init__.py::dasherize"]
    assert dash["status"] == "error" and "api_error" in dash["reason"]
    human = functions["inflection/__init__.py::humanize"]
    assert human["status"] == "error" and "expired" in human["reason"]
    # The expired request was sent once more, in a batch of its own, before giving up.
    assert [len(b.requests) for b in fake_anthropic.batches.created] == [3, 1]
    # Every answer is in the audit log, the failed ones too (nothing paid for them).
    audit = batch_audit(tmp_path / "cache")

    def outcomes(name: str) -> list[str]:
        asked = f"Write tests for the function `{name}`"
        return sorted(r["outcome"] for r in audit if asked in json.dumps(r["prompt"]))

    assert outcomes("dasherize") == ["errored"] and outcomes("humanize") == ["expired", "expired"]
    assert outcomes("titleize") == ["ok"]
    assert all(r["usd"] == 0 and r["output"] == "" for r in audit if r["outcome"] != "ok")


def test_shards_split_the_work_and_merge_back(fake_anthropic, inflection_ws, tmp_path):
    fake_anthropic.script(upstream())
    reports = []
    for i in (1, 2, 3):
        out = tmp_path / f"shard{i}.json"
        done = gen_tests(fake_anthropic, tmp_path / "cache", "inflection", "--shard", f"{i}/3", "--json", str(out),
                         cwd=inflection_ws)
        assert done.returncode in (0, 1), done.stderr
        reports.append(out)
    ids = [set(by_id(json.loads(r.read_text()))) for r in reports]
    assert all(ids) and set().union(*ids) == expected_ids() and sum(map(len, ids)) == len(expected_ids())
    again = gen_tests(fake_anthropic, tmp_path / "cache", "inflection", "--shard", "2/3", "--json", "-",
                      cwd=inflection_ws)
    assert set(by_id(json.loads(again.stdout))) == ids[1]  # deterministic
    merged = gen_tests(fake_anthropic, tmp_path / "cache", "--merge", *map(str, reports), "--json", "-")
    assert merged.returncode == 1  # pluralize failed in one shard
    data = json.loads(merged.stdout)
    assert data["mode"] == "merged" and set(by_id(data)) == expected_ids()
    assert data["counts"] == {"passed": 10, "failed": 1, "skipped": 0, "error": 0}
    markdown = gen_tests(fake_anthropic, tmp_path / "cache", "--merge", *map(str, reports))
    assert "10 passed, 1 failed after repair" in markdown.stdout and "shard 1/3, 2/3, 3/3" in markdown.stdout


def test_exit_code_2_when_it_cannot_run(fake_anthropic, inflection_ws, tmp_path):
    no_key = gen_tests(fake_anthropic, tmp_path / "cache", "inflection", cwd=inflection_ws, key=False)
    assert no_key.returncode == 2 and "ANTHROPIC_API_KEY" in no_key.stderr
    missing = gen_tests(fake_anthropic, tmp_path / "cache", "nowhere", cwd=inflection_ws)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    bad_shard = gen_tests(fake_anthropic, tmp_path / "cache", "inflection", "--shard", "4/3", cwd=inflection_ws)
    assert bad_shard.returncode == 2
    closed = FakeAnthropic().start()
    url = closed.base_url
    closed.stop()  # nothing listens there any more
    unreachable = gen_tests(fake_anthropic, tmp_path / "cache", "inflection", "--select", "dasherize",
                            cwd=inflection_ws, base_url=url)
    assert unreachable.returncode == 2 and "could not be reached" in unreachable.stderr
    batch_down = gen_tests(fake_anthropic, tmp_path / "cache", "inflection", "--select", "dasherize", "--batch",
                           cwd=inflection_ws, base_url=url)
    assert batch_down.returncode == 2 and "batch API failed" in batch_down.stderr
    not_reports = gen_tests(fake_anthropic, tmp_path / "cache", "--merge", str(inflection_ws / "pyproject.toml"))
    assert not_reports.returncode == 2
    assert fake_anthropic.message_requests == []
